"""The records' database: migrations, SQLite's settings, tenants kept apart, queries on indexes,
writes that never lose one another, and failures that become ServiceError without a secret.

The store behaviour itself is the record-store contract suites' (tests/contracts/), which run the
SQL stores on SQLite and PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, text

from trainerbot.adapters.sql import (
    Database,
    SqlCorrectionStore,
    SqlFeedbackStore,
    SqlInteractionLog,
    SqlJobStore,
    SqlModelRegistry,
    SqlSettingsStore,
    async_url,
    sqlite_url,
)
from trainerbot.adapters.sql.schema import metadata
from trainerbot.core.entities import (
    ChatMessage,
    Correction,
    Feedback,
    Interaction,
    JobStatus,
    Rating,
    Role,
    TenantSettings,
    TrainedModel,
    TrainingJob,
)
from trainerbot.core.errors import ServiceError

START = datetime(2025, 1, 1, tzinfo=UTC)
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = [SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.slow)]


def url_for(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == SQLITE:
        return sqlite_url(tmp_path / "records.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return async_url(url).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for(request.param, request, tmp_path)


@pytest.fixture
async def open_database(url: str) -> AsyncIterator[Callable[[], Database]]:
    """Opens databases on ``url`` (each a new engine: another process, as far as the file or
    server can tell); closes them all at the end."""
    opened: list[Database] = []

    def open_one() -> Database:
        opened.append(Database(url))
        return opened[-1]

    yield open_one
    for database in opened:
        await database.close()


@pytest.fixture
async def db(open_database: Callable[[], Database]) -> Database:
    database = open_database()
    await database.migrate()
    return database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(sqlite_url(tmp_path / "records.sqlite3"))
    await database.migrate()
    yield database
    await database.close()


def interaction(number: int, conversation: str = "chan-1") -> Interaction:
    return Interaction(
        id=f"int-{number}",
        conversation_id=conversation,
        author_id="user-1",
        message_id=f"m-{number}",
        prompt=f"question {number}",
        reply=f"answer {number}",
        model="gpt-test",
        history=(ChatMessage(Role.USER, "hi"),),
    )


def correction(number: int, tenant: str) -> Correction:
    return Correction(
        id=f"cor-{number}",
        interaction_id=f"int-{number}",
        message_id=f"m-{number}",
        author_id="u-member",
        prompt=f"question {number}",
        wrong_answer="wrong",
        corrected=f"right for {tenant}",
        model="default-model",
    )


def job(job_id: str, tenant: str) -> TrainingJob:
    return TrainingJob(
        id=job_id,
        trainer="fewshot",
        status=JobStatus.QUEUED,
        dataset_name=f"data of {tenant}",
        dataset_version="1a2b3c4d5e6f",
        example_count=3,
        requested_by="u-trainer",
        created_at=START,
        updated_at=START,
    )


# --- migrations --------------------------------------------------------------------------------


async def _schema_differences(db: Database) -> list[Any]:
    async with db.connect() as connection:
        return await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )


async def test_migrating_twice_is_safe_and_leaves_the_newest_revision(db: Database) -> None:
    await db.migrate()
    await db.migrate()

    async with db.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert versions == [("0002",)]


async def test_the_migrated_schema_is_the_metadata(db: Database) -> None:
    assert await _schema_differences(db) == []


async def test_databases_migrating_at_once_all_succeed(
    open_database: Callable[[], Database],
) -> None:
    databases = [open_database() for _ in range(4)]

    await asyncio.gather(*(database.migrate() for database in databases))

    assert await _schema_differences(databases[0]) == []


async def test_migrate_makes_the_folder_of_a_sqlite_file(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "new" / "folder" / "records.sqlite3"))
    try:
        await database.migrate()
    finally:
        await database.close()

    assert (tmp_path / "new" / "folder" / "records.sqlite3").is_file()


# --- SQLite's settings -------------------------------------------------------------------------


async def test_sqlite_runs_in_wal_mode_with_full_sync_foreign_keys_and_a_busy_timeout(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.connect() as connection:

        async def pragma(name: str) -> Any:
            return (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()

        assert await pragma("journal_mode") == "wal"
        assert await pragma("synchronous") == 2  # FULL
        assert await pragma("foreign_keys") == 1
        assert await pragma("busy_timeout") >= 5000


def test_sqlite_url_round_trips_a_path_with_odd_characters(tmp_path: Path) -> None:
    path = tmp_path / "a folder?#%" / "records.sqlite3"

    assert Database(sqlite_url(path)).url.database == str(path)


def test_plain_urls_get_the_async_drivers() -> None:
    assert async_url("postgresql://u@h:5432/d").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/d").drivername == "postgresql+asyncpg"
    assert async_url("sqlite:///x.sqlite3").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql+asyncpg://u@h/d").drivername == "postgresql+asyncpg"


def test_only_sqlite_and_postgresql_are_served() -> None:
    with pytest.raises(ValueError, match="SQLite or PostgreSQL"):
        Database("mysql+aiomysql://u:hunter2@h/d")


# --- tenants -----------------------------------------------------------------------------------


async def test_two_tenants_on_one_database_never_see_each_others_records(db: Database) -> None:
    # The same ids in both tenants: every key is per tenant.
    for tenant in ("guild-a", "guild-b"):
        log = SqlInteractionLog(db, tenant)
        await log.append(interaction(1, conversation=f"chan-{tenant}"))
        await log.link_reply("int-1", f"reply-{tenant}")
        await SqlCorrectionStore(db, tenant).add(correction(1, tenant))
        await SqlFeedbackStore(db, tenant).add(
            Feedback(id="fb-1", author_id="u", text=f"from {tenant}", rating=Rating.UP)
        )
        await SqlJobStore(db, tenant).save(job("job-1", tenant))
        registry = SqlModelRegistry(db, tenant)
        await registry.register(TrainedModel(id=f"fewshot:{tenant}", trainer="fewshot"))
        await registry.activate(f"fewshot:{tenant}")
        await SqlSettingsStore(db, tenant).save(TenantSettings(persona=f"I serve {tenant}."))
    a_only = SqlInteractionLog(db, "guild-a")
    await a_only.append(interaction(2, conversation="chan-guild-a"))
    await a_only.link_reply("int-2", "reply-only-a")

    for tenant, other in (("guild-a", "guild-b"), ("guild-b", "guild-a")):
        log = SqlInteractionLog(db, tenant)
        mine = await log.find_by_message("m-1")
        assert mine is not None
        assert mine.reply_message_ids == (f"reply-{tenant}",)
        assert await log.find_by_message(f"reply-{tenant}") == mine
        assert await log.find_by_message(f"reply-{other}") is None
        assert await log.find_by_message("int-1") == mine
        assert [i.id for i in await log.recent(f"chan-{tenant}", 10)] == (
            ["int-1", "int-2"] if tenant == "guild-a" else ["int-1"]
        )
        assert await log.recent(f"chan-{other}", 10) == []
        assert [c.corrected for c in await SqlCorrectionStore(db, tenant).all()] == [
            f"right for {tenant}"
        ]
        assert [f.text for f in await SqlFeedbackStore(db, tenant).all()] == [f"from {tenant}"]
        assert await SqlJobStore(db, tenant).all() == [job("job-1", tenant)]
        assert await SqlJobStore(db, tenant).get("job-1") == job("job-1", tenant)
        registry = SqlModelRegistry(db, tenant)
        assert [m.id for m in await registry.models()] == [f"fewshot:{tenant}"]
        assert await registry.active() == f"fewshot:{tenant}"
        assert await SqlSettingsStore(db, tenant).get() == TenantSettings(
            persona=f"I serve {tenant}."
        )
    b_log = SqlInteractionLog(db, "guild-b")
    assert await b_log.find_by_message("m-2") is None
    assert await b_log.find_by_message("reply-only-a") is None
    assert await b_log.link_reply("int-2", "reply-b-2") is None
    assert await SqlInteractionLog(db, "guild-a").find_by_message("reply-b-2") is None


def test_a_store_needs_a_tenant(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tenant"):
        SqlJobStore(Database(sqlite_url(tmp_path / "r.sqlite3")), "")


# --- concurrent writers --------------------------------------------------------------------------


async def test_concurrent_reply_links_from_two_engines_are_all_kept(
    open_database: Callable[[], Database],
) -> None:
    first, second = open_database(), open_database()
    await first.migrate()
    await SqlInteractionLog(first, "guild-a").append(interaction(1))
    logs = [SqlInteractionLog(first, "guild-a"), SqlInteractionLog(second, "guild-a")]

    await asyncio.gather(
        *(logs[number % 2].link_reply("int-1", f"reply-{number}") for number in range(20))
    )

    found = await SqlInteractionLog(open_database(), "guild-a").find_by_message("m-1")
    assert found is not None
    assert sorted(found.reply_message_ids) == sorted(f"reply-{n}" for n in range(20))
    for number in range(20):
        assert await logs[0].find_by_message(f"reply-{number}") == found


# --- indexes -----------------------------------------------------------------------------------


async def _plans_of_reads(db: Database, work: Callable[[], Any]) -> list[tuple[str, list[str]]]:
    """Every SELECT ``work`` runs, with SQLite's EXPLAIN QUERY PLAN of it (one line per step)."""
    selects: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await work()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    plans = []
    async with db.connect() as connection:
        for statement, parameters in selects:
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append((statement, [str(row[-1]) for row in rows]))
    return plans


