"""What reading an input gives: its examples, its problems (``Problem``) and the task they teach.

Rules:
- A problem names where it is — its 1-based line, or none (JSON items name their index in the
  message), and the file name in a folder — and says what is wrong in words a user can act on.
- A dataset is a classification dataset when every example is labelled (text/label or plain
  text), a chat dataset otherwise; mixing both kinds is a problem (``MIXED_KINDS``), and so is
  plain text with no label (``NEEDS_LABEL``). Both are known only once the whole input is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..entities import Example, Task

NEEDS_LABEL = (
    "plain text needs positive=true or positive=false to label it "
    "(or, in a folder, subfolders named after the labels)"
)
MIXED_KINDS = "mixes labelled and chat examples"
UNSUPPORTED_FILE = "skipped: unsupported file type"
NOT_UTF8 = "not UTF-8 text"

# The two kinds of example an input may hold.
LABELLED, CHAT = "labelled", "chat"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (line, file) and what, in words a user can act on.

    ``line`` is 1-based, or ``None`` when the problem is not on one line (JSON items name their
    index in the message instead). ``source`` is the file name for folder datasets.
    """

    line: int | None
    message: str
    source: str = ""

    def __str__(self) -> str:
        # A file name may hold anything a filesystem allows: a line break is shown escaped.
        source = self.source if self.source.isprintable() else repr(self.source)
        where = " ".join(
            part for part in (source, "" if self.line is None else f"line {self.line}") if part
        )
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ParseResult:
    """The examples read from an input, every problem found in it, and the task they teach."""

    examples: tuple[Example, ...]
    problems: tuple[Problem, ...]
    task: Task


@dataclass
class Collector:
    """Accumulates what one or more inputs produce, before the task is decided."""

    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    unlabelled_text: bool = False

    def merge(self, other: Collector, source: str) -> None:
        self.examples.extend(other.examples)
        self.problems.extend(replace(p, source=source) for p in other.problems)
        self.kinds |= other.kinds
        self.unlabelled_text = self.unlabelled_text or other.unlabelled_text

    def finish(self) -> ParseResult:
        problems = [*self.problems, *self.closing_problems()]
        return ParseResult(tuple(self.examples), tuple(problems), self.task)

    def closing_problems(self) -> list[Problem]:
        """The problems of the input as a whole, known once all of it is read."""
        problems: list[Problem] = []
        if self.unlabelled_text:
            problems.append(Problem(None, NEEDS_LABEL))
        if {LABELLED, CHAT} <= self.kinds:
            problems.append(Problem(None, MIXED_KINDS))
        return problems

    @property
    def task(self) -> Task:
        return Task.CLASSIFICATION if self.kinds == {LABELLED} else Task.CHAT


def shown(names: Iterable[str], *, limit: int = 4, width: int = 30) -> str:
    """Names taken from the data, for a one-line message: each cut to ``width`` characters with
    what cannot be printed escaped, at most ``limit`` of them."""
    names = list(names)
    parts = []
    for name in names[:limit]:
        if not (name.isprintable() and name.strip()):
            name = repr(name)
        parts.append(name if len(name) <= width else name[: width - 1] + "…")
    if len(names) > limit:
        parts.append(f"{len(names) - limit} more")
    return ", ".join(parts)
