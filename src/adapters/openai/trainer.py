"""OpenAIModelTrainer: OpenAI fine-tuning (supervised, or DPO for preference pairs).

Self-serve fine-tuning is closing: organisations that never fine-tuned already get "permission
denied", and from 2027-01-06 nobody can start a job. A refusal therefore becomes one sentence that
names the trainers that need no permission (``fewshot``, ``local`` and ``lora``).

OpenAI bills fine-tuning by the token, so this trainer estimates a job's cost for the validation
report (``estimate_billing``). The rule is the cookbook's ("Data preparation and analysis for chat
model fine-tuning"): ``TARGET_EPOCHS`` passes over the training examples, more for small sets (so
the model sees at least ``MIN_TARGET_EXAMPLES``), fewer for large ones (at most
``MAX_TARGET_EXAMPLES``); every training example is billed for its tokens, capped at the
per-example limit, once an epoch. (For small sets the cookbook's script divides with ``//``; here
the division rounds up, so the model does see ``MIN_TARGET_EXAMPLES``.) It is an estimate: OpenAI
decides the epochs of a job.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, Literal

import openai
from openai import AsyncOpenAI
from openai.types.fine_tuning import job_create_params

from trainerbot.core.datasets import parse_text
from trainerbot.core.entities import (
    Dataset,
    JobStatus,
    LossPoint,
    Task,
    TrainingJob,
    TrainingSpec,
)
from trainerbot.core.errors import CapabilityUnavailable, DatasetInvalid, ServiceError
from trainerbot.core.prompts import classification_instruction
from trainerbot.core.tokens import BillingEstimate, TrainingTokens
from trainerbot.ports import ModelTrainer

from .client import as_subject
from .errors import OPENAI_ERRORS, translate

log = logging.getLogger(__name__)

FineTuningMethod = Literal["supervised", "dpo"]

MIN_EXAMPLES = 10  # OpenAI refuses training files with fewer
# The longest training example OpenAI's fine-tunable chat models take (gpt-4o-mini, gpt-4.1-mini:
# 65,536 tokens); longer ones are refused when the file is processed.
DEFAULT_MAX_EXAMPLE_TOKENS = 65_536
EVENTS_KEPT = 5
LOSS_POINTS_KEPT = 10_000  # a loss curve's points at most (a results file has one a step)

# The cookbook's epochs (module docstring).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

PERMISSION_DENIED = (
    "OpenAI does not allow this account to start fine-tuning jobs (self-serve fine-tuning is "
    "closing to new jobs). Train with method=fewshot, method=local, or method=lora (offline "
    "weights training) instead."
)

# OpenAI's job states → the domain's. Anything else (a state added later, "pausing"...) is
# tolerated: the job keeps its last known state until a known one arrives.
STATUSES: Mapping[str, JobStatus] = {
    "validating_files": JobStatus.VALIDATING,
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}


def estimate_epochs(train_examples: int) -> int:
    """The cookbook's default epochs for ``train_examples`` (at least one)."""
    if train_examples <= 0:
        return TARGET_EPOCHS
    if train_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, math.ceil(MIN_TARGET_EXAMPLES / train_examples))
    if train_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // train_examples)
    return TARGET_EPOCHS


def estimate_billing(training: TrainingTokens) -> BillingEstimate | None:
    """What a fine-tuning job on ``training`` would bill: the cookbook's epochs for its examples,
    each epoch billing its tokens (already capped at the per-example limit); ``None`` when nothing
    would train."""
    if training.examples <= 0:
        return None
    return BillingEstimate(estimate_epochs(training.examples), training.tokens)


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def training_lines(dataset: Dataset, method: FineTuningMethod) -> list[dict[str, Any]]:
    """The dataset in OpenAI's fine-tuning format: chat lines, or preference lines for DPO.

    Left out: examples marked unwanted (``positive=false`` on chat data), which teach supervised
    fine-tuning nothing and have no preferred answer; and, for DPO, examples without a rejected
    answer, which are no pair. Classification data carries the same instruction the tests use, so
    the model learns to answer with a label.
    """
    instruction = (
        [classification_instruction(dataset.labels).to_dict()]
        if dataset.task is Task.CLASSIFICATION
        else []
    )
    lines: list[dict[str, Any]] = []
    for example in dataset.examples:
        if not example.wanted:
            continue
        prompt = [*instruction, *(m.to_dict() for m in example.prompt)]
        if method == "supervised":
            lines.append({"messages": [*prompt, _message("assistant", example.completion)]})
        elif example.rejected is not None:
            lines.append(
                {
                    "input": {"messages": prompt},
                    "preferred_output": [_message("assistant", example.completion)],
                    "non_preferred_output": [_message("assistant", example.rejected)],
                }
            )
    return lines


def encode_file(lines: list[dict[str, Any]], name: str) -> bytes:
    """The JSONL upload, checked with the same rules the dataset passed, so OpenAI cannot refuse it
    for a reason we could have told the user first."""
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    problems = parse_text(text, filename=f"{name}.jsonl").problems
    if problems:
        shown = "; ".join(str(p) for p in problems[:3])
        raise DatasetInvalid(f"The fine-tuning file would be refused: {shown}")
    return text.encode("utf-8")


