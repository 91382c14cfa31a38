"""When two questions count as the same question: the rule behind a fewshot model's direct answers.

Rules:
- A question's *key* is its words after: Unicode NFKC and case folding; contractions spelled out
  (``what's`` → ``what is``, ``isn't`` → ``is not``, ``can't`` → ``can not``); sentence
  punctuation, quotes and brackets dropped; the filler words ``a``, ``an``, ``the`` and ``please``
  dropped. Numbers keep their decimal point (``3.5`` is not ``35``) and every other symbol stays a
  word of its own, so ``2+2`` and ``2*2`` differ.
- Two questions' similarity is ``difflib``'s ratio over their keys' word sequences: 1.0 when the
  keys are equal, less for each word added, removed or changed. Word order counts.
- Deliberately not fuzzy on letters: ``Austria`` is not ``Australia`` and a typo is a different
  word. A question that is not matched is not lost: it still reaches the base model with the
  nearest examples in its prompt.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'s\b"), " is"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'d\b"), " would"),
)
_TOKENS = re.compile(r"\d+(?:[.,]\d+)*|\w+|[^\w\s]")
_IGNORED_MARKS = frozenset(".,;:!?¿¡'\"“”‘’«»()[]{}…")
FILLER_WORDS = frozenset({"a", "an", "the", "please"})


def question_key(text: str) -> tuple[str, ...]:
    """The words that make ``text`` the question it is (module docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    for pattern, replacement in _CONTRACTIONS:
        folded = pattern.sub(replacement, folded)
    return tuple(
        token
        for token in _TOKENS.findall(folded)
        if token not in _IGNORED_MARKS and token not in FILLER_WORDS
    )


def key_similarity(first: Sequence[str], second: Sequence[str]) -> float:
    """Similarity of two question keys in [0, 1]; 1.0 only for equal keys (empty keys: 0.0)."""
    if not first or not second:
        return 0.0
    if tuple(first) == tuple(second):
        return 1.0
    return SequenceMatcher(None, list(first), list(second), autojunk=False).ratio()
