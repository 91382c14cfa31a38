"""The files and help cog: greeting, help, instructions, and the workspace commands."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord.ext import commands

from trainerbot.core import reports
from trainerbot.core.archive_files import ArchiveFiles, ArchiveRequest
from trainerbot.core.commands import greeting
from trainerbot.core.export_data import ExportData, ExportRequest
from trainerbot.core.get_file import GetFile, GetFileRequest
from trainerbot.core.select_dataset import SelectDataset, SelectDatasetRequest
from trainerbot.core.show_instructions import InstructionsRequest, ShowInstructions
from trainerbot.core.transcribe_voice import TranscribeRequest, TranscribeVoice

from .commands import spec_command
from .messaging import actor_of, send_files, send_text

Context = commands.Context[Any]


class FilesCog(commands.Cog, name="Files"):
    """Help for everyone, and the workspace for trainers.

    Rules:
    - ``!getfile``, ``!archive``, ``!select_dataset`` and ``!transcribe`` reach files inside the
      workspace only (the use cases and the workspace refuse any path that leaves it).
    - ``!getfile`` sends the file as an attachment, under Discord's upload limit.
    - ``!export`` says what it wrote into ``exports/`` and attaches the files that fit.
    - ``!instruction`` is the workspace's instruction file (or the default shipped with the
      package), in as many messages as it takes.
    """

    def __init__(
        self,
        *,
        show_instructions: ShowInstructions,
        archive_files: ArchiveFiles,
        export_data: ExportData,
        select_dataset: SelectDataset,
        get_file: GetFile,
        transcribe_voice: TranscribeVoice,
        trainer_role: str,
        prefix: str,
    ) -> None:
        self._instructions = show_instructions
        self._archive = archive_files
        self._export = export_data
        self._select = select_dataset
        self._get_file = get_file
        self._transcribe = transcribe_voice
        self._role = trainer_role
        self._prefix = prefix

    @spec_command("hi")
    async def hi(self, ctx: Context) -> None:
        await send_text(ctx, greeting(ctx.author.display_name))

    @spec_command("help")
    async def help(self, ctx: Context, command: str | None = None) -> None:
        await send_text(ctx, f"```\n{reports.help_text(self._prefix, command)}\n```")

    @spec_command("instruction")
    async def instruction(self, ctx: Context) -> None:
        result = await self._instructions.execute(InstructionsRequest())
        await send_text(ctx, result.text)

    @spec_command("archive")
    async def archive(self, ctx: Context, folder: str) -> None:
        result = await self._archive.execute(
            ArchiveRequest(actor=actor_of(ctx.author, self._role), folder=folder)
        )
        await send_text(ctx, reports.archive(result.archive))

    @spec_command("select_dataset")
    async def select_dataset(self, ctx: Context, folder: str, positive: bool | None = None) -> None:
        result = await self._select.execute(
            SelectDatasetRequest(
                actor=actor_of(ctx.author, self._role), folder=folder, positive=positive
            )
        )
        await send_text(
            ctx,
            f"Selected dataset {result.dataset.name}: {result.report.summary()}\n"
            f"{reports.archive(result.archive)}\n"
            f"{self._prefix}train with no data now trains on it.",
        )

    @spec_command("export")
    async def export(self, ctx: Context, dataset: str | None = None) -> None:
        result = await self._export.execute(
            ExportRequest(actor=actor_of(ctx.author, self._role), dataset=dataset)
        )
        await send_text(ctx, reports.export(result))
        await send_files(ctx, [exported.file for exported in result.files])

    @spec_command("getfile")
    async def getfile(self, ctx: Context, path: str) -> None:
        result = await self._get_file.execute(
            GetFileRequest(actor=actor_of(ctx.author, self._role), path=path)
        )
        attached = discord.File(io.BytesIO(result.file.data), filename=result.file.filename)
        await ctx.send(f"📄 {result.file.path}", file=attached)

    @spec_command("transcribe")
    async def transcribe(self, ctx: Context, path: str) -> None:
        result = await self._transcribe.execute(
            TranscribeRequest(path=path, actor=actor_of(ctx.author, self._role))
        )
        if not result.heard_anything:
            await send_text(
                ctx, f"I heard nothing I could recognise in {result.duration_seconds:.1f} s."
            )
            return
        await send_text(ctx, f"Heard ({result.duration_seconds:.1f} s): {result.transcript.text}")
