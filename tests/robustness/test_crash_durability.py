"""Crash durability: what the stores acknowledged survives a SIGKILL, and nothing is torn.

A child process (``crash_child.py``) records 1,000 corrections, interactions or job states from 50
concurrent tasks through the real stores and prints ``ACK`` once each await returned.
The test kills it with SIGKILL after a seeded random 100–700 acknowledgements, then opens the same
workspace with fresh stores and proves that every acknowledged record is there with its content
intact (for jobs: the last acknowledged state of every job, or a later one), that every stored
record parses, and that the stores keep appending afterwards.

Every scenario runs against each place records can live (the ``store`` fixture): the JSON Lines
files of the workspace (``TRAINERBOT_RECORDS=jsonl``, as earlier releases kept them), a SQLite file (``sqlite:///…/records.sqlite3``, WAL) and a real PostgreSQL
server (``postgres_url``: a fresh database of the session's server), the database given to the
child as users give it to the bot, ``TRAINERBOT_DATABASE_URL``. For SQL, acknowledged means
committed: every acknowledged record is read back through fresh stores, and every row of every
table of records holds a whole JSON record that agrees with the row's own columns (its id, its
conversation; every message id of an interaction names it, and only those do); SQLite's file
passes ``PRAGMA integrity_check`` after the kill left its write-ahead log behind.

For the JSON Lines files, a SIGKILL can cut a large write short between pages, so a torn last line —
of a record that was never acknowledged — is possible by design: readers skip it with a warning
naming the line, and the next append starts on a line of its own. The heavy-burst runs (records of
tens of kilobytes, so most writes span pages) make that possible, and whether or not a run leaves
one, every such line is checked; the truncation tests make one on purpose at several cut points.

Every tenant has stores of its own (``servers/<key>/records/``, or its rows of the one
database): two children record as two tenants of one workspace at once, through each tenant's
container as the bot takes it, and are killed each at its own count; each tenant must then hold
every record it acknowledged, and none of the other's — not even under the same message and job
ids, which both children use.

Run with ``-s`` to see what each kill left: how many acknowledgements, how many records checked.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Table, select, union

from trainerbot.adapters.sql import Database
from trainerbot.adapters.sql.schema import interaction_messages, metadata
from trainerbot.adapters.storage.tenants import known_tenants
from trainerbot.config import Settings
from trainerbot.container import (
    TENANTS_FOLDER,
    Container,
    close_container,
    create_container,
    tenant_workspace,
)
from trainerbot.core.entities import Correction, Interaction, Role
from trainerbot.core.tenancy import Tenant

CHILD_SCRIPT = Path(__file__).with_name("crash_child.py")
COUNT = 1_000
TASKS = 50
KINDS = ("corrections", "interactions", "jobs")
SEEDS_PER_KIND = 3
CHILD_TIMEOUT = 60.0
# Two tenants of one workspace, recording at once: a server and a member's direct messages.
TENANTS = (Tenant.server(111), Tenant.direct(222))
# Whose rows the stores of the workspace without tenants write (container/storage.py).
ROOT_TENANT = "workspace"
# The tables that hold whole records (a JSON text in ``record``).
RECORD_TABLES: tuple[Table, ...] = tuple(t for t in metadata.sorted_tables if "record" in t.c)


def _load_child() -> ModuleType:
    # By path: the child is a script, not a module of a package, and must stay out of collection.
    spec = importlib.util.spec_from_file_location("trainerbot_crash_child", CHILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


child = _load_child()


# --- where the records live ------------------------------------------------------------------


@dataclass
class Store:
    """Where the records live: the workspace's JSON Lines files (no URL), or a database."""

    name: str
    url: str | None = None
    # The containers opened on the database, closed (their connections) when the test ends.
    opened: list[Container] = field(default_factory=list, repr=False)

    @property
    def sql(self) -> bool:
        return self.url is not None

    def settings(self, workspace: Path) -> Settings:
        if self.url is None:  # the JSON Lines files, kept on request (the default is SQLite)
            return Settings(workspace=workspace, records="jsonl")
        return Settings(workspace=workspace, database_url=SecretStr(self.url))

    @property
    def sqlite_path(self) -> Path | None:
        if self.url is None or not self.url.startswith("sqlite:///"):
            return None
        return Path(self.url.removeprefix("sqlite:///"))


