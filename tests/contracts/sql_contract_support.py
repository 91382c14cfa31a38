"""The SQL implementations of the record-store contracts: SQLite and PostgreSQL.

A record-store contract suite parametrizes its opener over its plain implementations (``memory``,
``jsonl``) and ``SQL_BACKENDS``; ``opened`` gives the opener of whichever the test runs::

    @pytest.fixture(params=implementations(IMPLEMENTATIONS))
    async def open_store(request, tmp_path) -> AsyncIterator[Opener[JobStore]]:
        async with opened(request, tmp_path, IMPLEMENTATIONS, SqlJobStore) as opener:
            yield opener

A SQL opener migrates the database once, then each call opens the store over a *new*
``Database`` on the same URL (a reopen proves the records were committed, not just cached);
every ``Database`` it opened is closed when the test ends. Each test has a tenant of its own.

A backend is a name and how to get its URL: ``sqlite`` is a file in the test's ``tmp_path``;
``postgresql`` a fresh database of the suite's PostgreSQL server (``postgres_url``, from
tests/postgres_support.py, asked for only by the tests that run on it; marked slow).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from contract_support import Opener

from trainerbot.adapters.sql import Database, async_url, sqlite_url

T = TypeVar("T")

TENANT = "guild-1"


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "records.sqlite3")


def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # postgresql://trainerbot@127.0.0.1:PORT/<fresh database> -> postgresql+asyncpg://…
    url: str = request.getfixturevalue("postgres_url")
    return async_url(url).render_as_string(hide_password=False)


# Backend name -> (its URL for this test, the marks of its tests).
SQL_BACKENDS: dict[str, tuple[Callable[[pytest.FixtureRequest, Path], str], tuple[Any, ...]]] = {
    "sqlite": (_sqlite, ()),
    "postgresql": (_postgresql, (pytest.mark.slow,)),
}


def implementations(plain: Mapping[str, object]) -> list[Any]:
    """The fixture params: the plain implementations' names, then the SQL backends."""
    return [
        *sorted(plain),
        *(pytest.param(name, marks=marks) for name, (_, marks) in SQL_BACKENDS.items()),
    ]


def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """The async URL of a fresh database of ``backend`` for this test."""
    url_of, _ = SQL_BACKENDS[backend]
    return url_of(request, tmp_path)


@asynccontextmanager
async def sql_opener(
    url: str, make: Callable[[Database, str], T], tenant: str = TENANT
) -> AsyncIterator[Opener[T]]:
    """Opens ``make(Database(url), tenant)`` on each call, after one migration; closes them all."""
    databases: list[Database] = []

    def open_store() -> T:
        database = Database(url)
        databases.append(database)
        return make(database, tenant)

    first = Database(url)
    databases.append(first)
    try:
        await first.migrate()
        yield open_store
    finally:
        for database in databases:
            await database.close()


@asynccontextmanager
async def opened(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    plain: Mapping[str, Callable[[Path], Opener[T]]],
    make: Callable[[Database, str], T],
) -> AsyncIterator[Opener[T]]:
    """The opener of the implementation ``request.param`` names: plain, or SQL over ``make``."""
    name: str = request.param
    if name not in SQL_BACKENDS:
        yield plain[name](tmp_path)
        return
    async with sql_opener(database_url(request, name, tmp_path), make) as opener:
        yield opener
