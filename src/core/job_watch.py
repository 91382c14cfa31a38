"""Following training jobs until they end, for any front end.

The console and Discord show a job's progress differently (lines written out; a status message
edited, the outcome posted in reply), but follow jobs the same way: ``JobWatch`` does the
following, and a ``JobView`` shows what happens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from .access import BOT
from .entities import Actor, TrainingJob
from .errors import TrainerbotError
from .follow_job import FollowJobRequest, JobUpdate
from .list_jobs import ListJobsRequest
from .reports import job_outcome
from .tenancy import Tenant, TenantScope

log = logging.getLogger(__name__)

RESUMED_AT_MOST = 100


class JobView(Protocol):
    """How one front end shows the jobs it follows. ``origin`` is the job's ``origin``: where
    the front end started it (a channel and status message; the console)."""

    def claims(self, origin: str | None) -> bool:
        """Whether a job of ``origin`` was started through this front end (then ``resume``
        follows it again after a restart)."""
        ...

    async def changed(self, origin: str | None, update: JobUpdate) -> None:
        """The job changed (its status, progress, a note)."""
        ...

    async def ended(self, origin: str | None, job: TrainingJob, outcome: str) -> None:
        """The job ended; ``outcome`` says how, in one line."""
        ...

    async def lost(self, origin: str | None, job_id: str, error: TrainerbotError) -> None:
        """The job can no longer be followed (it is gone, its trainer cannot be asked)."""
        ...


class JobWatch:
    """Follows training jobs in background tasks, one per job, and shows them through ``view``.

    Rules:
    - A job is followed in its own tenant's scope, which the watch keeps while it follows; at
      most once at a time (``follow`` again does nothing).
    - Each update of the job goes to ``view.changed``; when it ends, ``view.ended`` gets the
      outcome line (``reports.job_outcome``).
    - ``resume`` follows again every unfinished job the view ``claims``, in every tenant that
      ``tenants`` lists, so a restart loses no outcome; only its first call acts.
    - A failure of the view or of the trainer is logged; it never reaches the caller, and the
      job goes on (``!jobs`` still shows it). ``close`` stops following (the jobs go on).
    """

    def __init__(
        self,
        view: JobView,
        *,
        scopes: Callable[[Tenant], TenantScope],
        tenants: Callable[[], Iterable[Tenant]] = tuple,
    ) -> None:
        self._view = view
        self._scopes = scopes
        self._tenants = tenants
        self._tasks: dict[tuple[Tenant, str], asyncio.Task[None]] = {}
        self._resumed = False

    @property
    def following(self) -> frozenset[str]:
        """The ids of the jobs followed now."""
        return frozenset(job_id for _, job_id in self._tasks)

    def follow(self, scope: TenantScope, job: TrainingJob, actor: Actor = BOT) -> None:
        """Follow ``job`` of ``scope``'s tenant in the background, as ``actor``."""
        key = (scope.tenant, job.id)
        if key in self._tasks or job.status.is_final:
            return
        task = asyncio.create_task(self._run(scope, job, actor), name=f"trainerbot-job-{job.id}")
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def resume(self) -> int:
        """Follow the unfinished jobs the view claims; how many. Only the first call acts."""
        if self._resumed:
            return 0
        self._resumed = True
        resumed = 0
        for tenant in self._tenants():
            scope = self._scopes(tenant)
            try:
                listed = await scope.use_cases.list_jobs.execute(
                    ListJobsRequest(actor=BOT, unfinished=True, limit=RESUMED_AT_MOST)
                )
            except TrainerbotError as error:
                log.warning("could not list the unfinished jobs of %s: %s", tenant, error)
                continue
            for job in listed.jobs:
                if self._view.claims(job.origin) and (tenant, job.id) not in self._tasks:
                    self.follow(scope, job)
                    resumed += 1
        if resumed:
            log.info("following %d unfinished training job(s) again", resumed)
        return resumed

    async def wait(self) -> None:
        """Until every job followed now has ended (or stopped being followed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        tasks = tuple(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, scope: TenantScope, job: TrainingJob, actor: Actor) -> None:
        origin = job.origin
        try:
            updates = scope.use_cases.follow_job.execute(
                FollowJobRequest(actor=actor, job_id=job.id)
            )
            async for update in updates:
                job = update.job
                await self._view.changed(origin, update)
            if job.status.is_final:
                await self._view.ended(origin, job, job_outcome(job))
        except TrainerbotError as error:
            try:
                await self._view.lost(origin, job.id, error)
            except Exception:
                log.exception("showing that job %s is no longer followed failed", job.id)
        except Exception:  # a background task: logged, and !jobs still shows the job
            log.exception("following training job %s failed", job.id)