JSONL = Store("jsonl")


@pytest.fixture(
    params=[
        "jsonl",
        "sqlite",
        # A real server: the session's, started on first use (tests/postgres_support.py).
        pytest.param("postgresql", marks=[pytest.mark.slow, pytest.mark.subprocess]),
    ]
)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each place records can live: JSON Lines files, a SQLite file, a PostgreSQL database."""
    if request.param == "jsonl":
        yield JSONL
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")  # a fresh database, dropped after
    here = Store(request.param, url)
    try:
        yield here
    finally:
        # Before the database is dropped: close every pool this test opened on it.
        while here.opened:
            await close_container(here.opened.pop())


# --- running and killing the child -----------------------------------------------------------


@dataclass
class Crash:
    """What one killed child acknowledged before it died."""

    kind: str
    workspace: Path
    heavy: bool
    target: int
    store: Store
    tenant: Tenant | None = None  # whose stores (None: the root workspace's, without tenants)
    acks: list[tuple[str, int]] = field(default_factory=list)  # (id, number or job version)
    links: list[tuple[str, str]] = field(default_factory=list)  # (interaction id, reply id)
    seeds: dict[int, str] = field(default_factory=dict)  # seed k -> interaction id
    done: bool = False
    returncode: int | None = None
    stderr: str = ""
    seconds: float = 0.0


async def run_and_kill(
    kind: str,
    workspace: Path,
    store: Store,
    *,
    seed: int,
    heavy: bool = False,
    tenant: Tenant | None = None,
) -> Crash:
    """Run the child on ``workspace`` and ``store`` (as ``tenant``, if given) and SIGKILL it after
    a seeded 100–700 acknowledgements."""
    target = random.Random(f"{kind}/{seed}/{heavy}").randint(100, 700)
    result = Crash(
        kind=kind, workspace=workspace, heavy=heavy, target=target, store=store, tenant=tenant
    )
    env = dict(os.environ)
    if store.url is not None:
        env["TRAINERBOT_DATABASE_URL"] = store.url  # as a user configures the bot
    else:
        env["TRAINERBOT_RECORDS"] = "jsonl"
    stderr_path = workspace.parent / f"{workspace.name}-{tenant or 'root'}.stderr"
    command = [sys.executable, str(CHILD_SCRIPT), kind, str(workspace), str(COUNT)]
    command += ["--tasks", str(TASKS), *(["--heavy"] if heavy else [])]
    command += ["--tenant", tenant.key] if tenant is not None else []
    started = time.perf_counter()
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=workspace.parent,
            env=env,
        )
        assert process.stdout is not None
        killed = False
        try:
            async with asyncio.timeout(CHILD_TIMEOUT):
                while line := await process.stdout.readline():
                    if not line.endswith(b"\n"):
                        break  # half a line printed as the process died is no acknowledgement
                    word, *rest = line.decode().split()
                    if word == "ACK":
                        result.acks.append((rest[0], int(rest[1])))
                        if len(result.acks) >= target and not killed:
                            process.send_signal(signal.SIGKILL)
                            killed = True
                    elif word == "LINK":
                        result.links.append((rest[0], rest[1]))
                    elif word == "SEED":
                        result.seeds[int(rest[1])] = rest[0]
                    elif word == "DONE":
                        result.done = True
                result.returncode = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    result.seconds = time.perf_counter() - started
    result.stderr = stderr_path.read_text(errors="replace")
    return result


def assert_killed_part_way(crash: Crash, *, records: int = COUNT) -> None:
    """The run proves something only if the kill landed in the middle of the work."""
    where = f"{crash.kind} run on {crash.store.name} (stderr: {crash.stderr[-2000:]!r})"
    assert crash.returncode == -signal.SIGKILL, f"the child was not killed: {where}"
    assert not crash.done, f"the child finished before the kill: {where}"
    assert crash.target <= len(crash.acks) < records, where
    assert len(crash.acks) >= 100, where


# --- reading what is on disk -----------------------------------------------------------------


@dataclass
class RawFile:
    """The records of one store file (or, for SQL, of one table: one per row, in order)."""

    records: list[dict[str, Any]]
    torn_tail: bytes | None  # an unterminated last fragment that does not parse
    chars: int = 0  # SQL: the length of all the rows' JSON texts


def read_raw(path: Path, fragment: int | None = None) -> RawFile:
    """Every line of ``path``: all must be whole JSON objects but an unterminated last one, and
    line ``fragment``: a torn line a later append isolated (its records are not returned)."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    records = []
    for number, line in enumerate(lines, start=1):
        if not line or number == fragment:
            continue
        try:
            value = json.loads(line.decode("utf-8"))
        except ValueError:
            pytest.fail(f"{path.name}: line {number} is torn: {line[:120]!r}...")
        assert isinstance(value, dict), f"{path.name}: line {number} is no JSON object"
        records.append(value)
    torn: bytes | None = None
    if tail:
        try:
            records.append(json.loads(tail.decode("utf-8")))  # cut right before its newline
        except ValueError:
            torn = tail
    return RawFile(records=records, torn_tail=torn)


