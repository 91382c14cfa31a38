"""Scoring a model's answers against test data, with our own code (no hosted evals).

Rules:

- Text is compared after ``normalize``: Unicode NFKC, case folded, punctuation replaced by spaces,
  whitespace collapsed and trimmed. Replacing punctuation by a space (rather than deleting it) keeps
  ``label:positive`` and ``positive/negative`` as separate words for label matching.
- Classification: the output names a label when its normalised form *is* a label, or else when
  exactly one label appears in it as a whole word (a label inside a longer matching label does not
  count: "not positive" names "not positive", not "positive"). Anything else is an invalid output.
  Accuracy is correct / all examples, with a Wilson 95% interval. Precision, recall and F1 whose
  denominator is 0 are 0.0 (sklearn's ``zero_division=0``). The confusion matrix has one row per
  expected label and one column per label plus ``"invalid output"``; model errors are counted in
  that column, since no label could be read from them.
- Chat: ``exact_match`` compares outputs with surrounding whitespace stripped, ``normalized_match``
  compares normalised text, ``token_f1`` is SQuAD's bag-of-tokens F1 on normalised text; each is the
  mean over examples. An example with ``wanted=False`` says what *not* to answer, so its scores are
  inverted (a match scores 0, no match 1, token F1 becomes 1 − F1).
- A prediction with an ``error`` (the model failed) scores 0 everywhere and is a failure.
- Failures are listed worst first: for chat the lowest token F1 first; for classification errors,
  then invalid outputs, then wrong labels, each in dataset order. They are numbered from 1 in that
  order, in the report (which shows the first five) and in ``predictions.jsonl`` alike.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .entities import Dataset, Example, Task
from .text import plural

INVALID_OUTPUT = "invalid output"
FAILURES_SHOWN = 5
_FAILURE_CHARS = 100

_METRIC_NAMES = {
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "token_f1": "token F1",
    "exact_match": "exact match",
    "normalized_match": "normalized match",
}


def metric_name(key: str) -> str:
    """A metric as people read it: ``"macro_f1"`` → ``"macro F1"``."""
    return _METRIC_NAMES.get(key, key.replace("_", " "))


@dataclass(frozen=True)
class Prediction:
    """A model's answer to one example; ``error`` says why there is none (the model failed)."""

    example: Example
    output: str
    error: str | None = None


# --- text ------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """``text`` for comparison: NFKC, case folded, punctuation as spaces, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    spaced = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in folded)
    return " ".join(spaced.split())


