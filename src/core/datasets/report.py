"""The validation report: what a dataset holds and whether it can be trained on, in words."""

from __future__ import annotations

from dataclasses import dataclass

from ..entities import Task
from ..text import plural
from ..tokens import BillingEstimate, TokenStats
from .problems import Problem, shown

# The validation report keeps at most this many problems (the first ones), and counts the rest.
MAX_PROBLEMS_KEPT = 50


@dataclass(frozen=True)
class ValidationReport:
    """What a dataset holds and whether it can be trained on.

    Valid means: no problems, at least ``min_examples`` examples in the training part (what the
    trainer receives), and for classification at least two labels. An example over the token limit
    is a problem on its line. Duplicates (removed before counting) and leakage (test examples asking
    what a training example asks, ignoring case, spacing and punctuation: the split keeps the same
    question, ignoring case and spacing, on one side, but not one punctuated otherwise) are reported
    but do not invalidate. ``omitted_problems`` counts problems found beyond those kept (a streamed
    file keeps the first ``MAX_PROBLEMS_KEPT``). ``tokens`` is present when tokens were counted,
    ``billing`` when the trainer bills by the token. ``corrections`` counts the examples made from
    corrections, ``corrections_held_out`` those of them in the test part (only with ``holdout``,
    ``!train holdout=true``); the details say in one line whether every correction trains.
    """

    dataset_name: str
    dataset_version: str
    task: Task
    example_count: int
    train_count: int
    test_count: int
    labels: tuple[str, ...]
    problems: tuple[Problem, ...]
    duplicates: int
    leaked: int
    min_examples: int
    omitted_problems: int = 0
    tokens: TokenStats | None = None
    billing: BillingEstimate | None = None
    corrections: int = 0
    corrections_held_out: int = 0
    holdout: bool = False

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.omitted_problems

    @property
    def too_few(self) -> bool:
        # The trainer receives only the training part: that is what must reach its minimum.
        return self.train_count < self.min_examples

    @property
    def one_label(self) -> bool:
        return self.task is Task.CLASSIFICATION and len(self.labels) < 2

    @property
    def is_valid(self) -> bool:
        return not self.problem_count and not self.too_few and not self.one_label

    def _blocking_notes(self) -> list[str]:
        notes: list[str] = []
        if self.too_few:
            notes.append(
                f"needs at least {self.min_examples} training examples, has {self.train_count} "
                f"(of {self.example_count}; {self.test_count} held out for testing)"
            )
        if self.one_label:
            if self.labels:
                label = shown(self.labels[:1], width=40)
                notes.append(f"only one label ({label}): a classifier needs at least two")
            else:
                notes.append("no labels: a classifier needs at least two")
        return notes

    def summary(self) -> str:
        """One line: the counts and version when valid, else the first reasons it is not."""
        if not self.is_valid:
            reasons = [str(problem) for problem in self.problems] + self._blocking_notes()
            shown = reasons[:2]
            more = len(reasons) - len(shown) + self.omitted_problems
            if more:
                shown.append(f"and {more:,} more")
            head = (
                f"invalid: {plural(self.problem_count, 'problem')} — " if self.problem_count else ""
            )
            return (head or "invalid: ") + "; ".join(shown)
        parts = [
            f"{plural(self.example_count, 'example')} "
            f"({self.train_count} train / {self.test_count} test)"
        ]
        if self.task is Task.CLASSIFICATION:
            parts.append(plural(len(self.labels), "label"))
        parts.append(f"version {self.dataset_version}")
        if self.tokens is not None:
            parts.append(plural(self.tokens.total, "token"))
        text = ", ".join(parts)
        if self.duplicates:
            text += f"; {plural(self.duplicates, 'duplicate')} removed"
        if self.leaked:
            text += f"; {plural(self.leaked, 'test example')} also in training"
        return text

    def details(self) -> list[str]:
        """One line per problem, then the notes: too few examples, one label, duplicates, leakage,
        then the token statistics and the cost estimate when they were made."""
        lines = [str(problem) for problem in self.problems]
        if self.omitted_problems:
            lines.append(f"and {plural(self.omitted_problems, 'more problem')} not listed")
        lines.extend(self._blocking_notes())
        if self.duplicates:
            lines.append(f"{plural(self.duplicates, 'duplicate example')} removed")
        if self.example_count and not self.test_count and self.corrections < self.example_count:
            lines.append("no test examples: the split put every example in training")
        if self.corrections:
            lines.append(self._corrections_note())
        if self.leaked:
            lines.append(
                f"{plural(self.leaked, 'test example')} asked the same as a training example: "
                "test scores on them will look better than the model is"
            )
        if self.tokens is not None:
            lines.append(self.tokens.describe())
        if self.billing is not None:
            lines.append(self.billing.describe())
        return lines

    def _corrections_note(self) -> str:
        """Whether every correction trains, in one line."""
        every = (
            f"All {self.corrections} corrections train"
            if self.corrections > 1
            else "The correction trains"
        )
        if self.corrections_held_out:
            return (
                f"{self.corrections_held_out} of {plural(self.corrections, 'correction')} held "
                "out for testing (holdout=true); the rest train"
            )
        if self.holdout:
            return f"{every}; holdout=true, but the split held none of them out"
        return f"{every}; none held out (holdout=true holds some out for testing)"