def fresh(workspace: Path, store: Store = JSONL, tenant: Tenant | None = None) -> Container:
    """The stores a restarted bot would open on ``workspace`` and ``store``: ``tenant``'s, or
    (None) the root workspace's."""
    root = create_container(store.settings(workspace))
    if store.sql:
        store.opened.append(root)
    return root if tenant is None else root.tenants().container(tenant)


def records_dir(workspace: Path, tenant: Tenant | None = None) -> Path:
    if tenant is not None:
        return tenant_workspace(Settings(workspace=workspace), tenant) / "records"
    return workspace / "records"


def store_files(workspace: Path, tenant: Tenant | None = None) -> list[Path]:
    return sorted(records_dir(workspace, tenant).glob("*.jsonl"))


def check_raw_files(workspace: Path, tenant: Tenant | None = None) -> dict[str, RawFile]:
    """No line is torn, except perhaps an unterminated last one (of a record being written)."""
    raws = {path.name: read_raw(path) for path in store_files(workspace, tenant)}
    assert raws, "the child wrote no records at all"
    return raws


def assert_torn_tails_reported(
    raws: dict[str, RawFile], caplog: pytest.LogCaptureFixture, store: Store = JSONL
) -> None:
    """A torn last line was skipped by the stores, with a warning naming the file and line; the
    SQL stores met no damaged record and no failure at all."""
    if store.sql:
        said = [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("trainerbot.adapters.sql")
        ]
        assert not said, said
        return
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for name, line in torn_lines(raws).items():
        assert f"{name}: skipped 1 unreadable line(s): {line}" in messages, messages


# --- reading what is in the database ---------------------------------------------------------


def _tenant_key(tenant: Tenant | None) -> str:
    return ROOT_TENANT if tenant is None else tenant.key


def _whole_record(table: str, row: Any) -> dict[str, Any]:
    """The record of ``row``, which must be a whole JSON object that agrees with the row."""
    where = f"{table} row {getattr(row, 'seq', '')} of {row.tenant}"
    try:
        record = json.loads(row.record)
    except ValueError:
        pytest.fail(f"{where} is torn: {row.record[:120]!r}...")
    assert isinstance(record, dict), f"{where} is no JSON object"
    if "id" in row._fields:
        assert record.get("id") == row.id, (
            f"{where}: record of {record.get('id')!r}, row {row.id!r}"
        )
    if "conversation_id" in row._fields:
        assert record.get("conversation_id") == row.conversation_id, where
    return record


