"""Following training jobs until they end, for any front end, in one process or several.

The console and Discord show a job's progress differently (lines written out; a status message
edited, the outcome posted in reply), but follow jobs the same way: ``JobWatch`` does the
following, and a ``JobView`` shows what happens. Where several processes share the records (bot
processes on one database), a lease per job (``LeaseJob``) decides which one follows it and
posts its outcome.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Protocol

from .access import BOT
from .entities import Actor, TrainingJob
from .errors import TrainerbotError
from .follow_job import FollowJobRequest, JobUpdate
from .lease_job import LeaseJob
from .list_jobs import ListJobsRequest
from .reports import job_outcome
from .tenancy import Tenant, TenantScope

log = logging.getLogger(__name__)

RESUMED_AT_MOST = 100
# How long a job's lease lasts unless renewed (every third of it): how long a job of a process
# that died waits before another process takes it over.
DEFAULT_LEASE_SECONDS = 60.0


def process_holder() -> str:
    """A lease holder's name for this process: ``host:pid:random`` (unique even across restarts
    that reuse a pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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
      most once at a time in a process (``follow`` again does nothing).
    - Each update of the job goes to ``view.changed``; when it ends, ``view.ended`` gets the
      outcome line (``reports.job_outcome``).
    - ``resume`` follows again every unfinished job the view ``claims``, in every tenant that
      ``tenants`` lists, so a restart loses no outcome; only its first call acts. ``scan`` does
      the same each time it is called, and ``keep_watching(every)`` calls it every ``every``
      seconds, so a job whose process died is taken over (for records shared by processes).
    - A failure of the view or of the trainer is logged; it never reaches the caller, and the
      job goes on (``!jobs`` still shows it). ``close`` stops following (the jobs go on).

    One process among several (``holder`` names this one; ``LeaseJob`` of the job's tenant):
    - A job is followed only under its lease: ``follow`` and ``scan`` claim it first, and a job
      whose lease another holder has (live) or that was finished is not followed here. While it
      is followed, the lease is renewed every ``lease_seconds / 3``; a renewal that finds the
      lease taken over (this process stalled past its expiry) stops following at once, posting
      nothing. A process that dies keeps its leases until they expire; then another's ``scan``
      takes its jobs over.
    - When the job ends (or is gone: ``view.lost``), the lease is *finished first, then* the
      outcome shown, and only by the holder whose ``finish`` succeeded: at most once. Two
      processes can never both post an outcome, since ``finish`` succeeds for one holder once.
      The price: a process that dies between finishing the lease and posting (one database
      commit and one message), or that dies after the trainer's final state was recorded but
      before finishing the lease (then no process follows the ended job again), loses that one
      post; the outcome stays in the records (``!jobs``). Posting first would double the post
      in the same windows instead, and a doubled outcome is what members would see far more
      often on a slow post than the rare crash in between; hence at-most-once.
    - ``close`` releases the leases it holds (another process may take the jobs over at once);
      following that stops without an end (the trainer cannot be asked here) releases too.
    """

    def __init__(
        self,
        view: JobView,
        *,
        scopes: Callable[[Tenant], TenantScope],
        tenants: Callable[[], Iterable[Tenant]] = tuple,
        holder: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._view = view
        self._scopes = scopes
        self._tenants = tenants
        self.holder = holder or process_holder()
        self._lease_seconds = lease_seconds
        self._tasks: dict[tuple[Tenant, str], asyncio.Task[None]] = {}
        # The leases held now, to release on close.
        self._held: dict[tuple[Tenant, str], LeaseJob] = {}
        # Jobs this watch stopped following without an end: not taken again by its scans.
        self._stopped: set[tuple[Tenant, str]] = set()
        self._resumed = False
        self._scanning: asyncio.Task[None] | None = None

    @property
    def following(self) -> frozenset[str]:
        """The ids of the jobs followed now."""
        return frozenset(job_id for _, job_id in self._tasks)

    def follow(self, scope: TenantScope, job: TrainingJob, actor: Actor = BOT) -> None:
        """Follow ``job`` of ``scope``'s tenant in the background, as ``actor`` (once its lease
        is claimed)."""
        self._start(scope, job, actor, claimed=False)

    async def resume(self) -> int:
        """Follow the unfinished jobs the view claims; how many. Only the first call acts."""
        if self._resumed:
            return 0
        self._resumed = True
        resumed = await self.scan()
        if resumed:
            log.info("following %d unfinished training job(s) again", resumed)
        return resumed

    async def scan(self) -> int:
        """Follow every unfinished job the view claims that no process follows (its lease free
        or expired); how many were taken."""
        taken = 0
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
                key = (tenant, job.id)
                if not self._view.claims(job.origin) or key in self._tasks or key in self._stopped:
                    continue
                if await self._claim(scope, job.id) and key not in self._tasks:
                    self._start(scope, job, BOT, claimed=True)
                    taken += 1
        return taken

    def keep_watching(self, every: float) -> None:
        """``scan`` every ``every`` seconds in the background, until ``close`` (calling this
        again does nothing)."""
        if every <= 0:
            raise ValueError("every must be positive")
        if self._scanning is None or self._scanning.done():
            self._scanning = asyncio.create_task(
                self._scan_every(every), name="trainerbot-job-scan"
            )

    async def wait(self) -> None:
        """Until every job followed now has ended (or stopped being followed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self, *, release: bool = True) -> None:
        """Stop following and scanning; release the leases held (``release=False``: keep them
        until they expire, as a process that dies does — for tests)."""
        tasks = tuple(self._tasks.values())
        if self._scanning is not None:
            tasks += (self._scanning,)
            self._scanning = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        held, self._held = self._held, {}
        if release:
            for (_, job_id), leases in held.items():
                await self._release(leases, job_id)

    def _start(self, scope: TenantScope, job: TrainingJob, actor: Actor, *, claimed: bool) -> None:
        key = (scope.tenant, job.id)
        if key in self._tasks or job.status.is_final:
            return
        task = asyncio.create_task(
            self._run(scope, job, actor, claimed=claimed), name=f"trainerbot-job-{job.id}"
        )
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def _scan_every(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                taken = await self.scan()
            except Exception:  # the next scan tries again
                log.exception("looking for training jobs to follow failed")
                continue
            if taken:
                log.info("took over %d training job(s) no process was following", taken)

    async def _claim(self, scope: TenantScope, job_id: str) -> bool:
        try:
            return await scope.use_cases.lease_job.claim(job_id, self.holder, self._lease_seconds)
        except TrainerbotError as error:  # not known to be ours: a later scan tries again
            log.warning("could not claim training job %s: %s", job_id, error)
            return False

    async def _release(self, leases: LeaseJob, job_id: str) -> None:
        try:
            await leases.release(job_id, self.holder)
        except TrainerbotError as error:  # it expires instead
            log.warning("could not release training job %s: %s", job_id, error)

    async def _finish(self, leases: LeaseJob, job_id: str) -> bool:
        """Whether this process is the one to post the job's outcome."""
        try:
            if await leases.finish(job_id, self.holder):
                return True
        except TrainerbotError as error:
            log.warning("could not record the end of training job %s: %s", job_id, error)
            return False
        log.info("training job %s was taken over by another process: its outcome is theirs", job_id)
        return False

    async def _renew(self, leases: LeaseJob, job_id: str) -> None:
        """Renew the lease until it is lost (then return)."""
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            try:
                if not await leases.claim(job_id, self.holder, self._lease_seconds):
                    log.warning("training job %s is followed by another process now", job_id)
                    return
            except TrainerbotError as error:  # tried again; lost if it expires meanwhile
                log.warning("could not renew the lease of training job %s: %s", job_id, error)

    async def _run(
        self, scope: TenantScope, job: TrainingJob, actor: Actor, *, claimed: bool
    ) -> None:
        key = (scope.tenant, job.id)
        leases = scope.use_cases.lease_job
        if not claimed and not await self._claim(scope, job.id):
            log.info("training job %s is followed by another process", job.id)
            return
        self._held[key] = leases
        following = asyncio.create_task(self._follow(scope, job, actor))
        renewal = asyncio.create_task(self._renew(leases, job.id))
        try:
            await asyncio.wait((following, renewal), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (following, renewal):
                task.cancel()
            await asyncio.gather(following, renewal, return_exceptions=True)
        self._held.pop(key, None)
        if following.cancelled():  # the lease was lost: the job is another process's now
            return
        error = following.exception()
        if isinstance(error, TrainerbotError):
            if await self._finish(leases, job.id):
                await self._show_lost(job, error)
            return
        ended = following.result() if error is None else None
        if ended is not None and ended.status.is_final:
            if await self._finish(leases, job.id):
                try:
                    await self._view.ended(job.origin, ended, job_outcome(ended))
                except Exception:  # a background task: logged, and !jobs still shows the job
                    log.exception("posting the outcome of training job %s failed", job.id)
            return
        if error is not None:
            log.error("following training job %s failed", job.id, exc_info=error)
        self._stopped.add(key)
        await self._release(leases, job.id)

    async def _follow(self, scope: TenantScope, job: TrainingJob, actor: Actor) -> TrainingJob:
        """The job's last state, once the updates end (each shown to the view)."""
        origin = job.origin
        updates = scope.use_cases.follow_job.execute(FollowJobRequest(actor=actor, job_id=job.id))
        async for update in updates:
            job = update.job
            await self._view.changed(origin, update)
        return job

    async def _show_lost(self, job: TrainingJob, error: TrainerbotError) -> None:
        try:
            await self._view.lost(job.origin, job.id, error)
        except Exception:
            log.exception("showing that job %s is no longer followed failed", job.id)
