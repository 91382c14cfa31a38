"""ListJobs: the training jobs, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import JobStore

from .access import require_trainer
from .entities import Actor, TrainingJob


@dataclass(frozen=True)
class ListJobsRequest:
    actor: Actor
    limit: int = 20


@dataclass(frozen=True)
class ListJobsResult:
    jobs: tuple[TrainingJob, ...]


class ListJobs:
    """List training jobs. Rules: trainers only; newest first, at most ``limit``."""

    def __init__(self, *, jobs: JobStore) -> None:
        self._jobs = jobs

    async def execute(self, request: ListJobsRequest) -> ListJobsResult:
        require_trainer(request.actor)
        jobs = sorted(await self._jobs.all(), key=lambda j: j.created_at, reverse=True)
        return ListJobsResult(tuple(jobs[: max(request.limit, 0)]))
