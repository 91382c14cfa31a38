"""Every Discord server is its own tenant: no server sees, uses or changes another's data.

The real bot (``create_bot``) runs on dpytest's simulated Discord over a real workspace on disk,
with two servers, A and B, and the same people in both: ada administers A (and holds no trainer
role there) and holds the trainer role in B, where she prepared B's data through the bot — a
trained model in use, a job still running, an answer, a correction, 👍 feedback, a dataset, a
test, an export, a persona and files (``b-docs/readme.txt``…). A has the same kind of data.

From A, from ada's direct messages and from an owner's (``TRAINERBOT_OWNER_IDS``) direct
messages, every trainer command of the catalogue — and ``!correct`` and 👍 — is aimed at B's
data (its answer ids, job ids, model ids, dataset names, file paths, exports) in text and slash
form. Each is refused, or answered exactly as it is for a made-up id of the same kind (so the
answer does not tell whether the id exists elsewhere), and every byte under ``servers/<B>/``,
B's records, its active model, its jobs and its latest test are unchanged. The same commands
aimed at A's own data do work (so the "not found" above is not all the bot can say).

Also: ``!use`` and training on corrections with the real fewshot trainer change only the
server they are given in; ``TRAINERBOT_DISCORD_GUILDS`` makes the bot leave (and ignore) the
servers not listed, for text and slash commands alike; ``!persona``
and ``!settings trainer_role=`` are each server's own and survive a restart.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from dependency_injector import providers
from discord.ext import commands

from trainerbot.adapters.console import Console
from trainerbot.adapters.discord.bot import TrainerBot
from trainerbot.adapters.memory import (
    InMemoryAudioConverter,
    InMemoryChatModel,
    InMemoryModelTrainer,
    InMemorySpeechToText,
    InMemoryTextToSpeech,
    InMemoryVoiceOutput,
)
from trainerbot.config import Settings
from trainerbot.container import Container, Tenants, create_bot, create_container
from trainerbot.container.storage import database_files
from trainerbot.core.commands import COMMANDS
from trainerbot.core.entities import ChatMessage, new_id
from trainerbot.core.errors import PermissionDenied
from trainerbot.core.tenancy import Tenant, TenantScope

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slash_support
from slash_support import refused_errors, tenant_state

from database_support import table_rows, tenant_rows

back = dpytest.backend

REFUSAL = str(PermissionDenied())
ANSWER = "Paris is the capital of France."
QUESTION = "What is the capital of France?"
SPAIN = "What is the capital of Spain?"

# Fixed ids, so that a second bot over the same workspace meets the same servers and people.
GUILD_A = 111_111_111_111_111_111
GUILD_B = 222_222_222_222_222_222
GUILD_C = 333_333_333_333_333_333  # a server that is not on the list (TRAINERBOT_DISCORD_GUILDS)
NOWHERE = 999_999_999_999_999_999  # no server at all: where made-up paths point
USERS = {
    "ada": 400_000_000_000_000_001,  # administrator in A; holds the trainer role in B
    "max": 400_000_000_000_000_002,  # a plain member in both
    "olive": 400_000_000_000_000_003,  # an owner (TRAINERBOT_OWNER_IDS), no role anywhere
    "tea": 400_000_000_000_000_004,  # holds the role "teachers" in both
    "tom": 400_000_000_000_000_005,  # holds the role "trainer" in both
}
ROLES = {
    "A": {"ada": "admins", "tea": "teachers", "tom": "trainer"},
    "B": {"ada": "trainer", "tea": "teachers", "tom": "trainer"},
}
OWNER = "olive"

TEST_DATA = json.dumps(
    {
        QUESTION: ANSWER,
        SPAIN: "Madrid is the capital of Spain.",
    }
)


# --- the two servers ----------------------------------------------------------------------


@dataclass
class Server:
    """One server: its guild and channel on dpytest, and its tenant (scope, container, folder)."""

    name: str
    guild: discord.Guild
    channel: discord.TextChannel
    scope: TenantScope
    container: Container
    root: Path

    def member(self, name: str) -> discord.Member:
        member = self.guild.get_member(USERS[name])
        assert member is not None, name
        return member


@dataclass
class World:
    bot: TrainerBot
    root: Container
    tenants: Tenants
    workspace: Path
    a: Server
    b: Server
    chat: InMemoryChatModel
    engine: InMemoryModelTrainer | None
    users: Mapping[str, discord.User]

    def user(self, name: str) -> discord.User:
        return self.users[name]

    async def dm(self, name: str) -> discord.DMChannel:
        return await self.user(name).create_dm()

    def direct(self, name: str) -> Path:
        """The folder of ``name``'s direct messages' tenant."""
        return self.workspace / "servers" / Tenant.direct(USERS[name]).key


def chat_reply(messages: Any, model: str) -> str:
    return ANSWER


def join(
    bot: TrainerBot, users: Mapping[str, discord.User], name: str, guild_id: int
) -> tuple[discord.Guild, discord.TextChannel]:
    """Server ``name`` on dpytest, with the bot, everyone in USERS, and their ROLES there."""
    guild = back.make_guild(f"Server {name}", id_num=guild_id)
    channel = back.make_text_channel("general", guild)
    me = bot.user
    assert me is not None
    back.make_member(me, guild)
    roles = {
        "trainer": back.make_role("trainer", guild),
        "teachers": back.make_role("teachers", guild),
        "admins": back.make_role(
            "admins", guild, permissions=discord.Permissions(administrator=True).value
        ),
    }
    for person, user in users.items():
        role = ROLES.get(name, {}).get(person)
        back.make_member(user, guild, roles=[roles[role]] if role else [])
    return guild, channel


def open_server(
    bot: TrainerBot,
    tenants: Tenants,
    users: Mapping[str, discord.User],
    name: str,
    guild_id: int,
) -> Server:
    guild, channel = join(bot, users, name, guild_id)
    scope = tenants.scope(Tenant.server(guild_id))
    container = tenants.container(scope.tenant)
    return Server(name, guild, channel, scope, container, container.workspace().root)


async def start(
    settings: Settings,
    chat: InMemoryChatModel,
    engine: InMemoryModelTrainer | None,
    *,
    servers: Iterable[tuple[str, int]] = (("A", GUILD_A), ("B", GUILD_B)),
) -> World:
    """The bot as ``create_bot`` builds it, on dpytest, with the servers and people above.

    With ``engine``, it is the trainer ("local") and ``chat`` answers every model; without, the
    real trainers train and ``chat`` is only the base model under the trained ones."""
    root = create_container(settings)
    if engine is not None:
        root.chat_model.override(chat)
        root.trainers.override(providers.Object({"local": engine}))
    else:
        root.base_chat_model.override(chat)
    root.speech_to_text.override(InMemorySpeechToText("what is the capital of france"))
    root.audio_converter.override(InMemoryAudioConverter())
    root.text_to_speech.override(InMemoryTextToSpeech())
    root.voice_output.override(InMemoryVoiceOutput())
    bot = create_bot(root)
    tenants: Tenants = root.tenants()
    # dpytest keeps its members in discord.py's member cache, which needs the members intent.
    bot._connection._intents.members = True
    bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot.intents)
    dpytest.configure(bot, guilds=0, text_channels=0, voice_channels=0, members=0)
    await bot._async_setup_hook()
    await bot.setup_hook()
    # (discord.py keeps users weakly: the world holds them.)
    users = {
        name: back.make_user(name, f"{number:04}", id_num=user_id)
        for number, (name, user_id) in enumerate(USERS.items(), start=1)
    }
    opened = {name: open_server(bot, tenants, users, name, guild_id) for name, guild_id in servers}
    return World(
        bot=bot,
        root=root,
        tenants=tenants,
        workspace=settings.workspace,
        a=opened.get("A"),  # type: ignore[arg-type]
        b=opened.get("B"),  # type: ignore[arg-type]
        chat=chat,
        engine=engine,
        users=users,
    )


async def stop(world: World) -> None:
    world.bot.ws = None  # type: ignore[assignment]  # dpytest's gateway has no socket to close
    await world.bot.close()
    await dpytest.empty_queue()
    refused_errors()


def settings_for(tmp_path: Path, **more: Any) -> Settings:
    return Settings(
        workspace=tmp_path / "ws",
        owner_ids=frozenset({USERS[OWNER]}),
        embeddings="none",
        rate_limit_burst=10_000,
        rate_limit_per_minute=10_000,
        **more,
    )


# --- talking to the bot -------------------------------------------------------------------


def drain() -> list[discord.Message]:
    sent: list[discord.Message] = []
    while not dpytest.sent_queue.empty():
        sent.append(dpytest.get_message())
    return sent


def attached(name: str, data: bytes) -> str:
    return f"[{name}] {data.decode('utf-8', errors='replace')}"


def sent_files(message: discord.Message) -> list[str]:
    """What ``attached`` says of each file of ``message``: dpytest writes each file the bot sends
    into the working directory, and gives its path as the attachment's (file:) url."""
    return [
        attached(a.filename, Path(a.url.removeprefix("file:")).read_bytes())
        for a in message.attachments
    ]


