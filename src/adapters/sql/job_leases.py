"""Job leases in SQL: one process at a time follows a training job, and one posts its outcome.

Each method is one write transaction on the ``job_leases`` row of ``(tenant, job_id)``:

- ``claim`` is a single upsert — insert the lease, or take the existing row over only if it is
  not finished and is the claimer's own or has expired — then reads back, in the same
  transaction, who holds it. Two processes claiming at once are serialised by the row's key
  (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the unique index and the row lock of ``ON
  CONFLICT``): exactly one of them holds the lease after.
- ``finish`` and ``release`` are compare-and-set updates on the holder: they change nothing
  once another process took the lease over.
- Expiry is decided by the database's clock (PostgreSQL's ``clock_timestamp()``, SQLite's
  ``julianday('now')``), the same for every process, never by a process's own clock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, and_, cast, delete, extract, func, or_, select, update

from trainerbot.ports import JobLeases

from ._store import SqlStore
from .schema import job_leases

_UNIX_EPOCH_JULIAN_DAY = 2440587.5
_SECONDS_A_DAY = 86400.0


class SqlJobLeases(SqlStore, JobLeases):
    """One tenant's job leases (see the module docstring)."""

    def _now(self) -> Any:
        """The database's time now, in seconds since the epoch (a SQL expression)."""
        if self._db.dialect == "postgresql":
            return cast(extract("epoch", func.clock_timestamp()), Float)
        return (func.julianday("now") - _UNIX_EPOCH_JULIAN_DAY) * _SECONDS_A_DAY

    def _row(self, job_id: str) -> Any:
        return and_(job_leases.c.tenant == self._tenant, job_leases.c.job_id == job_id)

    async def claim(self, job_id: str, holder: str, seconds: float) -> bool:
        now = self._now()
        insert = self._insert(job_leases).values(
            tenant=self._tenant,
            job_id=job_id,
            holder=holder,
            expires_at=now + float(seconds),
            finished=False,
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["tenant", "job_id"],
            set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
            where=and_(
                ~job_leases.c.finished,
                or_(job_leases.c.holder == insert.excluded.holder, job_leases.c.expires_at < now),
            ),
        )
        held = select(job_leases.c.holder, job_leases.c.finished).where(self._row(job_id))
        async with self._db.begin("claimed") as connection:
            await connection.execute(upsert)
            row = (await connection.execute(held)).one()
        return bool(row.holder == holder and not row.finished)

    async def finish(self, job_id: str, holder: str) -> bool:
        finished = (
            update(job_leases)
            .where(self._row(job_id), job_leases.c.holder == holder, ~job_leases.c.finished)
            .values(finished=True, expires_at=self._now())
        )
        async with self._db.begin() as connection:
            result = await connection.execute(finished)
        return bool(result.rowcount == 1)

    async def release(self, job_id: str, holder: str) -> None:
        released = delete(job_leases).where(
            self._row(job_id), job_leases.c.holder == holder, ~job_leases.c.finished
        )
        async with self._db.begin() as connection:
            await connection.execute(released)
