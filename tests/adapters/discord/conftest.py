"""The real bot on dpytest's simulated Discord, over the real container with in-memory adapters.

dpytest 0.7 replaces discord.py's connection state; ``bot._async_setup_hook()`` must run after
``dpytest.configure`` so that state gets the running event loop (discord.py's typing indicator
needs it), and ``setup_hook()`` adds the cogs, as logging in would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest
from dependency_injector import providers
from discord_support import TRAINER_ROLE, Model, Server, close, on_dpytest

from trainerbot.adapters.discord.bot import build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.discord.voice import DiscordVoice
from trainerbot.adapters.memory import (
    InMemoryAudioConverter,
    InMemoryChatModel,
    InMemoryModelTrainer,
    InMemorySpeechToText,
    InMemoryTextToSpeech,
    InMemoryVoiceOutput,
    InMemoryWorkspace,
)
from trainerbot.config import Settings
from trainerbot.container import Container, create_container
from trainerbot.core.tenancy import Tenant


@pytest.fixture
def model() -> Model:
    return Model()


@pytest.fixture
def settings() -> Settings:
    return Settings(storage="memory")


@pytest.fixture
def container(model: Model, settings: Settings) -> Container:
    container = create_container(settings)
    container.chat_model.override(InMemoryChatModel(model.reply))
    container.trainers.override(
        providers.Object({"local": InMemoryModelTrainer("local", immediate=True)})
    )
    container.workspace.override(
        InMemoryWorkspace(
            {
                "docs/readme.txt": b"hello from the workspace",
                "reviews/good/1.txt": b"great film",
                "reviews/bad/1.txt": b"awful film",
            }
        )
    )
    container.speech_to_text.override(InMemorySpeechToText("what is the capital of france"))
    container.audio_converter.override(InMemoryAudioConverter())
    container.text_to_speech.override(InMemoryTextToSpeech())
    container.voice_output.override(InMemoryVoiceOutput())
    return container


@pytest.fixture
async def server(
    container: Container, model: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Server]:
    # dpytest writes every file the bot sends to ./dpytest_<n>.dat: not into the repository.
    monkeypatch.chdir(tmp_path)
    # As create_bot does: the bot speaks when the container's voice output is a DiscordVoice.
    voice = container.voice_output()
    tenants = container.tenants()
    bot = build_bot(
        tenants.scope,
        BotOptions(prefix="!"),
        voice=voice if isinstance(voice, DiscordVoice) else None,
        tenants=tenants.known,
    )
    config = await on_dpytest(bot, ["tess", "max"])
    guild = config.guilds[0]
    # The server's own tenant: what the bot reads and writes for messages sent there.
    here = tenants.container(Tenant.server(guild.id))
    role = dpytest.backend.make_role(TRAINER_ROLE, guild)
    trainer, member = config.members
    await dpytest.add_role(trainer, role)
    channel = config.channels[0]
    assert isinstance(channel, discord.TextChannel)
    yield Server(bot, guild, channel, trainer, member, here, model)
    await close(bot)  # leaves voice, and stops following jobs (the cogs are unloaded)
    await dpytest.empty_queue()
