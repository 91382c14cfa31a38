"""The files and help cog: greeting, help, instructions, and the workspace commands."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord.ext import commands

from trainerbot.core import reports
from trainerbot.core.archive_files import ArchiveRequest
from trainerbot.core.commands import greeting
from trainerbot.core.export_data import ExportRequest
from trainerbot.core.get_file import GetFileRequest
from trainerbot.core.select_dataset import SelectDatasetRequest
from trainerbot.core.show_instructions import InstructionsRequest
from trainerbot.core.transcribe_voice import TranscribeRequest

from .commands import spec_command
from .messaging import send_files, send_text
from .tenancy import DiscordTenancy

Context = commands.Context[Any]


class FilesCog(commands.Cog, name="Files"):
    """Help for everyone, and the workspace for trainers.

    Rules:
    - ``!getfile``, ``!archive``, ``!select_dataset`` and ``!transcribe`` reach files inside the
      workspace only — the workspace of the tenant (server, or direct messages) they are given
      in (the use cases and the workspace refuse any path that leaves it).
    - ``!getfile`` sends the file as an attachment, under Discord's upload limit.
    - ``!export`` says what it wrote into ``exports/`` and attaches the files that fit.
    - ``!instruction`` is the workspace's instruction file (or the default shipped with the
      package), in as many messages as it takes.
    """

    def __init__(self, *, tenancy: DiscordTenancy, prefix: str) -> None:
        self._tenancy = tenancy
        self._prefix = prefix

    @spec_command("hi")
    async def hi(self, ctx: Context) -> None:
        await send_text(ctx, greeting(ctx.author.display_name))

    @spec_command("help")
    async def help(self, ctx: Context, command: str | None = None) -> None:
        await send_text(ctx, f"```\n{reports.help_text(self._prefix, command)}\n```")

    @spec_command("instruction")
    async def instruction(self, ctx: Context) -> None:
        scope, _ = await self._tenancy.here(ctx)
        result = await scope.use_cases.show_instructions.execute(InstructionsRequest())
        await send_text(ctx, result.text)

    @spec_command("archive")
    async def archive(self, ctx: Context, folder: str) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.archive_files.execute(
            ArchiveRequest(actor=actor, folder=folder)
        )
        await send_text(ctx, reports.archive(result.archive))

    @spec_command("select_dataset")
    async def select_dataset(self, ctx: Context, folder: str, positive: bool | None = None) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.select_dataset.execute(
            SelectDatasetRequest(actor=actor, folder=folder, positive=positive)
        )
        await send_text(
            ctx,
            f"Selected dataset {result.dataset.name}: {result.report.summary()}\n"
            f"{reports.archive(result.archive)}\n"
            f"{self._prefix}train with no data now trains on it.",
        )

    @spec_command("export")
    async def export(self, ctx: Context, dataset: str | None = None) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.export_data.execute(
            ExportRequest(actor=actor, dataset=dataset)
        )
        await send_text(ctx, reports.export(result))
        await send_files(ctx, [exported.file for exported in result.files])

    @spec_command("getfile")
    async def getfile(self, ctx: Context, path: str) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.get_file.execute(GetFileRequest(actor=actor, path=path))
        attached = discord.File(io.BytesIO(result.file.data), filename=result.file.filename)
        await ctx.send(f"📄 {result.file.path}", file=attached)

    @spec_command("transcribe")
    async def transcribe(self, ctx: Context, path: str) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.transcribe_voice.execute(
            TranscribeRequest(path=path, actor=actor)
        )
        if not result.heard_anything:
            await send_text(
                ctx, f"I heard nothing I could recognise in {result.duration_seconds:.1f} s."
            )
            return
        await send_text(ctx, f"Heard ({result.duration_seconds:.1f} s): {result.transcript.text}")
