"""TrainModel: a dataset → validation report → a training job with the chosen trainer."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace

from trainerbot.ports import (
    CorrectionStore,
    DatasetStore,
    JobStore,
    ModelRegistry,
    ModelTrainer,
    SettingsStore,
    TokenCounter,
    Workspace,
)

from .access import require_trainer
from .dataset_sources import Upload, check_upload, dataset_name, read_data
from .datasets import (
    MIXED_KINDS,
    ParseResult,
    Problem,
    ValidationReport,
    build_dataset,
    decode,
    parse_files,
    parse_text,
    validate,
)
from .entities import Actor, Dataset, JobStatus, Task, TrainingJob, TrainingSpec, new_id
from .errors import (
    DatasetInvalid,
    InvalidArgument,
    TrainerbotError,
    UnknownDataset,
    UnknownTrainer,
)
from .jobs import register_model
from .limits import DEFAULT_LIMITS, Limits
from .manage_settings import system_prompt
from .paths import parse_user_path
from .text import command
from .tokens import TokenCheck


@dataclass(frozen=True)
class TrainRequest:
    """At most one of ``data`` (inline text), ``attachment``, ``data_dir`` (a workspace folder or
    file); ``include_corrections`` adds the recorded corrections (and may be the only source),
    which all train unless ``holdout`` asks for some of them to be held out for testing."""

    actor: Actor
    data: str | None = None
    attachment: Upload | None = None
    data_dir: str | None = None
    positive: bool | None = None
    method: str | None = None
    include_corrections: bool = False
    holdout: bool = False
    name: str | None = None
    # Where the request came from, kept with the job (see TrainingJob.origin).
    origin: str | None = None


@dataclass(frozen=True)
class TrainResult:
    job: TrainingJob
    report: ValidationReport
    dataset: Dataset


class TrainModel:
    """Train a model.

    Rules:
    - Trainers only. The trainer is ``method`` or the configured default, and must exist
      (``UnknownTrainer`` lists the ones that do).
    - Data comes from exactly one of: inline text, an attachment (size-capped), a workspace folder
      or file (inside the workspace, size-capped); ``include_corrections`` adds every recorded correction as
      an example (prompt → corrected answer, with the wrong answer as the rejected side). With none
      of these, the dataset chosen with ``!select_dataset`` is used; with no selection either, the
      user is told what to give.
    - ``positive`` labels plain documents positive/negative and marks chat examples wanted/unwanted.
    - Exact duplicates are removed. The dataset gets a content version and a deterministic
      train/test split; the test part is held out from training and handed over as validation data
      — unless it would take every example (a single correction), when everything trains.
    - Every correction trains (``Dataset.split``): a person who corrects the bot expects each
      correction to count. Only ``holdout`` splits the corrections like the rest of the data; the
      report says which.
    - The validation report comes before anything starts: any bad line, too few examples for the
      trainer, an example longer than the trainer's token limit (counted with ``tokens``, which also
      gives token statistics and, for a trainer that bills by the token, its own estimate of the
      cost from the training part's tokens: ``ModelTrainer.estimate``), or a classification set
      with one label stops here (``DatasetInvalid`` carrying the report), and nothing is uploaded,
      saved or recorded. So does a trainer's ``preflight`` refusal (data it does not take, a
      package or model it lacks), in its own one line.
    - A valid dataset is saved and its job recorded *before* the trainer starts, so a crash part-way
      leaves a job to resume; a trainer that refuses (permission denied, an outage) leaves the job
      recorded as failed with the reason, and the reason reaches the user. A job that finished at
      once (an immediate trainer) registers its model for ``!use``.
    - Parsing, checking and counting run in a worker thread: a large attachment never holds up the
      event loop.
    """

    def __init__(
        self,
        *,
        trainers: Mapping[str, ModelTrainer],
        default_trainer: str,
        datasets: DatasetStore,
        corrections: CorrectionStore,
        jobs: JobStore,
        models: ModelRegistry,
        workspace: Workspace,
        limits: Limits = DEFAULT_LIMITS,
        tokens: TokenCounter | None = None,
        settings: SettingsStore | None = None,
        system_prompt: str | None = None,
    ) -> None:
        self._settings = settings
        self._system_prompt = system_prompt
        self._trainers = trainers
        self._tokens = tokens
        self._default_trainer = default_trainer
        self._datasets = datasets
        self._corrections = corrections
        self._jobs = jobs
        self._models = models
        self._workspace = workspace
        self._limits = limits

    async def execute(self, request: TrainRequest) -> TrainResult:
        require_trainer(request.actor)
        trainer = self._trainer(request.method)
        dataset, parsed, duplicates = await self._dataset(request)
        check = None
        if self._tokens is not None:
            check = TokenCheck(self._tokens, trainer.max_example_tokens, trainer.estimate)
        report = await asyncio.to_thread(
            validate,
            dataset,
            parsed,
            duplicates=duplicates,
            min_examples=trainer.min_examples,
            tokens=check,
        )
        if not report.is_valid:
            raise DatasetInvalid(report.summary(), report=report)
        await trainer.preflight(dataset)

        train, test = dataset.split()
        job = TrainingJob(
            id=new_id("job"),
            trainer=trainer.name,
            status=JobStatus.VALIDATING,
            dataset_name=dataset.name,
            dataset_version=dataset.version,
            example_count=len(train.examples),
            requested_by=request.actor.id,
            origin=request.origin,
        )
        spec = TrainingSpec(
            dataset=train,
            validation=test if test.examples else None,
            suffix=dataset.name[:18],
            metadata={"dataset": dataset.name, "dataset_version": dataset.version, "job": job.id},
            system_prompt=await system_prompt(self._settings, self._system_prompt),
        )
        # The job is recorded before the trainer starts, so a crash part-way (an upload done, the
        # provider job not yet known) leaves a job that RefreshJob can resume or settle.
        await self._datasets.save(dataset)
        await self._jobs.save(job)
        try:
            started = await trainer.start(spec, job=job)
        except TrainerbotError as error:
            await self._jobs.save(job.with_status(JobStatus.FAILED, error=str(error)))
            raise
        await self._jobs.save(started)
        await register_model(self._models, started)
        return TrainResult(job=started, report=report, dataset=dataset)

    def _trainer(self, method: str | None) -> ModelTrainer:
        name = (method or self._default_trainer).strip().lower()
        trainer = self._trainers.get(name)
        if trainer is None:
            known = ", ".join(sorted(self._trainers)) or "none"
            raise UnknownTrainer(
                f"There is no trainer named {name[:40]!r}; choose one of: {known}."
            )
        return trainer

    async def _dataset(self, request: TrainRequest) -> tuple[Dataset, ParseResult, int]:
        given = [s for s in (request.data, request.attachment, request.data_dir) if s is not None]
        if len(given) > 1:
            raise InvalidArgument(
                "Give one source of data: inline text, an attachment, or data_dir=<folder>."
            )
        parsed: ParseResult | None = None
        name = request.name
        if request.data is not None:
            if not request.data.strip():
                raise InvalidArgument("The inline data is empty.")
            parsed = await asyncio.to_thread(parse_text, request.data, positive=request.positive)
            name = name or "inline"
        elif request.attachment is not None:
            check_upload(request.attachment, self._limits)
            parsed = await asyncio.to_thread(_parse_upload, request.attachment, request.positive)
            name = name or dataset_name(request.attachment.filename)
        elif request.data_dir is not None:
            files = await read_data(self._workspace, request.data_dir, self._limits)
            parsed = await asyncio.to_thread(parse_files, files, positive=request.positive)
            name = name or dataset_name(parse_user_path(request.data_dir))
        elif not request.include_corrections:
            return await self._selected()

        if request.include_corrections:
            examples = [c.example() for c in await self._corrections.all()]
            if parsed is None:
                parsed = ParseResult(examples=tuple(examples), problems=(), task=Task.CHAT)
                name = name or "corrections"
            else:
                problems = parsed.problems
                if parsed.task is Task.CLASSIFICATION and examples:
                    # Corrections are chat answers: as labels they would teach nonsense.
                    problems = (*problems, Problem(None, MIXED_KINDS, "corrections"))
                parsed = ParseResult(
                    examples=(*parsed.examples, *examples), problems=problems, task=parsed.task
                )
        assert parsed is not None
        dataset, duplicates = await asyncio.to_thread(
            build_dataset, dataset_name(name or "dataset"), parsed, source=name or ""
        )
        if request.holdout:
            dataset = replace(dataset, hold_out_corrections=True)
        return dataset, parsed, duplicates

    async def _selected(self) -> tuple[Dataset, ParseResult, int]:
        selected = await self._datasets.selected()
        if selected is None:
            raise InvalidArgument(
                "Give data to train on: inline text, an attachment, data_dir=<folder>, "
                f"corrections=true, or choose a dataset with {command('select_dataset')}."
            )
        dataset = await self._datasets.get(selected)
        if dataset is None:
            raise UnknownDataset(f"The selected dataset {selected} is gone; select one again.")
        parsed = ParseResult(examples=dataset.examples, problems=(), task=dataset.task)
        return dataset, parsed, 0


def _parse_upload(upload: Upload, positive: bool | None) -> ParseResult:
    return parse_text(
        decode(upload.data, upload.filename), filename=upload.filename, positive=positive
    )