async def say(channel: discord.abc.Messageable, content: str, by: discord.abc.User) -> list[str]:
    """What the bot sent in reply to ``content``, sent in ``channel`` by ``by``: each message's
    text, then each attached file's name and content."""
    with contextlib.suppress(commands.CommandError):  # dpytest re-raises a handled error
        await dpytest.message(content, channel=channel, member=by)  # type: ignore[arg-type]
    refused_errors()
    replies = []
    for message in drain():
        replies.append(message.content)
        replies += sent_files(message)
    return replies


async def slash(
    channel: discord.TextChannel | discord.DMChannel, content: str, by: discord.abc.User
) -> list[str]:
    """``content`` (``!name args``) used as the slash command ``/name``: what the bot answered,
    as ``say`` gives it."""
    name, _, raw = content.removeprefix("!").partition(" ")
    bot = dpytest.get_config().client
    assert isinstance(bot, commands.Bot)
    interaction = await slash_support.slash(bot, channel, name, raw, by)
    refused_errors()
    assert drain() == [], "a slash command is answered through its interaction only"
    replies = []
    for sent in interaction.sent:
        replies.append(sent.content or "")
        replies += [attached(n, d) for n, d in zip(sent.files, sent.contents, strict=True)]
    return replies


FORMS = {"text": say, "slash": slash}