async def read_rows(store: Store, tenant: Tenant | None = None) -> dict[str, RawFile]:
    """Every row of ``tenant``'s records, straight from the database (table name -> records):
    each must be a whole record agreeing with its row; every message id an interaction holds has
    its row naming it, and every message row names an interaction that holds its id."""
    assert store.url is not None
    key = _tenant_key(tenant)
    database = Database(store.url)  # no migration: the child made the schema
    raws: dict[str, RawFile] = {}
    try:
        async with database.connect() as connection:
            for table in RECORD_TABLES:
                query = select(table).where(table.c.tenant == key)
                if "seq" in table.c:
                    query = query.order_by(table.c.seq)
                rows = (await connection.execute(query)).all()
                raws[table.name] = RawFile(
                    records=[_whole_record(table.name, row) for row in rows],
                    torn_tail=None,
                    chars=sum(len(row.record) for row in rows),
                )
            links = (
                await connection.execute(
                    select(
                        interaction_messages.c.message_id, interaction_messages.c.interaction_id
                    ).where(interaction_messages.c.tenant == key)
                )
            ).all()
    finally:
        await database.close()
    held = {
        message_id: record["id"]
        for record in raws["interactions"].records
        for message_id in (record["message_id"], *record["reply_message_ids"])
        if message_id
    }
    named = {message_id: interaction_id for message_id, interaction_id in links}
    assert named == held, "the message rows and the interactions' records disagree"
    return raws


async def tenants_in(store: Store) -> list[str]:
    """Every tenant that has a row in any table of the database."""
    assert store.url is not None
    database = Database(store.url)
    try:
        async with database.connect() as connection:
            query = union(*(select(table.c.tenant) for table in metadata.sorted_tables))
            return sorted((await connection.execute(query)).scalars())
    finally:
        await database.close()


def check_sqlite_file(store: Store) -> None:
    """SQLite's own check of the whole file (its write-ahead log replayed), foreign keys too."""
    path = store.sqlite_path
    if path is None:
        return
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


async def read_stored(
    workspace: Path, store: Store, tenant: Tenant | None = None
) -> dict[str, RawFile]:
    """What the crash left, read raw: the store files' lines, or the database's rows."""
    if not store.sql:
        return check_raw_files(workspace, tenant)
    check_sqlite_file(store)
    raws = await read_rows(store, tenant)
    assert any(raw.records for raw in raws.values()), "the child wrote no records at all"
    return raws


# --- what each kind must have kept -----------------------------------------------------------


def history_is_of_its_conversation(interaction: Interaction, heavy: bool) -> bool:
    """A restored history holds whole exchanges of the same conversation, in order."""
    history = interaction.history
    if len(history) % 2:
        return False
    for question, answer in zip(history[::2], history[1::2], strict=True):
        if question.role is not Role.USER or answer.role is not Role.ASSISTANT:
            return False
        number = int(question.content.split()[1][:-1])
        if question.content != child.prompt_text(number):
            return False
        if child.conversation_for(number) != interaction.conversation_id:
            return False
        if answer.content != child.reply_for(question.content, heavy, number):
            return False
    return True


