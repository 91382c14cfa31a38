"""``trainerbot.create_bot``: the bot built from a container, driven as the README shows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import fake_discord_api
import pytest
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord_support import on_dpytest
from fake_discord_api import TOKEN, FakeDiscord

import trainerbot
from trainerbot.adapters.discord.bot import ShardedTrainerBot, TrainerBot, build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.discord.startup import Retry, start_bot
from trainerbot.adapters.discord.voice import DiscordVoice
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.config import Settings
from trainerbot.core.commands import COMMANDS


async def test_the_bot_from_a_container_answers_as_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    container = trainerbot.create_container(Settings(storage="memory"))
    container.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    bot = trainerbot.create_bot(container)
    await on_dpytest(bot, ["ada"])

    await dpytest.message("What is the capital of France?")

    assert dpytest.verify().message().content("Lyon")
    await dpytest.empty_queue()


def test_every_command_is_a_described_slash_command_too() -> None:
    bot = trainerbot.create_bot(trainerbot.create_container(Settings(storage="memory")))
    asyncio.run(bot.setup_hook())

    slash = {command.name: command for command in bot.tree.get_commands()}
    assert set(slash) == set(COMMANDS)
    for name, spec in COMMANDS.items():
        command = slash[name]
        assert isinstance(command, discord.app_commands.Command)
        assert command.description == spec.summary[:100] or command.description.endswith("…")
        options = {parameter.name: parameter for parameter in command.parameters}
        assert set(options) - {"attachment"} == {param.name for param in spec.params}
        for param in spec.params:
            assert options[param.name].description
            assert options[param.name].required == param.required


def test_with_a_discord_token_the_bot_speaks_through_discord_voice() -> None:
    settings = Settings(storage="memory", discord_token="test-token-not-real")
    bot = trainerbot.create_bot(trainerbot.create_container(settings))

    assert isinstance(bot, TrainerBot)
    assert isinstance(bot.voice, DiscordVoice)
    assert bot.options.prefix == settings.command_prefix


# --- shards: bot processes splitting Discord's servers (tests/e2e/test_shards.py runs two) ---


def bot_with(options: BotOptions) -> TrainerBot:
    tenants = trainerbot.create_container(Settings(storage="memory")).tenants()
    return build_bot(tenants.scope, options)


def test_a_shard_count_makes_discord_pys_sharded_bot_running_those_shards() -> None:
    bot = bot_with(BotOptions(shard_count=4, shard_ids=frozenset({3, 1})))

    assert isinstance(bot, ShardedTrainerBot)
    assert isinstance(bot, commands.AutoShardedBot)
    assert (bot.shard_count, bot.shard_ids) == (4, [1, 3])
    # The jobs' lease holder (in the records, in the logs) says which process follows a job.
    assert bot.jobs.holder.endswith(":shards=1,3/4")
    asyncio.run(bot.setup_hook())  # the same commands as unsharded
    assert {command.name for command in bot.tree.get_commands()} == set(COMMANDS)


def test_a_shard_count_alone_runs_every_shard_in_this_process() -> None:
    bot = bot_with(BotOptions(shard_count=2))

    assert isinstance(bot, commands.AutoShardedBot)
    assert (bot.shard_count, bot.shard_ids) == (2, None)  # discord.py: all of them
    assert bot.jobs.holder.endswith(":shards=0,1/2")


def test_without_a_shard_count_the_bot_is_unsharded_as_before() -> None:
    bot = bot_with(BotOptions())

    assert not isinstance(bot, discord.AutoShardedClient)
    assert bot.shard_count is None
    assert ":shards=" not in bot.jobs.holder


@pytest.mark.parametrize(
    "sharding",
    [
        {"shard_ids": frozenset({0})},
        {"shard_count": 2, "shard_ids": frozenset({2})},
        {"shard_count": 0},
    ],
)
def test_bot_options_refuse_shards_that_cannot_be(sharding: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="shard"):
        BotOptions(**sharding)  # type: ignore[arg-type]


def test_the_bot_from_sharded_settings_is_sharded() -> None:
    settings = Settings(storage="memory", shard_count=2, shard_ids=frozenset({1}))
    bot = trainerbot.create_bot(trainerbot.create_container(settings))

    assert isinstance(bot, ShardedTrainerBot)
    assert (bot.shard_count, bot.shard_ids) == (2, [1])


@pytest.mark.parametrize(
    ("records", "scans"),
    [
        ({}, False),  # the workspace's SQLite file, one process
        ({"shard_count": 2, "shard_ids": frozenset({0})}, True),  # shards share the file
        ({"database_url": "postgresql://ada@127.0.0.1:1/records"}, True),
        ({"records": "jsonl"}, False),
    ],
)
async def test_a_bot_looks_for_abandoned_jobs_only_where_other_processes_share_its_records(
    tmp_path: Path, records: dict[str, Any], scans: bool
) -> None:
    container = trainerbot.create_container(Settings(workspace=tmp_path, **records))
    try:
        bot = trainerbot.create_bot(container)
        assert (bot.options.job_scan_seconds is not None) is scans
    finally:
        await trainerbot.close_container(container)


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    fake.point_discord_py_here(monkeypatch)
    yield fake
    await fake.close()


async def test_a_sharded_bot_identifies_to_the_gateway_as_its_shard(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    identified: list[list[int | None]] = []
    identify = DiscordWebSocket.identify

    async def recorded(ws: DiscordWebSocket) -> None:
        identified.append([ws.shard_id, ws.shard_count])  # what IDENTIFY's "shard" says
        await identify(ws)

    monkeypatch.setattr(DiscordWebSocket, "identify", recorded)
    ready = fake_discord_api._ready

    def ready_for_shard_1(url: str) -> dict[str, Any]:  # as Discord's READY names the shard
        event = ready(url)
        event["d"]["shard"] = [1, 2]
        return event

    monkeypatch.setattr(fake_discord_api, "_ready", ready_for_shard_1)
    bot = bot_with(BotOptions(shard_count=2, shard_ids=frozenset({1})))
    bot._connection.guild_ready_timeout = 0.05  # no servers to wait for (2 s by default)
    caplog.set_level(logging.INFO, logger="trainerbot.adapters.discord.bot")

    async with asyncio.timeout(30), bot:
        started = asyncio.create_task(start_bot(bot, TOKEN, api=fake.api, retry=Retry(1)))
        await bot.wait_until_ready()  # every shard of this process connected
        await bot.close()
        await started

    assert identified == [[1, 2]]
    assert f"shard 1 of 2 connected; training jobs are followed here as {bot.jobs.holder}" in (
        caplog.messages
    )
