"""Every command of the catalogue (``trainerbot.core.commands``), in Discord.

Each command exists twice, from the same spec and handler:

- as a prefix command (``!train data_dir=reviews``): discord.py hands over the rest of the
  message untouched (``rest_is_raw``) and trainerbot's own grammar reads it — positional in the
  original bot's order or ``key=value``, quoted values, code blocks, a last parameter that takes
  the rest of the line. Sent as a reply, the replied-to message fills the spec's
  ``reply_fills`` parameter; a file attached to the message is the data of a command that
  ``takes_upload``;
- as a slash command (``/train``): one option per parameter, described from the spec, and an
  ``attachment`` option for a command that takes an upload.

Both end in ``DiscordCommands.invoke``: the tenant and the author are resolved, the handler
runs, and its ``Reply`` is rendered — the same text the console prints. Only discord.py's
public API is used.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from trainerbot.core import reports
from trainerbot.core.commands import (
    CATALOGUE,
    Command,
    Invocation,
    Kind,
    ParsedCommand,
    Reply,
    arguments_from,
    parse_arguments,
)
from trainerbot.core.errors import VoiceNotConnected
from trainerbot.core.job_watch import JobWatch
from trainerbot.core.text import command_prefix

from .errors import error_reply
from .jobs import Origin
from .messaging import send_files, send_text
from .options import BotOptions
from .tenancy import DiscordTenancy
from .voice import DiscordVoice

log = logging.getLogger(__name__)

ATTACHMENT = "attachment"
DESCRIPTION_LIMIT = 100  # Discord's limit for command and option descriptions
Context = commands.Context[Any]


class DiscordCommands:
    """Runs the catalogue's commands for the bot: builds the prefix and slash forms, and renders
    each reply.

    Rules:
    - A command acts in the tenant it was given in, as its author there (``DiscordTenancy``).
    - A trainer-only command refuses anyone else before anything, an attachment included, is
      downloaded; the use cases check again.
    - A slow command (its spec has ``progress``) is acknowledged at once with a status message,
      edited when the work ends (``✅ …: done.`` or ``❌ …: failed.``); the reply follows.
    - A reply's text goes as messages under Discord's limit (a long one attached as a file),
      preformatted text in a code block; its files go in one message after it, as many as fit
      the upload limit. A training job still running is followed: the status message follows
      the job, and its outcome is posted in reply to it (``DiscordJobs``).
    - Every failure is one short reply (``errors.error_reply``), with the configured prefix in
      any command it names.
    """

    def __init__(
        self,
        *,
        tenancy: DiscordTenancy,
        options: BotOptions,
        voice: DiscordVoice | None,
        jobs: JobWatch,
    ) -> None:
        self._tenancy = tenancy
        self._options = options
        self._voice = voice
        self._jobs = jobs

    def prefix_commands(self) -> list[commands.Command[Any, ..., Any]]:
        return [self._prefix_command(entry) for entry in CATALOGUE]

    def slash_commands(self) -> list[app_commands.Command[Any, ..., Any]]:
        return [self._slash_command(entry) for entry in CATALOGUE]

    async def invoke(
        self,
        ctx: Context,
        entry: Command,
        read: Callable[[], ParsedCommand],
        attachment: discord.Attachment | None = None,
    ) -> None:
        """Run ``entry`` for ``ctx``, its arguments given by ``read``, and answer."""
        with command_prefix(self._options.prefix):
            status: discord.Message | None = None
            try:
                scope, actor = await self._tenancy.here(ctx)
                entry.allow(actor)
                parsed = read()
                if entry.spec.progress:
                    status = await ctx.send(f"⏳ {entry.spec.progress}…")
                origin = Origin(status.channel.id, status.id) if status is not None else None
                reply = await entry.run(
                    Invocation(
                        command=parsed,
                        scope=scope,
                        actor=actor,
                        front_end=_Voice(ctx, self._voice),
                        attachment=attachment if entry.spec.takes_upload else None,
                        upload_limit=self._options.max_upload_bytes,
                        origin=str(origin) if origin is not None else None,
                    )
                )
            except Exception as error:  # noqa: BLE001 - every failure gets its one reply
                if status is not None:
                    await status.edit(content=f"❌ {entry.spec.progress}: failed.")
                await send_text(ctx, error_reply(error))
                return
            if status is not None:
                await status.edit(content=f"✅ {entry.spec.progress}: done.")
            await self._render(ctx, reply)
            if reply.job is not None and status is not None:
                await status.edit(content=f"⏳ {reports.job(reply.job)}")
                self._jobs.follow(scope, reply.job, actor)

    async def _render(self, ctx: Context, reply: Reply) -> None:
        text = f"```\n{reply.text}\n```" if reply.preformatted else reply.text
        await send_text(ctx, text)
        if reply.files:
            await send_files(ctx, reply.files)

    # --- the two forms ----------------------------------------------------------------------

    def _prefix_command(self, entry: Command) -> commands.Command[Any, ..., Any]:
        spec = entry.spec

        async def prefixed(ctx: Context, *, arguments: str = "") -> None:
            message = ctx.message
            raw = arguments.strip()
            reference = message.reference
            if spec.reply_fills and reference is not None and reference.message_id is not None:
                # Sent as a reply: the replied-to message fills that parameter.
                raw = f"{spec.reply_fills}={reference.message_id} {raw}"
            attached = message.attachments[0] if message.attachments else None
            await self.invoke(ctx, entry, lambda: parse_arguments(spec, raw), attached)

        return commands.Command(
            prefixed, name=spec.name, help=spec.summary, rest_is_raw=True, ignore_extra=True
        )

    def _slash_command(self, entry: Command) -> app_commands.Command[Any, ..., Any]:
        spec = entry.spec

        async def slashed(interaction: discord.Interaction[Any], **options: Any) -> None:
            if not self._tenancy.serves(interaction.guild):
                return  # a server being left gets nothing
            ctx = await commands.Context.from_interaction(interaction)
            attached = options.pop(ATTACHMENT, None)
            values: Mapping[str, Any] = options
            await self.invoke(ctx, entry, lambda: arguments_from(spec, values), attached)

        parameters = [
            inspect.Parameter(
                "interaction",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=discord.Interaction,
            )
        ]
        described: dict[str, str] = {}
        for param in spec.params:
            kind: Any = bool if param.kind is Kind.BOOL else str
            parameters.append(
                inspect.Parameter(
                    param.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=kind if param.required else kind | None,
                    default=inspect.Parameter.empty if param.required else None,
                )
            )
            described[param.name] = _short(param.help)
        if spec.takes_upload:
            parameters.append(
                inspect.Parameter(
                    ATTACHMENT,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=discord.Attachment | None,
                    default=None,
                )
            )
            described[ATTACHMENT] = "a file with the data"
        # discord.py reads a slash command's options from its callback's signature.
        slashed.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        if described:
            slashed = app_commands.describe(**described)(slashed)
        return app_commands.Command(
            name=spec.name, description=_short(spec.summary), callback=slashed
        )


class _Voice:
    """``!join`` and ``!leave`` for the author of ``ctx``."""

    def __init__(self, ctx: Context, voice: DiscordVoice | None) -> None:
        self._ctx = ctx
        self._voice = voice

    async def join_voice(self) -> str:
        author = self._ctx.author
        state = author.voice if isinstance(author, discord.Member) else None
        if state is None or state.channel is None:
            raise VoiceNotConnected("Join a voice channel first, then ask me to join you.")
        if self._voice is None:
            raise VoiceNotConnected("Speaking in voice channels is not set up for this bot.")
        await self._voice.join(state.channel)
        return state.channel.name

    async def leave_voice(self) -> bool:
        guild = self._ctx.guild
        return guild is not None and self._voice is not None and await self._voice.leave(guild.id)


def _short(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"
