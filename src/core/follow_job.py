"""FollowJob: a training job's changes as they happen, until it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from .entities import Actor, TrainingJob
from .refresh_job import RefreshJob, RefreshJobRequest

DEFAULT_POLL_SECONDS = 15.0


@dataclass(frozen=True)
class FollowJobRequest:
    actor: Actor
    job_id: str


@dataclass(frozen=True)
class JobUpdate:
    """One step of a followed job: its state, and a note when the provider could not be asked."""

    job: TrainingJob
    note: str = ""


class FollowJob:
    """Follow a training job to its end, for a caller that reports progress as it happens.

    Rules:
    - Trainers only, and the job must exist (as ``RefreshJob``, which does the asking).
    - The first update is the job as it stands; after that, the job is asked again every
      ``poll_seconds`` and an update comes only when its state changed (or, once, when the
      provider could not be reached: the next poll simply tries again).
    - The updates end with the job's final state (succeeded, failed or cancelled); a finished job
      gives that one update. A succeeded job's model is registered for ``!use`` (by RefreshJob).
      They also end when asking again cannot help (the job's trainer is not configured).
    - Following never ends a job: the caller stops by leaving the loop (or cancelling), and the
      job goes on at its provider, to be followed again with ``!jobs``.
    """

    def __init__(
        self,
        *,
        refresh_job: RefreshJob,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if poll_seconds <= 0:
            raise ValueError("poll_seconds must be positive")
        self._refresh = refresh_job
        self._poll_seconds = poll_seconds
        self._sleep = sleep

    async def execute(self, request: FollowJobRequest) -> AsyncIterator[JobUpdate]:
        refresh = RefreshJobRequest(actor=request.actor, job_id=request.job_id)
        result = await self._refresh.execute(refresh)
        yield JobUpdate(result.job, result.note)
        last_note = result.note
        while result.can_follow and not result.job.status.is_final:
            await self._sleep(self._poll_seconds)
            result = await self._refresh.execute(refresh)
            if result.changed or not result.can_follow or result.note not in ("", last_note):
                yield JobUpdate(result.job, result.note)
            last_note = result.note