async def check_corrections(crash: Crash, container: Container) -> int:
    log = container.interactions()
    assert sorted(crash.seeds) == list(range(child.SEEDS)), "the seeds were not all answered"
    seeds: dict[int, Interaction] = {}
    for k, interaction_id in crash.seeds.items():
        interaction = await log.find_by_message(interaction_id)
        assert interaction is not None, f"acknowledged seed interaction {k} was lost"
        assert interaction.prompt == child.seed_prompt(k)
        assert interaction.reply == child.reply_for(child.seed_prompt(k), crash.heavy, k)
        assert interaction.message_id == f"seed-msg-{k}"
        seeds[k] = interaction

    restored = await container.corrections().all()
    by_id: dict[str, Correction] = {c.id: c for c in restored}
    assert len(by_id) == len(restored), "a correction was stored twice"
    for correction_id, n in crash.acks:
        correction = by_id.get(correction_id)
        assert correction is not None, f"acknowledged correction {correction_id} (#{n}) was lost"
        seed = seeds[n % child.SEEDS]
        assert correction.corrected == child.correction_text(n)
        assert correction.author_id == child.author_for(n)
        assert correction.message_id == seed.message_id
        assert correction.interaction_id == seed.id
        assert correction.prompt == seed.prompt
        assert correction.wrong_answer == seed.reply
        assert correction.model == seed.model
        assert correction.history == seed.history
    # At most one record per task was in flight: stored, but killed before it was acknowledged.
    assert len(crash.acks) <= len(restored) <= len(crash.acks) + TASKS
    return len(crash.acks)


async def check_interactions(crash: Crash, container: Container) -> int:
    log = container.interactions()
    acked = dict(crash.acks)
    for interaction_id, n in crash.acks:
        interaction = await log.find_by_message(interaction_id)
        assert interaction is not None, f"acknowledged interaction {interaction_id} (#{n}) was lost"
        assert interaction.id == interaction_id
        assert interaction.prompt == child.prompt_text(n)
        assert interaction.reply == child.reply_for(child.prompt_text(n), crash.heavy, n)
        assert interaction.message_id == f"msg-{n}"
        assert interaction.author_id == child.author_for(n)
        assert interaction.conversation_id == child.conversation_for(n)
        assert history_is_of_its_conversation(interaction, crash.heavy)
        by_message = await log.find_by_message(f"msg-{n}")
        assert by_message is not None
        assert by_message.id == interaction_id
    for interaction_id, reply_id in crash.links:
        assert interaction_id in acked  # linked only after its own acknowledgement
        linked = await log.find_by_message(reply_id)
        assert linked is not None, f"acknowledged reply link {reply_id} was lost"
        assert linked.id == interaction_id
        assert reply_id in linked.reply_message_ids
    restored = sum([len(await log.recent(child.conversation_for(c), COUNT)) for c in range(TASKS)])
    assert len(crash.acks) <= restored <= len(crash.acks) + TASKS
    return len(crash.acks) + len(crash.links)


async def check_jobs(crash: Crash, container: Container, raw: RawFile) -> int:
    jobs = container.jobs()
    last_acked: dict[str, int] = {}
    for job_id, version in crash.acks:
        # A job's states are saved one after another, so they are acknowledged in order.
        assert version == last_acked.get(job_id, -1) + 1, f"{job_id}: acks out of order"
        last_acked[job_id] = version
    if crash.store.sql:
        # One row per job, its latest state: the acknowledged one or a later one.
        in_rows = {r["id"]: int(r["metrics"]["step"]) for r in raw.records}
        assert len(in_rows) == len(raw.records), "a job has two rows"
        for job_id, version in crash.acks:
            assert in_rows.get(job_id, -1) >= version, (
                f"acknowledged state {version} of {job_id} was lost"
            )
    else:
        on_disk = {(r["id"], int(r["metrics"]["step"])) for r in raw.records}
        for job_id, version in crash.acks:
            assert (job_id, version) in on_disk, (
                f"acknowledged state {version} of {job_id} was lost"
            )
    for job_id, version in last_acked.items():
        job = await jobs.get(job_id)
        assert job is not None, f"acknowledged job {job_id} was lost"
        latest = int(job.metrics["step"])
        assert latest >= version, f"{job_id}: state {latest} restored, {version} acknowledged"
        assert job == child.job_state(int(job_id.split("-")[1]), latest, crash.heavy)
    restored = await jobs.all()
    assert len(last_acked) <= len(restored) <= len(last_acked) + TASKS
    for job in restored:  # even the unacknowledged ones are whole states
        assert job == child.job_state(
            int(job.id.split("-")[1]), int(job.metrics["step"]), crash.heavy
        )
    return len(crash.acks)


