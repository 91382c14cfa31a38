"""Path traversal: a table of hostile paths against every command that takes a workspace path.

Each payload is sent, through the real console over the real container on a workspace on disk,
to ``!getfile``, ``!archive``, ``!select_dataset``, ``!train data_dir=``, ``!test data_dir=``
and ``!transcribe``.
Beside the workspace lies an ``outside`` folder (the process's working directory too) whose
files hold a known secret and would make a valid dataset; inside the workspace, symlinks lead out
to it, to its parent and to ``/``, and others loop. Every payload must be refused with one clear
line, the secret must appear in no reply and no file of the workspace (zip members included),
nothing outside the workspace may be created or changed, and the workspace must stay as it was.

Every tenant is a workspace of its own (``servers/<key>/``), so the scene is built in the
workspace of the tenant that acts: the console's tenant, as ``trainerbot console`` uses it, and
the root workspace, as a program using the library without tenants does. Another tenant
(``servers/222/``) has its own secret, records and a dataset; payloads aim at it by ``..``, by
absolute path, through ``servers/`` (from the root) and through symlinks planted in the acting
workspace, and it must stay unread and unchanged like the outside folder.
The records of every tenant are in one SQLite database at the top of the configured workspace
(``records.sqlite3``, the default): payloads aim at it too, from a tenant (by ``..``) and from
the root workspace that holds it (by its name), and it is read by no command. Commands write
records there as they should (a trained job): its files are left out of the snapshots, which are
taken once it is open.
A few payloads also go through the Discord bot (dpytest), in the guild's own tenant.
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
from trainerbot.config import RECORDS_DATABASE, Settings
from trainerbot.container import (
    TENANTS_FOLDER,
    Container,
    close_container,
    create_container,
    tenant_workspace,
)
from trainerbot.container.storage import database_files
from trainerbot.core.commands import parse_command, split_command
from trainerbot.core.tenancy import Tenant

# The Discord tests' helpers live beside their conftest, which is not on the path from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "discord"))
from discord_support import Model, Server, close, on_dpytest, send

SECRET = "TOP-SECRET-7f3a9c-never-shown"
# Another tenant on the same workspace: its folder, its files and their secret.
OTHER = Tenant.server(222)
OTHER_SECRET = "OTHER-TENANT-SECRET-41d0e2-never-shown"
SECRETS = (SECRET, OTHER_SECRET)
OUTSIDE = "{outside}"  # stands for the absolute path of the folder outside the workspace
OTHER_DIR = "{other}"  # the absolute path of the other tenant's folder
TO_OTHER = "{to_other}"  # the other tenant's folder, relative to the acting workspace
TO_DATABASE = "{to_database}"  # the records' database, relative to the acting workspace


@dataclass(frozen=True)
class Places:
    """Where a payload's placeholders lead in one scene."""

    outside: Path
    other: Path
    to_other: str  # "../222" from a tenant's workspace, "servers/222" from the root workspace
    to_database: str  # "../../records.sqlite3" from a tenant's, "records.sqlite3" from the root


