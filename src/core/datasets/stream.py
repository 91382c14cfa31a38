"""Validating a JSON Lines file too big to hold: ``validate_stream``.

It reads the file a line at a time with the same record checks as ``parse_text`` and builds the
report with the same rules as ``validate`` (``rules``, ``Tally``): only what it keeps between
lines differs, so that memory does not hold the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..entities import Example, Task
from ..tokens import TokenCheck
from .formats import SURROGATE, read_jsonl_line
from .problems import LABELLED, NOT_UTF8, Collector, Problem
from .report import MAX_PROBLEMS_KEPT, ValidationReport
from .rules import BATCH, Distinct, RunningVersion, held_out, question
from .validation import Batch, Tally

# A streamed batch's parse problems, and the line of each of its examples.
_Lines = tuple[list[Problem], list[int]]


def validate_stream(
    lines: Iterable[str | bytes],
    *,
    name: str,
    min_examples: int,
    positive: bool | None = None,
    tokens: TokenCheck | None = None,
    max_problems: int = MAX_PROBLEMS_KEPT,
) -> ValidationReport:
    """The validation report of a JSON Lines file, read one line at a time.

    ``lines`` are the file's lines as iterating a file opened in binary mode yields them (text
    lines work too); ``name`` names the dataset. The report is the one ``parse_text`` →
    ``build_dataset`` → ``validate`` gives for the same text — the same checks, duplicates,
    version, split, leakage, token counts and estimate — except that only the first
    ``max_problems`` problems are kept (``omitted_problems`` counts the rest) and problems come in
    line order (an example over the token limit among the others). Only JSON Lines is streamed;
    other formats are read whole with ``parse_text``.

    Memory: lines and examples are held a batch at a time (two while a counter counts one batch
    elsewhere), token statistics as a histogram, so the file's text never is. What grows with the
    file is what exact answers need: a 64-bit digest per distinct example (duplicates) and per
    question (leakage), in flat arrays of about 16 bytes a digest — some 30 MB for a million
    examples, where the text is typically a gigabyte — and, for classification, the labels.
    """
    collector = Collector()
    stream = _Stream(max(1, max_problems))
    tally = Tally(tokens)
    for (problems, numbers), over in tally.measure(
        stream.batches(lines, name, positive, collector)
    ):
        if over:
            problems += [Problem(numbers[index], message) for index, message in over]
            problems.sort(key=lambda problem: problem.line or 0)
        stream.keep(problems)
    stream.keep(collector.closing_problems())
    task = collector.task
    return tally.report(
        dataset_name=name,
        dataset_version=stream.version.of(task),
        task=task,
        labels=tuple(sorted(stream.labels)) if task is Task.CLASSIFICATION else (),
        problems=stream.problems,
        duplicates=stream.distinct.duplicates,
        min_examples=min_examples,
        omitted_problems=stream.omitted,
    )


class _Stream:
    """What ``validate_stream`` keeps between batches.

    Rules:
    - Problems are kept in line order, the first ``max_problems`` of them; the rest are counted.
    - Duplicates are ``Distinct``'s, of 64-bit digests; the version is ``RunningVersion``'s; each
      example's side of the split is ``held_out``'s (a file holds no corrections).
    - Labels are gathered while every example read is labelled (else the task is chat: none).
    """

    def __init__(self, max_problems: int) -> None:
        self._max_problems = max_problems
        self.problems: list[Problem] = []
        self.omitted = 0
        self.distinct = Distinct(compact=True)
        self.version = RunningVersion()
        self.labels: set[str] = set()

    def batches(
        self, lines: Iterable[str | bytes], name: str, positive: bool | None, out: Collector
    ) -> Iterator[Batch[_Lines]]:
        """Read ``lines`` into ``out`` a batch at a time; yields each batch's distinct examples,
        which of them are held out for testing, their questions, and the batch's problems and
        examples' lines."""
        numbers: list[int] = []  # the line of each example in ``out.examples``
        for number, raw in enumerate(lines, start=1):
            if isinstance(raw, bytes):
                try:
                    # As ``decode`` then ``parse_text``: each drops a byte-order mark.
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    out.problems.append(Problem(number, NOT_UTF8))
                    continue
            elif SURROGATE.search(raw):
                out.problems.append(Problem(number, NOT_UTF8))
                continue
            else:
                line = raw
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            before = len(out.examples)
            # As ``lines_of``: the line end, and one carriage return before it (a CRLF file).
            line = line.removesuffix("\n").removesuffix("\r")
            read_jsonl_line(line, number, name, positive, out)
            if len(out.examples) > before:
                numbers.append(number)
            if len(out.examples) >= BATCH or len(out.problems) >= BATCH:
                yield self._take(out, numbers)
        yield self._take(out, numbers)

    def _take(self, out: Collector, numbers: list[int]) -> Batch[_Lines]:
        distinct: list[Example] = []
        lines: list[int] = []
        for index, key in self.distinct.first(out.examples):
            self.version.add(key)
            distinct.append(out.examples[index])
            lines.append(numbers[index])
        questions = [question(example.user_text) for example in distinct]
        if out.kinds == {LABELLED}:
            self.labels.update(example.completion for example in distinct)
        problems = list(out.problems)
        out.examples.clear()
        out.problems.clear()
        numbers.clear()
        return distinct, [held_out(asked) for asked in questions], questions, (problems, lines)

    def keep(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            if len(self.problems) < self._max_problems:
                self.problems.append(problem)
            else:
                self.omitted += 1
