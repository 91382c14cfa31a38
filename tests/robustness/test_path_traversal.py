"""Path traversal: a table of hostile paths against every command that takes a workspace path.

Each payload is sent, through the real console over the real container on a workspace on disk,
to ``!getfile``, ``!archive``, ``!select_dataset``, ``!train data_dir=``, ``!test data_dir=``
and ``!transcribe``.
Beside the workspace lies an ``outside`` folder (the process's working directory too) whose
files hold a known secret and would make a valid dataset; inside the workspace, symlinks lead out
to it, to its parent and to ``/``, and others loop. Every payload must be refused with one clear
line, the secret must appear in no reply and no file of the workspace (zip members included),
nothing outside the workspace may be created or changed, and the workspace must stay as it was.
A few payloads also go through the Discord bot (dpytest).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest

from trainerbot.adapters.console import Console
from trainerbot.adapters.discord.bot import build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.config import Settings
from trainerbot.container import Container, create_container
from trainerbot.core.commands import parse_command, split_command

# The Discord tests' helpers live beside their conftest, which is not on the path from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "discord"))
from discord_support import Model, Server, close, on_dpytest, send

SECRET = "TOP-SECRET-7f3a9c-never-shown"
OUTSIDE = "{outside}"  # stands for the absolute path of the folder outside the workspace


@dataclass(frozen=True)
class Payload:
    """A hostile path; ``why`` is what the refusal must say (a regex: reasons vary by command)."""

    id: str
    text: str
    why: str

    def render(self, outside: Path) -> str:
        return self.text.replace(OUTSIDE, str(outside))


LEAVES = "leads outside the workspace"
MISSING = "There is no file or folder"
NOT_VALID = "not valid"
FOLDER = "is a folder, not a file|has no files"  # a folder with nothing inside the workspace
LONG = "longer than"

PAYLOADS: list[Payload] = [
    # --- ".." in all spellings ---------------------------------------------------------------
    Payload("dotdot", "..", LEAVES),
    Payload("dotdot-slash", "../outside/secret.txt", LEAVES),
    Payload("dotdot-backslash", "..\\outside\\secret.txt", LEAVES),
    Payload("down-then-up", "a/../../outside/secret.txt", LEAVES),
    Payload("standard-folder-then-up", "datasets/../../outside/chats", LEAVES),
    Payload("four-dots-double-slash", "....//....//outside/secret.txt", LEAVES),
    Payload("dot-slash-dotdot", "./../outside/secret.txt", LEAVES),
    Payload("dotdot-trailing-space", ".. /outside/secret.txt", LEAVES),
    Payload("dotdot-trailing-dots", "..../outside", LEAVES),
    Payload("dotdot-dot-space", ".. ./outside", LEAVES),
    Payload("backslash-rooted-dotdot", "\\..\\outside", LEAVES),
    Payload("many-dotdots", "../" * 200 + "outside/secret.txt", LEAVES),
    # --- URL-encoded (never decoded: literal names that are not there) ----------------------
    Payload("url-encoded", "%2e%2e%2foutside%2fsecret.txt", MISSING),
    Payload("url-encoded-dots", "%2e%2e/outside/secret.txt", MISSING),
    Payload("url-double-encoded", "%252e%252e%252foutside%252fsecret.txt", MISSING),
    Payload("url-encoded-backslash", "..%5coutside%5csecret.txt", MISSING),
    Payload("url-overlong-dot", "%c0%ae%c0%ae/outside/secret.txt", MISSING),
    Payload("url-overlong-slash", "..%c0%afoutside%c0%afsecret.txt", MISSING),
    Payload("file-url", f"file://{OUTSIDE}/secret.txt", MISSING),
    # --- unicode look-alikes and encodings ---------------------------------------------------
    Payload("fullwidth", "．．／outside／secret.txt", MISSING),
    Payload("fullwidth-dots", "\uff0e\uff0e/outside/secret.txt", MISSING),
    Payload("one-dot-leaders", "\u2024\u2024/outside/secret.txt", MISSING),
    Payload("division-slash", "..\u2215outside\u2215secret.txt", MISSING),
    Payload("zero-width-between-dots", ".\u200b./outside/secret.txt", MISSING),
    # Undecodable bytes C0 AE (an overlong "."), as Python's surrogateescape spells them.
    Payload("overlong-utf8-bytes", "\udcc0\udcae\udcc0\udcae/outside/secret.txt", NOT_VALID),
    Payload("lone-surrogate", "..\ud800/outside", NOT_VALID),
    # --- absolute paths ----------------------------------------------------------------------
    Payload("etc-passwd", "/etc/passwd", LEAVES),
    Payload("proc-environ", "/proc/self/environ", LEAVES),
    Payload("absolute-host-file", f"{OUTSIDE}/secret.txt", LEAVES),
    Payload("absolute-host-folder", OUTSIDE, LEAVES),
    Payload("absolute-host-dataset", f"{OUTSIDE}/chats", LEAVES),
    Payload("unc-slashes", "//server/share/secret.txt", LEAVES),
    Payload("tilde-user", "~root/.ssh/id_rsa", LEAVES),
    Payload("tilde-home", "~/secret.txt", LEAVES),
    # --- Windows separators and drive letters ------------------------------------------------
    Payload("drive-backslash", "C:\\Windows\\win.ini", LEAVES),
    Payload("drive-relative", "C:foo", LEAVES),
    Payload("drive-forward-slash", "c:/outside/secret.txt", LEAVES),
    Payload("device-path", "\\\\?\\C:\\Windows", LEAVES),
    # On Linux "C:x" and "~x" are plain names, but a path that starts with one is refused outright.
    Payload("dot-then-drive", "./C:/Windows/win.ini", f"{LEAVES}|{MISSING}"),
    Payload("dot-then-tilde", ".\\~root\\.ssh", f"{LEAVES}|{MISSING}"),
    Payload("unc-backslashes", "\\\\server\\share\\secret.txt", LEAVES),
    # --- NUL bytes and control characters ----------------------------------------------------
    Payload("nul-byte", "a\x00b", "NUL byte"),
    Payload("nul-truncation", "secret.txt\x00.wav", "NUL byte"),
    Payload("newline", "..\n/outside", "control characters"),
    Payload("escape-sequence", "\x1b[2J../outside", "control characters"),
    # --- very long names ---------------------------------------------------------------------
    Payload("name-300-chars", "x" * 300, LONG),
    Payload("path-over-1024-chars", "a/" * 600 + "b", LONG),
    Payload("deep-nesting", "d/" * 400 + "secret.txt", MISSING),
    # 1,023 characters but 4,047 bytes: past PATH_MAX under most workspaces (else simply missing).
    Payload("path-over-path-max", "/".join(["\U0001f600" * 63] * 16), f"{LONG}|{MISSING}"),
    # --- names of existing host files (relative to the process's working directory) ---------
    Payload("cwd-file", "secret.txt", MISSING),
    Payload("cwd-dataset", "chats", MISSING),
    Payload("etc-relative", "etc/passwd", MISSING),
    # --- symlinks inside the workspace that lead out, and loops ------------------------------
    Payload("link-to-file", "link-file", LEAVES),
    Payload("link-to-folder", "link-dir", LEAVES),
    Payload("through-link-to-folder", "link-dir/secret.txt", LEAVES),
    Payload("through-link-to-dataset", "link-dir/chats", LEAVES),
    Payload("relative-link", "datasets/deep-link/secret.jsonl", LEAVES),
    Payload("relative-link-to-dataset", "datasets/deep-link/chats", LEAVES),
    Payload("link-to-parent", "up/outside/secret.txt", LEAVES),
    Payload("link-to-parent-folder", "up", LEAVES),
    Payload("link-to-root", "root-link/etc/passwd", LEAVES),
    Payload("link-to-link-out", "chain/secret.jsonl", LEAVES),
    Payload("folder-of-links-out", "trap", FOLDER),
    Payload("link-loop", "loop-a", "symlink loop"),
    Payload("self-loop", "self-loop/x", "symlink loop|" + MISSING),
    Payload("workspace-itself", ".", "Give a path inside the workspace"),
    Payload("link-to-workspace", "ws-alias", FOLDER + "|not the workspace itself"),
]

COMMANDS = {
    "getfile": "!getfile {}",
    "archive": "!archive {}",
    "select_dataset": "!select_dataset {}",
    "train": "!train data_dir={}",
    "test": "!test data_dir={}",
    "transcribe": "!transcribe {}",
}


def quote(payload: str) -> str:
    """``payload`` as one argument for the command parser: single quotes keep it verbatim."""
    assert "'" not in payload
    return f"'{payload}'"


def line(command: str, payload: str) -> str:
    return COMMANDS[command].format(quote(payload))


# --- the scene: a workspace, an outside folder with the secret, symlinks leading out ----------


@dataclass
class Scene:
    root: Path  # tmp_path: the outside world of this test
    workspace: Path
    outside: Path
    container: Container
    console: Console


def build_scene(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    # Chat examples: a path that reached chats/ would make a dataset !select_dataset and !train
    # accept (and !archive zip).
    chats = "".join(
        f'{{"messages":[{{"role":"user","content":"q{i}"}},'
        f'{{"role":"assistant","content":"{SECRET} {i}"}}]}}\n'
        for i in range(12)
    )
    (outside / "secret.jsonl").write_text(chats)
    (outside / "chats").mkdir()
    (outside / "chats" / "secret.jsonl").write_text(chats)
    (outside / "sub").mkdir()
    (outside / "sub" / "secret.txt").write_text(SECRET)

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "link-file").symlink_to(outside / "secret.txt")
    (workspace / "link-dir").symlink_to(outside, target_is_directory=True)
    (workspace / "datasets").mkdir()
    (workspace / "datasets" / "deep-link").symlink_to(Path("..", "..", "outside"))
    (workspace / "up").symlink_to(Path(".."))
    (workspace / "root-link").symlink_to(Path("/"))
    (workspace / "chain").symlink_to(Path("link-dir"))
    (workspace / "loop-a").symlink_to(Path("loop-b"))
    (workspace / "loop-b").symlink_to(Path("loop-a"))
    (workspace / "self-loop").symlink_to(Path("self-loop"))
    (workspace / "ws-alias").symlink_to(Path("."))
    trap = workspace / "trap"
    trap.mkdir()
    (trap / "secret.txt").symlink_to(outside / "secret.txt")
    (trap / "secret.jsonl").symlink_to(outside / "secret.jsonl")
    (trap / "data").symlink_to(outside, target_is_directory=True)
    (trap / "loop").symlink_to(Path("loop"))
    return workspace, outside


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    workspace, outside = build_scene(tmp_path)
    # Relative paths must be relative to the workspace, never to the process's directory.
    monkeypatch.chdir(outside)
    container = create_container(Settings(workspace=workspace, storage="filesystem"))
    container.workspace()  # made now (with its standard folders), not by the first command
    console = Console(container.use_cases(), prefix="!", exports_dir=outside / "exports")
    return Scene(tmp_path, workspace, outside, container, console)


# --- what is checked around each command ------------------------------------------------------

Entry = tuple[str, int, int, str]  # kind, size, mtime_ns, link target


def tree(top: Path, *, skip: Path | None = None) -> dict[str, Entry]:
    """Every entry below ``top`` (symlinks not followed, ``skip`` left out): kind, size, mtime."""
    found: dict[str, Entry] = {}
    for directory, folders, files in os.walk(top, followlinks=False):
        here = Path(directory)
        if skip is not None and here == skip:
            folders[:] = []
            continue
        for name in [*folders, *files]:
            path = here / name
            if path == skip:
                continue
            info = path.lstat()
            target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else ""
            size = info.st_size if stat.S_ISREG(info.st_mode) else 0
            found[str(path.relative_to(top))] = (
                stat.filemode(info.st_mode),
                size,
                info.st_mtime_ns,
                target,
            )
    return found


def workspace_texts(workspace: Path) -> Iterator[tuple[str, bytes]]:
    """Every regular file of the workspace (links not followed), and every member of its zips."""
    for directory, _, files in os.walk(workspace, followlinks=False):
        for name in files:
            path = Path(directory) / name
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            yield str(path), data
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        yield f"{path}!{member}", archive.read(member)


def refusal_problems(reply: str, payload: Payload, scene: Scene) -> list[str]:
    """What is wrong with ``reply`` as a refusal of ``payload`` (nothing, one hopes)."""
    checks = [
        (reply.startswith("error: "), "is not an error reply"),
        ("\n" not in reply, "is more than one line"),
        ("Traceback" not in reply, "shows a traceback"),
        ("something went wrong" not in reply.casefold(), "is a crash"),
        (re.search(payload.why, reply) is not None, f"does not say /{payload.why}/"),
        (SECRET not in reply, "shows the secret"),
        (str(scene.workspace) not in reply, "shows where the workspace lives on the host"),
    ]
    return [f"{reply[:300]!r} {what}" for ok, what in checks if not ok]


Snapshot = tuple[dict[str, Entry], dict[str, Entry]]


def snapshot(scene: Scene) -> Snapshot:
    return tree(scene.root, skip=scene.workspace), tree(scene.workspace)


def change_problems(scene: Scene, before: Snapshot) -> list[str]:
    """The secret anywhere in the workspace (zip members too), or any change in or outside it."""
    problems = [
        f"the secret is in {name}"
        for name, data in workspace_texts(scene.workspace)
        if SECRET.encode() in data
    ]
    outside_before, workspace_before = before
    outside_after, workspace_after = snapshot(scene)
    for where, old, new in [
        ("outside", outside_before, outside_after),
        ("in the workspace", workspace_before, workspace_after),
    ]:
        changed = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
        if changed:
            problems.append(f"changed {where}: {changed[:5]}")
    return problems


def test_the_table_is_large_and_its_ids_unique() -> None:
    assert len(PAYLOADS) >= 30
    assert len({payload.id for payload in PAYLOADS}) == len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda payload: payload.id)
def test_quoting_hands_the_parser_each_payload_verbatim(payload: Payload) -> None:
    text = payload.render(Path("/tmp/outside"))
    argument = {
        "train": "data_dir",
        "test": "data_dir",
        "archive": "folder",
        "select_dataset": "folder",
    }
    for command in COMMANDS:
        split = split_command(line(command, text))
        assert split is not None
        assert parse_command(*split).text(argument.get(command, "path")) == text, command


# One test per payload, every command in it: a scene per command would cost five times as much.
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda payload: payload.id)
async def test_every_command_refuses_the_payload_and_nothing_leaks_or_changes(
    scene: Scene, payload: Payload, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    problems: list[str] = []
    for command in COMMANDS:
        before = snapshot(scene)
        reply = await scene.console.handle(line(command, payload.render(scene.outside)))
        found = refusal_problems(reply, payload, scene) + change_problems(scene, before)
        problems += [f"!{command}: {problem}" for problem in found]
    if any(record.exc_info for record in caplog.records):
        problems.append("a traceback was logged")
    if SECRET in caplog.text:
        problems.append("the secret was logged")

    assert not problems, "\n".join(problems)


async def test_the_scene_works_a_legitimate_path_is_served(scene: Scene) -> None:
    """The control: the same console reads a workspace file, so the refusals above are real."""
    (scene.workspace / "datasets" / "notes.txt").write_text("hello from inside")

    assert "hello from inside" in await scene.console.handle("!getfile datasets/notes.txt")


async def test_a_folder_mixing_files_and_links_out_is_used_without_what_lies_outside(
    scene: Scene,
) -> None:
    """Where a command legitimately succeeds, the links out in its folder are left behind."""
    mixed = scene.workspace / "mixed"
    mixed.mkdir()
    (mixed / "chat.jsonl").write_text(
        "".join(
            f'{{"messages":[{{"role":"user","content":"question {i}"}},'
            f'{{"role":"assistant","content":"answer {i}"}}]}}\n'
            for i in range(12)
        )
    )
    for name, target in [
        ("secret.jsonl", scene.outside / "secret.jsonl"),
        ("secret.txt", scene.outside / "secret.txt"),
        ("elsewhere", scene.outside),
        ("up", Path("..", "..")),
    ]:
        (mixed / name).symlink_to(target)
    outside_before = tree(scene.root, skip=scene.workspace)

    archived = await scene.console.handle("!archive mixed")
    selected = await scene.console.handle("!select_dataset mixed")
    trained = await scene.console.handle("!train data_dir=mixed")

    assert archived.startswith("Archived mixed: 1 file"), archived
    assert selected.startswith("Selected dataset mixed: "), selected
    assert not trained.startswith("error"), trained
    for reply in (archived, selected, trained):
        assert SECRET not in reply
    # One archive by !archive, one by !select_dataset (and !train saved a model zip in models/).
    assert len(list((scene.workspace / "archives").glob("mixed-*.zip"))) == 2
    for name, data in workspace_texts(scene.workspace):
        assert SECRET.encode() not in data, f"the secret is in {name}"
    assert tree(scene.root, skip=scene.workspace) == outside_before


# --- the same through the Discord bot ---------------------------------------------------------

DISCORD_PAYLOADS = [
    payload
    for payload in PAYLOADS
    if payload.id
    in {
        "dotdot-backslash",
        "absolute-host-file",
        "link-to-file",
        "folder-of-links-out",
        "lone-surrogate",
        "nul-byte",
        "deep-nesting",
    }
]


@pytest.fixture
async def server(scene: Scene) -> AsyncIterator[Server]:
    """The real bot on dpytest over the scene's container, as tests/adapters/discord builds it."""
    bot = build_bot(scene.container.use_cases(), BotOptions(prefix="!", trainer_role="trainer"))
    config = await on_dpytest(bot, ["tess", "max"])
    guild = config.guilds[0]
    await dpytest.add_role(config.members[0], dpytest.backend.make_role("trainer", guild))
    channel = config.channels[0]
    assert isinstance(channel, discord.TextChannel)
    trainer, member = config.members
    yield Server(bot, guild, channel, trainer, member, scene.container, Model())
    await close(bot)
    await dpytest.empty_queue()


@pytest.mark.parametrize("payload", DISCORD_PAYLOADS, ids=lambda payload: payload.id)
async def test_the_discord_bot_refuses_the_payload_and_sends_nothing(
    scene: Scene, server: Server, payload: Payload
) -> None:
    for command in COMMANDS:
        before = snapshot(scene)
        replies = await send(server, line(command, payload.render(scene.outside)))

        assert change_problems(scene, before) == [], command
        # !train first posts a status message (then edited to say it failed), then the refusal.
        [refusal] = [reply for reply in replies if not reply.content.startswith("⏳")]
        assert not any(reply.attachments for reply in replies), command
        assert all(SECRET not in reply.content for reply in replies), command
        assert "\n" not in refusal.content, command
        assert re.search(payload.why, refusal.content), (command, refusal.content)
