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
    # Only jobs still under way (validating, queued, running): the ones to follow after a restart.
    unfinished: bool = False


@dataclass(frozen=True)
class ListJobsResult:
    jobs: tuple[TrainingJob, ...]


class ListJobs:
    """List training jobs.

    Rules: trainers only; newest first, at most ``limit``; with ``unfinished``, only the jobs that
    have not reached a final state.
    """

    def __init__(self, *, jobs: JobStore) -> None:
        self._jobs = jobs

    async def execute(self, request: ListJobsRequest) -> ListJobsResult:
        require_trainer(request.actor)
        jobs = sorted(await self._jobs.all(), key=lambda j: j.created_at, reverse=True)
        if request.unfinished:
            jobs = [job for job in jobs if not job.status.is_final]
        return ListJobsResult(tuple(jobs[: max(request.limit, 0)]))
