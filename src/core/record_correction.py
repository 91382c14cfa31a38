"""RecordCorrection: a user corrects a bot answer; the correction becomes training data."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import CorrectionStore, InteractionLog

from .entities import Actor, Correction, Example, new_id
from .errors import (
    CorrectionUnchanged,
    EmptyMessage,
    InvalidArgument,
    MessageTooLong,
    UnknownMessage,
)
from .limits import DEFAULT_LIMITS, Limits
from .text import command

MAX_ID_CHARS = 64


@dataclass(frozen=True)
class CorrectionRequest:
    actor: Actor
    message_id: str
    text: str


@dataclass(frozen=True)
class CorrectionResult:
    correction: Correction

    @property
    def example(self) -> Example:
        return self.correction.example()


class RecordCorrection:
    """Record a correction of one of the bot's answers.

    Rules:
    - ``message_id`` names the bot's answer (or the user's message it answered, or the interaction
      id); it must be a single token and name a logged interaction (``UnknownMessage`` otherwise).
    - The correction must not be empty, over ``max_correction_chars``, or the same as the answer.
    - The original prompt, its conversation, the wrong answer and the correction are stored
      together, durably, before the result returns. They produce one example: prompt → corrected
      answer, with the wrong answer as the rejected side of a preference pair.
    - Anyone may correct any answer: corrections are reviewed when a trainer trains on them.
    """

    def __init__(
        self,
        *,
        interactions: InteractionLog,
        corrections: CorrectionStore,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._interactions = interactions
        self._corrections = corrections
        self._limits = limits

    async def execute(self, request: CorrectionRequest) -> CorrectionResult:
        message_id = request.message_id.strip()
        if not message_id or len(message_id) > MAX_ID_CHARS or any(c.isspace() for c in message_id):
            raise InvalidArgument(
                f"Give the id of my answer: {command('correct', '<message_id> <right answer>')}."
            )
        text = request.text.strip()
        if not text:
            raise EmptyMessage("The correction is empty: write the right answer after the id.")
        if len(text) > self._limits.max_correction_chars:
            raise MessageTooLong(
                f"That correction is {len(text)} characters; the limit is "
                f"{self._limits.max_correction_chars}."
            )
        interaction = await self._interactions.find_by_message(message_id)
        if interaction is None:
            raise UnknownMessage(
                f"I have no answer with id {message_id}: reply to my answer with "
                f"{command('correct', '<text>')}, "
                "or give its message id."
            )
        if " ".join(text.split()) == " ".join(interaction.reply.split()):
            raise CorrectionUnchanged()
        correction = Correction(
            id=new_id("cor"),
            interaction_id=interaction.id,
            message_id=message_id,
            author_id=request.actor.id,
            prompt=interaction.prompt,
            wrong_answer=interaction.reply,
            corrected=text,
            model=interaction.model,
            history=interaction.history,
        )
        await self._corrections.add(correction)
        return CorrectionResult(correction)
