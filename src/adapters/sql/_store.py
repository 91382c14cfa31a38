"""What the SQL stores share: their database and tenant, records as JSON text, and upserts.

Every store is bound to one tenant at construction; every statement it runs filters on that
tenant (or writes it), so tenants sharing a database never see each other's records.
A stored record that cannot be read (damaged JSON, an unknown version) is skipped with a warning,
as the JSON Lines stores skip a damaged line: it reads as absent, never as a half-valid entity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from trainerbot.adapters._records import RecordError

from .database import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a damaged record raises while being read: skipped, never fatal.
_RECORD_ERRORS = (RecordError, ValueError, KeyError, TypeError)


def dump(record: Mapping[str, Any]) -> str:
    """The JSON text of a record (the ``record`` column)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def load(reader: Callable[[Mapping[str, Any]], T], text: str, table: str) -> T | None:
    """The entity ``reader`` makes of the JSON text ``text``; None (and a warning) if damaged."""
    try:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise RecordError("a record must be a JSON object")
        return reader(record)
    except _RECORD_ERRORS as error:
        log.warning("%s: skipped a record: %s", table, error)
        return None


def load_all(reader: Callable[[Mapping[str, Any]], T], texts: Iterable[str], table: str) -> list[T]:
    """The entities of the readable records among ``texts``, in order."""
    entities = (load(reader, text, table) for text in texts)
    return [entity for entity in entities if entity is not None]


class SqlStore:
    """Base of the SQL stores: one database, one tenant."""

    def __init__(self, db: Database, tenant: str) -> None:
        if not tenant:
            raise ValueError("a SQL store needs a tenant")
        self._db = db
        self._tenant = tenant

    @property
    def tenant(self) -> str:
        return self._tenant

    def _insert(self, table: Table) -> Any:
        """An INSERT of ``table`` in the database's dialect, which offers ``on_conflict_do_*``."""
        insert: Insert = (
            postgresql.insert(table) if self._db.dialect == "postgresql" else sqlite.insert(table)
        )
        return insert

    def _upsert(self, table: Table, keys: list[str], values: dict[str, Any]) -> Any:
        """INSERT ``values``, or on a row with the same ``keys`` update its other columns."""
        insert = self._insert(table).values(tenant=self._tenant, **values)
        changed = {name: insert.excluded[name] for name in values if name not in keys}
        return insert.on_conflict_do_update(index_elements=keys, set_=changed)

    def _insert_new(self, table: Table, keys: list[str], values: dict[str, Any]) -> Any:
        """INSERT ``values`` unless a row with the same ``keys`` exists (then keep that row)."""
        insert = self._insert(table).values(tenant=self._tenant, **values)
        return insert.on_conflict_do_nothing(index_elements=keys)