def token_f1(predicted: str, expected: str) -> float:
    """SQuAD-style F1 of the bags of normalised tokens; 1.0 when both are empty, 0.0 when one is."""
    predicted_tokens = normalize(predicted).split()
    expected_tokens = normalize(expected).split()
    if not predicted_tokens or not expected_tokens:
        return float(predicted_tokens == expected_tokens)
    same = sum((Counter(predicted_tokens) & Counter(expected_tokens)).values())
    if same == 0:
        return 0.0
    precision = same / len(predicted_tokens)
    recall = same / len(expected_tokens)
    return 2 * precision * recall / (precision + recall)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% with the default ``z``).

    With ``n == 0`` nothing is known, so the interval is the whole range ``(0.0, 1.0)``.
    Raises ``ValueError`` unless ``0 <= successes <= n``.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def match_label(output: str, labels: Sequence[str]) -> str | None:
    """The label a classifier's free-text ``output`` names, or ``None`` (an invalid output).

    An exact match of normalised text wins; else the one label found in the output as a whole
    word (or words), ignoring labels that only occur inside a longer label also found.
    """
    said = normalize(output)
    named = {label: normalize(label) for label in labels}
    for label, form in named.items():
        if form and form == said:
            return label
    padded = f" {said} "
    found = {label: form for label, form in named.items() if form and f" {form} " in padded}
    longest = [
        label
        for label, form in found.items()
        if not any(form != other and f" {form} " in f" {other} " for other in found.values())
    ]
    return longest[0] if len(longest) == 1 else None


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall and F1 of one label (0.0 where a denominator is 0), and its support."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    """How well ``model`` answered a dataset.

    ``metrics``: classification ``accuracy`` and ``macro_f1``; chat ``exact_match``,
    ``normalized_match`` and ``token_f1`` (means over examples). ``accuracy_interval`` is the Wilson
    95% interval of accuracy (classification only). ``confusion[expected][predicted]`` counts
    examples, with an ``"invalid output"`` column. ``failures`` are the wrong predictions, worst
    first; ``errors`` counts predictions where the model failed.
    """

    model: str
    dataset_name: str
    task: Task
    count: int
    metrics: Mapping[str, float]
    accuracy_interval: tuple[float, float] | None
    per_class: tuple[ClassMetrics, ...]
    confusion: Mapping[str, Mapping[str, int]]
    failures: tuple[Prediction, ...]
    predictions: tuple[Prediction, ...]
    errors: int

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels of a classification report, in order; empty for chat."""
        return tuple(self.confusion)

    @property
    def invalid_outputs(self) -> int:
        """Outputs that named no label (model errors not included)."""
        return sum(row.get(INVALID_OUTPUT, 0) for row in self.confusion.values()) - (
            self.errors if self.task is Task.CLASSIFICATION else 0
        )

    def example_scores(self) -> tuple[float, ...]:
        """Each example's score in dataset order: 1.0/0.0 correct for classification, chat token F1."""
        return tuple(_score(prediction, self.task, self.labels) for prediction in self.predictions)

    def summary(self) -> str:
        """One line, e.g. "accuracy 0.83 (95% CI 0.71–0.91) on 40 examples, 2 invalid outputs"."""
        if not self.count:
            return f"{self.model}: no examples to evaluate"
        if self.task is Task.CLASSIFICATION:
            low, high = self.accuracy_interval or (0.0, 1.0)
            text = (
                f"accuracy {self.metrics['accuracy']:.2f} (95% CI {low:.2f}–{high:.2f}) "
                f"on {plural(self.count, 'example')}"
            )
            if self.invalid_outputs:
                text += f", {plural(self.invalid_outputs, 'invalid output')}"
        else:
            text = (
                f"token F1 {self.metrics['token_f1']:.2f}, "
                f"exact match {self.metrics['exact_match']:.2f}, "
                f"normalized match {self.metrics['normalized_match']:.2f} "
                f"on {plural(self.count, 'example')}"
            )
        if self.errors:
            text += f", {plural(self.errors, 'error')}"
        return text

    def lines(self) -> list[str]:
        """The report as text lines: metrics, the per-class table, the worst failures."""
        lines = [f"{self.model} on {self.dataset_name}: {self.summary()}"]
        for key, value in self.metrics.items():
            line = f"{_METRIC_NAMES.get(key, key)}: {value:.2f}"
            if key == "accuracy" and self.accuracy_interval is not None:
                low, high = self.accuracy_interval
                line += f" (95% CI {low:.2f}–{high:.2f})"
            lines.append(line)
        if self.per_class:
            width = max(len("label"), *(len(c.label) for c in self.per_class))
            lines.append(f"{'label':<{width}}  precision  recall  f1    support")
            lines.extend(
                f"{c.label:<{width}}  {c.precision:<9.2f}  {c.recall:<6.2f}  {c.f1:<4.2f}  "
                f"{c.support}"
                for c in self.per_class
            )
        if self.failures:
            shown = self.failures[:FAILURES_SHOWN]
            lines.append(
                f"worst {len(shown)} of {plural(len(self.failures), 'failure')}:"
                if len(self.failures) > len(shown)
                else f"{plural(len(self.failures), 'failure')}:"
            )
            lines.extend(
                _describe(number, prediction) for number, prediction in enumerate(shown, 1)
            )
        return lines

    def predicted_label(self, prediction: Prediction) -> str | None:
        """The label a classification ``prediction`` names (None: an invalid output or an error);
        always None for chat."""
        if self.task is not Task.CLASSIFICATION:
            return None
        return _predicted_label(prediction, self.labels)


