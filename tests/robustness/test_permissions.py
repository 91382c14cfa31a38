"""Permissions: members without the trainer role are refused every trainer command, in text form
(``!cmd`` through dpytest) and in slash form (an application-command interaction dispatched through
the bot's command tree), and a refused command changes nothing: no job, no file, no dataset, no
correction, no model switch. Trainers and administrators are not refused; the console's owner is a
trainer; and the use cases refuse a non-trainer actor by themselves, whatever adapter drives them.

The table comes from the command catalogue (``trainerbot.core.commands.COMMANDS``): a command
added to the catalogue without a row here fails ``test_the_table_covers_every_command``.

How the slash form is driven: dpytest cannot send interactions, so each test builds a real
``discord.Interaction`` from a gateway-shaped INTERACTION_CREATE payload (the member comes with
their role ids, as Discord sends them) and hands it to the bot's command tree, as discord.py does
on INTERACTION_CREATE (``slash_support``). Option parsing, the checks and the error handler all
run as in production.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from dependency_injector import providers
from discord.ext import commands

from trainerbot.adapters.console import Console
from trainerbot.adapters.discord.bot import TrainerBot, build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.memory import (
    InMemoryAudioConverter,
    InMemoryChatModel,
    InMemoryModelTrainer,
    InMemorySpeechToText,
    InMemoryTextToSpeech,
    InMemoryVoiceOutput,
)
from trainerbot.config import Settings
from trainerbot.container import Container, close_container, create_container
from trainerbot.core.commands import COMMANDS, parse_command
from trainerbot.core.entities import Actor
from trainerbot.core.errors import PermissionDenied
from trainerbot.core.tenancy import Tenant

# The Discord tests' helpers live beside their conftest, which is not on the path from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "discord"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import slash_support
from discord_support import on_dpytest
from slash_support import RecordingInteraction, tenant_state

TRAINER_ROLE = "trainer"
REFUSAL = str(PermissionDenied())
ANSWER = "Paris is the capital of France."

TRAINER_COMMANDS = sorted(name for name, spec in COMMANDS.items() if spec.trainer_only)
PUBLIC_COMMANDS = sorted(name for name, spec in COMMANDS.items() if not spec.trainer_only)
# Making a command public is a security decision: it is pinned here, so that a trainer command
# whose ``trainer_only`` flag is lost fails this file instead of quietly opening up.
EVERYONE_MAY = {
    "hi",
    "help",
    "instruction",
    "join",
    "leave",
    "correct",
    "feedback",
    "whoami",
}

TEST_DATA = json.dumps(
    {
        "What is the capital of France?": "Paris is the capital of France.",
        "What is the capital of Spain?": "Madrid is the capital of Spain.",
    }
)

# Arguments that would do something real for a trainer: <job>, <model> and <answer> are a
# running job, a trained model and an answer of the bot made before each test.
ARGS: Mapping[str, str] = {
    "hi": "",
    "help": "train",
    "instruction": "",
    "join": "",
    "leave": "",
    "correct": "<answer> Paris, on the Seine",
    "feedback": "the answers are too long",
    "train": "data_dir=reviews corrections=false name=again",
    "test": TEST_DATA,
    "fix": "1 Paris",
    "archive": "docs",
    "select_dataset": "reviews",
    "export": "",
    "getfile": "docs/readme.txt",
    "transcribe": "voice/question.ogg",
    "jobs": "<job>",
    "cancel": "<job>",
    "models": "",
    "whoami": "",
    "use": "<model>",
    "persona": "You are a pirate; answer as one.",
    "settings": "trainer_role=teachers",
}
# Commands of the positive side in slash form (each as the trainer and as an administrator).
SLASH_ALLOWED = ("models", "jobs", "getfile", "archive", "cancel", "use")


# --- the simulated server -----------------------------------------------------------------


@dataclass
class World:
    """The bot on dpytest over a real workspace on disk, with a trained model, a running job,
    an answer and a correction already there."""

    bot: TrainerBot
    container: Container
    trainer_engine: InMemoryModelTrainer
    workspace: Path
    guild: discord.Guild
    channel: discord.TextChannel
    trainer: discord.Member
    member: discord.Member
    admin: discord.Member
    job_id: str
    model_id: str
    answer_id: str

    def args(self, name: str) -> str:
        return (
            ARGS[name]
            .replace("<job>", self.job_id)
            .replace("<model>", self.model_id)
            .replace("<answer>", self.answer_id)
        )


def make_workspace(root: Path) -> Path:
    for label, texts in {
        "good": ("great film", "loved it"),
        "bad": ("awful film", "hated it"),
    }.items():
        folder = root / "reviews" / label
        folder.mkdir(parents=True)
        for index, text in enumerate(texts):
            (folder / f"{index}.txt").write_text(text)
    (root / "docs").mkdir()
    (root / "docs" / "readme.txt").write_text("hello from the workspace")
    (root / "voice").mkdir()
    (root / "voice" / "question.ogg").write_bytes(b"\x00\x01" * 16_000)
    return root


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.chdir(tmp_path)  # dpytest writes the files the bot sends into the cwd
    engine = InMemoryModelTrainer("local", immediate=True)
    root = create_container(Settings(workspace=tmp_path / "ws"))
    root.chat_model.override(InMemoryChatModel(lambda messages, model: ANSWER))
    root.trainers.override(providers.Object({"local": engine}))
    root.speech_to_text.override(InMemorySpeechToText("what is the capital of france"))
    root.audio_converter.override(InMemoryAudioConverter())
    root.text_to_speech.override(InMemoryTextToSpeech())
    root.voice_output.override(InMemoryVoiceOutput())

    tenants = root.tenants()
    bot = build_bot(tenants.scope, BotOptions(prefix="!"), tenants=tenants.known)
    config = await on_dpytest(bot, ["tess", "max", "ada"])
    guild = config.guilds[0]
    # The server's own tenant: its workspace, with what a trainer did there before — a trained
    # model, a job still running, an answer, a correction.
    scope = tenants.scope(Tenant.server(guild.id))
    container = tenants.container(scope.tenant)
    workspace = make_workspace(container.workspace().root)
    owner = Console(scope.use_cases)
    assert "succeeded" in await owner.handle("!train data_dir=reviews name=first")
    engine.immediate = False
    assert "queued" in await owner.handle("!train data_dir=reviews name=second")
    answer = await owner.handle("What is the capital of France?")
    answer_id = re.search(r"!correct (\S+) ", answer)
    assert answer_id is not None, answer
    assert "recorded" in await owner.handle(f"!correct {answer_id.group(1)} Paris.")
    jobs = await container.jobs().all()
    running = next(job for job in jobs if not job.status.is_final)
    model = next(job.model for job in jobs if job.model)
    assert model is not None

    trainer, member, admin = config.members
    await dpytest.add_role(trainer, dpytest.backend.make_role(TRAINER_ROLE, guild))
    administrators = dpytest.backend.make_role(
        "admins", guild, permissions=discord.Permissions(administrator=True).value
    )
    await dpytest.add_role(admin, administrators)
    channel = config.channels[0]
    assert isinstance(channel, discord.TextChannel)
    assert not (await bot.tenancy.actor(scope, member)).can_train
    assert (await bot.tenancy.actor(scope, trainer)).can_train
    assert (await bot.tenancy.actor(scope, admin)).can_train
    assert not any(role.name == TRAINER_ROLE for role in admin.roles)
    yield World(
        bot=bot,
        container=container,
        trainer_engine=engine,
        workspace=workspace,
        guild=guild,
        channel=channel,
        trainer=trainer,
        member=member,
        admin=admin,
        job_id=running.id,
        model_id=model,
        answer_id=answer_id.group(1),
    )
    bot.ws = None  # type: ignore[assignment]  # dpytest's gateway has no socket to close
    await bot.close()
    await dpytest.empty_queue()
    await close_container(root)  # the records' database


async def state(world: World) -> dict[str, Any]:
    """Everything a command could change: every file of the workspace (records, datasets,
    exports, archives, models), what the stores say, and what the trainer was asked to do."""
    return {
        **await tenant_state(world.container, world.workspace),
        "started": len(world.trainer_engine.started),
        "cancelled": list(world.trainer_engine.cancelled),
    }


def drain() -> list[discord.Message]:
    sent: list[discord.Message] = []
    while not dpytest.sent_queue.empty():
        sent.append(dpytest.get_message())
    return sent


async def say(world: World, content: str, by: discord.Member) -> list[str]:
    """``content`` sent in the channel by ``by``; the text of the bot's messages in reply."""
    with contextlib.suppress(commands.CommandError):  # dpytest re-raises a handled error
        await dpytest.message(content, channel=world.channel, member=by)
    return [message.content for message in drain()]


