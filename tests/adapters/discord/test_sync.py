"""Slash commands synced only when they changed: the real bot logging in to a fake Discord
API on 127.0.0.1 (``fake_discord_api``), three starts on one workspace."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from fake_discord_api import TOKEN, FakeDiscord

from trainerbot.adapters.discord.bot import TrainerBot, build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.discord.startup import Retry, start_bot
from trainerbot.adapters.discord.sync import STATE_FILENAME, fingerprint
from trainerbot.config import Settings
from trainerbot.container import create_container
from trainerbot.core.commands import COMMANDS

GUARD_S = 30  # a broken start fails here instead of hanging; no test measures time


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    fake.point_discord_py_here(monkeypatch)
    yield fake
    await fake.close()


def a_bot(state: Path | None) -> TrainerBot:
    tenants = create_container(Settings(storage="memory")).tenants()
    return build_bot(tenants.scope, BotOptions(commands_state=state))


async def start_and_stop(bot: TrainerBot, fake: FakeDiscord) -> None:
    """Start ``bot`` as ``trainerbot run`` does, until the gateway has its IDENTIFY; close it."""
    fake.identified.clear()
    async with asyncio.timeout(GUARD_S):
        async with bot:
            started = asyncio.create_task(start_bot(bot, TOKEN, api=fake.api, retry=Retry(1)))
            identified = asyncio.create_task(fake.identified.wait())
            done, _ = await asyncio.wait({started, identified}, return_when="FIRST_COMPLETED")
            if started in done:
                identified.cancel()
                started.result()  # raises what stopped the start
                raise AssertionError("the bot stopped before identifying to the gateway")
            await bot.close()
            await started


async def test_synced_on_first_start_not_again_until_the_tree_changes(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / STATE_FILENAME
    caplog.set_level(logging.INFO, logger="trainerbot.adapters.discord.sync")

    await start_and_stop(a_bot(state), fake)
    assert len(fake.syncs) == 1, "the first start syncs the slash commands"
    assert {command["name"] for command in fake.syncs[0]} == set(COMMANDS)
    assert f"synced {len(COMMANDS)} slash commands" in caplog.messages
    assert state.read_text().strip()

    await start_and_stop(a_bot(state), fake)
    assert len(fake.syncs) == 1, "the same tree is not synced again"
    assert fake.logins == 2

    changed = a_bot(state)

    @changed.tree.command(name="ping", description="a command the first starts did not have")
    async def ping(interaction: discord.Interaction) -> None:  # pragma: no cover - not called
        await interaction.response.send_message("pong")

    await start_and_stop(changed, fake)
    assert len(fake.syncs) == 2, "a changed tree is synced"
    assert "ping" in {command["name"] for command in fake.syncs[1]}


async def test_a_refused_sync_is_one_warning_and_the_bot_runs_on(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / STATE_FILENAME
    fake.sync_status = 403

    await start_and_stop(a_bot(state), fake)  # still reaches the gateway

    warnings = [r for r in caplog.records if r.name.endswith(".sync")]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "could not sync the slash commands (Forbidden: 403 Forbidden" in warnings[0].message
    assert warnings[0].exc_info is None
    assert "\n" not in warnings[0].getMessage()
    assert not state.exists(), "a failed sync is tried again at next start"


async def test_without_a_state_file_the_bot_never_syncs(fake: FakeDiscord) -> None:
    await start_and_stop(a_bot(None), fake)

    assert fake.logins == 1
    assert fake.syncs == []


def test_the_fingerprint_ignores_definition_order_and_names_the_application() -> None:
    first, second = a_bot(None), a_bot(None)
    asyncio.run(first.setup_hook())
    asyncio.run(second.setup_hook())
    names = [command.name for command in second.tree.get_commands()]
    moved = second.tree.remove_command(names[0])
    assert moved is not None
    second.tree.add_command(moved)  # now last

    assert fingerprint(first.tree) == fingerprint(second.tree)
    second._connection.application_id = 1  # another application, the same commands
    assert fingerprint(first.tree) != fingerprint(second.tree)