def prediction_records(
    report: EvaluationReport, baseline: EvaluationReport | None = None
) -> list[dict[str, Any]]:
    """One JSON-ready record per example, in dataset order, for ``predictions.jsonl``.

    Each has the example (``n`` from 1, its ``prompt`` messages, the ``user`` text, ``expected``,
    ``wanted`` when false, ``origin`` when known), the model's ``output``, ``error``, ``score``
    (correctness or token F1, as ``example_scores``), ``correct`` (not a failure) and ``failure``
    (its number among the failures, as the report numbers them, or null); for classification the
    ``label`` the output names (null when none). With ``baseline`` (over the same examples) the
    same fields of the baseline's answer follow, prefixed ``baseline_``.
    """
    if baseline is not None and len(baseline.predictions) != len(report.predictions):
        raise ValueError("the reports are not over the same examples")
    numbers = _failure_numbers(report)
    baseline_numbers = _failure_numbers(baseline) if baseline is not None else {}
    records = []
    for index, prediction in enumerate(report.predictions):
        example = prediction.example
        record: dict[str, Any] = {
            "n": index + 1,
            "prompt": [message.to_dict() for message in example.prompt],
            "user": example.user_text,
            "expected": example.completion,
        }
        if not example.wanted:
            record["wanted"] = False
        if example.origin:
            record["origin"] = example.origin
        record.update(_answer_fields(report, prediction, numbers.get(id(prediction)), ""))
        if baseline is not None:
            other = baseline.predictions[index]
            record.update(
                _answer_fields(baseline, other, baseline_numbers.get(id(other)), "baseline_")
            )
        records.append(record)
    return records


def _failure_numbers(report: EvaluationReport) -> dict[int, int]:
    """The failures' numbers (1 is the worst), by the identity of the prediction."""
    return {id(failure): number for number, failure in enumerate(report.failures, 1)}


def _answer_fields(
    report: EvaluationReport, prediction: Prediction, number: int | None, prefix: str
) -> dict[str, Any]:
    fields: dict[str, Any] = {"output": prediction.output, "error": prediction.error}
    if report.task is Task.CLASSIFICATION:
        fields["label"] = report.predicted_label(prediction)
    fields["score"] = round(_score(prediction, report.task, report.labels), 6)
    fields["correct"] = number is None
    if not prefix:
        fields["failure"] = number
    return {f"{prefix}{key}": value for key, value in fields.items()}


def _describe(number: int, prediction: Prediction) -> str:
    example = prediction.example
    got = (
        f"error {_quote(prediction.error, 30)}"
        if prediction.error is not None
        else f"got {_quote(prediction.output, 25)}"
    )
    unwanted = "" if example.wanted else "not "
    line = (
        f"{number}. {_quote(example.user_text, 35)}: expected {unwanted}"
        f"{_quote(example.completion, 25)}, {got}"
    )
    return _shorten(line, _FAILURE_CHARS)


def _quote(text: str, limit: int) -> str:
    return f'"{_shorten(text, limit)}"'


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# --- scoring ---------------------------------------------------------------------------------


def _chat_scores(prediction: Prediction) -> tuple[float, float, float]:
    """(exact match, normalized match, token F1) of one chat prediction, inverted when unwanted."""
    if prediction.error is not None:
        return 0.0, 0.0, 0.0
    output, expected = prediction.output, prediction.example.completion
    exact = float(output.strip() == expected.strip())
    normal = float(normalize(output) == normalize(expected))
    f1 = token_f1(output, expected)
    if not prediction.example.wanted:
        return 1.0 - exact, 1.0 - normal, 1.0 - f1
    return exact, normal, f1


def _predicted_label(prediction: Prediction, labels: Sequence[str]) -> str | None:
    return None if prediction.error is not None else match_label(prediction.output, labels)


def _score(prediction: Prediction, task: Task, labels: Sequence[str]) -> float:
    if task is Task.CLASSIFICATION:
        return float(_predicted_label(prediction, labels) == prediction.example.completion)
    return _chat_scores(prediction)[2]


def _check_aligned(examples: Sequence[Example], predictions: Sequence[Prediction]) -> None:
    if len(examples) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(examples)} examples")
    for index, (example, prediction) in enumerate(zip(examples, predictions, strict=True)):
        if prediction.example.key() != example.key():
            raise ValueError(f"prediction {index} is not for example {index} of the dataset")


def evaluate(model: str, dataset: Dataset, predictions: Sequence[Prediction]) -> EvaluationReport:
    """Score ``predictions`` (one per example of ``dataset``, in order) as the module says.

    Raises ``ValueError`` when the predictions do not align with the dataset's examples.
    """
    _check_aligned(dataset.examples, predictions)
    errors = sum(1 for prediction in predictions if prediction.error is not None)
    if dataset.task is Task.CLASSIFICATION:
        return _evaluate_classification(model, dataset, tuple(predictions), errors)
    return _evaluate_chat(model, dataset, tuple(predictions), errors)