# --- the slash form -----------------------------------------------------------------------


async def slash(world: World, name: str, raw: str, by: discord.Member) -> RecordingInteraction:
    """``/name`` with the options of ``!name raw``, used by ``by`` in the server's channel."""
    return await slash_support.slash(world.bot, world.channel, name, raw, by)


# --- the table ----------------------------------------------------------------------------


def test_the_table_covers_every_command() -> None:
    assert set(ARGS) == set(COMMANDS), "every command of the catalogue needs a row in ARGS"
    assert set(PUBLIC_COMMANDS) == EVERYONE_MAY, (
        "the commands open to everyone changed: decide whether the new one is trainer-only"
    )
    assert set(TRAINER_COMMANDS) == set(COMMANDS) - EVERYONE_MAY
    assert set(SLASH_ALLOWED) <= set(TRAINER_COMMANDS)
    for name in COMMANDS:
        parse_command(name, ARGS[name].replace("<", "").replace(">", ""))  # each row parses


async def test_every_command_is_a_slash_command_of_the_tree(world: World) -> None:
    assert {command.name for command in world.bot.tree.get_commands()} == set(COMMANDS)


# --- text form ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRAINER_COMMANDS)
async def test_a_member_is_refused_every_trainer_command_as_text_and_nothing_changes(
    world: World, name: str
) -> None:
    before = await state(world)

    replies = await say(world, f"!{name} {world.args(name)}".strip(), world.member)

    assert replies == [REFUSAL]
    assert await state(world) == before