@dataclass(frozen=True)
class Payload:
    """A hostile path; ``why`` is what the refusal must say (a regex: reasons vary by command)."""

    id: str
    text: str
    why: str

    def render(self, places: Places) -> str:
        return (
            self.text.replace(OUTSIDE, str(places.outside))
            .replace(OTHER_DIR, str(places.other))
            .replace(TO_OTHER, places.to_other)
            .replace(TO_DATABASE, places.to_database)
        )


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
    # --- another tenant's folder, beside the acting one --------------------------------------
    Payload("other-tenant-records", f"../{OTHER.key}/records/interactions.jsonl", LEAVES),
    Payload("other-tenant-secret", f"../{OTHER.key}/secret.txt", LEAVES),
    Payload("other-tenant-dataset", f"../{OTHER.key}/chats", LEAVES),
    Payload(
        "other-tenant-via-servers",
        f"../../{TENANTS_FOLDER}/{OTHER.key}/records/interactions.jsonl",
        LEAVES,
    ),
    Payload("other-tenant-down-then-up", f"datasets/../../{OTHER.key}/chats", LEAVES),
    Payload("other-tenant-absolute-file", f"{OTHER_DIR}/records/interactions.jsonl", LEAVES),
    Payload("other-tenant-absolute-folder", f"{OTHER_DIR}/chats", LEAVES),
    # From the root workspace "servers/222/..." is lexically inside it: the tenants' folder is
    # what must refuse it. From a tenant, "../222/...".
    Payload("other-tenant-relative-file", f"{TO_OTHER}/records/interactions.jsonl", LEAVES),
    Payload("other-tenant-relative-dataset", f"{TO_OTHER}/chats", LEAVES),
    Payload("other-tenant-relative-folder", TO_OTHER, LEAVES),
    Payload("link-to-other-tenant", "other-link/records/interactions.jsonl", LEAVES),
    Payload("link-to-other-tenant-folder", "other-link", LEAVES),
    Payload("link-to-other-tenant-dataset", "other-link/chats", LEAVES),
    Payload("link-to-other-tenant-file", "other-file", LEAVES),
    Payload("relative-link-to-other-tenant", "datasets/other-rel/chats", LEAVES),
    Payload("link-to-the-tenants-folder", f"siblings/{OTHER.key}/secret.txt", LEAVES),
    Payload("link-to-the-tenants-folder-itself", "siblings", LEAVES),
    # --- the records' database, every tenant's rows ------------------------------------------
    Payload("records-database", TO_DATABASE, LEAVES),
    Payload("records-database-wal", f"{TO_DATABASE}-wal", LEAVES),
    Payload("link-to-records-database", "records-link", LEAVES),
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
    workspace: Path  # the acting workspace: a tenant's folder, or the root workspace
    outside: Path
    other: Path  # the other tenant's folder
    excluded: Path | None  # the tenants' folder, when the acting workspace holds it (the root)
    container: Container  # the acting workspace's own container
    console: Console
    database: frozenset[Path]  # the records' database and its companion files

    @property
    def places(self) -> Places:
        return Places(
            self.outside,
            self.other,
            os.path.relpath(self.other, self.workspace),
            os.path.relpath(self.home / RECORDS_DATABASE, self.workspace),
        )

    @property
    def home(self) -> Path:
        """The configured workspace, which holds every tenant's folder."""
        return self.root / "workspace"


def chat_lines(secret: str) -> str:
    """Chat examples: a path that reached them would make a dataset !select_dataset and !train
    accept (and !archive zip)."""
    return "".join(
        f'{{"messages":[{{"role":"user","content":"q{i}"}},'
        f'{{"role":"assistant","content":"{secret} {i}"}}]}}\n'
        for i in range(12)
    )


def build_outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    chats = chat_lines(SECRET)
    (outside / "secret.jsonl").write_text(chats)
    (outside / "chats").mkdir()
    (outside / "chats" / "secret.jsonl").write_text(chats)
    (outside / "sub").mkdir()
    (outside / "sub" / "secret.txt").write_text(SECRET)
    return outside


def build_other_tenant(other: Path) -> None:
    """Another tenant's data, laid out as its stores lay it out, each file holding its secret."""
    (other / "records").mkdir(parents=True)
    (other / "records" / "interactions.jsonl").write_text(
        f'{{"type":"interaction","v":1,"id":"int-other","prompt":"{OTHER_SECRET}"}}\n'
    )
    (other / "secret.txt").write_text(f"{OTHER_SECRET}\n")
    (other / "chats").mkdir()
    (other / "chats" / "secret.jsonl").write_text(chat_lines(OTHER_SECRET))


def plant(workspace: Path, outside: Path, other: Path) -> None:
    """Symlinks in the acting workspace that lead out of it (to the outside folder, the tenants'
    folder, the other tenant), and others that loop."""
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "link-file").symlink_to(outside / "secret.txt")
    (workspace / "link-dir").symlink_to(outside, target_is_directory=True)
    (workspace / "datasets").mkdir(exist_ok=True)
    datasets = workspace / "datasets"
    (datasets / "deep-link").symlink_to(Path(os.path.relpath(outside, datasets)))
    (workspace / "up").symlink_to(Path(os.path.relpath(outside.parent, workspace)))
    (workspace / "root-link").symlink_to(Path("/"))
    (workspace / "chain").symlink_to(Path("link-dir"))
    (workspace / "loop-a").symlink_to(Path("loop-b"))
    (workspace / "loop-b").symlink_to(Path("loop-a"))
    (workspace / "self-loop").symlink_to(Path("self-loop"))
    (workspace / "ws-alias").symlink_to(Path("."))
    (workspace / "other-link").symlink_to(other, target_is_directory=True)
    (workspace / "other-file").symlink_to(other / "secret.txt")
    (datasets / "other-rel").symlink_to(Path(os.path.relpath(other, datasets)))
    (workspace / "siblings").symlink_to(Path(os.path.relpath(other.parent, workspace)))
    # The records' database, at the top of the configured workspace (above the tenants' folder).
    (workspace / "records-link").symlink_to(other.parent.parent / RECORDS_DATABASE)
    trap = workspace / "trap"
    trap.mkdir()
    (trap / "secret.txt").symlink_to(outside / "secret.txt")
    (trap / "secret.jsonl").symlink_to(outside / "secret.jsonl")
    (trap / "data").symlink_to(outside, target_is_directory=True)
    (trap / "loop").symlink_to(Path("loop"))
    (trap / "other-records").symlink_to(other / "records" / "interactions.jsonl")
    (trap / "other-chats").symlink_to(other / "chats", target_is_directory=True)