def torn_lines(raws: dict[str, RawFile]) -> dict[str, int]:
    """File name -> the number of its torn last line, for the files that have one."""
    return {name: len(raw.records) + 1 for name, raw in raws.items() if raw.torn_tail is not None}


async def check_appends_still_work(
    workspace: Path,
    kind: str,
    fragments: dict[str, int] | None = None,
    tenant: Tenant | None = None,
    store: Store = JSONL,
) -> None:
    """After the crash, a restarted bot stores new records, and a later restart reads them all;
    a torn line the crash left (``fragments``) stays a line of its own."""
    container = fresh(workspace, store, tenant)
    if kind == "jobs":
        job = child.job_state(9_999, 0, False)
        await container.jobs().save(job)
        assert await fresh(workspace, store, tenant).jobs().get(job.id) == job
    else:
        interactions = container.interactions()
        interaction = Interaction(
            id="int-after-crash",
            conversation_id="after",
            author_id="u-after",
            message_id="msg-after",
            prompt="after the crash",
            reply="still here",
            model="m",
        )
        await interactions.append(interaction)
        correction = Correction(
            id="cor-after-crash",
            interaction_id=interaction.id,
            message_id="msg-after",
            author_id="u-after",
            prompt="after the crash",
            wrong_answer="still here",
            corrected="still here, and right",
            model="m",
        )
        await container.corrections().add(correction)
        again = fresh(workspace, store, tenant)
        assert await again.interactions().find_by_message("msg-after") == interaction
        assert correction in await again.corrections().all()
    if store.sql:
        await read_rows(store, tenant)  # every row still whole, the new ones too
        return
    for path in store_files(workspace, tenant):
        raw = read_raw(path, (fragments or {}).get(path.name))
        assert raw.torn_tail is None, f"{path.name} ends torn after a clean append"


