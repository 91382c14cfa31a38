"""CancelJob: stop a training job that has not finished."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trainerbot.ports import JobStore, ModelTrainer

from .access import require_trainer
from .entities import Actor, TrainingJob
from .errors import CapabilityUnavailable, JobNotCancellable
from .jobs import find_job


@dataclass(frozen=True)
class CancelJobRequest:
    actor: Actor
    job_id: str


@dataclass(frozen=True)
class CancelJobResult:
    job: TrainingJob


class CancelJob:
    """Cancel a job.

    Rules: trainers only; the job must exist and not be finished (``JobNotCancellable``); its
    trainer cancels it at the provider and the new state is recorded.
    """

    def __init__(self, *, trainers: Mapping[str, ModelTrainer], jobs: JobStore) -> None:
        self._trainers = trainers
        self._jobs = jobs

    async def execute(self, request: CancelJobRequest) -> CancelJobResult:
        require_trainer(request.actor)
        job = await find_job(self._jobs, request.job_id)
        if job.status.is_final:
            raise JobNotCancellable(f"Job {job.id} has already ended ({job.status.value}).")
        trainer = self._trainers.get(job.trainer)
        if trainer is None:
            raise CapabilityUnavailable(f"The {job.trainer} trainer is not configured now.")
        cancelled = await trainer.cancel(job)
        await self._jobs.save(cancelled)
        return CancelJobResult(cancelled)