def training_file(dataset: Dataset, method: FineTuningMethod) -> bytes:
    """The training upload; too few usable examples are refused here, before anything is sent."""
    lines = training_lines(dataset, method)
    if len(lines) < MIN_EXAMPLES:
        raise DatasetInvalid(
            f"OpenAI fine-tuning needs at least {MIN_EXAMPLES} usable training examples; "
            f"{dataset.name} has {len(lines)}."
        )
    return encode_file(lines, dataset.name)


def validation_file(dataset: Dataset | None, method: FineTuningMethod) -> bytes | None:
    """The validation upload, or None when too few usable examples remain to be worth one."""
    if dataset is None:
        return None
    lines = training_lines(dataset, method)
    return encode_file(lines, dataset.name) if len(lines) >= MIN_EXAMPLES else None


class OpenAIModelTrainer(ModelTrainer):
    """The ``openai`` trainer.

    ``start`` uploads the training (and validation) file with purpose ``fine-tune``, waits until
    OpenAI has processed it (at most ``file_timeout`` seconds), and creates the job with the method,
    suffix, seed and metadata (dataset, dataset version, our job id). ``refresh`` follows status,
    recent events and the latest checkpoint's metrics; ``cancel`` cancels. A job whose start was
    interrupted (no provider id recorded) is found again by its metadata on ``refresh``.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        base_model: str,
        service: str,
        poll_interval: float = 2.0,
        file_timeout: float = 300.0,
        max_example_tokens: int | None = DEFAULT_MAX_EXAMPLE_TOKENS,
    ) -> None:
        self._client = client
        self._max_example_tokens = max_example_tokens
        self._base_model = base_model
        self._service = service
        self._poll_interval = poll_interval
        self._file_timeout = file_timeout

    @property
    def name(self) -> str:
        return "openai"

    @property
    def min_examples(self) -> int:
        return MIN_EXAMPLES

    @property
    def max_example_tokens(self) -> int | None:
        return self._max_example_tokens

    def estimate(self, training: TrainingTokens) -> BillingEstimate | None:
        """OpenAI bills by the token: the cookbook's estimate (``estimate_billing``)."""
        return estimate_billing(training)

    # --- starting ---------------------------------------------------------------------------

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        examples = spec.dataset.examples
        method: FineTuningMethod = (
            "dpo" if examples and all(e.rejected is not None for e in examples) else "supervised"
        )
        train_bytes = training_file(spec.dataset, method)
        valid_bytes = validation_file(spec.validation, method)
        base_model = spec.base_model or self._base_model
        uploaded: list[str] = []
        try:
            train_id = await self._upload(train_bytes, f"{job.id}-train.jsonl")
            uploaded.append(train_id)
            valid_id = None
            if valid_bytes is not None:
                valid_id = await self._upload(valid_bytes, f"{job.id}-valid.jsonl")
                uploaded.append(valid_id)
            for file_id in uploaded:
                await self._wait_until_processed(file_id)
            created = await self._client.fine_tuning.jobs.create(
                model=base_model,
                training_file=train_id,
                validation_file=valid_id if valid_id is not None else openai.omit,
                suffix=spec.suffix if spec.suffix else openai.omit,
                seed=spec.seed if spec.seed is not None else openai.omit,
                metadata=dict(spec.metadata),
                method=job_create_params.Method(type=method),
            )
        except openai.PermissionDeniedError:
            await self._delete(uploaded)
            raise CapabilityUnavailable(PERMISSION_DENIED) from None
        except OPENAI_ERRORS as error:
            await self._delete(uploaded)
            raise translate(
                error, secret=self._client.api_key, service=self._service, model=base_model
            ) from None
        except BaseException:
            await self._delete(uploaded)
            raise
        started = job.with_status(
            job.status,
            provider_job_id=created.id,
            base_model=base_model,
            provider_files=tuple(uploaded),
        )
        return self._merge(started, created)

    async def _upload(self, data: bytes, filename: str) -> str:
        uploaded = await self._client.files.create(
            file=(filename, data, "application/jsonl"), purpose="fine-tune"
        )
        return uploaded.id

    async def _wait_until_processed(self, file_id: str) -> None:
        deadline = time.monotonic() + self._file_timeout
        while True:
            file = await self._client.files.retrieve(file_id)
            if file.status == "processed":
                return
            if file.status == "error":
                reason = " ".join(str(file.status_details or "no reason given").split())[:300]
                raise DatasetInvalid(
                    f"{as_subject(self._service)} could not process the training file: {reason}"
                )
            if time.monotonic() >= deadline:
                raise ServiceError(
                    f"{self._service} did not process the training file within "
                    f"{self._file_timeout:g} s; please try again later."
                )
            await asyncio.sleep(self._poll_interval)

    async def _delete(self, file_ids: list[str]) -> None:
        """Best effort: a refused job should not leave its files behind at the provider."""
        for file_id in file_ids:
            try:
                await self._client.files.delete(file_id)
            except OPENAI_ERRORS as error:
                log.warning("could not delete uploaded file %s: %s", file_id, type(error).__name__)

    # --- following --------------------------------------------------------------------------

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        if job.provider_job_id is None:
            return await self._recover(job)
        try:
            remote = await self._client.fine_tuning.jobs.retrieve(job.provider_job_id)
        except openai.NotFoundError:
            return job.with_status(
                JobStatus.FAILED,
                error=f"{as_subject(self._service)} no longer knows job {job.provider_job_id}; "
                "train again.",
            )
        except OPENAI_ERRORS as error:
            raise translate(error, secret=self._client.api_key, service=self._service) from None
        try:
            events = await self._client.fine_tuning.jobs.list_events(
                job.provider_job_id, limit=EVENTS_KEPT
            )
            checkpoints = await self._client.fine_tuning.jobs.checkpoints.list(
                job.provider_job_id, limit=1
            )
        except OPENAI_ERRORS as error:
            raise translate(error, secret=self._client.api_key, service=self._service) from None
        merged = self._merge(job, remote)
        # Events come newest first; keep them oldest first, as people read.
        messages = tuple(event.message for event in reversed(events.data))
        metrics = dict(merged.metrics)
        if checkpoints.data:
            raw = checkpoints.data[0].metrics.model_dump(exclude_none=True)
            metrics = {k: float(v) for k, v in raw.items() if isinstance(v, int | float)}
        if messages == merged.events and metrics == merged.metrics:
            return merged
        return merged.with_status(merged.status, events=messages or merged.events, metrics=metrics)

    async def loss_curve(self, job: TrainingJob) -> tuple[LossPoint, ...]:
        """The job's loss by step: from its results file once it has one (every step), else
        from its checkpoints so far (one a epoch). Empty for a job OpenAI never accepted."""
        if job.provider_job_id is None:
            return ()
        try:
            remote = await self._client.fine_tuning.jobs.retrieve(job.provider_job_id)
            if remote.result_files:
                content = await self._client.files.content(remote.result_files[0])
                return _loss_points_from_csv(content.text)
            points = []
            async for checkpoint in self._client.fine_tuning.jobs.checkpoints.list(
                job.provider_job_id, limit=100
            ):
                metrics = checkpoint.metrics
                points.append(
                    LossPoint(checkpoint.step_number, metrics.train_loss, metrics.valid_loss)
                )
                if len(points) >= LOSS_POINTS_KEPT:
                    break
        except OPENAI_ERRORS as error:
            raise translate(error, secret=self._client.api_key, service=self._service) from None
        return tuple(sorted(points, key=lambda point: point.step))

    async def _recover(self, job: TrainingJob) -> TrainingJob:
        """Find a job whose start was interrupted before its provider id was recorded."""
        try:
            async for remote in self._client.fine_tuning.jobs.list(limit=50):
                if (remote.metadata or {}).get("job") == job.id:
                    found = job.with_status(
                        job.status, provider_job_id=remote.id, base_model=remote.model
                    )
                    return self._merge(found, remote)
        except OPENAI_ERRORS as error:
            raise translate(error, secret=self._client.api_key, service=self._service) from None
        return job.with_status(
            JobStatus.FAILED,
            error="The job was interrupted before OpenAI accepted it; start the training again.",
        )

    async def cancel(self, job: TrainingJob) -> TrainingJob:
        if job.provider_job_id is None:
            return job.with_status(JobStatus.CANCELLED)
        try:
            remote = await self._client.fine_tuning.jobs.cancel(job.provider_job_id)
        except OPENAI_ERRORS as error:
            raise translate(error, secret=self._client.api_key, service=self._service) from None
        return self._merge(job, remote)

    def _merge(self, job: TrainingJob, remote: Any) -> TrainingJob:
        """Fold OpenAI's view of the job into ours; unknown states keep the last known one."""
        status = STATUSES.get(remote.status)
        if status is None:
            log.info(
                "job %s: provider status %r is not one I know; keeping %s",
                job.id,
                remote.status,
                job.status.value,
            )
            status = job.status
        error = job.error
        if status is JobStatus.FAILED:
            reason = getattr(remote.error, "message", None) if remote.error else None
            error = reason or error or "OpenAI reported the job as failed."
        changed = (
            status is not job.status or remote.fine_tuned_model != job.model or error != job.error
        )
        if not changed:
            return job
        return job.with_status(status, model=remote.fine_tuned_model or job.model, error=error)


def _loss_points_from_csv(text: str) -> tuple[LossPoint, ...]:
    """``step,train_loss,…,valid_loss,…`` rows (OpenAI's results file) as loss points; columns
    are found by name, empty or unreadable cells are unknown, rows without a step are skipped."""
    points = []
    for row in csv.DictReader(io.StringIO(text)):
        step = _number(row.get("step"))
        if step is None:
            continue
        points.append(
            LossPoint(int(step), _number(row.get("train_loss")), _number(row.get("valid_loss")))
        )
        if len(points) >= LOSS_POINTS_KEPT:
            break
    return tuple(points)


def _number(cell: str | None) -> float | None:
    try:
        value = float(cell) if cell else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None
