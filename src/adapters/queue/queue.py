"""The training queue: procrastinate's job table in the records' PostgreSQL database.

Rules:
- A queued training job carries its tenant, its job id and its training spec as JSON
  (``spec_to_record``); the worker reads the rest (the job itself) from the tenant's job store.
- A job is queued once (procrastinate's ``queueing_lock`` on the tenant and job id) and never runs
  twice at once (its ``lock``, the same string).
- The queue's tables are procrastinate's own schema, created on first use when missing, under an
  advisory lock so several processes starting together create it once.
- The pool opens on first use; a database that cannot be reached is a ``ServiceError`` in one
  line, without the URL's password (psycopg's messages name the host and user, never it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import procrastinate
import psycopg
import psycopg_pool
from procrastinate.exceptions import ProcrastinateException
from procrastinate.schema import SchemaManager

from trainerbot.adapters._records import spec_to_record
from trainerbot.core.entities import TrainingJob, TrainingSpec
from trainerbot.core.errors import ServiceError

log = logging.getLogger(__name__)

TRAIN_TASK = "trainerbot.train"
QUEUE = "training"
# The PostgreSQL advisory locks: creating the queue's schema, and sweeping stalled jobs.
SCHEMA_LOCK = 0x7472_6169_6E71_01
SWEEP_LOCK = 0x7472_6169_6E71_02
# How long opening the pool may take before the queue is reported unreachable (seconds).
OPEN_TIMEOUT = 10.0

QUEUE_ERRORS: tuple[type[BaseException], ...] = (
    ProcrastinateException,
    psycopg.Error,
    psycopg_pool.PoolTimeout,
    OSError,
)


def conninfo(url: str) -> str:
    """The libpq form of a PostgreSQL URL as users write it (``postgresql://``, ``postgres://``,
    or with SQLAlchemy's driver, ``postgresql+asyncpg://``)."""
    scheme, separator, rest = url.strip().partition("://")
    if not separator or scheme.lower().split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError("the training queue needs a postgresql:// URL")
    return f"postgresql://{rest}"


def unreachable(error: BaseException, done: str) -> ServiceError:
    """The one line a user reads when the queue failed (the details are logged)."""
    cause = error.__cause__ or error
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    log.error("training queue failure: %s: %s", type(cause).__name__, first)
    return ServiceError(f"The training queue could not be reached: nothing was {done}.")


class TrainingQueue:
    """The queue of training jobs on one PostgreSQL database, shared by every tenant."""

    def __init__(self, url: str, *, pool_size: int = 4, open_timeout: float = OPEN_TIMEOUT) -> None:
        self._conninfo = conninfo(url)
        self._pool_size = max(2, pool_size)
        self._open_timeout = open_timeout
        self._pool: psycopg_pool.AsyncConnectionPool | None = None
        # The pool is this queue's own (opened in ``open``), handed to procrastinate.
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector())
        self._opening: asyncio.Lock | None = None

    async def open(self) -> None:
        """Open the pool and make sure the queue's tables exist (once; safe to call again)."""
        if self._pool is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is not None:  # opened while this one waited
                return  # type: ignore[unreachable]
            pool = psycopg_pool.AsyncConnectionPool(
                self._conninfo,
                min_size=1,
                max_size=self._pool_size,
                open=False,
                check=psycopg_pool.AsyncConnectionPool.check_connection,
            )
            try:
                await pool.open(wait=True, timeout=self._open_timeout)
                await self.app.open_async(pool)
                await self._create_schema(pool)
            except QUEUE_ERRORS as error:
                await pool.close()
                raise unreachable(error, "queued") from error
            self._pool = pool

    async def _create_schema(self, pool: psycopg_pool.AsyncConnectionPool) -> None:
        async with _locked(pool, SCHEMA_LOCK) as connection:
            cursor = await connection.execute("SELECT to_regclass('procrastinate_jobs')")
            row = await cursor.fetchone()
            if row is None or row[0] is None:
                log.info("creating the training queue's tables")
                await connection.execute(SchemaManager.get_schema())

    @asynccontextmanager
    async def locked(self, key: int) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A transaction holding the advisory lock ``key`` until the block ends."""
        await self.open()
        assert self._pool is not None
        async with _locked(self._pool, key) as connection:
            yield connection

    async def enqueue(self, tenant: str, job: TrainingJob, spec: TrainingSpec) -> int:
        """Queue ``job`` of ``tenant`` for a worker; its id in the queue."""
        await self.open()
        key = f"{tenant}/{job.id}"
        deferrer = self.app.configure_task(TRAIN_TASK, queue=QUEUE, lock=key, queueing_lock=key)
        try:
            return await deferrer.defer_async(
                tenant=tenant, job_id=job.id, spec=spec_to_record(spec)
            )
        except QUEUE_ERRORS as error:
            raise unreachable(error, "queued") from error

    async def cancel(self, queue_id: int) -> None:
        """Withdraw a waiting job, or ask its worker to stop it (a finished one is left alone)."""
        await self.open()
        try:
            await self.app.job_manager.cancel_job_by_id_async(queue_id, abort=True)
        except QUEUE_ERRORS as error:
            raise unreachable(error, "cancelled") from error

    async def close(self) -> None:
        """Close the pool (the queue may be opened again afterwards)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await self.app.close_async()
            await pool.close()
        except QUEUE_ERRORS as error:
            log.warning("closing the training queue: %s", str(error).splitlines()[0])


@asynccontextmanager
async def _locked(
    pool: psycopg_pool.AsyncConnectionPool, key: int
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with pool.connection() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        yield connection
