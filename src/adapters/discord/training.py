"""The training cog: train, test, follow jobs, and choose the model that answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord
from discord.ext import commands

from trainerbot.core import reports
from trainerbot.core.cancel_job import CancelJob, CancelJobRequest
from trainerbot.core.fix_failure import FixFailure, FixFailureRequest
from trainerbot.core.list_jobs import ListJobs, ListJobsRequest
from trainerbot.core.list_models import ListModels, ListModelsRequest
from trainerbot.core.refresh_job import RefreshJob, RefreshJobRequest
from trainerbot.core.test_model import TestModel, TestRequest
from trainerbot.core.train_model import TrainModel, TrainRequest
from trainerbot.core.use_model import UseModel, UseModelRequest

from .commands import spec_command
from .jobs import JobFollower, Origin
from .messaging import actor_of, read_upload, send_files, send_text

Context = commands.Context[Any]
T = TypeVar("T")
log = logging.getLogger(__name__)


class TrainingCog(commands.Cog, name="Training"):
    """Trainer commands for the learning loop (trainers only: the commands refuse others, and
    the use cases check again).

    Rules:
    - ``!train`` and ``!test`` may take a while: they are acknowledged at once with a status
      message, which is edited when the work ends, and the result follows as a message. Other
      commands and chat go on meanwhile (each command runs in its own task).
    - A training job that does not finish at once is followed in the background
      (``JobFollower``): its status message is edited as the job changes, and when it ends the
      outcome is posted in reply to it — after a restart too.
    - An attachment over the upload limit is refused before it is downloaded.
    - ``!test`` posts its report, then one message with ``predictions.jsonl`` and the charts
      attached; a file over the server's upload limit is left out, and the message says so.
    - ``!fix <n> [text]`` turns failure ``n`` of the trainer's latest ``!test`` into a correction.
    """

    def __init__(
        self,
        *,
        train_model: TrainModel,
        test_model: TestModel,
        list_jobs: ListJobs,
        refresh_job: RefreshJob,
        cancel_job: CancelJob,
        list_models: ListModels,
        use_model: UseModel,
        trainer_role: str,
        prefix: str,
        max_upload_bytes: int,
        fix_failure: FixFailure,
        jobs: JobFollower,
    ) -> None:
        self._train = train_model
        self._test = test_model
        self._jobs = list_jobs
        self._refresh = refresh_job
        self._following = jobs
        self._cancel = cancel_job
        self._models = list_models
        self._use = use_model
        self._fix = fix_failure
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
        holdout: bool | None = None,
        name: str | None = None,
        attachment: discord.Attachment | None = None,
    ) -> None:
        upload = await read_upload(attachment, self._max_upload) if attachment else None
        status = await ctx.send("⏳ Checking the dataset and starting training…")
        origin = Origin(status.channel.id, status.id)  # where the outcome goes, even after restarts
        request = TrainRequest(
            actor=actor_of(ctx.author, self._role),
            data=data,
            attachment=upload,
            data_dir=data_dir,
            positive=positive,
            method=method,
            include_corrections=bool(corrections),
            holdout=bool(holdout),
            name=name,
            origin=str(origin),
        )
        result = await _settle(
            status, "Checking the dataset and starting training", self._train.execute(request)
        )
        await send_text(ctx, reports.train_result(result, prefix=self._prefix))
        if not result.job.status.is_final:
            await status.edit(content=f"⏳ {reports.job(result.job)}")
            self._following.follow(result.job, origin, request.actor)

    @spec_command("test")
    async def test(
        self,
        ctx: Context,
        data: str | None = None,
        data_dir: str | None = None,
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
            data_dir=data_dir,
            dataset=dataset,
            model=model,
            baseline=baseline,
        )
        status = await ctx.send("⏳ Testing…")
        result = await _settle(status, "Testing", self._test.execute(request))
        await send_text(ctx, reports.test_result(result, prefix=self._prefix))
        await send_files(ctx, result.files)

    @spec_command("fix")
    async def fix(self, ctx: Context, number: str, text: str | None = None) -> None:
        result = await self._fix.execute(
            FixFailureRequest(actor=actor_of(ctx.author, self._role), number=number, text=text)
        )
        await send_text(ctx, reports.fix_result(result, prefix=self._prefix))

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
