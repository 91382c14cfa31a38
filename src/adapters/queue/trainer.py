"""A trainer that hands its jobs to training workers through the queue."""

from __future__ import annotations

from trainerbot.core.entities import Dataset, JobStatus, TrainingJob, TrainingSpec
from trainerbot.core.tokens import BillingEstimate, TrainingTokens
from trainerbot.ports import JobStore, ModelTrainer

from .queue import TrainingQueue

QUEUED = "queued for a training worker (`trainerbot worker`)"
# What a queued job's provider id starts with: the rest is its id in the queue.
QUEUE_ID_PREFIX = "queue:"


class QueuedModelTrainer(ModelTrainer):
    """``trainer``, as seen from a process that does not train: it judges datasets as
    ``trainer`` does (minimum examples, token limit, estimate, preflight) but queues the job
    for a worker, which trains it with its own ``trainer`` and records every change in the
    tenant's job store — the store this trainer's ``refresh`` reads."""

    def __init__(
        self, trainer: ModelTrainer, *, queue: TrainingQueue, jobs: JobStore, tenant: str
    ) -> None:
        self._trainer = trainer
        self._queue = queue
        self._jobs = jobs
        self._tenant = tenant

    @property
    def name(self) -> str:
        return self._trainer.name

    @property
    def min_examples(self) -> int:
        return self._trainer.min_examples

    @property
    def max_example_tokens(self) -> int | None:
        return self._trainer.max_example_tokens

    def estimate(self, training: TrainingTokens) -> BillingEstimate | None:
        return self._trainer.estimate(training)

    async def preflight(self, dataset: Dataset) -> None:
        await self._trainer.preflight(dataset)

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        queue_id = await self._queue.enqueue(self._tenant, job, spec)
        return job.with_status(
            JobStatus.QUEUED,
            provider_job_id=f"{QUEUE_ID_PREFIX}{queue_id}",
            events=(*job.events, QUEUED),
        )

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        recorded = await self._jobs.get(job.id)
        return job if recorded is None else recorded

    async def cancel(self, job: TrainingJob) -> TrainingJob:
        queue_id = _queue_id(job)
        if queue_id is not None:
            await self._queue.cancel(queue_id)
        recorded = await self.refresh(job)
        if recorded.status.is_final:
            return recorded
        return recorded.with_status(JobStatus.CANCELLED)


def _queue_id(job: TrainingJob) -> int | None:
    text = (job.provider_job_id or "").removeprefix(QUEUE_ID_PREFIX)
    return int(text) if text.isdigit() else None