async def ask(
    channel: discord.abc.Messageable, question: str, by: discord.abc.User
) -> tuple[discord.Message, discord.Message]:
    """``question`` said in ``channel`` by ``by``: the message, and the bot's answer to it."""
    message = await dpytest.message(question, channel=channel, member=by)  # type: ignore[arg-type]
    [answer] = drain()
    return message, answer


async def react(
    bot: TrainerBot,
    channel: discord.TextChannel | discord.DMChannel,
    by: discord.abc.User,
    message_id: int | str,
    emoji: str = "👍",
) -> None:
    """``by`` adds ``emoji`` to the bot's message ``message_id`` in ``channel``, as the gateway
    tells the bot (MESSAGE_REACTION_ADD)."""
    me = bot.user
    assert me is not None
    data: dict[str, Any] = {
        "message_id": str(message_id),
        "channel_id": str(channel.id),
        "user_id": str(by.id),
        "emoji": {"id": None, "name": emoji},
        "type": 0,
        "burst": False,
        "message_author_id": str(me.id),
    }
    if isinstance(channel, discord.TextChannel):
        assert isinstance(by, discord.Member)
        data["guild_id"] = str(channel.guild.id)
        data["member"] = slash_support.member_payload(by)
    back.get_state().parse_message_reaction_add(data)  # type: ignore[arg-type]
    await dpytest.run_all_events()


# --- what a tenant has --------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """A tenant's data as a trainer names it in commands."""

    key: str  # the tenant's key: its folder's name
    root: str  # its folder, absolute
    job: str  # a training job still running
    model: str  # a trained model: the one in use
    dataset: str  # a saved dataset
    folder: str  # a dataset folder
    file: str  # a file
    audio: str  # an audio file
    export: str  # a file that !export wrote
    answer: str  # the message id of one of the bot's answers
    question: str  # the message id of the question it answered
    interaction: str  # the logged interaction of that answer
    failure: str  # the number of a failure in the latest !test of the trainer (ada)

    def fill(self, template: str) -> str:
        for item in fields(self):
            template = template.replace(f"<{item.name}>", getattr(self, item.name))
        return template

    def used(self, template: str) -> list[str]:
        """The values ``template`` names."""
        return [getattr(self, f.name) for f in fields(self) if f"<{f.name}>" in template]

    def markers(self) -> list[str]:
        """What only this tenant's data contains: none of it may show anywhere else."""
        return [
            self.job,
            self.model,
            self.dataset,
            self.answer,
            self.question,
            self.interaction,
            self.export,
            secret(self.key),
        ]


def secret(key: str) -> str:
    """A word written into a tenant's files, persona and corrections."""
    return f"secret-of-{key}"


def made_up(workspace: Path, like: Data) -> Data:
    """Ids, names and paths of the same kinds as ``like``'s that exist nowhere."""
    key = str(NOWHERE)
    snowflake = 1_234_567_890_123_456_789  # a message id of 2019: none of this test's
    return Data(
        key=key,
        root=str(workspace / "servers" / key),
        job=new_id("job"),
        model=like.model.split(":")[0] + ":" + new_id("job"),
        dataset="z-first",
        folder="z-reviews",
        file="z-docs/readme.txt",
        audio="z-voice/question.ogg",
        export="exports/corrections-20000101-000000-abcdef.jsonl",
        answer=str(snowflake),
        question=str(snowflake + 1),
        interaction=new_id(like.interaction.split("-")[0]),
        failure="2",
    )


def masked(replies: list[str], values: Iterable[str]) -> list[str]:
    """``replies`` with each of ``values`` (as a whole word) replaced by ``<…>``."""
    ordered = sorted({v for v in values if v}, key=len, reverse=True)
    if not ordered:
        return replies
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")
    return [pattern.sub("<…>", reply) for reply in replies]


def write_files(root: Path, tag: str, key: str) -> None:
    for label, texts in {"good": ("great film", "loved it"), "bad": ("awful", "hated it")}.items():
        folder = root / f"{tag}-reviews" / label
        folder.mkdir(parents=True)
        for index, text in enumerate(texts):
            (folder / f"{index}.txt").write_text(f"{text} ({secret(key)})")
    (root / f"{tag}-docs").mkdir()
    (root / f"{tag}-docs" / "readme.txt").write_text(f"the readme of {secret(key)}")
    (root / "docs").mkdir()  # the same path in every server: each its own file
    (root / "docs" / "readme.txt").write_text(f"the shared name, {secret(key)}")
    (root / f"{tag}-voice").mkdir()
    (root / f"{tag}-voice" / "question.ogg").write_bytes(b"\x00\x01" * 16_000)


