"""Starting the real bot against a fake Discord on 127.0.0.1 (``fake_discord_api``): outages
retried with backoff, a refused token or a missing intent one line at once."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from collections.abc import AsyncIterator

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from fake_discord_api import TOKEN, FakeDiscord
from test_sync import a_bot, start_and_stop

from trainerbot.adapters.discord.startup import (
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    INTENT_MISSING,
    TOKEN_REFUSED,
    Retry,
    StartupFailed,
    run_bot,
    start_bot,
    wait_for_discord,
)

STARTUP_LOGGER = "trainerbot.adapters.discord.startup"


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    fake.point_discord_py_here(monkeypatch)
    yield fake
    await fake.close()


class Waits:
    """Records the backoff's waits instead of sleeping them."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_liners(caplog: pytest.LogCaptureFixture) -> list[str]:
    records = [r for r in caplog.records if r.name == STARTUP_LOGGER]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records), (
        "every start-up log line is one line without a traceback"
    )
    return [r.getMessage() for r in records]


def test_the_backoff_doubles_up_to_a_minute() -> None:
    assert list(Retry(attempts=10).delays()) == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert list(Retry(attempts=1).delays()) == []
    with pytest.raises(ValueError, match="at least 1"):
        Retry(attempts=0)


async def test_discord_5xx_is_retried_with_backoff_then_the_bot_starts(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake.outage = [503, 502, 429]
    waits = Waits()

    await wait_for_discord(fake.api, Retry(attempts=5), sleep=waits)

    assert waits.seconds == [1, 2, 4]
    assert one_liners(caplog) == [
        "cannot reach Discord (HTTP 503 Service Unavailable): trying again in 1 s (attempt 1 of 5)",
        "cannot reach Discord (HTTP 502 Bad Gateway): trying again in 2 s (attempt 2 of 5)",
        "cannot reach Discord (HTTP 429 Too Many Requests): trying again in 4 s (attempt 3 of 5)",
    ]
    await start_and_stop(a_bot(None), fake)  # and then the bot logs in and connects
    assert fake.logins == 1


async def test_an_unreachable_discord_is_retried_then_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = closed_port()
    waits = Waits()

    with pytest.raises(StartupFailed) as failed:
        await wait_for_discord(f"http://127.0.0.1:{port}/api/v10", Retry(attempts=3), sleep=waits)

    assert failed.value.exit_code == EXIT_UNREACHABLE
    message = str(failed.value)
    assert message.startswith(f"cannot reach Discord (cannot connect to 127.0.0.1:{port}")
    assert message.endswith("after 3 attempts: check the network, then start again")
    assert "\n" not in message
    assert waits.seconds == [1, 2]
    lines = one_liners(caplog)
    assert len(lines) == 2
    assert lines[1].endswith("trying again in 2 s (attempt 2 of 3)")


async def test_a_refused_token_is_one_line_at_once(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    waits = Waits()
    bad_token = "MTIz.wrong.token-that-must-not-be-shown"

    with pytest.raises(StartupFailed) as failed:
        async with a_bot(None) as bot:
            await start_bot(bot, bad_token, api=fake.api, retry=Retry(5), sleep=waits)

    assert (str(failed.value), failed.value.exit_code) == (TOKEN_REFUSED, EXIT_REFUSED)
    assert waits.seconds == [], "a refused token is not retried"
    assert fake.logins == 0
    assert bad_token not in caplog.text


async def test_a_missing_message_content_intent_is_one_line(fake: FakeDiscord) -> None:
    fake.close_code = 4014  # what Discord sends when a privileged intent is not enabled

    with pytest.raises(StartupFailed) as failed:
        async with asyncio.timeout(30), a_bot(None) as bot:
            await start_bot(bot, TOKEN, api=fake.api, retry=Retry(1))

    assert failed.value.exit_code == EXIT_REFUSED
    assert str(failed.value) == INTENT_MISSING
    assert "enable the Message Content intent" in INTENT_MISSING


async def test_a_token_refused_by_the_gateway_is_the_same_one_line(fake: FakeDiscord) -> None:
    fake.close_code = 4004  # authentication failed, e.g. the token was reset meanwhile

    with pytest.raises(StartupFailed) as failed:
        async with asyncio.timeout(30), a_bot(None) as bot:
            await start_bot(bot, TOKEN, api=fake.api, retry=Retry(1))

    assert (str(failed.value), failed.value.exit_code) == (TOKEN_REFUSED, EXIT_REFUSED)


def test_run_bot_prints_one_line_and_returns_the_exit_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    stderr = io.StringIO()
    api = f"http://127.0.0.1:{closed_port()}/api/v10"

    code = run_bot(a_bot(None), TOKEN, api=api, retry=Retry(attempts=1), stderr=stderr)

    assert code == EXIT_UNREACHABLE
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("trainerbot: cannot reach Discord (cannot connect to 127.0.0.1:")
    assert TOKEN not in caplog.text + stderr.getvalue()
    assert "Traceback" not in caplog.text


async def test_an_unreachable_gateway_after_login_is_retried_then_one_line(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f"http://127.0.0.1:{port}/"))
    waits = Waits()

    with pytest.raises(StartupFailed) as failed:
        async with asyncio.timeout(30), a_bot(None) as bot:
            await start_bot(bot, TOKEN, api=fake.api, retry=Retry(2), sleep=waits)

    assert failed.value.exit_code == EXIT_UNREACHABLE
    assert str(failed.value).startswith(
        f"cannot reach Discord's gateway (cannot connect to 127.0.0.1:{port}"
    )
    assert waits.seconds == [1]
    assert fake.logins == 1
    assert one_liners(caplog)[0].endswith("trying again in 1 s (attempt 1 of 2)")
    from_discord_py = [r for r in caplog.records if r.name == "discord.client" and r.levelno >= 30]
    assert from_discord_py, "discord.py's own reconnection lines are kept"
    for record in from_discord_py:
        assert record.exc_info is None, "… as one line each, without the traceback"
        assert record.getMessage().startswith("Discord connection lost (cannot connect to")
