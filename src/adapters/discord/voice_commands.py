"""The voice cog: ``!join`` and ``!leave``."""

from __future__ import annotations

from typing import Any

import discord
from discord.ext import commands

from trainerbot.core.errors import VoiceNotConnected

from .commands import spec_command
from .messaging import send_text
from .voice import DiscordVoice

Context = commands.Context[Any]


class VoiceCog(commands.Cog, name="Voice"):
    """Joining and leaving the caller's voice channel.

    Rules:
    - ``!join`` joins the caller's voice channel (or moves there); the bot then speaks its
      answers there and stays until ``!leave`` or until it has been silent for a while.
    - Both need a server and a caller who is in a voice channel (for ``!join``).
    """

    def __init__(self, *, voice: DiscordVoice | None) -> None:
        self._voice = voice

    @spec_command("join")
    async def join(self, ctx: Context) -> None:
        author = ctx.author
        state = author.voice if isinstance(author, discord.Member) else None
        if state is None or state.channel is None:
            raise VoiceNotConnected("Join a voice channel first, then ask me to join you.")
        if self._voice is None:
            raise VoiceNotConnected("Speaking in voice channels is not set up for this bot.")
        await self._voice.join(state.channel)
        await send_text(ctx, f"🔊 Joined {state.channel.name}; I will speak my answers there.")

    @spec_command("leave")
    async def leave(self, ctx: Context) -> None:
        if ctx.guild is None or self._voice is None or not await self._voice.leave(ctx.guild.id):
            await send_text(ctx, "I am not in a voice channel here.")
            return
        await send_text(ctx, "👋 Left the voice channel.")