async def prepare(world: World, server: Server, *, test: bool) -> Data:
    """What ada (a trainer there) does in ``server`` through the bot: files, a persona, a trained
    model put in use, an answer corrected and rated 👍, a test (if ``test``), an export, and a
    training job left running."""
    assert world.engine is not None
    tag, key = server.name.lower(), server.scope.tenant.key
    ada, max_ = server.member("ada"), server.member("max")
    channel = server.channel
    write_files(server.root, tag, key)
    assert (
        "Changed the persona"
        in (await say(channel, f"!persona You are the bot of {secret(key)}.", ada))[0]
    )
    replies = await say(channel, f"!train data_dir={tag}-reviews name={tag}-first", ada)
    assert any("succeeded" in reply for reply in replies), replies
    [job] = await server.container.jobs().all()
    assert job.model is not None
    assert (await say(channel, f"!use {job.model}", ada))[0].startswith("Now answering with")
    question, answer = await ask(channel, QUESTION, max_)
    assert answer.content == ANSWER
    interaction = await server.container.interactions().find_by_message(str(answer.id))
    assert interaction is not None
    fixed = f"{secret(key)}: Paris, on the Seine."
    assert "recorded" in (await say(channel, f"!correct {answer.id} {fixed}", max_))[0]
    await react(world.bot, channel, max_, answer.id)
    assert len(await server.container.feedback().all()) == 1
    if test:
        replies = await say(channel, f"!test {TEST_DATA}", ada)
        assert any("1 failure" in reply for reply in replies), replies
    assert "exports/" in (await say(channel, "!export", ada))[0]
    [export] = (server.root / "exports").glob("corrections-[0-9]*.jsonl")
    # A job still running, started at the console (not followed: it stays as it is).
    world.engine.immediate = False
    running = await Console(server.scope.use_cases).handle(
        f"!train data_dir={tag}-reviews name={tag}-second"
    )
    world.engine.immediate = True
    assert "queued" in running, running
    return Data(
        key=key,
        root=str(server.root),
        job=next(j.id for j in await server.container.jobs().all() if not j.status.is_final),
        model=job.model,
        dataset=f"{tag}-first",
        folder=f"{tag}-reviews",
        file=f"{tag}-docs/readme.txt",
        audio=f"{tag}-voice/question.ogg",
        export=f"exports/{export.name}",
        answer=str(answer.id),
        question=str(question.id),
        interaction=interaction.id,
        failure="1",
    )


# Who follows a job (and until when) is no record of a tenant's: a lease is renewed as time goes.
NOT_RECORDS = ("job_leases",)


async def snapshot(world: World, server: Server) -> dict[str, Any]:
    """Everything of ``server``'s that anything could change: every byte and folder under its
    tenant's folder, its rows in the workspace's records database and what its stores say, its
    trainer's latest test, the jobs followed and cancelled."""
    c = server.container
    state = await tenant_state(c, server.root)
    rows = tenant_rows(world.workspace, without=NOT_RECORDS)
    state["rows"] = rows.get(server.root.name, b"")
    jobs = state["jobs"]
    latest = c.recent_tests().latest(str(USERS["ada"]))
    engine = world.engine
    return {
        **state,
        "latest test": None if latest is None else (id(latest.report), dict(latest.fixed)),
        "followed": sorted(world.bot.jobs.following & {job.id for job in jobs}),
        "cancelled": []
        if engine is None
        else [j for j in engine.cancelled if j in {x.id for x in jobs}],
    }


def leaks(world: World, data: Data) -> list[str]:
    """The files outside ``data``'s tenant's folder, and the rows of the records database that
    are another tenant's, that hold anything only it has. (The database's own files hold every
    tenant's rows: they are read as rows, by tenant.)"""
    own = Path(data.root)
    markers = [m.encode() for m in data.markers()]
    database = {world.workspace / name for name in database_files(world.root.settings())}
    found = []
    for path in sorted(world.workspace.rglob("*")):
        if path.is_file() and own not in path.parents and path not in database:
            content = path.read_bytes()
            found += [f"{path}: {m.decode()}" for m in markers if m in content]
    for tenant, rows in tenant_rows(world.workspace).items():
        if tenant != data.key:
            found += [f"the rows of {tenant}: {m.decode()}" for m in markers if m in rows]
    return found


# --- the table ----------------------------------------------------------------------------

TRAINER_COMMANDS = sorted(name for name, spec in COMMANDS.items() if spec.trainer_only)

