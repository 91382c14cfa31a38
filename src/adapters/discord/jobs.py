"""Following training jobs from Discord: the status message follows the job, the outcome is
posted where the job was started — also after the bot restarts."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import discord

from trainerbot.core import reports
from trainerbot.core.entities import JobStatus, TrainingJob
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.follow_job import JobUpdate

from .messaging import send_text

log = logging.getLogger(__name__)

OUTCOME_MARKS = {JobStatus.SUCCEEDED: "✅", JobStatus.FAILED: "❌", JobStatus.CANCELLED: "⏹️"}
_ORIGIN = re.compile(r"discord:channel=(\d{1,20});message=(\d{1,20})")


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


class DiscordJobs:
    """How Discord shows the training jobs it follows (a ``JobView`` for ``JobWatch``).

    Rules:
    - A job started from Discord keeps its ``Origin``: the channel, and the status message that
      said it started. That message is edited as the job changes, and when it ends the outcome
      is posted in reply to it. Both go through the bot's own channel messages, never through a
      slash command's interaction (whose token lasts 15 minutes; jobs can take hours).
    - Jobs of a Discord origin are followed again after a restart (``JobWatch.resume``).
    - A channel or message that is gone is logged, and the outcome is then posted in the
      channel alone, or nowhere if the channel is gone too. A job that can no longer be
      followed is logged (``!jobs`` still shows it).
    """

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    def claims(self, origin: str | None) -> bool:
        return Origin.parse(origin) is not None

    async def changed(self, origin: str | None, update: JobUpdate) -> None:
        where = Origin.parse(origin)
        if where is None:
            return
        mark = OUTCOME_MARKS.get(update.job.status, "⏳")
        note = f" (note: {update.note})" if update.note else ""
        await self._edit_status(where, f"{mark} {reports.job(update.job)}{note}")

    async def ended(self, origin: str | None, job: TrainingJob, outcome: str) -> None:
        where = Origin.parse(origin)
        if where is not None:
            await self._post(where, outcome)

    async def lost(self, origin: str | None, job_id: str, error: TrainerbotError) -> None:
        log.warning("training job %s is no longer followed: %s", job_id, error)

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
        except discord.HTTPException as error:
            # Progress is shown on a best-effort basis: a refused or failed edit (403, 5xx) must
            # not stop the job being followed, nor its outcome being posted.
            log.warning(
                "the status message of a followed job could not be edited (%s): HTTP %s",
                origin,
                error.status,
            )

    async def _post(self, origin: Origin, text: str) -> None:
        channel = await self._channel(origin)
        if channel is None:
            return
        reference = discord.MessageReference(
            message_id=origin.message_id, channel_id=origin.channel_id, fail_if_not_exists=False
        )
        await send_text(channel, text, reference=reference)