def build_scene(
    tmp_path: Path, root: Container, tenant: Tenant | None, monkeypatch: pytest.MonkeyPatch
) -> Scene:
    """The scene in ``tenant``'s workspace (None: the root workspace, without tenants), beside
    the other tenant's folder; the console acts in that workspace."""
    settings: Settings = root.settings()
    assert tenant != OTHER
    workspace = tenant_workspace(settings, tenant) if tenant else settings.workspace
    other = tenant_workspace(settings, OTHER)
    outside = build_outside(tmp_path)
    build_other_tenant(other)
    plant(workspace, outside, other)
    # Relative paths must be relative to the workspace, never to the process's directory.
    monkeypatch.chdir(outside)
    acting = root.tenants().container(tenant) if tenant else root
    acting.workspace()  # made now (with its standard folders), not by the first command
    console = Console(acting.use_cases(), prefix="!", exports_dir=outside / "exports")
    excluded = None if tenant else settings.workspace / TENANTS_FOLDER
    database = frozenset(settings.workspace / name for name in database_files(settings))
    assert settings.workspace / RECORDS_DATABASE in database
    return Scene(tmp_path, workspace, outside, other, excluded, acting, console, database)


async def open_records(scene: Scene) -> None:
    """Open the records' database as the first command would (its files made now, and kept
    while its connections are pooled): the snapshots see no file appear or vanish."""
    assert await scene.container.corrections().all() == []
    assert (scene.home / RECORDS_DATABASE).is_file()


@pytest.fixture(params=["console-tenant", "root-workspace"])
async def scene(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Scene]:
    root = create_container(Settings(workspace=tmp_path / "workspace", storage="filesystem"))
    tenant = Tenant.console() if request.param == "console-tenant" else None
    built = build_scene(tmp_path, root, tenant, monkeypatch)
    await open_records(built)
    yield built
    await close_container(root)


# --- what is checked around each command ------------------------------------------------------

Entry = tuple[str, int, int, str]  # kind, size, mtime_ns, link target


def tree(
    top: Path, *, skip: Path | None = None, records: frozenset[Path] = frozenset()
) -> dict[str, Entry]:
    """Every entry below ``top`` (symlinks not followed, ``skip`` and the records' database
    ``records`` left out): kind, size, mtime."""
    found: dict[str, Entry] = {}
    for directory, folders, files in os.walk(top, followlinks=False):
        here = Path(directory)
        if skip is not None and here == skip:
            folders[:] = []
            continue
        for name in [*folders, *files]:
            path = here / name
            if path == skip or path in records:
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


def workspace_texts(workspace: Path, *, skip: Path | None = None) -> Iterator[tuple[str, bytes]]:
    """Every regular file of the workspace (links not followed, ``skip`` left out), and every
    member of its zips."""
    for directory, folders, files in os.walk(workspace, followlinks=False):
        if skip is not None:
            folders[:] = [name for name in folders if Path(directory, name) != skip]
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
        (OTHER_SECRET not in reply, "shows the other tenant's secret"),
        (str(scene.home) not in reply, "shows where the workspace lives on the host"),
    ]
    return [f"{reply[:300]!r} {what}" for ok, what in checks if not ok]


Snapshot = tuple[dict[str, Entry], dict[str, Entry]]


def snapshot(scene: Scene) -> Snapshot:
    """Everything but the acting workspace (the outside folder, the other tenants, the root
    workspace around a tenant's), and the acting workspace."""
    others = tree(scene.root, skip=scene.workspace, records=scene.database)
    if scene.excluded is not None:  # the root acts: the tenants' folder inside it is not its own
        tenants = scene.excluded.relative_to(scene.root)
        others |= {f"{tenants}/{name}": e for name, e in tree(scene.excluded).items()}
    return others, tree(scene.workspace, skip=scene.excluded, records=scene.database)


