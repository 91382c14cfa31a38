"""What the Discord tests share besides fixtures: the scripted model and the simulated server.

(A module of its own, not conftest.py: test modules import these names, and ``conftest`` is a
module name every test folder has.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import discord
import discord.ext.test as dpytest
from discord.ext import commands

from trainerbot.adapters.discord.bot import TrainerBot
from trainerbot.container import Container

TRAINER_ROLE = "trainer"
ANSWER = "Paris is the capital of France."


@dataclass
class Model:
    """What the scripted chat model answers: ``answer``, or raises ``failure`` if set."""

    answer: str = ANSWER
    failure: Exception | None = None

    def reply(self, messages: object, model: str) -> str:
        if self.failure is not None:
            raise self.failure
        return self.answer


@dataclass
class Server:
    """The simulated server: the bot, a text channel, a trainer and a plain member."""

    bot: TrainerBot
    guild: discord.Guild
    channel: discord.TextChannel
    trainer: discord.Member
    member: discord.Member
    container: Container
    model: Model


async def on_dpytest(bot: commands.Bot, members: list[str]) -> dpytest.RunnerConfig:
    """Put ``bot`` on dpytest's simulated Discord with these members, as logging in would.

    dpytest keeps its simulated members in discord.py's member cache, which needs the (privileged)
    members intent; the bot itself does without it. ``_async_setup_hook()`` must run after
    ``configure`` so dpytest's state gets the running event loop, and ``setup_hook()`` adds the
    cogs.
    """
    bot._connection._intents.members = True
    bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot.intents)
    dpytest.configure(bot, members=members)
    await bot._async_setup_hook()
    await bot.setup_hook()
    return dpytest.get_config()


async def close(bot: TrainerBot) -> None:
    """``bot.close()`` as at shutdown (voice left, cogs unloaded), on dpytest's fake gateway,
    which has no socket for discord.py to close."""
    bot.ws = None  # type: ignore[assignment]
    await bot.close()


async def send(
    server: Server,
    content: str,
    *,
    by: discord.Member | None = None,
    attachments: list[str] | None = None,
) -> list[discord.Message]:
    """Send ``content`` as ``by`` (the trainer by default); the bot's messages in reply.

    dpytest re-raises a command's error after the bot has handled it (answered it): the
    answer is what is checked here."""
    with contextlib.suppress(commands.CommandError):
        await dpytest.message(
            content, channel=server.channel, member=by or server.trainer, attachments=attachments
        )
    return drain()


def drain() -> list[discord.Message]:
    """The bot's messages sent so far and not yet looked at."""
    replies: list[discord.Message] = []
    while not dpytest.sent_queue.empty():
        replies.append(dpytest.get_message())
    return replies


async def say(server: Server, content: str, *, by: discord.Member | None = None) -> list[str]:
    """Like ``send``, the replies' text."""
    return [message.content for message in await send(server, content, by=by)]


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for ``condition`` without blocking the loop; fail after ``within`` seconds."""
    deadline = time.perf_counter() + within
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        await asyncio.sleep(0.01)