# Each command's arguments naming a tenant's data (<job>, <model>… are filled from ``Data``).
# The paths that leave the workspace ("../<key>/…", "<root>/…") are refused in every tenant.
AIMED: Mapping[str, tuple[str, ...]] = {
    "train": (
        "data_dir=<folder> name=stolen",
        "data_dir=../<key>/<folder> name=stolen",
        "data_dir=<root>/<folder>",
    ),
    "test": (
        "dataset=<dataset>",
        "dataset=../../<key>/datasets/<dataset>",
        f"model=<model> {TEST_DATA}",
        f"baseline=<model> {TEST_DATA}",
    ),
    "fix": ("<failure> Paris",),
    "archive": ("<folder>", "../<key>/<folder>", "<root>/<folder>"),
    "select_dataset": ("<folder>", "../<key>/<folder>", "<root>/<folder>"),
    "export": ("<dataset>", "../../<key>/datasets/<dataset>"),
    "getfile": ("<file>", "<export>", "../<key>/<file>", "<root>/<file>"),
    "transcribe": ("<audio>", "../<key>/<audio>", "<root>/<audio>"),
    "jobs": ("<job>",),
    "cancel": ("<job>",),
    "use": ("<model>",),
    # Open to everyone, and names an answer.
    "correct": (
        "<answer> Paris, on the Seine",
        "<question> Paris, on the Seine",
        "<interaction> Paris, on the Seine",
    ),
}
# Arguments that name nothing of a tenant's: the command acts on the tenant it is given in.
OWN: Mapping[str, tuple[str, ...]] = {
    "models": ("",),
    "jobs": ("",),
    "export": ("",),
    "train": ("corrections=true name=ours",),
    "persona": ("", "You are this place's own bot."),
    "settings": ("",),
}
# The trainer commands that name no tenant's data at all (pinned: a new command that names an
# id, a name or a path needs rows in AIMED).
NAMES_NOTHING = {"models", "persona", "settings"}


def rows(table: Mapping[str, tuple[str, ...]], *, trainer_only: bool = False) -> list[str]:
    return [
        f"!{name} {args}".strip()
        for name, arguments in table.items()
        if name in COMMANDS and (not trainer_only or COMMANDS[name].trainer_only)
        for args in arguments
    ]


def escapes(row: str) -> bool:
    """Whether the row's path leaves the workspace (refused wherever it is given)."""
    return "../" in row or "<root>" in row


def test_every_trainer_command_has_rows() -> None:
    aimed_or_own = {name for name in (*AIMED, *OWN) if name in COMMANDS}
    missing = set(TRAINER_COMMANDS) - aimed_or_own
    assert not missing, f"trainer commands without a row in AIMED or OWN: {sorted(missing)}"
    assert set(TRAINER_COMMANDS) - set(AIMED) == NAMES_NOTHING, (
        "a trainer command that names a tenant's id, name or path needs rows in AIMED"
    )
    assert {name for name in AIMED if not COMMANDS[name].trainer_only} == {"correct"}


# --- from A and from direct messages, B's data is out of reach ------------------------------


@dataclass
class Two:
    """Servers A and B, each with its data (``a``, ``b``), and made-up data like it (``fake``)."""

    world: World
    a: Data
    b: Data
    fake: Data


@pytest.fixture
async def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Two]:
    monkeypatch.chdir(tmp_path)  # dpytest writes the files the bot sends into the cwd
    engine = InMemoryModelTrainer("local", immediate=True)
    world = await start(settings_for(tmp_path), InMemoryChatModel(chat_reply), engine)
    b = await prepare(world, world.b, test=True)
    a = await prepare(world, world.a, test=False)  # ada's latest test is B's only
    yield Two(world, a, b, made_up(world.workspace, b))
    await stop(world)


# Where the commands come from: (channel, author, whether they may train there).
PLACES = ("A, its administrator", "A, an owner", "DM, an owner", "DM, a member")


async def place(two: Two, where: str) -> tuple[Any, discord.abc.User, bool]:
    world = two.world
    if where == "A, its administrator":
        return world.a.channel, world.a.member("ada"), True
    if where == "A, an owner":
        return world.a.channel, world.a.member(OWNER), True
    if where == "DM, an owner":
        return await world.dm(OWNER), world.user(OWNER), True
    assert where == "DM, a member"
    return await world.dm("ada"), world.user("ada"), False


def non_trivial(state: Mapping[str, Any]) -> None:
    """B's state has something of every kind to protect (else "unchanged" proves nothing)."""
    assert len(state["files"]) >= 12, sorted(state["files"])
    # Its records: rows of every kind in the workspace's database.
    for table in ("interactions", "corrections", "feedback", "jobs", "models", "active_models"):
        assert f"{table}: ".encode() in state["rows"], table
    assert b"tenant_settings: " in state["rows"]
    assert any(name.startswith("exports/") for name in state["files"])
    assert len(state["jobs"]) == 2
    assert [job.status.is_final for job in state["jobs"]].count(False) == 1
    assert len(state["corrections"]) == len(state["feedback"]) == 1
    assert len(state["models"]) == 1
    assert state["active"] == state["models"][0].id
    assert state["settings"].persona is not None
    assert state["latest test"] is not None


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("where", PLACES)
async def test_no_command_from_elsewhere_reaches_b(two: Two, where: str, form: str) -> None:
    """Every trainer command (and ``!correct``) aimed at B's data from A or from direct
    messages: refused, or answered exactly as for a made-up id of the same kind; B unchanged."""
    world = two.world
    channel, by, may_train = await place(two, where)
    run = FORMS[form]
    before = await snapshot(world, world.b)
    non_trivial(before)
    problems: list[str] = []

    for row in rows(AIMED):
        name = row[1:].split(" ", 1)[0]
        got = await run(channel, two.b.fill(row), by)
        if COMMANDS[name].trainer_only and not may_train:
            if got != [REFUSAL]:
                problems.append(f"{row}: not refused: {got}")
        else:
            made_up_reply = await run(channel, two.fake.fill(row), by)
            if masked(got, two.b.used(row)) != masked(made_up_reply, two.fake.used(row)):
                problems.append(f"{row}: {got} — for a made-up one: {made_up_reply}")
        if await snapshot(world, world.b) != before:
            problems.append(f"{row}: changed B")
            before = await snapshot(world, world.b)

    for row in rows(OWN, trainer_only=True):
        got = await run(channel, row, by)
        if not may_train and got != [REFUSAL]:
            problems.append(f"{row}: not refused: {got}")
        shown = [marker for marker in two.b.markers() if any(marker in reply for reply in got)]
        if shown:
            problems.append(f"{row}: shows B's {shown}: {got}")
        if await snapshot(world, world.b) != before:
            problems.append(f"{row}: changed B")
            before = await snapshot(world, world.b)

    assert problems == []
    assert leaks(world, two.b) == []