@pytest.mark.parametrize("name", TRAINER_COMMANDS)
async def test_a_member_is_refused_even_with_an_attachment(world: World, name: str) -> None:
    """Refused before anything is downloaded: the attachment's URL is never fetched."""
    before = await state(world)
    with contextlib.suppress(commands.CommandError):
        await dpytest.message(
            f"!{name} {world.args(name)}".strip(),
            channel=world.channel,
            member=world.member,
            attachments=["http://127.0.0.1:9/never-fetched.jsonl"],
        )
    assert [message.content for message in drain()] == [REFUSAL]
    assert await state(world) == before


@pytest.mark.parametrize("name", PUBLIC_COMMANDS)
async def test_a_member_is_not_refused_the_commands_open_to_everyone(
    world: World, name: str
) -> None:
    replies = await say(world, f"!{name} {world.args(name)}".strip(), world.member)

    assert replies, f"!{name} got no answer"
    assert REFUSAL not in replies


@pytest.mark.parametrize("name", TRAINER_COMMANDS)
async def test_a_trainer_is_not_refused_any_trainer_command(world: World, name: str) -> None:
    replies = await say(world, f"!{name} {world.args(name)}".strip(), world.trainer)

    assert replies, f"!{name} got no answer"
    assert REFUSAL not in replies


@pytest.mark.parametrize("name", ["models", "jobs", "getfile", "use", "cancel", "archive"])
async def test_an_administrator_without_the_role_is_not_refused(world: World, name: str) -> None:
    replies = await say(world, f"!{name} {world.args(name)}".strip(), world.admin)

    assert replies, f"!{name} got no answer"
    assert REFUSAL not in replies


async def test_what_a_trainer_command_does_shows_in_the_state(world: World) -> None:
    """The state compared above does see a command's effect (else "nothing changed" proves
    nothing)."""
    for name in ("cancel", "use", "archive", "export", "select_dataset", "train"):
        before = await state(world)
        replies = await say(world, f"!{name} {world.args(name)}".strip(), world.trainer)
        assert await state(world) != before, f"!{name} by a trainer changed nothing: {replies}"


# --- slash form ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRAINER_COMMANDS)
async def test_a_member_is_refused_every_trainer_command_as_slash_and_nothing_changes(
    world: World, name: str
) -> None:
    before = await state(world)

    interaction = await slash(world, name, world.args(name), world.member)

    assert interaction.texts == [REFUSAL]
    assert await state(world) == before
    assert drain() == [], "nothing was posted in the channel either"


@pytest.mark.parametrize("name", SLASH_ALLOWED)
@pytest.mark.parametrize("who", ["trainer", "admin"])
async def test_trainers_and_administrators_are_not_refused_as_slash(
    world: World, name: str, who: str
) -> None:
    interaction = await slash(world, name, world.args(name), getattr(world, who))

    assert interaction.texts, f"/{name} got no answer"
    assert REFUSAL not in interaction.texts


async def test_a_slash_train_by_a_trainer_trains(world: World) -> None:
    """The slash path reaches the use case (so the refusals above are not an artefact of the
    fake interaction)."""
    before = len(await world.container.jobs().all())

    interaction = await slash(world, "train", world.args("train"), world.trainer)

    assert interaction.texts[0].startswith("⏳ Checking the dataset")
    assert len(await world.container.jobs().all()) == before + 1
    assert REFUSAL not in interaction.texts


# --- console and use cases ----------------------------------------------------------------


async def test_the_console_user_is_the_owner_and_a_trainer(world: World) -> None:
    console = Console(world.container.use_cases())
    for name in TRAINER_COMMANDS:
        reply = await console.handle(f"!{name} {world.args(name)}".strip())
        assert REFUSAL not in reply, f"!{name}: {reply}"


@pytest.mark.parametrize("name", TRAINER_COMMANDS)
async def test_the_use_cases_refuse_a_non_trainer_whatever_drives_them(
    world: World, name: str
) -> None:
    """The Discord commands refuse early; the use cases check the actor again. A console given
    a non-trainer actor has no early check, so this reaches the use cases' own."""
    console = Console(world.container.use_cases(), actor=Actor(id="guest", name="guest"))
    before = await state(world)

    reply = await console.handle(f"!{name} {world.args(name)}".strip())

    assert reply == f"error: {REFUSAL}"
    assert await state(world) == before
