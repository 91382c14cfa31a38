"""The root container: every concern's container (``configured.py``), inherited into one.

Rules:
- Every provider of every concern is the root's, by its own name (``container.jobs``,
  ``container.chat_model``, ``container.answer_message``), and ``container.<name>.override(...)``
  swaps it wherever it is used. Names are unique across concerns (checked on import).
- Nothing is built when the container is declared or bound: only when a provider is called.
"""

from __future__ import annotations

import logging

from dependency_injector import providers

from trainerbot.adapters.discord.bot import TrainerBot, build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.discord.voice import DiscordVoice
from trainerbot.config import Settings
from trainerbot.core.job_watch import DEFAULT_LEASE_SECONDS

from .learning import Learning
from .models import LanguageModels
from .speech import Speech
from .storage import Storage
from .tenants import Tenants
from .use_cases import Application

log = logging.getLogger(__name__)

# How often a bot whose records are in a database looks for jobs no process follows.
JOB_SCAN_SECONDS = DEFAULT_LEASE_SECONDS / 2

# The concerns trainerbot is made of, each wired from the ones before it.
CONCERNS = (Storage, LanguageModels, Speech, Learning, Application)


class Container(Application, Learning, Speech, LanguageModels, Storage):
    """Everything trainerbot is made of, wired from ``settings``."""

    __self__ = providers.Self()
    # Every tenant's use cases, each over its own stores (Tenants).
    tenants = providers.Singleton(Tenants, __self__)


def _check_unique_names() -> None:
    seen: dict[str, str] = {}
    for concern in CONCERNS:
        for name in concern.cls_providers:
            if name in seen:
                raise TypeError(
                    f"{concern.__name__} and {seen[name]} both declare {name!r}: rename one"
                )
            seen[name] = concern.__name__


_check_unique_names()


def create_container(settings: Settings | None = None) -> Container:
    """The public entry for integrators: a container wired from ``settings`` (or the environment)."""
    return Container(settings=settings if settings is not None else Settings())


def create_bot(container: Container | None = None) -> TrainerBot:
    """The Discord bot, built from ``container`` (by default one from the environment).

    Run it with ``bot.run(token)``, or drive it with dpytest: ``dpytest.configure(bot)``, then
    ``await bot.setup_hook()`` adds its commands. Each server (and each member's direct messages) is
    answered by its own tenant's use cases (``container.tenants()``); with exactly one server in
    ``TRAINERBOT_DISCORD_GUILDS``, a workspace from before tenants becomes that server's first
    (``Tenants.adopt_if_one_server``). Override the container's providers first to put other
    adapters behind it (an override applies to every tenant). It speaks in voice channels when
    the container's ``voice_output`` is a ``DiscordVoice`` (the default when a Discord token is
    configured).
    """
    container = container if container is not None else create_container()
    settings: Settings = container.settings()
    voice = container.voice_output()
    tenants: Tenants = container.tenants()
    adopted = tenants.adopt_if_one_server()
    if adopted is not None:
        log.warning("%s", adopted.summary())
    options = BotOptions(
        prefix=settings.command_prefix,
        guilds=settings.discord_guilds,
        channels=settings.discord_channels,
        answer_dms=settings.answer_dms,
        max_upload_bytes=settings.max_upload_bytes,
        max_audio_bytes=settings.max_audio_bytes,
        language=settings.language,
        # Processes sharing a database take over each other's jobs when one dies.
        job_scan_seconds=JOB_SCAN_SECONDS if _shares_records(settings) else None,
        shard_count=settings.shard_count,
        shard_ids=settings.shard_ids,
    )
    return build_bot(
        tenants.scope,
        options,
        voice=voice if isinstance(voice, DiscordVoice) else None,
        tenants=tenants.with_jobs,
        on_close=lambda: close_container(container),
    )


def _shares_records(settings: Settings) -> bool:
    """Whether other bot processes may follow this one's jobs: the records in PostgreSQL, or
    shards split between processes (on one machine's SQLite file)."""
    return settings.database_kind == "postgresql" or (
        settings.shard_count is not None and settings.records_adapter == "sql"
    )


async def close_container(container: Container) -> None:
    """Release what the container opened that outlives a request: the records' database
    connections (whose driver threads would otherwise keep the process alive)."""
    settings: Settings = container.settings()
    queue = container.training_queue() if settings.database_kind == "postgresql" else None
    if queue is not None:
        await queue.close()
    if settings.records_adapter == "sql":
        await container.database().close()