@pytest.mark.parametrize("form", sorted(FORMS))
async def test_the_same_commands_reach_a_servers_own_data(two: Two, form: str) -> None:
    """The rows above, aimed at A's own data from A, do what they say: the "not found" answers
    above are about B's data, not all the bot can say. B is unchanged all the same."""
    world, run = two.world, FORMS[form]
    a, ada = world.a, world.a.member("ada")
    before = await snapshot(world, world.b)
    assert any("1 failure" in r for r in await run(a.channel, f"!test {TEST_DATA}", ada))
    problems = []
    for row in rows(AIMED):
        if escapes(row):
            continue
        got = await run(a.channel, two.a.fill(row), ada)
        made_up_reply = await run(a.channel, two.fake.fill(row), ada)
        if REFUSAL in got or masked(got, two.a.used(row)) == masked(
            made_up_reply, two.fake.used(row)
        ):
            problems.append(f"{row}: {got}")
    assert problems == []
    assert await snapshot(world, world.b) == before


async def test_a_file_of_the_same_name_is_each_servers_own(two: Two) -> None:
    world = two.world
    for server, data in ((world.a, two.a), (world.b, two.b)):
        replies = await say(server.channel, "!getfile docs/readme.txt", server.member("ada"))
        assert replies[-1] == f"[readme.txt] the shared name, {secret(data.key)}"


async def test_reactions_on_bs_answer_from_elsewhere_change_nothing(two: Two) -> None:
    """👍/👎 on B's answer's (or question's) id, from A or from direct messages: nothing is
    recorded, in B or anywhere. The same reaction on A's answer in A is recorded (in A)."""
    world = two.world
    a, b = world.a, world.b
    before = await snapshot(world, b)
    a_feedback = len(await a.container.feedback().all())

    await react(world.bot, a.channel, a.member("tom"), two.a.answer)
    assert len(await a.container.feedback().all()) == a_feedback + 1

    dms = [(await world.dm(name), world.user(name)) for name in ("ada", OWNER)]
    places = [(a.channel, a.member(name)) for name in ("ada", "max", OWNER)] + dms
    for channel, by in places:
        for message_id in (two.b.answer, two.b.question):
            for emoji in ("👍", "👎"):
                await react(world.bot, channel, by, message_id, emoji)

    assert await snapshot(world, b) == before
    assert len(await a.container.feedback().all()) == a_feedback + 1
    for name in ("ada", OWNER):
        assert table_rows(world.workspace, "feedback", Tenant.direct(USERS[name]).key) == []
    assert leaks(world, two.b) == []


async def test_an_owner_trains_in_their_direct_messages_and_sees_only_them(two: Two) -> None:
    """An owner is a trainer in their direct messages, where the data is theirs alone: a model
    trained there is listed there, lands in their own folder, and is not B's or A's."""
    world = two.world
    dm, olive = await world.dm(OWNER), world.user(OWNER)
    before = await snapshot(world, world.b)

    replies = await say(dm, f"!train ```json\n{TEST_DATA}\n``` name=olive-notes", olive)
    assert any("succeeded" in reply for reply in replies), replies
    scope = world.tenants.scope(Tenant.direct(olive.id))
    [job] = await world.tenants.container(scope.tenant).jobs().all()
    assert job.model is not None
    [listed] = await say(dm, "!models", olive)
    assert job.model in listed
    assert two.a.model not in listed
    assert two.b.model not in listed
    # The job is a row of the owner's direct messages' tenant, its dataset a file of its folder.
    [row] = table_rows(world.workspace, "jobs", Tenant.direct(olive.id).key)
    assert row["id"] == job.id
    assert list((world.direct(OWNER) / "datasets" / "olive-notes").glob("*.jsonl"))
    for server in (world.a, world.b):
        [there] = await say(server.channel, "!models", server.member("ada"))
        assert job.model not in there
    assert await say(dm, f"!use {job.model}", world.user("ada")) == [REFUSAL]
    assert await snapshot(world, world.b) == before


# --- !use and training change only their own server (real fewshot trainer) ----------------


def base_reply(messages: Any, model: str) -> str:
    return f"The base model {model} answers."


