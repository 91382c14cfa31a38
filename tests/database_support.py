"""Reading a workspace's records database as it is on disk (``tests/`` is on the path: its
conftest.py puts it there): what the tests of tenant isolation look at, now that the records are
rows of one SQLite file (``records.sqlite3`` in the workspace, the default) rather than files in
each tenant's folder."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from contextlib import closing
from pathlib import Path

from trainerbot.config import RECORDS_DATABASE


def tenant_rows(workspace: Path, *, without: Collection[str] = ()) -> dict[str, bytes]:
    """Every row of the workspace's own records database (but those of the tables ``without``),
    by the tenant it belongs to, as text (encoded as UTF-8: what a secret is looked for in).
    Opened read-only, and never created: a workspace without the file has no rows."""
    path = workspace / RECORDS_DATABASE
    if not path.exists():
        return {}
    rows: dict[str, list[str]] = {}
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(("sqlite_", "alembic_")) and name not in without
        ]
        for table in tables:
            columns = [column[1] for column in db.execute(f"PRAGMA table_info({table})")]
            assert "tenant" in columns, f"{table} has rows of no tenant"
            for row in db.execute(f"SELECT * FROM {table}"):
                values = dict(zip(columns, row, strict=True))
                rows.setdefault(str(values["tenant"]), []).append(f"{table}: {values!r}")
    return {tenant: "\n".join(texts).encode() for tenant, texts in rows.items()}


def table_rows(workspace: Path, table: str, tenant: str | None = None) -> list[dict[str, object]]:
    """The rows of ``table`` in the workspace's own records database (``tenant``'s, or every
    tenant's), in the order they were written; none when there is no database yet."""
    path = workspace / RECORDS_DATABASE
    if not path.exists():
        return []
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        query = f"SELECT * FROM {table}"
        if tenant is None:
            found = db.execute(query + " ORDER BY seq")
        else:
            found = db.execute(query + " WHERE tenant = ? ORDER BY seq", (tenant,))
        return [dict(row) for row in found]
