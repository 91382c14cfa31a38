"""`trainerbot migrate`: a workspace written by the JSON Lines stores (the workspace without
tenants and two servers' tenants) is imported into SQLite and into a real PostgreSQL server;
every record is there after, each in its own tenant, and a second run changes nothing.

A start does the same by itself (``import_earlier_records``, which the CLI calls before the bot or
the console opens the workspace): a workspace of an earlier release keeps its records in the
workspace's new SQLite database, imported once, its files kept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from trainerbot.adapters.memory import InMemoryChatModel, InMemoryModelTrainer
from trainerbot.adapters.sql import importing
from trainerbot.config import RECORDS_DATABASE, Settings
from trainerbot.container import (
    Container,
    close_container,
    create_bot,
    create_container,
    import_earlier_records,
    import_earlier_records_or_exit,
)
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.entities import Actor
from trainerbot.core.errors import ServiceError, TrainerbotError
from trainerbot.core.link_reply import LinkReplyRequest
from trainerbot.core.manage_settings import SettingsRequest
from trainerbot.core.record_correction import CorrectionRequest
from trainerbot.core.record_feedback import FeedbackRequest
from trainerbot.core.tenancy import Tenant
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.use_model import UseModelRequest

DATA = "text,label\n" + "\n".join(
    [f"great film {n},positive" for n in range(6)] + [f"awful film {n},negative" for n in range(6)]
)


@pytest.fixture(params=["default", "sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None: no URL, the workspace's own SQLite file."""
    if request.param == "default":
        return None
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def app(workspace: Path, database_url: str | None = None, *, records: str = "jsonl") -> Container:
    """The application on ``workspace``: its records in JSON Lines files (as an earlier release
    kept them), in ``database_url``'s database, or (``records="sqlite"``, no URL) in the
    workspace's own SQLite file, the default."""
    settings = Settings(workspace=workspace, database_url=database_url, records=records)
    container = create_container(settings)
    container.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    container.trainers.override(
        providers.Object({"local": InMemoryModelTrainer("local", immediate=True)})
    )
    return container


async def write_everything(container: Container, persona: str) -> None:
    """Every kind of record, through the use cases (by a member of its own: the rate limit is
    per member, wherever they speak)."""
    ada = Actor(id=persona, name="Ada", can_train=True)
    uc = container.use_cases()
    for number in range(3):
        answered = await uc.answer_message.execute(
            AnswerRequest("chat", ada, f"Capital of France, take {number}?", f"m{number}")
        )
        await uc.link_reply.execute(
            LinkReplyRequest(interaction_id=answered.interaction.id, message_id=f"r{number}")
        )
    await uc.record_correction.execute(CorrectionRequest(actor=ada, message_id="m1", text="Paris"))
    await uc.record_feedback.execute(FeedbackRequest(actor=ada, text=f"{persona}: fine"))
    trained = await uc.train_model.execute(TrainRequest(actor=ada, data=DATA, method="local"))
    assert trained.job.model is not None
    await uc.use_model.execute(UseModelRequest(actor=ada, model=trained.job.model))
    await uc.manage_settings.execute(SettingsRequest(actor=ada, persona=persona))


async def snapshot(container: Container) -> dict[str, Any]:
    """What the stores show."""
    interactions = container.interactions()
    return {
        "recent": await interactions.recent("chat", 10),
        "found": [
            await interactions.find_by_message(f"{kind}{n}") for kind in "mr" for n in range(3)
        ],
        "corrections": await container.corrections().all(),
        "feedback": await container.feedback().all(),
        "jobs": await container.jobs().all(),
        "models": await container.models().models(),
        "active": await container.models().active(),
        "settings": await container.tenant_settings().get(),
    }