async def teach(server: Server, lessons: Mapping[str, str], name: str) -> str:
    """ada trains a fewshot model on ``lessons`` in ``server`` and puts it in use: its id."""
    ada = server.member("ada")
    data = json.dumps(lessons)
    replies = await say(server.channel, f"!train ```json\n{data}\n``` name={name}", ada)
    assert any("succeeded" in reply for reply in replies), replies
    [job] = [job for job in await server.container.jobs().all() if job.dataset_name == name]
    assert job.model is not None
    assert job.model.startswith("fewshot:")
    assert (await say(server.channel, f"!use {job.model}", ada))[0].startswith("Now answering")
    return job.model


async def answer(server: Server, question: str) -> discord.Message:
    return (await ask(server.channel, question, server.member("max")))[1]


async def test_use_and_training_on_corrections_change_only_their_own_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    chat = InMemoryChatModel(base_reply)  # the base model only: the fewshot models are real
    world = await start(settings_for(tmp_path, trainer="fewshot"), chat, None)
    a, b = world.a, world.b
    ada = a.member("ada")
    try:
        # B is taught, and answers its taught question with what it was taught.
        b_model = await teach(b, {QUESTION: "B says: Paris."}, "b-lessons")
        assert (await answer(b, QUESTION)).content == "B says: Paris."
        b_spain = await answer(b, SPAIN)
        base = b_spain.content
        assert base.startswith("The base model ")
        # A correction in B, which B does not train on.
        assert (
            "recorded"
            in (await say(b.channel, f"!correct {b_spain.id} B says: Madrid.", b.member("max")))[0]
        )
        before = await snapshot(world, b)
        assert before["active"] == b_model
        assert any(name.startswith("models/") for name in before["files"]), before["files"]

        # A answers with the base model: B's model is unknown there.
        assert (await answer(a, QUESTION)).content == base
        assert await say(a.channel, f"!use {b_model}", ada) == [
            f"There is no model {b_model!r}; see !models."
        ]
        # A is taught and uses its own model: A's answers change.
        a_model = await teach(a, {QUESTION: "A says: Paris."}, "a-lessons")
        assert a_model != b_model
        assert (await answer(a, QUESTION)).content == "A says: Paris."
        # A correction in A, trained on in A: the model has A's correction only (not B's).
        a_spain = await answer(a, SPAIN)
        assert a_spain.content == base
        await say(a.channel, f"!correct {a_spain.id} A says: Madrid.", a.member("max"))
        replies = await say(a.channel, "!train corrections=true name=a-corrections", ada)
        assert any("succeeded" in reply for reply in replies), replies
        [job] = [j for j in await a.container.jobs().all() if j.dataset_name == "a-corrections"]
        assert job.metrics["examples"] == 1.0
        assert job.model is not None
        assert (await say(a.channel, f"!use {job.model}", ada))[0].startswith("Now answering")
        assert (await answer(a, SPAIN)).content == "A says: Madrid."

        # B: its files, records, models, jobs and active model are as they were…
        assert await snapshot(world, b) == before
        # …and so are its answers, made without anything of A's in the prompt.
        calls = len(chat.calls)
        assert (await answer(b, QUESTION)).content == "B says: Paris."
        assert (await answer(b, SPAIN)).content == base
        asked = " ".join(m.content for call in chat.calls[calls:] for m in call.messages)
        assert "B says: Paris." in asked  # B's own example, shown to the base model
        assert "A says" not in asked
    finally:
        await stop(world)


# --- TRAINERBOT_DISCORD_GUILDS ------------------------------------------------------------


@dataclass
class Unlisted:
    """The bot with TRAINERBOT_DISCORD_GUILDS=A, in A, in B (there before it started) and in C
    (added to it later), after it is ready: ``left`` is what it left, in order."""

    world: World
    left: list[int]
    logged: list[str]
    others: list[tuple[discord.Guild, discord.TextChannel]]  # B and C


@pytest.fixture
async def unlisted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Unlisted]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAINERBOT_DISCORD_GUILDS", str(GUILD_A))
    left: list[int] = []

    async def leave(guild: discord.Guild) -> None:  # dpytest has no route for leaving
        left.append(guild.id)  # (Discord would then remove the bot from the server, later)

    monkeypatch.setattr(discord.Guild, "leave", leave)
    caplog.set_level(logging.INFO)
    settings = settings_for(tmp_path)
    assert settings.discord_guilds == {GUILD_A}
    world = await start(
        settings,
        InMemoryChatModel(chat_reply),
        InMemoryModelTrainer("local", immediate=True),
        servers=[("A", GUILD_A)],
    )
    state = back.get_state()
    state.stop_dispatch()  # B: a server the bot was in before it started
    b = join(world.bot, world.users, "B", GUILD_B)
    state.start_dispatch()
    assert left == []
    world.bot.dispatch("ready")
    await dpytest.run_all_events()
    assert left == [GUILD_B]
    c = join(world.bot, world.users, "C", GUILD_C)  # the bot is added to C
    await dpytest.run_all_events()
    assert left == [GUILD_B, GUILD_C]
    logged = [r.getMessage() for r in caplog.records if "leaving server" in r.getMessage()]
    yield Unlisted(world, left, logged, [b, c])
    await stop(world)


