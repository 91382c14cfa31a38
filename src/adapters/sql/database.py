"""One database of records: its async engine, its migrations, and transactions for the stores.

``Database(url)`` takes a SQLAlchemy async URL: ``sqlite+aiosqlite:///path/records.sqlite3``
(``sqlite_url(path)`` makes one) or ``postgresql+asyncpg://user:password@host:port/db``. A plain
``sqlite:///…``, ``postgresql://…`` or ``postgres://…`` gets the async driver. Creating a
``Database`` opens nothing; the first query connects.

Rules:

- ``migrate()`` brings the schema to the newest Alembic revision (``migrations/``). It is
  idempotent and safe to run from several processes at once (SQLite: ``BEGIN IMMEDIATE``;
  PostgreSQL: an advisory lock held for the migration's transaction). With ``auto_migrate``
  (as the application builds it) the first transaction migrates first, once per process.
- ``begin()`` is one write transaction, committed before the block's caller goes on: what a
  store acknowledges is committed. On SQLite it starts with ``BEGIN IMMEDIATE``, so a
  read-then-write never loses to another process's write (the busy timeout waits instead).
- ``connect()`` is for reads: one consistent snapshot, never writes.
- SQLite connections run with ``journal_mode=WAL`` (readers never wait for the writer),
  ``synchronous=FULL`` (a commit survives a power cut), ``foreign_keys=ON`` and a busy timeout.
- A failure of the database becomes ``ServiceError`` with a one-line message a user may read; the
  details are logged, and the URL's password appears in neither.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from trainerbot.core.errors import ServiceError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

# How long a SQLite writer waits for another one before failing (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000
# The key of the PostgreSQL advisory lock that serialises concurrent migrations.
MIGRATION_LOCK = 0x7472_6169_6E65_72  # "trainer"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
_WRITE = "trainerbot_write"  # execution option: this transaction will write
_DISK_FULL_SQLSTATE = "53100"


def sqlite_url(path: Path) -> str:
    """The async URL of the SQLite database file ``path``."""
    return URL.create("sqlite+aiosqlite", database=str(path)).render_as_string(hide_password=False)


def async_url(url: str | URL) -> URL:
    """``url`` with the async driver for its database (aiosqlite, asyncpg) when it names none."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


class Database:
    """The records' database; see the module docstring for what it promises."""

    def __init__(self, url: str | URL, *, auto_migrate: bool = False) -> None:
        self.url = async_url(url)
        self._migrated = not auto_migrate
        self._migrating: asyncio.Lock | None = None
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"trainerbot stores records in SQLite or PostgreSQL, not {self}")
        self._engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=True)
        if self.dialect == "sqlite":
            _configure_sqlite(self._engine)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    __str__ = __repr__

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def migrate(self) -> None:
        """Upgrade the schema to the newest revision (nothing to do when it is there already)."""
        if self.dialect == "sqlite" and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        async with self._transaction("migrated") as connection:
            if self.dialect == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await connection.run_sync(_upgrade_to_head)
        if self.dialect == "sqlite":
            await self._ensure_wal()
        self._migrated = True

    async def _ensure_wal(self) -> None:
        """Make sure the SQLite file is in WAL mode (a connection that lost the race to switch a
        new file skipped it); retried while another process holds the lock."""
        for attempt in range(50):
            try:
                async with self._engine.connect() as connection:
                    # On the driver's own connection: outside a transaction, as the switch must be.
                    driver = (await connection.get_raw_connection()).driver_connection
                    assert driver is not None  # a connection checked out of the pool
                    cursor = await driver.execute("PRAGMA journal_mode=WAL")
                    row = await cursor.fetchone()
                if row is not None and str(row[0]).lower() in ("wal", "memory"):
                    return
            except (SQLAlchemyError, OSError, sqlite3.OperationalError) as error:
                if "locked" not in str(error) or attempt == 49:
                    raise self._service_error(error, "migrated") from error
            await asyncio.sleep(0.05)

    async def ready(self) -> None:
        """Migrate once, if this database was built to (``auto_migrate``) and has not yet."""
        if self._migrated:
            return
        if self._migrating is None:
            self._migrating = asyncio.Lock()
        async with self._migrating:
            if not self._migrated:
                await self.migrate()

    async def close(self) -> None:
        """Close every pooled connection. The database may be used again afterwards."""
        await self._engine.dispose()

    @asynccontextmanager
    async def begin(self, done: str = "saved") -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        ``done`` completes the failure message: "The records could not be <done>…"."""
        await self.ready()
        async with self._transaction(done) as connection:
            yield connection

    @asynccontextmanager
    async def _transaction(self, done: str) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as connection:
                await connection.execution_options(**{_WRITE: True})
                async with connection.begin():
                    yield connection
        except (SQLAlchemyError, OSError) as error:
            raise self._service_error(error, done) from error

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A read-only view of the database (one snapshot on SQLite), closed when the block ends."""
        await self.ready()
        try:
            async with self._engine.connect() as connection:
                yield connection
        except (SQLAlchemyError, OSError) as error:
            raise self._service_error(error, "read") from error

    def _service_error(self, error: BaseException, done: str) -> ServiceError:
        # SQLAlchemy's messages name the statement, never the URL; the driver's own error says
        # what the server said. Only the URL without its password is logged alongside.
        cause = getattr(error, "orig", None) or error
        log.error(
            "database failure on %s: %s: %s",
            self.url.render_as_string(hide_password=True),
            type(cause).__name__,
            str(cause).splitlines()[0] if str(cause) else "",
        )
        if _disk_full(cause):
            return ServiceError(f"The database's disk is full: nothing could be {done}.")
        return ServiceError(f"The records could not be {done}; please try again in a moment.")


def _disk_full(cause: BaseException) -> bool:
    if getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    return getattr(cause, "sqlstate", None) == _DISK_FULL_SQLSTATE


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Pragmas on every new connection, and transactions that SQLAlchemy (not the driver) begins:
    ``BEGIN IMMEDIATE`` for writes, a plain (deferred) ``BEGIN`` for reads."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit transactions off: the "begin" listener issues BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The busy timeout first: switching a new file to WAL needs a lock that another
            # process (migrating the same file) may hold for a moment.
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as error:
                # Two processes opening a new file at once: switching to WAL does not wait
                # for the busy timeout. The other one switches it (WAL is kept in the file),
                # or ``migrate`` does, retrying.
                if "locked" not in str(error):
                    raise
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _upgrade_to_head(connection: Connection) -> None:
    """Alembic ``upgrade head`` on ``connection``, inside its transaction (see migrations/env.py)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def alembic_config() -> Config:
    """The Alembic configuration of the records' migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
