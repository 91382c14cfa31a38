"""Building a dataset from what was read, and validating it: ``build_dataset`` and ``validate``.

``validate`` adds what needs the whole dataset: too few examples, one label, duplicates, leakage
between the train and test parts, and — given a ``TokenCheck`` — token counts, examples over the
model's token limit (a problem on their line) and the cost estimate (``trainerbot.core.tokens``).
``Tally`` gathers all of it batch by batch, for ``validate`` and ``validate_stream`` alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..entities import Dataset, Example, Task
from ..tokens import BillingEstimate, TokenCheck, TokenStats, TokenSurvey
from .problems import ParseResult, Problem
from .report import ValidationReport
from .rules import BATCH, Distinct, SplitCounts, question

T = TypeVar("T")

# A batch of distinct examples: which of them the split holds out, the question each asks (a
# ``question``), and a tag that ``Tally.measure`` gives back with the batch's over-limit examples.
Batch = tuple[Sequence[Example], Sequence[bool], Sequence[str], T]


def build_dataset(name: str, parsed: ParseResult, *, source: str) -> tuple[Dataset, int]:
    """The dataset of ``parsed`` without exact duplicates (first kept), and how many were removed."""
    distinct = Distinct()
    unique = tuple(parsed.examples[index] for index, _ in distinct.first(parsed.examples))
    dataset = Dataset(name=name, task=parsed.task, examples=unique, source=source)
    return dataset, distinct.duplicates


class Tally:
    """What the validation report counts of a dataset's distinct examples, given batch by batch.

    Rules:
    - The split's counts, leakage and corrections are ``SplitCounts``.
    - With a ``TokenCheck`` every example is counted (``TokenSurvey``): the report gets the token
      statistics, and with ``billing`` the cost estimate of the training part.
    """

    def __init__(self, tokens: TokenCheck | None) -> None:
        self._split = SplitCounts()
        self._survey = None if tokens is None else TokenSurvey(tokens)

    def measure(self, batches: Iterable[Batch[T]]) -> Iterator[tuple[T, list[tuple[int, str]]]]:
        """Count each batch; yields its tag and its examples over the token limit, as (index in the
        batch, the problem in words). Without a ``TokenCheck`` none is over."""
        counted = self._counted(batches)
        if self._survey is None:
            for _, _, tag in counted:
                yield tag, []
        else:
            yield from self._survey.measure(counted)

    def _counted(
        self, batches: Iterable[Batch[T]]
    ) -> Iterator[tuple[Sequence[Example], Sequence[bool], T]]:
        for examples, held_out, questions, tag in batches:
            self._split.add(examples, held_out, questions)
            yield examples, held_out, tag

    def report(
        self,
        *,
        dataset_name: str,
        dataset_version: str,
        task: Task,
        labels: tuple[str, ...],
        problems: Sequence[Problem],
        duplicates: int,
        min_examples: int,
        omitted_problems: int = 0,
        holdout: bool = False,
    ) -> ValidationReport:
        """The report, once every batch is measured."""
        split = self._split
        stats: TokenStats | None = None
        billing: BillingEstimate | None = None
        if self._survey is not None:
            stats = self._survey.stats()
            billing = self._survey.billing(split.train, nothing_held_out=split.nothing_held_out)
        return ValidationReport(
            dataset_name=dataset_name,
            dataset_version=dataset_version,
            task=task,
            example_count=split.train + split.test,
            train_count=split.train,
            test_count=split.test,
            labels=labels,
            problems=tuple(problems),
            duplicates=duplicates,
            leaked=split.leaked(),
            min_examples=min_examples,
            omitted_problems=omitted_problems,
            tokens=stats,
            billing=billing,
            corrections=split.corrections,
            corrections_held_out=split.corrections_held_out,
            holdout=holdout,
        )


def validate(
    dataset: Dataset,
    parsed: ParseResult,
    *,
    duplicates: int,
    min_examples: int,
    tokens: TokenCheck | None = None,
) -> ValidationReport:
    """The validation report of ``dataset`` (built from ``parsed``), using ``Dataset.split()``.

    With ``tokens``, every example is counted: the report gets token statistics, a problem for each
    example over ``tokens.max_example_tokens`` (after the parse problems, naming the example's line,
    or its item or origin), and with the trainer's ``estimate`` (``TokenCheck.estimate``) the cost
    of the training part.
    """
    _, test = dataset.split()
    in_test = {id(example) for example in test.examples}
    examples = dataset.examples
    tally = Tally(tokens)
    problems = list(parsed.problems)
    places: _Places | None = None  # read from the origins only when a problem needs them
    for start, over in tally.measure(_batches(examples, in_test)):
        for index, message in over:
            places = places or _Places(examples)
            problems.append(places.of(examples[start + index]).problem(message))
    return tally.report(
        dataset_name=dataset.name,
        dataset_version=dataset.version,
        task=dataset.task,
        labels=dataset.labels,
        problems=problems,
        duplicates=duplicates,
        min_examples=min_examples,
        holdout=dataset.hold_out_corrections,
    )


def _batches(examples: Sequence[Example], in_test: set[int]) -> Iterator[Batch[int]]:
    """``examples`` a ``BATCH`` at a time, each tagged with where it starts."""
    for start in range(0, len(examples), BATCH):
        batch = examples[start : start + BATCH]
        held_out = [id(example) in in_test for example in batch]
        yield batch, held_out, [question(example.user_text) for example in batch], start


@dataclass(frozen=True)
class _Place:
    """Where an example came from, for a problem about it: its line, or an item, or an origin."""

    line: int | None
    source: str = ""
    prefix: str = ""

    def problem(self, message: str) -> Problem:
        return Problem(self.line, self.prefix + message, self.source)


_ORIGIN = re.compile(r"(?P<source>.*) (?P<kind>line|item) (?P<number>\d+)")


class _Places:
    """Where a dataset's examples came from, read back from their origins ("a.jsonl line 7").

    Rules:
    - ``… line N`` is line N, ``… item N`` the item's number in the message, any other origin (a
      correction) names itself.
    - The file name is kept only when the examples come from more than one file, as parse
      problems name it only in a folder.
    """

    def __init__(self, examples: Sequence[Example]) -> None:
        sources = {self._split(example.origin)[0] for example in examples}
        self._one_source = len(sources) <= 1

    @staticmethod
    def _split(origin: str) -> tuple[str, str | None, int]:
        match = _ORIGIN.fullmatch(origin)
        if match is None:
            return origin, None, 0
        return match["source"], match["kind"], int(match["number"])

    def of(self, example: Example) -> _Place:
        source, kind, number = self._split(example.origin)
        if kind is None:
            return _Place(None, source)
        source = "" if self._one_source else source
        if kind == "line":
            return _Place(number, source)
        return _Place(None, source, f"item {number}: ")
