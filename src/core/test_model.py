"""TestModel: run a model over test data and report metrics; optionally compare with a baseline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from trainerbot.ports import ChatModel, DatasetStore, ModelRegistry

from .access import require_trainer
from .dataset_sources import Upload, check_upload
from .datasets import build_dataset, decode, parse_text, validate
from .entities import Actor, ChatMessage, Dataset, Example, Task
from .errors import (
    CapabilityUnavailable,
    DatasetInvalid,
    EmptyDataset,
    InvalidArgument,
    TrainerbotError,
    UnknownDataset,
)
from .evaluation import Comparison, EvaluationReport, Prediction, compare, evaluate
from .limits import DEFAULT_LIMITS, Limits
from .prompts import classification_instruction


@dataclass(frozen=True)
class TestRequest:
    """Exactly one of ``data`` (inline JSON, as the original), ``attachment`` or ``dataset``."""

    __test__ = False  # not a pytest test class

    actor: Actor
    data: str | None = None
    attachment: Upload | None = None
    dataset: str | None = None
    model: str | None = None
    baseline: str | None = None


@dataclass(frozen=True)
class TestResult:
    __test__ = False

    report: EvaluationReport
    baseline_report: EvaluationReport | None = None
    comparison: Comparison | None = None


class TestModel:
    """Test a model on examples it was not trained on.

    Rules:
    - Trainers only. Test data is exactly one of: inline data, an attachment, or a saved dataset —
      whose held-out test split is used, never its training part.
    - At most ``max_test_examples`` examples; a bad line refuses the test before any model runs.
    - The model is ``model`` or the active one (or the default). For labelled data the model is told
      the labels to choose from; an answer naming none of them counts as an invalid output.
    - Examples run concurrently, at most ``test_concurrency`` at a time. An example the model fails
      on is recorded as a failure with its error; if the model is not available at all, the test stops.
    - With ``baseline``, both models answer the same examples and the report compares them metric by
      metric, with wins, losses and ties.
    """

    __test__ = False

    def __init__(
        self,
        *,
        chat_model: ChatModel,
        datasets: DatasetStore,
        models: ModelRegistry,
        default_model: str,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._chat_model = chat_model
        self._datasets = datasets
        self._models = models
        self._default_model = default_model
        self._limits = limits

    async def execute(self, request: TestRequest) -> TestResult:
        require_trainer(request.actor)
        dataset = await self._test_data(request)
        model = request.model or await self._models.active() or self._default_model
        report = evaluate(model, dataset, await self._predict(model, dataset))
        if request.baseline is None:
            return TestResult(report)
        baseline = evaluate(
            request.baseline, dataset, await self._predict(request.baseline, dataset)
        )
        return TestResult(report, baseline, compare(report, baseline))

    async def _test_data(self, request: TestRequest) -> Dataset:
        given = [s for s in (request.data, request.attachment, request.dataset) if s is not None]
        if len(given) != 1:
            raise InvalidArgument(
                "Give test data: inline JSON, an attachment, or dataset=<name> (one of them)."
            )
        if request.dataset is not None:
            saved = await self._datasets.get(request.dataset.strip())
            if saved is None:
                raise UnknownDataset(f"There is no dataset named {request.dataset[:64]!r}.")
            dataset = saved.split()[1]
            if not dataset.examples:
                raise EmptyDataset(
                    f"The dataset {saved.name} has no held-out examples; it needs more data."
                )
        else:
            if request.data is not None:
                parsed = parse_text(request.data)
            else:
                assert request.attachment is not None
                check_upload(request.attachment, self._limits)
                name = request.attachment.filename
                parsed = parse_text(decode(request.attachment.data, name), filename=name)
            dataset, duplicates = build_dataset("test", parsed, source="test data")
            if parsed.problems:
                report = validate(dataset, parsed, duplicates=duplicates, min_examples=1)
                raise DatasetInvalid(f"The test data is {report.summary()}", report=report)
        if not dataset.examples:
            raise EmptyDataset("The test data has no examples.")
        if len(dataset.examples) > self._limits.max_test_examples:
            raise InvalidArgument(
                f"The test data has {len(dataset.examples)} examples; the limit is "
                f"{self._limits.max_test_examples}."
            )
        return dataset

    async def _predict(self, model: str, dataset: Dataset) -> list[Prediction]:
        gate = asyncio.Semaphore(self._limits.test_concurrency)
        instruction = _label_instruction(dataset)

        async def one(example: Example) -> Prediction:
            messages: Sequence[ChatMessage] = example.prompt
            if instruction is not None:
                messages = (instruction, *example.prompt)
            async with gate:
                try:
                    output = await self._chat_model.complete(messages, model=model)
                except CapabilityUnavailable:
                    raise
                except TrainerbotError as error:
                    return Prediction(example=example, output="", error=str(error))
            return Prediction(example=example, output=output.strip())

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(e)) for e in dataset.examples]
        except ExceptionGroup as failed:
            # The model is unavailable (or broke unexpectedly): the other examples were cancelled.
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]


def _label_instruction(dataset: Dataset) -> ChatMessage | None:
    if dataset.task is not Task.CLASSIFICATION:
        return None
    return classification_instruction(dataset.labels)