async def restart_and_check(crash: Crash, caplog: pytest.LogCaptureFixture) -> int:
    caplog.set_level(logging.WARNING)
    raws = await read_stored(crash.workspace, crash.store, crash.tenant)
    container = fresh(crash.workspace, crash.store, crash.tenant)
    if crash.kind == "corrections":
        checked = await check_corrections(crash, container)
    elif crash.kind == "interactions":
        checked = await check_interactions(crash, container)
    else:
        checked = await check_jobs(
            crash, container, raws["jobs" if crash.store.sql else "jobs.jsonl"]
        )
    assert_torn_tails_reported(raws, caplog, crash.store)
    await check_appends_still_work(
        crash.workspace, crash.kind, torn_lines(raws), crash.tenant, crash.store
    )
    where = f" in tenant {crash.tenant}" if crash.tenant is not None else ""
    print(  # shown with -s: what each run proved
        f"\n{crash.kind}{' (heavy)' if crash.heavy else ''} on {crash.store.name}{where}: "
        f"killed after {len(crash.acks)} acks "
        f"(aimed at {crash.target}), {checked} acknowledged records checked, torn last lines: "
        f"{torn_lines(raws) or 'none'}, child ran {crash.seconds:.1f} s"
    )
    return checked


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(SEEDS_PER_KIND))
@pytest.mark.parametrize("kind", KINDS)
async def test_every_acknowledged_record_survives_a_sigkill(
    kind: str, seed: int, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crash = await run_and_kill(kind, tmp_path / "workspace", store, seed=seed)

    assert_killed_part_way(crash)
    checked = await restart_and_check(crash, caplog)
    assert checked >= 100


@pytest.mark.parametrize("kind", KINDS)
async def test_a_kill_in_a_heavy_burst_of_fsynced_appends_loses_nothing_acknowledged(
    kind: str, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Records of 8k-64k characters: most appends are multi-page writes, each fsynced (each SQL
    # commit too), so the kill lands in the middle of the disk work, not between two tiny writes.
    crash = await run_and_kill(kind, tmp_path / "workspace", store, seed=100, heavy=True)

    assert_killed_part_way(crash)
    if store.sql:
        # A transaction is whole or absent: nothing to tear by hand. What the kill left (on
        # SQLite: a write-ahead log not yet checkpointed) must read back whole.
        wal = (
            store.sqlite_path.with_name(store.sqlite_path.name + "-wal")
            if store.sqlite_path
            else None
        )
        left = (
            f", a write-ahead log of {wal.stat().st_size:,} bytes" if wal and wal.exists() else ""
        )
        raws = await read_rows(store)
        assert sum(raw.chars for raw in raws.values()) > 100 * 8_000
        print(
            f"\n{kind} (heavy) on {store.name}: the kill left {sum(len(r.records) for r in raws.values())} rows{left}"
        )
        checked = await restart_and_check(crash, caplog)
        assert checked >= 100
        return
    files = sorted(store_files(crash.workspace), key=lambda path: path.stat().st_size)
    assert files[-1].stat().st_size > 100 * 8_000
    # A kill between two pages of a write leaves the record in flight torn (seen with writes of
    # megabytes; rare at this size). Whether or not this kill did, the restart must meet one: the
    # first half of a record, unterminated, at the end of the busiest file.
    data = files[-1].read_bytes()
    whole = data.endswith(b"\n")
    print(f"\n{kind} (heavy): the kill left {'no' if whole else 'a'} torn line")
    if whole:
        last = data[data.rstrip(b"\n").rfind(b"\n") + 1 :]
        with files[-1].open("ab") as handle:
            handle.write(last[: len(last) // 2])
    checked = await restart_and_check(crash, caplog)
    assert checked >= 100


@pytest.mark.parametrize("kind", KINDS)
async def test_two_tenants_killed_at_once_each_keep_their_own_acknowledged_records(
    kind: str, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = tmp_path / "workspace"
    # Both at once on one workspace (and one database), each killed at its own count (seeds
    # apart from the others').
    crashes = await asyncio.gather(
        *(
            run_and_kill(kind, workspace, store, seed=200 + n, tenant=tenant)
            for n, tenant in enumerate(TENANTS)
        )
    )

    raws = {}
    for crash in crashes:
        assert crash.tenant is not None
        assert_killed_part_way(crash)
        raws[crash.tenant] = await read_stored(workspace, store, crash.tenant)
        # Everything acknowledged is there, read back through the tenant's own stores (the same
        # message ids "msg-<n>" and "seed-msg-<k>" in both: each finds its own tenant's).
        assert await restart_and_check(crash, caplog) >= 100
    if store.sql:
        # Each tenant's records are its own rows; the workspace without tenants has none.
        assert await tenants_in(store) == sorted(tenant.key for tenant in TENANTS)
    else:
        # Each tenant's records are in its own folder; the root workspace holds none.
        assert known_tenants(workspace / TENANTS_FOLDER) == sorted(TENANTS)
        assert not list((workspace / "records").glob("*.jsonl"))
    # And none of the other's: no acknowledged id of one is in the other's records. (Jobs have
    # the same ids in both, by design: a tenant's records hold only its own child's saves.)
    for crash, other in (crashes, crashes[::-1]):
        assert crash.tenant is not None
        assert other.tenant is not None
        theirs = raws[other.tenant]
        if kind == "jobs":
            if store.sql:  # a row per job: the jobs its child saved, and none more
                jobs = {job_id for job_id, _ in other.acks}
                rows = len(theirs["jobs"].records)
                assert len(jobs) <= rows <= len(jobs) + TASKS, (rows, len(jobs))
            else:  # a line per save
                lines = len(theirs["jobs.jsonl"].records)
                assert len(other.acks) <= lines <= len(other.acks) + TASKS, (lines, len(other.acks))
        else:
            ids = {record.get("id") for raw in theirs.values() for record in raw.records}
            mine = {ack_id for ack_id, _ in crash.acks} | set(crash.seeds.values())
            assert not ids & mine, f"{crash.tenant}'s records are in {other.tenant}'s stores"


# --- a torn last line, made on purpose -------------------------------------------------------


async def _fill(workspace: Path, kind: str, count: int) -> None:
    """``count`` records of ``kind`` written by the stores, the last one multi-byte-rich."""
    container = fresh(workspace)
    if kind == "jobs":
        for j in range(count):
            await container.jobs().save(child.job_state(j, j % child.JOB_STATES, False))
        return
    log = container.interactions()
    for n in range(count):
        await log.append(_interaction(n))
    if kind == "corrections":
        for n in range(count):
            await container.corrections().add(_correction(n))


def _interaction(n: int) -> Interaction:
    return Interaction(
        id=f"int-{n}",
        conversation_id=child.conversation_for(n),
        author_id=child.author_for(n),
        message_id=f"msg-{n}",
        prompt=child.prompt_text(n),
        reply=child.reply_for(child.prompt_text(n), False, n),
        model="m",
    )


def _correction(n: int) -> Correction:
    return Correction(
        id=f"cor-{n}",
        interaction_id=f"int-{n}",
        message_id=f"msg-{n}",
        author_id=child.author_for(n),
        prompt=child.prompt_text(n),
        wrong_answer=child.reply_for(child.prompt_text(n), False, n),
        corrected=child.correction_text(n),
        model="m",
    )


async def _restored(workspace: Path, kind: str) -> list[Any]:
    container = fresh(workspace)
    if kind == "jobs":
        return list(await container.jobs().all())
    if kind == "corrections":
        return list(await container.corrections().all())
    log = container.interactions()
    return [i for c in range(TASKS) for i in await log.recent(child.conversation_for(c), COUNT)]


def _cuts(last_line: bytes) -> Iterator[tuple[str, int]]:
    """Where to cut the last line (length kept), named."""
    yield "after its first byte", 1
    yield "in the middle", len(last_line) // 2
    multibyte = last_line.index("✓".encode())
    yield "inside a multi-byte character", multibyte + 1
    yield "right before its newline", len(last_line) - 1


FILES = {
    "corrections": "corrections.jsonl",
    "interactions": "interactions.jsonl",
    "jobs": "jobs.jsonl",
}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_torn_last_line_is_skipped_reported_and_appended_after(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    count = 20
    original = tmp_path / "original"
    await _fill(original, kind, count)
    path = records_dir(original) / FILES[kind]
    data = path.read_bytes()
    assert data.endswith(b"\n")
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    last_line = data[start:]
    complete = await _restored(original, kind)
    assert len(complete) == count

    for label, keep in _cuts(last_line):
        workspace = tmp_path / label.replace(" ", "-")
        shutil.copytree(original, workspace)
        torn_path = records_dir(workspace) / FILES[kind]
        with torn_path.open("r+b") as handle:
            handle.truncate(start + keep)  # what a crash in the middle of the write leaves
        whole = label == "right before its newline"  # the record is all there, only unterminated

        caplog.clear()
        with caplog.at_level(logging.WARNING):
            restored = await _restored(workspace, kind)
        assert restored == (complete if whole else complete[:-1]), label
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        if whole:
            assert not warnings, label
        else:
            assert f"{FILES[kind]}: skipped 1 unreadable line(s): {count}" in warnings, (
                label,
                warnings,
            )

        await check_appends_still_work(workspace, kind, {} if whole else {FILES[kind]: count})
        again = await _restored(workspace, kind)
        assert again[: len(restored)] == restored, label
        raw_lines = torn_path.read_bytes().split(b"\n")
        assert raw_lines[-1] == b""
        if not whole:
            # The fragment stays on a line of its own; nothing written after it was glued on.
            assert raw_lines[count - 1] == last_line[:keep], label