async def test_every_read_of_the_stores_searches_an_index_never_scans_a_table(
    sqlite_db: Database,
) -> None:
    db = sqlite_db
    for tenant in ("guild-a", "guild-b"):
        log = SqlInteractionLog(db, tenant)
        for number in range(1, 30):
            await log.append(interaction(number, conversation=f"chan-{number % 3}"))
        await log.link_reply("int-5", "reply-5")
        await SqlCorrectionStore(db, tenant).add(correction(1, tenant))
        await SqlJobStore(db, tenant).save(job("job-1", tenant))
    log = SqlInteractionLog(db, "guild-a")

    async def reads() -> None:
        assert len(await log.recent("chan-1", 5)) == 5
        assert await log.find_by_message("reply-5") is not None
        assert await log.find_by_message("m-7") is not None
        assert await log.find_by_message("int-9") is not None
        assert await log.link_reply("int-3", "reply-3") is not None
        await SqlCorrectionStore(db, "guild-a").all()
        await SqlFeedbackStore(db, "guild-a").all()
        await SqlJobStore(db, "guild-a").get("job-1")
        await SqlJobStore(db, "guild-a").all()
        await SqlModelRegistry(db, "guild-a").models()
        await SqlModelRegistry(db, "guild-a").active()
        await SqlSettingsStore(db, "guild-a").get()

    plans = await _plans_of_reads(db, reads)

    assert len(plans) >= 12
    for statement, steps in plans:
        where = f"{statement}\n{steps}"
        assert steps, where
        assert all(step.startswith("SEARCH") for step in steps), where
        assert all("INDEX" in step or "PRIMARY KEY" in step for step in steps), where
        assert not any("TEMP B-TREE" in step for step in steps), where  # ordered by the index
    recent, by_reply = plans[0][1], plans[1][1]
    assert recent == [
        "SEARCH interactions USING INDEX ix_interactions_tenant_conversation_id_seq "
        "(tenant=? AND conversation_id=?)"
    ]
    assert any("interaction_messages USING" in step for step in by_reply)


