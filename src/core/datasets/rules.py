"""The rules a dataset's report applies to all its examples, each implemented once and used by the
whole-file ``validate`` and the streaming ``validate_stream`` alike.

- The split (``question``, ``held_out``, ``SplitCounts``): an example's side follows the hash of
  its question, as ``Dataset.split`` decides it; a test part that would take every example takes
  none.
- Duplicates (``Distinct``): examples of equal ``Example.key()``; the first is kept.
- The version (``RunningVersion``): ``Dataset.version``, computed as the examples come.
- Leakage (``Leakage``): test examples asking what a training example asks, ignoring case,
  spacing and punctuation.
"""

from __future__ import annotations

import hashlib
import string
from array import array
from collections.abc import Iterator, Sequence

from ..entities import Example, Task, in_test_part, question_of

# Examples are checked, split and counted this many at a time.
BATCH = 1024


# The split's own rules, from the entity that splits (``Dataset.split``): one definition.
question = question_of
held_out = in_test_part


class SplitCounts:
    """How many of a dataset's distinct examples train and how many test, given batch by batch with
    which of them the split holds out and the ``question`` each asks.

    Rules:
    - As ``Dataset.split``: a test part that would take every example takes none
      (``nothing_held_out``); then every example trains, none leaks and no correction is held out.
    - ``leaked`` counts test examples asking what a training example asks (``Leakage``).
    - ``corrections`` counts the examples made from corrections, ``corrections_held_out`` those of
      them in the test part.
    """

    def __init__(self) -> None:
        self._train = self._test = 0
        self._leakage = Leakage()
        self.corrections = 0
        self._corrections_held_out = 0

    def add(
        self, examples: Sequence[Example], held_out: Sequence[bool], questions: Sequence[str]
    ) -> None:
        tested = sum(held_out)
        self._test += tested
        self._train += len(examples) - tested
        self._leakage.add(questions, held_out)
        for example, out in zip(examples, held_out, strict=True):
            if example.from_correction:
                self.corrections += 1
                self._corrections_held_out += out

    @property
    def nothing_held_out(self) -> bool:
        return not self._train

    @property
    def train(self) -> int:
        return self._train + self._test if self.nothing_held_out else self._train

    @property
    def test(self) -> int:
        return 0 if self.nothing_held_out else self._test

    @property
    def corrections_held_out(self) -> int:
        return 0 if self.nothing_held_out else self._corrections_held_out

    def leaked(self) -> int:
        return 0 if self.nothing_held_out else self._leakage.count()


class Distinct:
    """Exact duplicates, across every batch given: the first example of each content is kept.

    Rules:
    - Two examples are duplicates when their ``Example.key()`` (the content, origin aside) is equal;
      ``duplicates`` counts those dropped.
    - ``compact`` keeps a 64-bit digest of each key instead of the key (about 16 bytes a member
      where a key takes some 110): two different examples sharing a digest count as duplicates —
      under one chance in ten million, for a million examples. For a stream.
    """

    def __init__(self, *, compact: bool = False) -> None:
        self.duplicates = 0
        self._keys: set[str] = set()
        self._digests = DigestSet() if compact else None

    def first(self, examples: Sequence[Example]) -> Iterator[tuple[int, str]]:
        """The index in ``examples`` and the key of each example not seen before."""
        for index, example in enumerate(examples):
            key = example.key()
            if self._is_new(key):
                yield index, key
            else:
                self.duplicates += 1

    def _is_new(self, key: str) -> bool:
        if self._digests is not None:
            return self._digests.add(int(key[:16], 16))
        if key in self._keys:
            return False
        self._keys.add(key)
        return True


class RunningVersion:
    """``Dataset.version`` of examples given one at a time, for a task known only at the end.

    Rules:
    - As ``Dataset.version``: the SHA-256 of the task's name, then of each distinct example's key in
      order, cut to 12 hexadecimal digits. One digest runs for each task.
    """

    def __init__(self) -> None:
        self._digests = {task: hashlib.sha256(task.value.encode()) for task in Task}

    def add(self, key: str) -> None:
        data = key.encode()
        for digest in self._digests.values():
            digest.update(data)

    def of(self, task: Task) -> str:
        return self._digests[task].hexdigest()[:12]


# What leakage ignores besides case and spacing: ASCII punctuation and the usual typographic marks.
_ASCII_PUNCTUATION = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))
_TYPOGRAPHIC_MARKS = tuple(mark.encode() for mark in "‘’“”«»‹›–—…¿¡·")


def _loose(question: str) -> bytes:
    """What leakage compares: a ``question`` without its punctuation, as UTF-8."""
    data = question.encode()
    if not question.isascii():
        for mark in _TYPOGRAPHIC_MARKS:
            data = data.replace(mark, b" ")
    # A question's only spaces are single ASCII ones, so splitting bytes splits the same.
    return b" ".join(data.translate(_ASCII_PUNCTUATION).split())


class DigestSet:
    """A set of 64-bit digests in one flat array: 8 bytes a slot, at most half the slots used, so
    about 16 bytes a member where a Python set of ints takes some 70.

    Rules:
    - Open addressing with linear probing; 0 marks a free slot, so a digest of 0 is stored as 1.
    - The table doubles when it is half full.
    """

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = len(self._slots) - 1
        self._free = len(self._slots) // 2  # members to add before the table grows

    def add(self, digest: int) -> bool:
        """Add ``digest``; whether it was new."""
        digest = digest or 1
        index = self._slot(digest)
        if self._slots[index]:
            return False
        self._slots[index] = digest
        self._free -= 1
        if not self._free:
            self._grow()
        return True

    def __contains__(self, digest: int) -> bool:
        return self._slots[self._slot(digest or 1)] != 0

    def _slot(self, digest: int) -> int:
        """The slot holding ``digest`` (not 0), or the free one where it would go."""
        slots, mask = self._slots, self._mask
        index = digest & mask
        while (found := slots[index]) != 0 and found != digest:
            index = (index + 1) & mask
        return index

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self._free = len(self._slots) // 2
        for digest in old:
            if digest:
                self.add(digest)


_DIGEST_BITS = (1 << 64) - 1


class Leakage:
    """Counts test examples asking what a training example asks (``_loose`` questions), whichever
    comes first in the data. A 64-bit digest stands for each question: 8 to 16 bytes, where its
    text could be hundreds."""

    def __init__(self) -> None:
        self._asked_in_training = DigestSet()
        self._asked_in_test = array("Q")  # one digest a test example

    def add(self, questions: Sequence[str], held_out: Sequence[bool]) -> None:
        for question, tested in zip(questions, held_out, strict=True):
            digest = hash(_loose(question)) & _DIGEST_BITS
            if tested:
                self._asked_in_test.append(digest)
            else:
                self._asked_in_training.add(digest)

    def count(self) -> int:
        asked = self._asked_in_training
        return sum(1 for digest in self._asked_in_test if digest in asked)
