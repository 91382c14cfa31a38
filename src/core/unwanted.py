"""The unwanted-answer rule: an answer marked "not this" for a question is never shown for it.

The chat model only names the answers it was taught not to give (``ChatModel.unwanted``); the
use cases decide here what is shown instead, whole or while the answer is still being written.
"""

from __future__ import annotations

from collections.abc import Iterable

from .evaluation import normalize

WITHHELD_REPLY = "I'm not sure about that one — please correct me with the right answer."


class UnwantedAnswers:
    """The answers not to give to one question, compared normalised (``evaluation.normalize``:
    case, punctuation and spacing aside).

    Rules:
    - ``withhold(reply)``: a reply equal to one of them becomes ``WITHHELD_REPLY``; any other
      reply is kept as it is.
    - ``may_become(text)``: whether text written so far could still grow into one of them (its
      normalised form, but for its last character, begins one of theirs). Text shown while it
      may not is never withheld later, so a stream holds such text back and never shows part
      of an unwanted answer.
    """

    def __init__(self, answers: Iterable[str] = ()) -> None:
        self._answers = frozenset(normalize(answer) for answer in answers) - {""}

    def __bool__(self) -> bool:
        return bool(self._answers)

    def withhold(self, reply: str) -> str:
        return WITHHELD_REPLY if normalize(reply) in self._answers else reply

    def may_become(self, text: str) -> bool:
        if not self._answers:
            return False
        # The last character may still change (a combining accent, a word going on).
        start = normalize(text)[:-1]
        return any(answer.startswith(start) for answer in self._answers)