def change_problems(scene: Scene, before: Snapshot) -> list[str]:
    """A secret anywhere in the acting workspace (zip members too), or any change in or outside
    it (the other tenant's folder included)."""
    problems = [
        f"a secret is in {name}"
        for name, data in workspace_texts(scene.workspace, skip=scene.excluded)
        if any(secret.encode() in data for secret in SECRETS)
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
    text = payload.render(
        Places(Path("/tmp/outside"), Path("/tmp/ws/servers/222"), "../222", "../../records.sqlite3")
    )
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
        reply = await scene.console.handle(line(command, payload.render(scene.places)))
        found = refusal_problems(reply, payload, scene) + change_problems(scene, before)
        problems += [f"!{command}: {problem}" for problem in found]
    if any(record.exc_info for record in caplog.records):
        problems.append("a traceback was logged")
    if any(secret in caplog.text for secret in SECRETS):
        problems.append("a secret was logged")

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
        ("other-records.jsonl", scene.other / "records" / "interactions.jsonl"),
        ("other-chats", scene.other / "chats"),
        ("other-tenant", Path("..", scene.places.to_other)),
    ]:
        (mixed / name).symlink_to(target)
    others_before, _ = snapshot(scene)

    archived = await scene.console.handle("!archive mixed")
    selected = await scene.console.handle("!select_dataset mixed")
    trained = await scene.console.handle("!train data_dir=mixed")

    assert archived.startswith("Archived mixed: 1 file"), archived
    assert selected.startswith("Selected dataset mixed: "), selected
    assert not trained.startswith("error"), trained
    for reply in (archived, selected, trained):
        assert not any(secret in reply for secret in SECRETS), reply
    # One archive by !archive, one by !select_dataset (and !train saved a model zip in models/).
    assert len(list((scene.workspace / "archives").glob("mixed-*.zip"))) == 2
    for name, data in workspace_texts(scene.workspace, skip=scene.excluded):
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} is in {name}"
    others_after, _ = snapshot(scene)
    assert others_after == others_before


# --- the same through the Discord bot, in the guild's own tenant ------------------------------

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
        "other-tenant-records",
        "other-tenant-via-servers",
        "other-tenant-absolute-file",
        "link-to-other-tenant-dataset",
        "link-to-the-tenants-folder",
        "records-database",
    }
]


@dataclass
class Guild:
    scene: Scene
    server: Server


@pytest.fixture
async def guild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Guild]:
    """The real bot on dpytest over the real container, as ``create_bot`` builds it; the scene is
    built in the guild's tenant, whose id dpytest gives only once the bot is on it."""
    root = create_container(Settings(workspace=tmp_path / "workspace", storage="filesystem"))
    tenants = root.tenants()
    bot = build_bot(tenants.scope, BotOptions(prefix="!"), tenants=tenants.known)
    config = await on_dpytest(bot, ["tess", "max"])
    here = config.guilds[0]
    scene = build_scene(tmp_path, root, Tenant.server(here.id), monkeypatch)
    await open_records(scene)
    await dpytest.add_role(config.members[0], dpytest.backend.make_role("trainer", here))
    channel = config.channels[0]
    assert isinstance(channel, discord.TextChannel)
    trainer, member = config.members
    yield Guild(scene, Server(bot, here, channel, trainer, member, scene.container, Model()))
    await close(bot)
    await dpytest.empty_queue()
    await close_container(root)


@pytest.mark.parametrize("payload", DISCORD_PAYLOADS, ids=lambda payload: payload.id)
async def test_the_discord_bot_refuses_the_payload_and_sends_nothing(
    guild: Guild, payload: Payload
) -> None:
    scene, server = guild.scene, guild.server
    for command in COMMANDS:
        before = snapshot(scene)
        replies = await send(server, line(command, payload.render(scene.places)))

        assert change_problems(scene, before) == [], command
        # !train first posts a status message (then edited to say it failed), then the refusal.
        [refusal] = [reply for reply in replies if not reply.content.startswith("⏳")]
        assert not any(reply.attachments for reply in replies), command
        for secret in SECRETS:
            assert all(secret not in reply.content for reply in replies), command
        assert "\n" not in refusal.content, command
        assert re.search(payload.why, refusal.content), (command, refusal.content)


async def test_the_discord_bot_acts_in_the_guilds_tenant(guild: Guild) -> None:
    """The control: the bot serves a file of the guild's tenant folder, where the scene is, so
    the refusals above are the bot's own."""
    scene, server = guild.scene, guild.server
    assert scene.workspace.parent.name == TENANTS_FOLDER
    (scene.workspace / "datasets" / "notes.txt").write_text("hello from the guild")

    replies = await send(server, "!getfile datasets/notes.txt")

    assert any(reply.attachments for reply in replies), [r.content for r in replies]
