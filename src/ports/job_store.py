"""JobStore: training jobs and their history, so a restart can resume following them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import TrainingJob


@runtime_checkable
class JobStore(Protocol):
    """Each ``save`` records a new state of a job; ``get`` and ``all`` give the latest states."""

    async def save(self, job: TrainingJob) -> None: ...

    async def get(self, job_id: str) -> TrainingJob | None: ...

    async def all(self) -> list[TrainingJob]:
        """Latest state of every job, oldest job first."""
        ...
