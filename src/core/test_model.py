"""TestModel: run a model over test data and report metrics; optionally compare with a baseline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trainerbot.ports import (
    ChartRenderer,
    ChatModel,
    DatasetStore,
    JobStore,
    LossCurveSource,
    ModelRegistry,
    ModelTrainer,
    Workspace,
)

from .access import require_trainer
from .dataset_sources import Upload, check_upload, read_data
from .datasets import ParseResult, build_dataset, decode, parse_files, parse_text, validate
from .entities import Actor, ChatMessage, Dataset, Example, FileContent, LossPoint, Task
from .errors import (
    CapabilityUnavailable,
    DatasetInvalid,
    EmptyDataset,
    InvalidArgument,
    TrainerbotError,
    UnknownDataset,
    UnknownModel,
)
from .evaluation import (
    Comparison,
    EvaluationReport,
    Prediction,
    compare,
    evaluate,
    prediction_records,
)
from .fix_failure import RecentTests
from .limits import DEFAULT_LIMITS, Limits
from .prompts import classification_instruction
from .text import command
from .unwanted import UnwantedAnswers

# OpenAI's fine-tuned models: ft:<base>:<org>:<suffix>:<id>.
FINE_TUNED_PREFIX = "ft:"

PREDICTIONS_FILE = "predictions.jsonl"
COMPARISON_CHART = "comparison.png"
METRICS_CHART = "metrics.png"
LOSS_CHART = "loss.png"


@dataclass(frozen=True)
class TestRequest:
    """Exactly one of ``data`` (inline JSON, as the original), ``attachment``, ``data_dir`` (a
    workspace file or folder, read as ``!train data_dir=`` reads it) or ``dataset``."""

    __test__ = False  # not a pytest test class

    actor: Actor
    data: str | None = None
    attachment: Upload | None = None
    data_dir: str | None = None
    dataset: str | None = None
    model: str | None = None
    baseline: str | None = None


@dataclass(frozen=True)
class TestResult:
    """The report (and the baseline's, and how they compare), the charts drawn of them, and
    ``notes`` on what could not be drawn."""

    __test__ = False

    report: EvaluationReport
    baseline_report: EvaluationReport | None = None
    comparison: Comparison | None = None
    charts: tuple[FileContent, ...] = ()
    notes: tuple[str, ...] = ()

    def predictions_jsonl(self) -> bytes:
        """Every example with the model's answer (and the baseline's), one JSON object a line;
        the fields are ``evaluation.prediction_records``'."""
        return b"".join(
            json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
            for record in prediction_records(self.report, self.baseline_report)
        )

    @property
    def files(self) -> tuple[FileContent, ...]:
        """What goes with the report: ``predictions.jsonl``, then the charts."""
        return (FileContent(PREDICTIONS_FILE, self.predictions_jsonl()), *self.charts)


