"""RunTrainingJob: train, in this process, a job another process queued (a training worker)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from trainerbot.ports import JobStore, ModelRegistry, ModelTrainer

from .entities import JobStatus, TrainingJob, TrainingSpec
from .errors import TrainerbotError
from .jobs import register_model

log = logging.getLogger(__name__)

# The reason a job gives when its trainer failed in a way it did not explain.
TRAINING_BROKE = "Training stopped with an unexpected error; the worker's log has the details."


@dataclass(frozen=True)
class RunTrainingRequest:
    """``spec`` is what the queuing process validated; ``worker`` names who trains it (in the
    job's events); ``attempt`` counts the runs of this job, this one included."""

    job_id: str
    spec: TrainingSpec
    worker: str
    attempt: int = 1


class RunTrainingJob:
    """Train one queued job here.

    Rules:
    - The job is the one its store holds. A job already finished there — cancelled while it
      waited, or failed because its workers kept stopping — is not trained again.
    - Its trainer is the job's own (``job.trainer``), as this process trains it. A trainer this
      process lacks fails the job with a reason.
    - Before training, the job is recorded running, with who trains it and, on a later attempt,
      that an earlier run stopped (events kept ahead of the trainer's own). Each state the trainer reports is recorded as it comes (asked
      every ``poll_seconds``); the outcome is recorded, and a succeeded job registers its model
      so ``!use`` can switch to it.
    - A job recorded finished elsewhere while it trains (``!cancel``) is stopped here.
    - A job the queue gives up on (``give_up``) is recorded failed with the reason.
    - A trainer's refusal fails the job with its reason; an unexpected error fails it with a
      one-line reason (the details go to this process's log). Cancelling the task (the queue
      aborted it, the worker is shutting down) stops the trainer and is raised again; the job
      is recorded cancelled only when it was cancelled, never because a worker stopped.
    """

    def __init__(
        self,
        *,
        trainers: Mapping[str, ModelTrainer],
        jobs: JobStore,
        models: ModelRegistry,
        poll_seconds: float = 2.0,
    ) -> None:
        self._trainers = trainers
        self._jobs = jobs
        self._models = models
        self._poll_seconds = poll_seconds

    async def execute(self, request: RunTrainingRequest) -> TrainingJob | None:
        """The job's outcome, or None when there was no such job to train."""
        job = await self._jobs.get(request.job_id)
        if job is None:
            log.warning("queued job %s is not recorded: nothing to train", request.job_id)
            return None
        if job.status.is_final:
            return job
        trainer = self._trainers.get(job.trainer)
        if trainer is None:
            return await self._record(
                job.with_status(JobStatus.FAILED, error=f"The worker has no {job.trainer} trainer.")
            )
        event = f"training on {request.worker}"
        if request.attempt > 1:
            event += f" (attempt {request.attempt}: an earlier run stopped)"
        job = await self._record(job.with_status(JobStatus.RUNNING, events=(*job.events, event)))
        try:
            return await self._train(trainer, request.spec, job)
        except asyncio.CancelledError:
            await self._stop(trainer, job)
            raise

    async def give_up(self, job_id: str, reason: str) -> TrainingJob | None:
        """Record that the queue will not run ``job_id`` again (its workers kept stopping, its
        data could not be read): failed with ``reason``, unless it already finished."""
        job = await self._jobs.get(job_id)
        if job is None or job.status.is_final:
            return job
        return await self._record(job.with_status(JobStatus.FAILED, error=reason))

    async def _train(
        self, trainer: ModelTrainer, spec: TrainingSpec, job: TrainingJob
    ) -> TrainingJob:
        try:
            current = _after(job, await trainer.start(spec, job=job))
            while not current.status.is_final:
                current = await self._record(current)
                if current.status.is_final:  # cancelled elsewhere
                    await trainer.cancel(job)
                    return current
                await asyncio.sleep(self._poll_seconds)
                current = _after(job, await trainer.refresh(current))
        except TrainerbotError as error:
            current = job.with_status(JobStatus.FAILED, error=str(error))
        except Exception:
            log.exception("training job %s failed", job.id)
            current = job.with_status(JobStatus.FAILED, error=TRAINING_BROKE)
        return await self._record(current)

    async def _record(self, job: TrainingJob) -> TrainingJob:
        """Save ``job`` and give the state its store holds now (a newer one wins: see
        ``jobs.supersedes``), registering the model of a job that succeeded."""
        await self._jobs.save(job)
        recorded = await self._jobs.get(job.id) or job
        await register_model(self._models, recorded)
        return recorded

    async def _stop(self, trainer: ModelTrainer, job: TrainingJob) -> None:
        try:
            await asyncio.shield(trainer.cancel(job))
        except TrainerbotError as error:
            log.warning("stopping job %s: %s", job.id, error)


def _after(running: TrainingJob, reported: TrainingJob) -> TrainingJob:
    """``reported``, the trainer's state of the job, keeping the events recorded before it
    started (who trains it, an earlier run) ahead of the trainer's own. A job a worker took is
    running, even while the trainer waits its turn on this machine (its own "queued")."""
    earlier = tuple(event for event in running.events if event not in reported.events)
    status = reported.status
    if not status.is_final:
        status = JobStatus.RUNNING
    return replace(reported, status=status, events=(*earlier, *reported.events))
