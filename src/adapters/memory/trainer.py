"""A trainer that finishes when told to."""

from __future__ import annotations

from trainerbot.core.entities import JobStatus, TrainingJob, TrainingSpec
from trainerbot.core.errors import TrainerbotError
from trainerbot.ports import ModelTrainer


class InMemoryModelTrainer(ModelTrainer):
    """Records each spec in ``started``; jobs start ``QUEUED`` unless ``immediate``.

    ``finish(job_id)`` / ``fail(job_id)`` decide a job's fate; ``refresh`` then reports it, as a
    provider would. ``fail_with`` makes ``start`` and ``refresh`` raise (an outage, a refusal).
    """

    def __init__(
        self,
        name: str = "memory",
        *,
        min_examples: int = 1,
        immediate: bool = False,
        fail_with: TrainerbotError | None = None,
        max_example_tokens: int | None = None,
    ) -> None:
        self._name = name
        self._max_example_tokens = max_example_tokens
        self._min_examples = min_examples
        self.immediate = immediate
        self.fail_with = fail_with
        self.started: list[TrainingSpec] = []
        self.cancelled: list[str] = []
        self._fate: dict[str, JobStatus] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def min_examples(self) -> int:
        return self._min_examples

    @property
    def max_example_tokens(self) -> int | None:
        return self._max_example_tokens

    def model_for(self, job: TrainingJob) -> str:
        return f"{self._name}:{job.id}"

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        if self.fail_with is not None:
            raise self.fail_with
        self.started.append(spec)
        if self.immediate:
            return job.with_status(JobStatus.SUCCEEDED, model=self.model_for(job))
        return job.with_status(JobStatus.QUEUED, provider_job_id=f"prov-{job.id}")

    def finish(self, job_id: str) -> None:
        self._fate[job_id] = JobStatus.SUCCEEDED

    def fail(self, job_id: str) -> None:
        self._fate[job_id] = JobStatus.FAILED

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        if job.status.is_final:
            return job  # a provider never reopens a finished job
        if self.fail_with is not None:
            raise self.fail_with
        fate = self._fate.get(job.id)
        if fate is JobStatus.SUCCEEDED:
            return job.with_status(fate, model=self.model_for(job))
        if fate is JobStatus.FAILED:
            return job.with_status(fate, error="the trainer failed")
        return job if job.status is JobStatus.RUNNING else job.with_status(JobStatus.RUNNING)

    async def cancel(self, job: TrainingJob) -> TrainingJob:
        self.cancelled.append(job.id)
        return job.with_status(JobStatus.CANCELLED)