class TestModel:
    """Test a model on examples it was not trained on.

    Rules:
    - Trainers only. Test data is exactly one of: inline data, an attachment, a workspace file or
      folder (inside the workspace and size-capped, as for ``!train data_dir=``; needs
      ``workspace``), or a saved dataset — whose held-out test split is used, never its training
      part (corrections all train unless held out with ``!train holdout=true``).
    - At most ``max_test_examples`` examples; a bad line refuses the test before any model runs.
    - The model is ``model`` or the active one (or the default). A trained model — a fine-tuned
      ``ft:`` id, or one of a trainer's own (``fewshot:…``) — must be one of this tenant's
      (``UnknownModel`` otherwise, as ``!use`` says): another server's is not found here. Base
      models may be named freely. For labelled data the model is told
      the labels to choose from; an answer naming none of them counts as an invalid output.
    - Examples run concurrently, at most ``test_concurrency`` at a time. An example the model fails
      on is recorded as a failure with its error; if the model is not available at all, the test stops.
    - With ``baseline``, both models answer the same examples and the report compares them metric by
      metric, with wins, losses and ties.
    - Every example's answers go into ``predictions.jsonl`` (``TestResult.files``). With a chart
      renderer, a chart of the metrics (``comparison.png`` with a baseline, else ``metrics.png``)
      goes too; and when the tested model was trained by a job whose trainer reports its loss by
      step (OpenAI), its loss curve (``loss.png``). A chart that cannot be drawn is a note in the
      report, never a failed test.
    - The report is remembered as the trainer's latest test (with ``recent``), for ``!fix``.
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
        charts: ChartRenderer | None = None,
        recent: RecentTests | None = None,
        jobs: JobStore | None = None,
        trainers: Mapping[str, ModelTrainer] | None = None,
        workspace: Workspace | None = None,
    ) -> None:
        self._chat_model = chat_model
        self._workspace = workspace
        self._datasets = datasets
        self._models = models
        self._default_model = default_model
        self._limits = limits
        self._charts = charts
        self._recent = recent
        self._jobs = jobs
        self._trainers = trainers or {}

    async def execute(self, request: TestRequest) -> TestResult:
        require_trainer(request.actor)
        for named in (request.model, request.baseline):
            if named is not None:
                await self._check_known(named)
        dataset = await self._test_data(request)
        model = request.model or await self._models.active() or self._default_model
        report = evaluate(model, dataset, await self._predict(model, dataset))
        baseline: EvaluationReport | None = None
        comparison: Comparison | None = None
        if request.baseline is not None:
            baseline = evaluate(
                request.baseline, dataset, await self._predict(request.baseline, dataset)
            )
            comparison = compare(report, baseline)
        if self._recent is not None:
            self._recent.remember(request.actor.id, report)
        charts, notes = await self._draw(report, baseline)
        return TestResult(report, baseline, comparison, charts, notes)

    async def _draw(
        self, report: EvaluationReport, baseline: EvaluationReport | None
    ) -> tuple[tuple[FileContent, ...], tuple[str, ...]]:
        """The charts of a finished test, and a note for each that could not be drawn."""
        if self._charts is None:
            return (), ()
        charts: list[FileContent] = []
        notes: list[str] = []
        name = COMPARISON_CHART if baseline is not None else METRICS_CHART
        try:
            charts.append(FileContent(name, await self._charts.render_comparison(report, baseline)))
        except TrainerbotError as error:
            notes.append(f"No chart of the metrics: {error}")
        try:
            points = await self._loss_curve(report.model)
            if points:
                image = await self._charts.render_loss_curve(report.model, points)
                charts.append(FileContent(LOSS_CHART, image))
        except TrainerbotError as error:
            notes.append(f"No loss curve: {error}")
        return tuple(charts), tuple(notes)

    async def _check_known(self, model: str) -> None:
        prefix = model.split(":", 1)[0] if ":" in model else None
        trained = model.startswith(FINE_TUNED_PREFIX) or prefix in self._trainers
        if trained and model not in {m.id for m in await self._models.models()}:
            raise UnknownModel(
                f"There is no model {model.strip()[:80]!r}; see {command('models')}."
            )

    async def _loss_curve(self, model: str) -> Sequence[LossPoint]:
        """The loss by step of the job that trained ``model``; empty when it was not trained
        here or its trainer does not report one."""
        if self._jobs is None or not self._trainers:
            return ()
        trained = next((m for m in await self._models.models() if m.id == model), None)
        if trained is None or trained.job_id is None or trained.trainer is None:
            return ()
        # Reporting a loss curve is a capability of some trainers only (typed as object:
        # mypy cannot narrow one protocol to another).
        trainer: object = self._trainers.get(trained.trainer)
        if not isinstance(trainer, LossCurveSource):
            return ()
        job = await self._jobs.get(trained.job_id)
        if job is None:
            return ()
        return await trainer.loss_curve(job)

    async def _test_data(self, request: TestRequest) -> Dataset:
        given = [
            s
            for s in (request.data, request.attachment, request.data_dir, request.dataset)
            if s is not None
        ]
        if len(given) != 1:
            raise InvalidArgument(
                "Give test data: inline JSON, an attachment, data_dir=<file or folder>, "
                "or dataset=<name> (one of them)."
            )
        if request.dataset is not None:
            saved = await self._datasets.get(request.dataset.strip())
            if saved is None:
                raise UnknownDataset(f"There is no dataset named {request.dataset[:64]!r}.")
            dataset = saved.split()[1]
            if not dataset.examples:
                reason = "it needs more data"
                if not saved.hold_out_corrections and any(
                    example.from_correction for example in saved.examples
                ):
                    reason = "its corrections all trained (train with holdout=true to keep some)"
                raise EmptyDataset(f"The dataset {saved.name} has no held-out examples; {reason}.")
        else:
            parsed: ParseResult
            if request.data is not None:
                parsed = parse_text(request.data)
            elif request.data_dir is not None:
                if self._workspace is None:
                    raise CapabilityUnavailable("Test data from the workspace is not set up here.")
                files = await read_data(self._workspace, request.data_dir, self._limits)
                parsed = await asyncio.to_thread(parse_files, files, positive=None)
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
                    # Scored as a user would see it: an answer taught unwanted is withheld.
                    unwanted = await self._chat_model.unwanted(messages, model=model)
                    output = UnwantedAnswers(unwanted).withhold(
                        (await self._chat_model.complete(messages, model=model)).strip()
                    )
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