def _evaluate_chat(
    model: str, dataset: Dataset, predictions: tuple[Prediction, ...], errors: int
) -> EvaluationReport:
    scores = [_chat_scores(prediction) for prediction in predictions]
    count = len(predictions)

    def mean(column: int) -> float:
        return sum(score[column] for score in scores) / count if count else 0.0

    failed = [
        (score[2], index)
        for index, (score, prediction) in enumerate(zip(scores, predictions, strict=True))
        if score[1] < 1.0 or prediction.error is not None
    ]
    failures = tuple(predictions[index] for _, index in sorted(failed))
    return EvaluationReport(
        model=model,
        dataset_name=dataset.name,
        task=Task.CHAT,
        count=count,
        metrics={"exact_match": mean(0), "normalized_match": mean(1), "token_f1": mean(2)},
        accuracy_interval=None,
        per_class=(),
        confusion={},
        failures=failures,
        predictions=predictions,
        errors=errors,
    )


def _evaluate_classification(
    model: str, dataset: Dataset, predictions: tuple[Prediction, ...], errors: int
) -> EvaluationReport:
    labels = dataset.labels
    columns = (*labels, INVALID_OUTPUT)
    confusion = {label: dict.fromkeys(columns, 0) for label in labels}
    error_failures: list[Prediction] = []
    invalid_failures: list[Prediction] = []
    wrong_failures: list[Prediction] = []
    for prediction in predictions:
        predicted = _predicted_label(prediction, labels)
        expected = prediction.example.completion
        confusion[expected][predicted or INVALID_OUTPUT] += 1
        if prediction.error is not None:
            error_failures.append(prediction)
        elif predicted is None:
            invalid_failures.append(prediction)
        elif predicted != expected:
            wrong_failures.append(prediction)
    per_class = tuple(_class_metrics(label, confusion) for label in labels)
    count = len(predictions)
    correct = sum(confusion[label][label] for label in labels)
    macro_f1 = sum(c.f1 for c in per_class) / len(per_class) if per_class else 0.0
    return EvaluationReport(
        model=model,
        dataset_name=dataset.name,
        task=Task.CLASSIFICATION,
        count=count,
        metrics={"accuracy": correct / count if count else 0.0, "macro_f1": macro_f1},
        accuracy_interval=wilson_interval(correct, count),
        per_class=per_class,
        confusion=confusion,
        failures=(*error_failures, *invalid_failures, *wrong_failures),
        predictions=predictions,
        errors=errors,
    )


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _class_metrics(label: str, confusion: Mapping[str, Mapping[str, int]]) -> ClassMetrics:
    true_positives = confusion[label][label]
    predicted = sum(row[label] for row in confusion.values())
    support = sum(confusion[label].values())
    precision = _ratio(true_positives, predicted)
    recall = _ratio(true_positives, support)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassMetrics(label, precision, recall, f1, support)


# --- comparing two models --------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """``model`` against ``baseline`` on the same examples.

    ``deltas`` are model − baseline for every metric both have. Per example, a win is a correct
    answer where the baseline was wrong (classification) or a higher token F1 (chat).
    """

    model: str
    baseline: str
    deltas: Mapping[str, float]
    wins: int
    losses: int
    ties: int

    def summary(self) -> str:
        """One line, e.g. "ft:x vs base: accuracy +0.12, macro F1 +0.10; better on 7, worse on 2"."""
        deltas = ", ".join(
            f"{_METRIC_NAMES.get(key, key)} {value:+.2f}" for key, value in self.deltas.items()
        )
        return (
            f"{self.model} vs {self.baseline}: {deltas}; better on {self.wins}, "
            f"worse on {self.losses}, same on {plural(self.ties, 'example')}"
        )


def compare(report: EvaluationReport, baseline: EvaluationReport) -> Comparison:
    """Compare two reports over the same examples; raises ``ValueError`` if they are not."""
    if report.task is not baseline.task or len(report.predictions) != len(baseline.predictions):
        raise ValueError("the reports are not over the same examples")
    ours = [prediction.example.key() for prediction in report.predictions]
    theirs = [prediction.example.key() for prediction in baseline.predictions]
    if ours != theirs:
        raise ValueError("the reports are not over the same examples")
    wins = losses = ties = 0
    for mine, other in zip(report.example_scores(), baseline.example_scores(), strict=True):
        if math.isclose(mine, other, abs_tol=1e-9):
            ties += 1
        elif mine > other:
            wins += 1
        else:
            losses += 1
    deltas = {
        key: value - baseline.metrics[key]
        for key, value in report.metrics.items()
        if key in baseline.metrics
    }
    return Comparison(report.model, baseline.model, deltas, wins, losses, ties)
