"""Starting the bot when Discord may be unreachable: one line per fault, retries where they help.

``run_bot(bot, token)`` is what ``trainerbot run`` calls instead of discord.py's ``bot.run``.

Rules:
- Before logging in, Discord's API is reached once without the token (``GET {api}/gateway``).
  No network, a DNS failure, a refused, reset or timed out connection, a 5xx or 429 answer:
  tried again after 1, 2, 4 … seconds (doubling, at most ``Retry.max_delay``), ``Retry.attempts``
  times in all, each failure one warning line; then one line, exit code 1 (``EXIT_UNREACHABLE``).
- Then the bot logs in once (its token checked, its slash commands synced if they changed) and
  connects to the gateway. A first connection to the gateway that fails is retried in the same
  way; once connected, discord.py reconnects by itself, and each of its reconnections is one
  log line (its traceback dropped, the fault named).
- A refused token (401 at login, gateway close 4004): one line at once, no retry, exit code 2
  (``EXIT_REFUSED``); so is a privileged intent the application has not enabled (gateway close
  4014): the line says to enable the Message Content intent in the developer portal.
- Any other failure to log in (Discord failing between the check and the login): one line,
  exit code 1; the process supervisor may start it again.
- No traceback for these; the token is never written anywhere (discord.py's own messages and
  the errors' texts do not carry it). Waiting never blocks the event loop (``asyncio.sleep``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

import aiohttp
import discord

log = logging.getLogger(__name__)

EXIT_UNREACHABLE = 1
EXIT_REFUSED = 2
CLOSED_AUTHENTICATION_FAILED = 4004  # the gateway's close code for a refused token

TOKEN_REFUSED = "Discord refused the token: check TRAINERBOT_DISCORD_TOKEN"  # noqa: S105 (a message)
INTENT_MISSING = (
    "Discord refused the connection: enable the Message Content intent (Privileged Gateway "
    "Intents, on the Bot page of the application at https://discord.com/developers/applications)"
)

_NETWORK_ERRORS = (
    OSError,
    TimeoutError,
    aiohttp.ClientError,
    discord.HTTPException,
    discord.GatewayNotFound,
    discord.ConnectionClosed,
)

Sleep = Callable[[float], Awaitable[object]]


@dataclass(frozen=True)
class Retry:
    """How long to keep trying to reach Discord at start: ``attempts`` in all, waiting
    ``first_delay`` seconds after the first failure, doubling each time up to ``max_delay``."""

    attempts: int = 8
    first_delay: float = 1.0
    max_delay: float = 60.0
    timeout: float = 20.0  # one attempt, in seconds

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def delays(self) -> Iterator[float]:
        """The waits between the attempts (one fewer than the attempts)."""
        delay = self.first_delay
        for _ in range(self.attempts - 1):
            yield min(delay, self.max_delay)
            delay *= 2


class StartupFailed(Exception):
    """The bot could not start: ``str(error)`` is the one line to show, ``exit_code`` the
    process's exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Unavailable(Exception):
    """Discord answered, but cannot serve now (5xx, 429)."""


async def wait_for_discord(
    api: str | None = None, retry: Retry | None = None, *, sleep: Sleep = asyncio.sleep
) -> None:
    """Return once Discord's API answers (no token sent); raise ``StartupFailed`` after
    ``retry.attempts`` failures, each logged as one warning line. ``api`` is by default the one
    discord.py itself logs in to (``discord.http.Route.BASE``)."""
    api = api or discord.http.Route.BASE
    retry = retry or Retry()
    delays = retry.delays()
    url = api.rstrip("/") + "/gateway"
    timeout = aiohttp.ClientTimeout(total=retry.timeout)
    for attempt in range(1, retry.attempts + 1):
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as response,
            ):
                if response.status >= 500 or response.status == 429:
                    raise _Unavailable(f"HTTP {response.status} {response.reason or ''}")
                return
        except (aiohttp.ClientError, OSError, TimeoutError, _Unavailable) as error:
            problem = _describe(error)
            delay = next(delays, None)
            if delay is None:
                raise StartupFailed(
                    f"cannot reach Discord ({problem}) after {retry.attempts} attempt"
                    f"{'s' if retry.attempts != 1 else ''}: check the network, then start "
                    "again",
                    EXIT_UNREACHABLE,
                ) from None
            log.warning(
                "cannot reach Discord (%s): trying again in %g s (attempt %d of %d)",
                problem,
                delay,
                attempt,
                retry.attempts,
            )
            await sleep(delay)


