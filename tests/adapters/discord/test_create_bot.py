"""``trainerbot.create_bot``: the bot built from a container, driven as the README shows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest
from discord_support import on_dpytest

import trainerbot
from trainerbot.adapters.discord.bot import TrainerBot
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
