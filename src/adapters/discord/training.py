"""The training cog: train, test, follow jobs, and choose the model that answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord
from discord.ext import commands

from trainerbot.core import reports
from trainerbot.core.cancel_job import CancelJob, CancelJobRequest
from trainerbot.core.entities import Actor, JobStatus, TrainingJob
from trainerbot.core.follow_job import FollowJob, FollowJobRequest
from trainerbot.core.list_jobs import ListJobs, ListJobsRequest
from trainerbot.core.list_models import ListModels, ListModelsRequest
from trainerbot.core.refresh_job import RefreshJob, RefreshJobRequest
from trainerbot.core.test_model import TestModel, TestRequest
from trainerbot.core.train_model import TrainModel, TrainRequest
from trainerbot.core.use_model import UseModel, UseModelRequest

from .commands import spec_command
from .messaging import actor_of, read_upload, send_text

Context = commands.Context[Any]
T = TypeVar("T")
log = logging.getLogger(__name__)

OUTCOME_MARKS = {JobStatus.SUCCEEDED: "✅", JobStatus.FAILED: "❌", JobStatus.CANCELLED: "⏹️"}


class TrainingCog(commands.Cog, name="Training"):
    """Trainer commands for the learning loop (trainers only: the commands refuse others, and
    the use cases check again).

    Rules:
    - ``!train`` and ``!test`` may take a while: they are acknowledged at once with a status
      message, which is edited when the work ends, and the result follows as a message. Other
      commands and chat go on meanwhile (each command runs in its own task).
    - A training job that does not finish at once is followed in the background: its status
      message is edited as the job changes, and when it ends the outcome is posted in reply to
      the ``!train`` that started it. Following stops with the bot; ``!jobs`` still shows the job.
    - An attachment over the upload limit is refused before it is downloaded.
    """

    def __init__(
        self,
        *,
        train_model: TrainModel,
        test_model: TestModel,
        list_jobs: ListJobs,
        refresh_job: RefreshJob,
        follow_job: FollowJob,
        cancel_job: CancelJob,
        list_models: ListModels,
        use_model: UseModel,
        trainer_role: str,
        prefix: str,
        max_upload_bytes: int,
    ) -> None:
        self._train = train_model
        self._test = test_model
        self._jobs = list_jobs
        self._refresh = refresh_job
        self._follow = follow_job
        self._following: set[asyncio.Task[None]] = set()
        self._cancel = cancel_job
        self._models = list_models
        self._use = use_model
        self._role = trainer_role
        self._prefix = prefix
        self._max_upload = max_upload_bytes

    @spec_command("train")
    async def train(
        self,
        ctx: Context,
        data: str | None = None,
        data_dir: str | None = None,
        positive: bool | None = None,
        method: str | None = None,
        corrections: bool | None = None,
        name: str | None = None,
        attachment: discord.Attachment | None = None,
    ) -> None:
        upload = await read_upload(attachment, self._max_upload) if attachment else None
        request = TrainRequest(
            actor=actor_of(ctx.author, self._role),
            data=data,
            attachment=upload,
            data_dir=data_dir,
            positive=positive,
            method=method,
            include_corrections=bool(corrections),
            name=name,
        )
        status = await ctx.send("⏳ Checking the dataset and starting training…")
        result = await _settle(
            status, "Checking the dataset and starting training", self._train.execute(request)
        )
        await send_text(ctx, reports.train_result(result, prefix=self._prefix))
        if not result.job.status.is_final:
            await status.edit(content=f"⏳ {reports.job(result.job)}")
            task = asyncio.create_task(self._follow_job(ctx, status, request.actor, result.job))
            self._following.add(task)
            task.add_done_callback(self._following.discard)

    async def _follow_job(
        self, ctx: Context, status: discord.Message, actor: Actor, job: TrainingJob
    ) -> None:
        """Edit ``status`` as ``job`` changes; post its outcome in reply to it when it ends.

        Jobs can take hours, and a slash command's interaction token lasts 15 minutes: the
        status is edited, and the outcome sent, as the bot's own channel messages."""
        lasting = _lasting(status)
        try:
            async for update in self._follow.execute(FollowJobRequest(actor=actor, job_id=job.id)):
                job = update.job
                mark = OUTCOME_MARKS.get(job.status, "⏳")
                note = f" (note: {update.note})" if update.note else ""
                await lasting.edit(content=f"{mark} {reports.job(job)}{note}")
            if job.status.is_final:
                outcome = reports.job_outcome(job, prefix=self._prefix)
                await send_text(status.channel, outcome, reference=status)
        except Exception:  # a background task: logged, and !jobs still shows the job
            log.exception("following training job %s failed", job.id)

    async def cog_unload(self) -> None:
        for task in tuple(self._following):
            task.cancel()
        await asyncio.gather(*self._following, return_exceptions=True)

    @spec_command("test")
    async def test(
        self,
        ctx: Context,
        data: str | None = None,
        dataset: str | None = None,
        model: str | None = None,
        baseline: str | None = None,
        attachment: discord.Attachment | None = None,
    ) -> None:
        upload = await read_upload(attachment, self._max_upload) if attachment else None
        request = TestRequest(
            actor=actor_of(ctx.author, self._role),
            data=data,
            attachment=upload,
            dataset=dataset,
            model=model,
            baseline=baseline,
        )
        status = await ctx.send("⏳ Testing…")
        result = await _settle(status, "Testing", self._test.execute(request))
        await send_text(ctx, reports.test_result(result))

    @spec_command("jobs")
    async def jobs(self, ctx: Context, job_id: str | None = None) -> None:
        actor = actor_of(ctx.author, self._role)
        if job_id:
            refreshed = await self._refresh.execute(RefreshJobRequest(actor=actor, job_id=job_id))
            text = reports.job(refreshed.job)
            await send_text(ctx, f"{text}\nnote: {refreshed.note}" if refreshed.note else text)
            return
        listed = await self._jobs.execute(ListJobsRequest(actor=actor))
        if not listed.jobs:
            await send_text(ctx, f"No training jobs yet. Start one with {self._prefix}train.")
            return
        await send_text(ctx, "\n".join(reports.job(job) for job in listed.jobs))

    @spec_command("cancel")
    async def cancel(self, ctx: Context, job_id: str) -> None:
        result = await self._cancel.execute(
            CancelJobRequest(actor=actor_of(ctx.author, self._role), job_id=job_id)
        )
        await send_text(ctx, reports.job(result.job))

    @spec_command("models")
    async def models(self, ctx: Context) -> None:
        result = await self._models.execute(
            ListModelsRequest(actor=actor_of(ctx.author, self._role))
        )
        await send_text(ctx, reports.models(result))

    @spec_command("use")
    async def use(self, ctx: Context, model: str) -> None:
        result = await self._use.execute(
            UseModelRequest(actor=actor_of(ctx.author, self._role), model=model)
        )
        await send_text(ctx, f"Now answering with {result.model} (was {result.previous}).")


def _lasting(message: discord.Message) -> discord.Message | discord.PartialMessage:
    """A handle that edits ``message`` as the bot's own, not through an interaction's webhook."""
    if isinstance(message, discord.InteractionMessage | discord.WebhookMessage):
        return discord.PartialMessage(channel=message.channel, id=message.id)
    return message


async def _settle(status: discord.Message, task: str, work: Awaitable[T]) -> T:
    """Do ``work``, then edit ``status`` (which said ``task`` is under way) to say how it
    ended (the error itself is answered by the bot's error handler)."""
    try:
        result = await work
    except BaseException:
        await status.edit(content=f"❌ {task}: failed.")
        raise
    await status.edit(content=f"✅ {task}: done.")
    return result