async def start_bot(
    bot: discord.Client,
    token: str,
    *,
    api: str | None = None,
    retry: Retry | None = None,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Wait for Discord (``wait_for_discord``), log in and stay connected until the bot is
    closed. Every start-up fault is raised as ``StartupFailed`` (one line, an exit code)."""
    await wait_for_discord(api, retry, sleep=sleep)
    try:
        await bot.login(token)
    except discord.LoginFailure:
        raise StartupFailed(TOKEN_REFUSED, EXIT_REFUSED) from None
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as error:
        raise StartupFailed(
            f"could not log in to Discord ({_describe(error)}): start again later",
            EXIT_UNREACHABLE,
        ) from None
    one_line = _OneLineReconnects()
    logging.getLogger("discord.client").addFilter(one_line)
    try:
        await _connect(bot, retry or Retry(), sleep)
    finally:
        logging.getLogger("discord.client").removeFilter(one_line)


async def _connect(bot: discord.Client, retry: Retry, sleep: Sleep) -> None:
    delays = retry.delays()
    for attempt in range(1, retry.attempts + 1):
        try:
            await bot.connect(reconnect=True)
            return
        except discord.PrivilegedIntentsRequired:
            raise StartupFailed(INTENT_MISSING, EXIT_REFUSED) from None
        except discord.ConnectionClosed as error:
            if error.code == CLOSED_AUTHENTICATION_FAILED:
                raise StartupFailed(TOKEN_REFUSED, EXIT_REFUSED) from None
            raise StartupFailed(
                f"Discord closed the connection (code {error.code}): "
                f"{error.reason or 'no reason given'}",
                EXIT_UNREACHABLE,
            ) from None
        except AttributeError as error:
            # discord.py 2.7's connect() cannot retry a first connection that failed (it
            # reads ``self.ws.sequence`` while ``ws`` is still None): the network error that
            # caused it is retried here.
            cause = error.__context__
            if bot.is_closed() or not isinstance(cause, _NETWORK_ERRORS):
                raise
            problem = _describe(cause)
        delay = next(delays, None)
        if delay is None:
            raise StartupFailed(
                f"cannot reach Discord's gateway ({problem}) after {retry.attempts} attempt"
                f"{'s' if retry.attempts != 1 else ''}: check the network, then start again",
                EXIT_UNREACHABLE,
            ) from None
        log.warning(
            "cannot reach Discord's gateway (%s): trying again in %g s (attempt %d of %d)",
            problem,
            delay,
            attempt,
            retry.attempts,
        )
        await sleep(delay)


class _OneLineReconnects(logging.Filter):
    """discord.py logs each reconnection with the traceback of what broke the connection
    ("Attempting a reconnect in …"): this makes it one line naming the fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            fault = _describe(record.exc_info[1])
            record.msg = f"Discord connection lost ({fault}): {record.getMessage()}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def run_bot(
    bot: discord.Client,
    token: str,
    *,
    api: str | None = None,
    retry: Retry | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the bot until it is closed or interrupted: the exit code (0 when it was stopped).
    A start-up fault is one line on ``stderr`` ("trainerbot: …") and its exit code."""

    async def runner() -> None:
        async with bot:
            await start_bot(bot, token, api=api, retry=retry)

    try:
        asyncio.run(runner())
    except StartupFailed as error:
        print(f"trainerbot: {error}", file=stderr or sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 0
    return 0


def _describe(error: BaseException) -> str:
    """One line naming a network fault, without a traceback."""
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve {error.host}"
    if isinstance(error, aiohttp.ClientConnectorError):
        reason = error.os_error.strerror or type(error.os_error).__name__
        return f"cannot connect to {error.host}:{error.port}: {reason}"
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(error, discord.HTTPException):
        return f"HTTP {error.status}"
    text = " ".join(str(error).split())
    return text or type(error).__name__
