"""One bot process of several, for tests/e2e/test_shards.py: the real bot, sharded as the
environment says (``TRAINERBOT_SHARD_COUNT``, ``TRAINERBOT_SHARD_IDS``), on its records'
database (``TRAINERBOT_DATABASE_URL``), driven through dpytest's simulated Discord.

Every process serves the same server, channel and members (fixed ids: a tenant is its server),
so what one records the other can be asked about. The test drives it over stdin and stdout, one
JSON object a line:

- in: ``{"say": text}`` (sent in the channel by the trainer), ``{"quit": true}``;
- out: ``{"ready": holder, "sharded": class name, "shard_ids": [...]}`` once it serves, then
  ``{"sent": {"id", "content"}}`` for every message the bot sends, as it sends it, and
  ``{"said": text}`` once a ``say`` was handled.

The trainer is a stand-in for a provider's (the state of its jobs outside every process, as
OpenAI's is): a job runs until ``<control>/finish-<job id>`` exists, then it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path
from unittest import mock

import discord
import discord.ext.test as dpytest
from dependency_injector import providers
from discord.ext import commands
from discord.ext.test import factories

from trainerbot.adapters.discord.bot import TrainerBot, build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.memory import InMemoryChatModel, InMemoryModelTrainer
from trainerbot.config import Settings
from trainerbot.container import close_container, create_container
from trainerbot.core.entities import TrainingJob

GUILD_ID = 1_180_000_000_000_000_001
CHANNEL_ID = 1_180_000_000_000_000_002
TRAINER_ID = 1_180_000_000_000_000_003
TRAINER_ROLE = "trainer"
# Short enough for a test of seconds: a dead process's job is taken over within about 2 s.
LEASE_SECONDS = 1.5
SCAN_SECONDS = 0.25


class ProviderTrainer(InMemoryModelTrainer):
    """Jobs that run until the test writes ``finish-<job id>`` into ``control``."""

    def __init__(self, control: Path) -> None:
        super().__init__("local")
        self._control = control

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        if (self._control / f"finish-{job.id}").exists():
            self.finish(job.id)
        return await super().refresh(job)


def answer(messages: object, model: str) -> str:
    """The chat model, wrong about capitals (to be corrected)."""
    return "Lyon"


def emit(**event: object) -> None:
    print(json.dumps(event), flush=True)


async def on_simulated_discord(bot: TrainerBot) -> tuple[discord.TextChannel, discord.Member]:
    """``bot`` on dpytest, serving the one server every process serves, as logging in would."""
    bot._connection._intents.members = True  # dpytest keeps its members in the member cache
    bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot.intents)
    # dpytest refuses sharded clients (it simulates no gateway, so no shards): it is told the
    # bot is not one. What it drives is the bot's events and HTTP calls, the same sharded or not.
    with mock.patch.object(discord, "AutoShardedClient", type("NotSharded", (), {})):
        dpytest.configure(bot, guilds=0, text_channels=0, voice_channels=0, members=0)
    await bot._async_setup_hook()
    await bot.setup_hook()
    backend = dpytest.backend
    guild = backend.make_guild("Shared server", id_num=GUILD_ID)
    channel = backend.make_text_channel("general", guild, id_num=CHANNEL_ID)
    user = backend.make_user("tess", "0001", id_num=TRAINER_ID)
    member = backend.make_member(user, guild)
    backend.make_member(backend.get_state().user, guild)
    await dpytest.add_role(member, backend.make_role(TRAINER_ROLE, guild))
    assert isinstance(channel, discord.TextChannel)
    # A greeting, so that this process's simulated channel holds messages: dpytest looks a
    # message up by id with a KeyError, not discord.NotFound, in a channel it holds none of.
    with contextlib.suppress(commands.CommandError):
        await dpytest.message("!hi", channel=channel, member=member)
    await dpytest.empty_queue()
    await bot.on_ready()  # as discord.py dispatches it once every shard is connected
    return channel, member


async def report_sent() -> None:
    """Every message the bot sends, as it is sent."""
    while True:
        message = await dpytest.sent_queue.get()
        emit(sent={"id": message.id, "content": message.content})


async def main(control: Path) -> None:
    settings = Settings()
    shard = min(settings.shard_ids, default=0)
    # dpytest numbers its ids by time and a counter from 0 in every process: apart per shard.
    factories.generated_ids = 1_000 * shard
    container = create_container(settings)
    container.chat_model.override(InMemoryChatModel(answer))
    container.trainers.override(providers.Object({"local": ProviderTrainer(control)}))
    tenants = container.tenants()
    # As trainerbot.create_bot builds it, with leases short enough for a test.
    options = BotOptions(
        prefix=settings.command_prefix,
        job_scan_seconds=SCAN_SECONDS,
        job_lease_seconds=LEASE_SECONDS,
        shard_count=settings.shard_count,
        shard_ids=settings.shard_ids,
    )
    bot = build_bot(
        tenants.scope,
        options,
        tenants=tenants.with_jobs,
        on_close=lambda: close_container(container),
    )
    channel, member = await on_simulated_discord(bot)
    reporting = asyncio.create_task(report_sent())
    emit(ready=bot.jobs.holder, sharded=type(bot).__name__, shard_ids=bot.shard_ids)

    loop = asyncio.get_running_loop()
    commands_in = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands_in), sys.stdin)
    while line := await commands_in.readline():
        request = json.loads(line)
        if request.get("quit"):
            break
        with contextlib.suppress(commands.CommandError):  # answered by the bot already
            await dpytest.message(request["say"], channel=channel, member=member)
        await asyncio.sleep(0.1)  # the replies reach the queue, and are reported, first
        emit(said=request["say"])
    reporting.cancel()
    bot.ws = None  # type: ignore[assignment]  # dpytest's gateway has no socket to close
    await bot.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(Path(sys.argv[1])))
