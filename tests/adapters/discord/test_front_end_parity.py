"""The console and Discord are two renderings of one command layer: for every command of the
catalogue, on the same input in the same tenant, both say the same text — and with another
command prefix, no reply anywhere names a command with ``!``.

Each line is sent through Discord (dpytest) and then typed at a console over the same tenant's
use cases, as the same person. What only one front end has is set aside, and nothing else:
Discord's status messages (``⏳``/``✅``) and the message carrying attachments (``📎``), the code
block around preformatted text; the console's ``saved:`` lines and the content of a file it
shows. Ids made anew by each run (a job, a correction) are compared by their shape.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from discord_support import TRAINER_ROLE, close, drain, on_dpytest

from trainerbot.adapters.console.console import Console
from trainerbot.adapters.discord.bot import TrainerBot, build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.container import Container
from trainerbot.core.commands import COMMANDS
from trainerbot.core.entities import Actor
from trainerbot.core.errors import UnknownModel
from trainerbot.core.tenancy import Tenant
from trainerbot.core.text import command

# Every command, bare and with arguments: the help, error and success paths. ``{p}`` is the
# prefix.
LINES = (
    "hi",
    "help",
    "help train",
    "help {p}use",
    "help nope",
    "instruction",
    "train",
    "train data_dir=../outside",
    "train data_dir=reviews",
    "train positive=maybe",
    "test",
    'test {{"What is the capital of France?": "Paris is the capital of France."}}',
    "fix",
    "fix 1",
    "correct",
    "correct 123",
    "correct 123 the right answer",
    "feedback",
    "feedback a fine bot",
    "archive",
    "archive ../",
    "archive docs",
    "select_dataset",
    "select_dataset reviews positive=true",
    "export",
    "getfile",
    "getfile docs/readme.txt",
    "getfile ../../etc/passwd",
    "transcribe",
    "transcribe nothing/here.ogg",
    "jobs",
    "jobs nope",
    "cancel",
    "cancel nope",
    "models",
    "use",
    "use nope",
    "persona",
    "persona You answer briefly.",
    "settings",
    "settings trainer_role=trainer",
    "settings trainer_role=reset",
    "whoami",
    "nope",
    "train x=1 y=2",
)
# Voice channels exist only in Discord: the console says so instead.
FRONT_END_ONLY = {"join", "leave"}
# Ids, stamps and numbered names each run makes anew.
_MADE_ANEW = re.compile(r"\b(?:[a-z]{2,6}-)?[0-9a-f]{12}\b|\b\d{8}-\d{6}\b|-\d+(?=\.zip\b)")
_NAMES_A_COMMAND = re.compile(r"!(?:" + "|".join(sorted(COMMANDS, key=len, reverse=True)) + r")\b")


def test_the_lines_cover_every_command() -> None:
    covered = {line.split()[0] for line in LINES}
    assert covered | FRONT_END_ONLY >= set(COMMANDS)


@pytest.fixture(params=["!", "?"])
def prefix(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bot(
    container: Container, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TrainerBot]:
    monkeypatch.chdir(tmp_path)  # dpytest writes the files the bot sends into the folder
    tenants = container.tenants()
    bot = build_bot(tenants.scope, BotOptions(prefix=prefix), tenants=tenants.known)
    config = await on_dpytest(bot, ["tess"])
    role = dpytest.backend.make_role(TRAINER_ROLE, config.guilds[0])
    await dpytest.add_role(config.members[0], role)
    yield bot
    await close(bot)
    await dpytest.empty_queue()


async def in_discord(line: str) -> str:
    config = dpytest.get_config()
    with contextlib.suppress(commands.CommandError):
        await dpytest.message(line, channel=config.channels[0], member=config.members[0])
    shown = []
    while not dpytest.sent_queue.empty():
        text = dpytest.get_message().content
        if text.startswith(("⏳", "✅", "❌", "📎")):
            continue
        shown.append(text.removeprefix("```\n").removesuffix("\n```"))
    return "\n".join(shown)


def at_the_console(reply: str) -> str:
    lines = reply.splitlines()
    if lines and lines[0].startswith("📄 "):
        return lines[0]  # the file's content follows at the console; Discord attaches it
    return "\n".join(line for line in lines if not line.startswith("saved: "))


def same_shape(text: str) -> str:
    return _MADE_ANEW.sub("<id>", text).removeprefix("error: ").strip()


async def test_console_and_discord_say_the_same_for_every_command(
    bot: TrainerBot, container: Container, prefix: str
) -> None:
    config = dpytest.get_config()
    guild, tess = config.guilds[0], config.members[0]
    tenant = Tenant.server(guild.id)
    console = Console(
        container.tenants().scope(tenant).use_cases,
        prefix=prefix,
        actor=Actor(id=str(tess.id), name=tess.display_name, can_train=True),
        tenant=tenant,
    )

    for template in LINES:
        line = prefix + template.format(p=prefix)
        discord_says = await in_discord(line)
        console_says = at_the_console(await console.handle(line))

        assert discord_says, f"{line}: Discord said nothing"
        assert same_shape(console_says) == same_shape(discord_says), line
        if prefix != "!":
            assert not _NAMES_A_COMMAND.findall(discord_says), (line, discord_says)


async def test_a_member_is_refused_alike(
    bot: TrainerBot, container: Container, prefix: str
) -> None:
    config = dpytest.get_config()
    member = await dpytest.member_join(name="max")
    tenant = Tenant.server(config.guilds[0].id)
    console = Console(
        container.tenants().scope(tenant).use_cases,
        prefix=prefix,
        actor=Actor(id=str(member.id), name=member.display_name),
        tenant=tenant,
    )
    for name, spec in COMMANDS.items():
        if not spec.trainer_only:
            continue
        line = f"{prefix}{name}"
        with contextlib.suppress(commands.CommandError):
            await dpytest.message(line, channel=config.channels[0], member=member)
        [refused] = [message.content for message in drain()]  # one reply, nothing else
        assert (await console.handle(line)).removeprefix("error: ") == refused, name
        if prefix != "!":
            assert "!" not in refused


async def test_the_help_of_every_command_uses_the_prefix(bot: TrainerBot, prefix: str) -> None:
    for name in COMMANDS:
        text = await in_discord(f"{prefix}help {name}")
        assert text.splitlines()[0].startswith(f"{prefix}{name}"), text
        if prefix != "!":
            assert not _NAMES_A_COMMAND.findall(text), text


async def test_an_error_met_while_answering_names_commands_with_the_prefix(
    bot: TrainerBot, container: Container, prefix: str
) -> None:
    """The sentence is written where the error is raised (here, in the chat model): the prefix
    must be in effect there, not only where the reply is sent."""

    def unknown_model(messages: object, model: str) -> str:
        raise UnknownModel(f"There is no trained model {model}; see {command('models')}.")

    container.chat_model.override(InMemoryChatModel(unknown_model))
    config = dpytest.get_config()
    await dpytest.message("What is the capital of France?", channel=config.channels[0])

    [reply] = [message.content for message in drain()]
    assert reply.endswith(f"; see {prefix}models.")
