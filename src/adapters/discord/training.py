"""The training cog: train, test, follow jobs, and choose the model that answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord
from discord.ext import commands

from trainerbot.core import reports
from trainerbot.core.cancel_job import CancelJobRequest
from trainerbot.core.fix_failure import FixFailureRequest
from trainerbot.core.list_jobs import ListJobsRequest
from trainerbot.core.list_models import ListModelsRequest
from trainerbot.core.manage_settings import SettingsRequest
from trainerbot.core.refresh_job import RefreshJobRequest
from trainerbot.core.test_model import TestRequest
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.use_model import UseModelRequest

from .commands import spec_command
from .jobs import JobFollower, Origin
from .messaging import read_upload, send_files, send_text
from .tenancy import DiscordTenancy

Context = commands.Context[Any]
T = TypeVar("T")
log = logging.getLogger(__name__)


class TrainingCog(commands.Cog, name="Training"):
    """Trainer commands for the learning loop (trainers only: the commands refuse others, and
    the use cases check again), each acting inside the tenant it was given in.

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
    - ``!persona`` and ``!settings`` show and change this tenant's settings.
    """

    def __init__(
        self,
        *,
        tenancy: DiscordTenancy,
        prefix: str,
        max_upload_bytes: int,
        jobs: JobFollower,
    ) -> None:
        self._tenancy = tenancy
        self._following = jobs
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
        scope, actor = await self._tenancy.here(ctx)
        upload = await read_upload(attachment, self._max_upload) if attachment else None
        status = await ctx.send("⏳ Checking the dataset and starting training…")
        origin = Origin(status.channel.id, status.id)  # where the outcome goes, even after restarts
        request = TrainRequest(
            actor=actor,
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
            status,
            "Checking the dataset and starting training",
            scope.use_cases.train_model.execute(request),
        )
        await send_text(ctx, reports.train_result(result, prefix=self._prefix))
        if not result.job.status.is_final:
            await status.edit(content=f"⏳ {reports.job(result.job)}")
            self._following.follow(scope, result.job, origin, request.actor)

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
        scope, actor = await self._tenancy.here(ctx)
        upload = await read_upload(attachment, self._max_upload) if attachment else None
        request = TestRequest(
            actor=actor,
            data=data,
            attachment=upload,
            data_dir=data_dir,
            dataset=dataset,
            model=model,
            baseline=baseline,
        )
        status = await ctx.send("⏳ Testing…")
        result = await _settle(status, "Testing", scope.use_cases.test_model.execute(request))
        await send_text(ctx, reports.test_result(result, prefix=self._prefix))
        await send_files(ctx, result.files)

    @spec_command("fix")
    async def fix(self, ctx: Context, number: str, text: str | None = None) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.fix_failure.execute(
            FixFailureRequest(actor=actor, number=number, text=text)
        )
        await send_text(ctx, reports.fix_result(result, prefix=self._prefix))

    @spec_command("jobs")
    async def jobs(self, ctx: Context, job_id: str | None = None) -> None:
        scope, actor = await self._tenancy.here(ctx)
        uc = scope.use_cases
        if job_id:
            refreshed = await uc.refresh_job.execute(RefreshJobRequest(actor=actor, job_id=job_id))
            text = reports.job(refreshed.job)
            await send_text(ctx, f"{text}\nnote: {refreshed.note}" if refreshed.note else text)
            return
        listed = await uc.list_jobs.execute(ListJobsRequest(actor=actor))
        if not listed.jobs:
            await send_text(ctx, f"No training jobs yet. Start one with {self._prefix}train.")
            return
        await send_text(ctx, "\n".join(reports.job(job) for job in listed.jobs))

    @spec_command("cancel")
    async def cancel(self, ctx: Context, job_id: str) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.cancel_job.execute(
            CancelJobRequest(actor=actor, job_id=job_id)
        )
        await send_text(ctx, reports.job(result.job))

    @spec_command("models")
    async def models(self, ctx: Context) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.list_models.execute(ListModelsRequest(actor=actor))
        await send_text(ctx, reports.models(result))

    @spec_command("use")
    async def use(self, ctx: Context, model: str) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.use_model.execute(UseModelRequest(actor=actor, model=model))
        await send_text(ctx, f"Now answering with {result.model} (was {result.previous}).")

    @spec_command("persona")
    async def persona(self, ctx: Context, text: str | None = None) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.manage_settings.execute(
            SettingsRequest(actor=actor, persona=text or None)
        )
        await send_text(ctx, reports.settings(result, prefix=self._prefix))

    @spec_command("settings")
    async def settings(self, ctx: Context, trainer_role: str | None = None) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.manage_settings.execute(
            SettingsRequest(actor=actor, trainer_role=trainer_role or None)
        )
        await send_text(ctx, reports.settings(result, prefix=self._prefix))


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