def migrate(workspace: Path, database_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
    env |= {"TRAINERBOT_WORKSPACE": str(workspace)}
    if database_url is not None:
        env["TRAINERBOT_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "trainerbot", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_every_record_is_there_after_and_twice_is_safe(
    tmp_path: Path, database_url: str | None
) -> None:
    workspace = tmp_path / "ws"
    on_disk = app(workspace)
    await write_everything(on_disk, "the workspace")
    tenants = on_disk.tenants()
    servers = [tenants.container(Tenant.server(key)) for key in (111, 222)]
    for server, persona in zip(servers, ("server one", "server two"), strict=True):
        await write_everything(server, persona)
    before = [await snapshot(c) for c in (on_disk, *servers)]
    assert all(shown["corrections"] and shown["active"] for shown in before)

    for _ in range(2):
        result = migrate(workspace, database_url)
        assert result.returncode == 0, result.stderr
        [line] = result.stdout.splitlines()
        assert line.startswith("Imported ")
        assert "from 3 workspace(s)" in line

        in_db = app(workspace, database_url, records="sqlite")
        try:
            db_tenants = in_db.tenants()
            after = [
                await snapshot(c)
                for c in (
                    in_db,
                    *(db_tenants.container(Tenant.server(key)) for key in (111, 222)),
                )
            ]
        finally:
            await close_container(in_db)
        assert after == before


def test_migrate_without_a_database_says_so_in_one_line(tmp_path: Path) -> None:
    """The records kept in JSON Lines files on purpose (records=jsonl, no URL): no database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "trainerbot", "migrate"],
        capture_output=True,
        text=True,
        env=env | {"TRAINERBOT_WORKSPACE": str(tmp_path), "TRAINERBOT_RECORDS": "jsonl"},
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert "TRAINERBOT_DATABASE_URL" in line


# --- a start imports the records of an earlier release by itself -----------------------------

SERVERS = (Tenant.server(111), Tenant.server(222))


async def earlier_release(workspace: Path) -> list[dict[str, Any]]:
    """A workspace as an earlier release left it: every kind of record in the JSON Lines files
    of the workspace without tenants and of two servers. What the stores showed, in that order."""
    on_disk = app(workspace)
    await write_everything(on_disk, "the workspace")
    servers = [on_disk.tenants().container(tenant) for tenant in SERVERS]
    for server, persona in zip(servers, ("server one", "server two"), strict=True):
        await write_everything(server, persona)
    shown = [await snapshot(c) for c in (on_disk, *servers)]
    assert all(each["corrections"] and each["active"] and each["jobs"] for each in shown)
    assert not (workspace / RECORDS_DATABASE).exists()
    return shown


async def what_a_start_shows(workspace: Path, **settings: Any) -> list[dict[str, Any]]:
    """What the stores of the workspace's own database show (the default), in the same order."""
    container = create_container(Settings(workspace=workspace, **settings))
    try:
        tenants = container.tenants()
        return [
            await snapshot(c)
            for c in (container, *(tenants.container(tenant) for tenant in SERVERS))
        ]
    finally:
        await close_container(container)


def files_of(workspace: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(workspace.rglob("*.jsonl"))}


async def test_a_start_imports_an_earlier_releases_records_once_and_keeps_the_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = tmp_path / "ws"
    before = await earlier_release(workspace)
    files = files_of(workspace)
    settings = Settings(workspace=workspace)  # no URL, no records setting: the default

    with caplog.at_level(logging.WARNING):
        report = await import_earlier_records(settings)

    assert report is not None
    assert report.startswith("Imported ")
    assert f"from 3 workspace(s) into sqlite+aiosqlite:///{workspace / RECORDS_DATABASE}" in report
    assert report in caplog.messages  # the one line, logged
    assert await what_a_start_shows(workspace) == before
    assert files_of(workspace) == files  # kept, unchanged
    assert not list(workspace.rglob(importing.IMPORTING))

    # Once: records written since (another persona) are never overwritten by the old files.
    container = app(workspace, records="sqlite")
    try:
        ada = Actor(id="ada", name="Ada", can_train=True)
        server = container.tenants().container(SERVERS[0])
        changed = SettingsRequest(actor=ada, persona="changed since")
        await server.use_cases().manage_settings.execute(changed)
    finally:
        await close_container(container)
    assert await import_earlier_records(settings) is None
    after = await what_a_start_shows(workspace)
    assert after[1]["settings"].persona == "changed since"
    assert after[0] == before[0]
    assert after[2] == before[2]


async def test_an_import_cut_short_is_finished_by_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    before = await earlier_release(workspace)
    settings = Settings(workspace=workspace)
    put = importing._Stores.put
    written = 0

    async def failing_put(self: importing._Stores, record: Any) -> str:
        nonlocal written
        written += 1
        if written > 4:  # some records of the first workspace made it, then the database failed
            raise ServiceError("The records could not be saved; please try again in a moment.")
        return await put(self, record)

    monkeypatch.setattr(importing._Stores, "put", failing_put)
    with pytest.raises(TrainerbotError) as failed:
        await import_earlier_records(settings)
    [line] = str(failed.value).splitlines()
    assert "could not be imported: The records could not be saved" in line
    assert line.endswith("the import goes on where it stopped.")
    assert list(workspace.rglob(importing.IMPORTING))  # the mark of the import cut short
    # A program's entry point stops there, with that one line, and serves nothing.
    written = 0
    with pytest.raises(SystemExit) as stopped:
        await asyncio.to_thread(import_earlier_records_or_exit, settings)
    assert stopped.value.code == f"trainerbot: {line}"

    monkeypatch.setattr(importing._Stores, "put", put)
    report = await import_earlier_records(settings)
    assert report is not None
    assert "from 3 workspace(s)" in report
    assert await what_a_start_shows(workspace) == before
    assert not list(workspace.rglob(importing.IMPORTING))
    assert await import_earlier_records(settings) is None


async def test_nothing_to_import_opens_no_database(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    # Folders as any start makes them, and a record file with nothing in it.
    (workspace / "servers" / "111" / "records").mkdir(parents=True)
    (workspace / "records").mkdir()
    (workspace / "records" / "jobs.jsonl").write_text("")

    assert await import_earlier_records(Settings(workspace=workspace)) is None
    assert not (workspace / RECORDS_DATABASE).exists()

    await earlier_release(workspace)
    # The records kept in files (records="jsonl") or in memory: nothing to import into.
    assert await import_earlier_records(Settings(workspace=workspace, records="jsonl")) is None
    assert await import_earlier_records(Settings(storage="memory")) is None
    assert not (workspace / RECORDS_DATABASE).exists()


async def test_a_workspace_from_before_tenants_is_imported_into_the_server_it_becomes(
    tmp_path: Path,
) -> None:
    """With exactly one server configured, the bot makes a workspace from before tenants that
    server's (``adopt_if_one_server``): its records are imported as that server's, and the
    database stays where it is, the records of every tenant."""
    workspace = tmp_path / "ws"
    old = app(workspace)
    await write_everything(old, "from before tenants")
    before = await snapshot(old)
    settings = Settings(workspace=workspace, discord_guilds=frozenset({111}))

    report = await import_earlier_records(settings)
    assert report is not None
    assert "from 1 workspace(s)" in report

    container = create_container(settings)
    try:
        create_bot(container)  # adopts the workspace's files into the server's folder
        assert (workspace / "servers" / "111" / "records" / "interactions.jsonl").is_file()
        assert (workspace / RECORDS_DATABASE).is_file()
        assert not (workspace / "servers" / "111" / RECORDS_DATABASE).exists()
        assert await snapshot(container.tenants().container(SERVERS[0])) == before
        # The workspace without tenants has none of them.
        assert await container.corrections().all() == []
    finally:
        await close_container(container)
    assert await import_earlier_records(settings) is None


def cli(workspace: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "trainerbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env | {"TRAINERBOT_WORKSPACE": str(workspace), "TRAINERBOT_EMBEDDINGS": "none"},
        timeout=120,
        check=False,
        cwd=workspace.parent,
    )


async def test_the_cli_imports_an_earlier_releases_records_when_it_starts(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    before = await earlier_release(workspace)
    [job] = before[1]["jobs"]

    first = cli(workspace, "jobs", "--server", "111")
    assert first.returncode == 0, first.stderr
    [imported] = [line for line in first.stderr.splitlines() if "Imported " in line]
    assert "from 3 workspace(s)" in imported
    assert job.id in first.stdout  # the server's job, from the database

    again = cli(workspace, "console", stdin="!jobs\n")
    assert again.returncode == 0, again.stderr
    assert "Imported " not in again.stderr
    assert await what_a_start_shows(workspace) == before