# --- failures ----------------------------------------------------------------------------------


async def test_an_unreachable_server_is_a_one_line_service_error_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Port 9 (discard) on this machine: nothing listens, the connection is refused.
    database = Database("postgresql://trainer:hunter2-secret@127.0.0.1:9/records")
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(ServiceError) as raised:
            await SqlJobStore(database, "guild-a").save(job("job-1", "guild-a"))
        with pytest.raises(ServiceError, match="could not be read"):
            await SqlJobStore(database, "guild-a").all()
    finally:
        await database.close()

    message = str(raised.value)
    assert message == "The records could not be saved; please try again in a moment."
    assert "hunter2" not in repr(database)
    assert "hunter2" not in caplog.text
    assert "127.0.0.1:9" in caplog.text  # the failure is logged, with the URL less its password


async def test_a_database_that_was_never_migrated_is_a_service_error(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "records.sqlite3"))
    try:
        with pytest.raises(ServiceError, match="could not be saved"):
            await SqlCorrectionStore(database, "guild-a").add(correction(1, "guild-a"))
    finally:
        await database.close()


async def test_a_damaged_record_is_skipped_not_fatal(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlCorrectionStore(sqlite_db, "guild-a")
    await store.add(correction(1, "guild-a"))
    await store.add(correction(2, "guild-a"))
    async with sqlite_db.begin() as connection:
        await connection.execute(
            text("UPDATE corrections SET record = '{not json' WHERE id = 'cor-1'")
        )

    assert [c.id for c in await store.all()] == ["cor-2"]
    assert "skipped a record" in caplog.text
