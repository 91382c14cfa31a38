"""RefreshJob: ask a job's trainer where it stands, record any change, register a finished model."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from trainerbot.ports import JobStore, ModelRegistry, ModelTrainer

from .access import require_trainer
from .entities import Actor, TrainingJob
from .errors import CapabilityUnavailable, ServiceError
from .jobs import find_job, register_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshJobRequest:
    actor: Actor
    job_id: str


@dataclass(frozen=True)
class RefreshJobResult:
    job: TrainingJob
    changed: bool
    note: str = ""
    # False when asking again cannot help (the job's trainer is not configured).
    can_follow: bool = True


class RefreshJob:
    """Follow a training job.

    Rules:
    - Trainers only; the job must exist (``UnknownJob``).
    - A finished job is reported as recorded, without asking the provider again.
    - Otherwise its trainer is asked; a changed state is recorded as a new version of the job, and a
      job that succeeded registers its model so ``!use`` can switch to it.
    - If the provider cannot be reached, the last recorded state is shown with a note, so polling
      can simply be tried again later (the job is never lost).
    - If the provider refuses to say (``CapabilityUnavailable``: permission denied, a key it no
      longer takes, OpenAI no longer configured), the last recorded state is shown with the
      reason too — the job is neither failed nor lost — and following stops until asked again
      (``can_follow``): polling cannot help before the configuration changes.
    """

    def __init__(
        self, *, trainers: Mapping[str, ModelTrainer], jobs: JobStore, models: ModelRegistry
    ) -> None:
        self._trainers = trainers
        self._jobs = jobs
        self._models = models

    async def execute(self, request: RefreshJobRequest) -> RefreshJobResult:
        require_trainer(request.actor)
        job = await find_job(self._jobs, request.job_id)
        if job.status.is_final:
            await register_model(self._models, job)
            return RefreshJobResult(job=job, changed=False)
        trainer = self._trainers.get(job.trainer)
        if trainer is None:
            return RefreshJobResult(
                job=job,
                changed=False,
                note=f"The {job.trainer} trainer is not configured now.",
                can_follow=False,
            )
        try:
            current = await trainer.refresh(job)
        except ServiceError as error:
            log.warning("refreshing job %s failed: %s", job.id, error)
            return RefreshJobResult(job=job, changed=False, note=str(error))
        except CapabilityUnavailable as error:
            log.warning("refreshing job %s was refused: %s", job.id, error)
            return RefreshJobResult(job=job, changed=False, note=str(error), can_follow=False)
        changed = current != job
        if changed:
            await self._jobs.save(current)
        await register_model(self._models, current)
        return RefreshJobResult(job=current, changed=changed)