# What people say in a server the bot is leaving: (who, what).
SAID_THERE = (
    ("max", QUESTION),
    ("max", "!help"),
    ("max", "!correct 1234567890 Paris"),
    ("ada", "!models"),
    (OWNER, "!models"),
    ("ada", "!train data_dir=docs"),
)


def nothing_there(unlisted: Unlisted) -> None:
    world = unlisted.world
    for guild_id in (GUILD_B, GUILD_C):
        assert not (world.workspace / "servers" / str(guild_id)).exists()
        assert Tenant.server(guild_id) not in world.tenants.registry.loaded_tenants()


async def test_the_bot_leaves_servers_not_on_its_list_and_ignores_them_meanwhile(
    unlisted: Unlisted,
) -> None:
    """With TRAINERBOT_DISCORD_GUILDS=A, a server B the bot is in when it starts is left when it
    is ready, and a server C it is added to later is left at once; each is logged once, and
    until Discord removes the bot there, nothing said there is answered or recorded."""
    world, left = unlisted.world, unlisted.left
    assert len(unlisted.logged) == 2, unlisted.logged
    assert str(GUILD_B) in unlisted.logged[0]
    assert str(GUILD_C) in unlisted.logged[1]
    assert "TRAINERBOT_DISCORD_GUILDS" in unlisted.logged[0]

    # Ready again (a reconnection), and C's join again: left again, not logged again.
    world.bot.dispatch("ready")
    await dpytest.run_all_events()
    world.bot.dispatch("guild_join", unlisted.others[1][0])
    await dpytest.run_all_events()
    assert left == [GUILD_B, GUILD_C, GUILD_B, GUILD_C, GUILD_C]
    assert len(unlisted.logged) == 2

    for guild, channel in unlisted.others:
        for name, content in SAID_THERE:
            by = guild.get_member(USERS[name])
            assert by is not None
            assert await say(channel, content, by) == [], (guild.name, content)
        by = guild.get_member(USERS["max"])
        assert by is not None
        await react(world.bot, channel, by, 1234567890)
    nothing_there(unlisted)
    assert len(left) == 5, "nothing said there made the bot leave again"
    # A, on the list, is served all along.
    assert await say(world.a.channel, QUESTION, world.a.member("max")) == [ANSWER]
    assert GUILD_A not in left


async def test_slash_commands_in_a_server_not_on_the_list_are_not_answered(
    unlisted: Unlisted,
) -> None:
    problems = []
    for guild, channel in unlisted.others:
        for name, content in SAID_THERE:
            by = guild.get_member(USERS[name])
            assert by is not None
            if content.startswith("!"):
                replies = await slash(channel, content, by)
                if replies:
                    problems.append(f"{guild.name} {content}: {replies}")
    assert problems == []
    nothing_there(unlisted)


# --- each server's own settings -----------------------------------------------------------

PIRATE = "You are a pirate; answer as one."


async def check_settings(world: World) -> None:
    """A: persona PIRATE, trainer role "teachers"; B: the defaults."""
    a, b = world.a, world.b
    [shown] = await say(a.channel, "!settings", a.member("ada"))
    assert "Trainer role: teachers —" in shown
    assert PIRATE in shown
    [shown] = await say(b.channel, "!settings", b.member("ada"))
    assert "Trainer role: trainer (the default)" in shown
    assert "Persona (the default)" in shown
    assert "pirate" not in shown
    for run in FORMS.values():
        # In A the role "teachers" trains and the role "trainer" does not; in B, the reverse.
        assert REFUSAL not in await run(a.channel, "!models", a.member("tea"))
        assert await run(a.channel, "!models", a.member("tom")) == [REFUSAL]
        assert REFUSAL not in await run(b.channel, "!models", b.member("tom"))
        assert await run(b.channel, "!models", b.member("tea")) == [REFUSAL]
        # Administrators still train in A.
        assert REFUSAL not in await run(a.channel, "!models", a.member("ada"))
    # A's answers are asked with A's persona; B's with the configured system prompt.
    for server, persona in ((a, PIRATE), (b, Settings().system_prompt)):
        await answer(server, QUESTION)
        first = world.chat.calls[-1].messages[0]
        assert first == ChatMessage(role="system", content=persona)


async def test_persona_and_trainer_role_are_each_servers_own_and_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = settings_for(tmp_path)
    engine = InMemoryModelTrainer("local", immediate=True)
    world = await start(settings, InMemoryChatModel(chat_reply), engine)
    try:
        b_before = await snapshot(world, world.b)
        ada = world.a.member("ada")
        [changed] = await say(world.a.channel, f"!persona {PIRATE}", ada)
        assert changed.startswith("Changed the persona.")
        [changed] = await say(world.a.channel, "!settings trainer_role=teachers", ada)
        assert changed.startswith("Changed the trainer role.")
        assert await snapshot(world, world.b) == b_before
        await check_settings(world)
    finally:
        await stop(world)

    # A new container and bot over the same workspace: as after a restart.
    world = await start(settings, InMemoryChatModel(chat_reply), engine)
    try:
        await check_settings(world)
    finally:
        await stop(world)
