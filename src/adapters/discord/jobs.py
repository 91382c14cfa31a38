"""Following training jobs from Discord: the status message follows the job, the outcome is
posted where the job was started — also after the bot restarts."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import discord

from trainerbot.core import reports
from trainerbot.core.access import BOT
from trainerbot.core.entities import Actor, JobStatus, TrainingJob
from trainerbot.core.follow_job import FollowJobRequest
from trainerbot.core.list_jobs import ListJobsRequest
from trainerbot.core.tenancy import Tenant, TenantScope

from .messaging import send_text

log = logging.getLogger(__name__)

OUTCOME_MARKS = {JobStatus.SUCCEEDED: "✅", JobStatus.FAILED: "❌", JobStatus.CANCELLED: "⏹️"}
_ORIGIN = re.compile(r"discord:channel=(\d{1,20});message=(\d{1,20})")
RESUMED_AT_MOST = 100


@dataclass(frozen=True)
class Origin:
    """Where a job was started: the channel, and the status message that follows the job."""

    channel_id: int
    message_id: int

    def __str__(self) -> str:
        return f"discord:channel={self.channel_id};message={self.message_id}"

    @classmethod
    def parse(cls, text: str | None) -> Origin | None:
        match = _ORIGIN.fullmatch(text or "")
        return cls(int(match[1]), int(match[2])) if match else None


class JobFollower:
    """Follows training jobs in background tasks, one per job.

    Rules:
    - The job's status message is edited as the job changes, and when it ends the outcome is
      posted in reply to it. Both go through the bot's own channel messages, never through a
      slash command's interaction (whose token lasts 15 minutes; jobs can take hours).
    - ``resume`` (when the bot has connected) follows again every unfinished job that was
      started from Discord, in every tenant (``tenants``, then ``scopes``), so a restart loses
      no outcome. It runs once per process.
    - A job is followed in its own tenant's scope, which the follower keeps while it follows;
      at most once at a time. A channel or message that is gone is logged,
      and the outcome is then posted in the channel alone, or nowhere if the channel is gone too.
    - ``close`` stops following (the jobs go on at their trainers; ``!jobs`` still shows them).
    """

    def __init__(
        self,
        client: discord.Client,
        *,
        scopes: Callable[[Tenant], TenantScope],
        tenants: Callable[[], Iterable[Tenant]],
        prefix: str,
    ) -> None:
        self._client = client
        self._scopes = scopes
        self._tenants = tenants
        self._prefix = prefix
        self._tasks: dict[tuple[Tenant, str], asyncio.Task[None]] = {}
        self._resumed = False

    def follow(self, scope: TenantScope, job: TrainingJob, origin: Origin, actor: Actor) -> None:
        """Follow ``job`` of ``scope``'s tenant in the background (nothing happens if it is
        followed already)."""
        key = (scope.tenant, job.id)
        if key in self._tasks:
            return
        task = asyncio.create_task(
            self._run(scope, job, origin, actor), name=f"trainerbot-job-{job.id}"
        )
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    @property
    def following(self) -> frozenset[str]:
        return frozenset(job_id for _, job_id in self._tasks)

    async def resume(self) -> int:
        """Follow the unfinished jobs started from Discord; how many. Only the first call acts."""
        if self._resumed:
            return 0
        self._resumed = True
        resumed = 0
        for tenant in self._tenants():
            scope = self._scopes(tenant)
            listed = await scope.use_cases.list_jobs.execute(
                ListJobsRequest(actor=BOT, unfinished=True, limit=RESUMED_AT_MOST)
            )
            for job in listed.jobs:
                origin = Origin.parse(job.origin)
                if origin is not None and (tenant, job.id) not in self._tasks:
                    self.follow(scope, job, origin, BOT)
                    resumed += 1
        if resumed:
            log.info("following %d unfinished training job(s) again", resumed)
        return resumed

    async def close(self) -> None:
        tasks = tuple(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(
        self, scope: TenantScope, job: TrainingJob, origin: Origin, actor: Actor
    ) -> None:
        follow = scope.use_cases.follow_job
        try:
            async for update in follow.execute(FollowJobRequest(actor=actor, job_id=job.id)):
                job = update.job
                mark = OUTCOME_MARKS.get(job.status, "⏳")
                note = f" (note: {update.note})" if update.note else ""
                await self._edit_status(origin, f"{mark} {reports.job(job)}{note}")
            if job.status.is_final:
                await self._post(origin, reports.job_outcome(job, prefix=self._prefix))
        except Exception:  # a background task: logged, and !jobs still shows the job
            log.exception("following training job %s failed", job.id)

    async def _channel(self, origin: Origin) -> discord.abc.Messageable | None:
        channel = self._client.get_channel(origin.channel_id)
        if channel is None:
            try:
                channel = await self._client.fetch_channel(origin.channel_id)
            except discord.HTTPException:
                log.warning("the channel of a followed job is gone (%s)", origin)
                return None
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def _edit_status(self, origin: Origin, text: str) -> None:
        channel = await self._channel(origin)
        if channel is None:
            return
        try:
            # Fetched, then edited as the bot's own message (not through an interaction).
            status = await channel.fetch_message(origin.message_id)
            await status.edit(content=text)
        except discord.NotFound:
            log.info("the status message of a followed job was deleted (%s)", origin)

    async def _post(self, origin: Origin, text: str) -> None:
        channel = await self._channel(origin)
        if channel is None:
            return
        reference = discord.MessageReference(
            message_id=origin.message_id, channel_id=origin.channel_id, fail_if_not_exists=False
        )
        await send_text(channel, text, reference=reference)
