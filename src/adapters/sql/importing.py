"""Importing a workspace's JSON Lines records into the database (``trainerbot migrate``).

Rules:
- One tenant's ``records/`` folder at a time, into that tenant's rows: every record of the JSON
  Lines stores (interactions and their reply links, corrections, feedback, jobs, models and the
  active one, the tenant's settings), written through the SQL stores, so the database holds
  what the JSON Lines stores would have shown.
- Running it again changes nothing: interactions, jobs and models are replaced by id with the
  same content, corrections and feedback already there are kept (``add`` keeps the first), a
  reply link or an activation says the same again, the settings are the last ones again.
- The files are only read. A line that cannot be read (torn by a crash, damaged) is counted
  and skipped, as the JSON Lines stores skip it.
- ``import_new`` is the import a start makes by itself: only the workspaces whose tenant has no
  record in the database yet (one written by an earlier release, its records in files), so a
  workspace is imported once and records written since are never mixed with old files again.
  ``import_report`` is the one line that says what was imported (``trainerbot migrate`` prints
  it).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exists, literal, or_, select

from .. import _records as records
from .database import Database
from .interaction_log import SqlInteractionLog
from .record_stores import (
    SqlCorrectionStore,
    SqlFeedbackStore,
    SqlJobStore,
    SqlModelRegistry,
    SqlSettingsStore,
)
from .schema import (
    active_models,
    corrections,
    feedback,
    interactions,
    jobs,
    models,
    tenant_settings,
)

# Whose records the workspace without tenants holds: a key no tenant can have (theirs are
# digits, dm-…, console).
WORKSPACE_TENANT = "workspace"

# The record files of a workspace (``records/``), in the order they are imported: a reply link
# follows its interaction, an activation its model.
RECORD_FILES = (
    "interactions.jsonl",
    "corrections.jsonl",
    "feedback.jsonl",
    "jobs.jsonl",
    "models.jsonl",
    "settings.jsonl",
)


@dataclass
class Imported:
    """What was imported, by record type, and how many lines were skipped."""

    counts: Counter[str] = field(default_factory=Counter)
    skipped: int = 0

    def add(self, other: Imported) -> None:
        self.counts.update(other.counts)
        self.skipped += other.skipped

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _Stores:
    def __init__(self, db: Database, tenant: str) -> None:
        self.interactions = SqlInteractionLog(db, tenant)
        self.corrections = SqlCorrectionStore(db, tenant)
        self.feedback = SqlFeedbackStore(db, tenant)
        self.jobs = SqlJobStore(db, tenant)
        self.models = SqlModelRegistry(db, tenant)
        self.settings = SqlSettingsStore(db, tenant)

    async def put(self, record: Mapping[str, Any]) -> str:
        """Write one record; its type."""
        kind = record.get("type")
        match kind:
            case records.INTERACTION:
                await self.interactions.append(records.interaction_from_record(record))
            case records.REPLY_LINK:
                await self.interactions.link_reply(*records.reply_link_from_record(record))
            case records.CORRECTION:
                await self.corrections.add(records.correction_from_record(record))
            case records.FEEDBACK:
                await self.feedback.add(records.feedback_from_record(record))
            case records.JOB:
                await self.jobs.save(records.job_from_record(record))
            case records.MODEL:
                await self.models.register(records.model_from_record(record))
            case records.ACTIVATE:
                await self.models.activate(records.activate_from_record(record))
            case records.SETTINGS:
                await self.settings.save(records.settings_from_record(record))
            case _:
                raise records.RecordError(f"unknown record type {kind!r}")
        return str(kind)


async def import_records(db: Database, tenant: str, folder: Path) -> Imported:
    """Import the JSON Lines records in ``folder`` (a workspace's ``records/``) as ``tenant``'s."""
    stores = _Stores(db, tenant)
    imported = Imported()
    for name in RECORD_FILES:
        lines = await asyncio.to_thread(_lines, folder / name)
        for line in lines:
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise records.RecordError("not a JSON object")
                kind = await stores.put(record)
            except (ValueError, KeyError, TypeError):  # RecordError is a ValueError
                imported.skipped += 1
                continue
            imported.counts[kind] += 1
    return imported


# In a records folder while ``import_new`` imports it (see there).
IMPORTING = ".importing"


def has_files(folder: Path) -> bool:
    """Whether ``folder`` (a workspace's ``records/``) holds a record file with anything in it."""
    for name in RECORD_FILES:
        try:
            if (folder / name).stat().st_size > 0:
                return True
        except OSError:  # absent, or unreadable: nothing to import from it
            continue
    return False


# Every table that holds a tenant's records (a reply link's row goes with its interaction; the
# job leases are no record of the tenant's).
_RECORD_TABLES = (
    interactions,
    corrections,
    feedback,
    jobs,
    models,
    active_models,
    tenant_settings,
)


async def has_records(db: Database, tenant: str) -> bool:
    """Whether the database holds any record of ``tenant`` (one look-up by index per table)."""
    anything = or_(*(exists().where(table.c.tenant == tenant) for table in _RECORD_TABLES))
    async with db.connect() as connection:
        return bool(await connection.scalar(select(literal(True)).where(anything)))


async def import_new(
    db: Database,
    sources: Iterable[tuple[str, Path]],
    starting: Callable[[str, Path], None] | None = None,
) -> tuple[Imported, int]:
    """Import each ``(tenant, records folder)`` of ``sources`` whose folder holds record files
    and whose tenant has no record in the database yet (``starting`` is told of each, before):
    what was imported, and from how many workspaces. Nothing is read or asked of the database
    for a folder without record files.

    While a folder is imported it holds ``IMPORTING``: an import cut short (the process stopped,
    the database failed) leaves it, and the next ``import_new`` imports that folder again (safe:
    nothing but the import wrote that tenant's records in between), however many records made
    it."""
    imported, workspaces = Imported(), 0
    for tenant, folder in sources:
        if not await asyncio.to_thread(has_files, folder):
            continue
        marker = folder / IMPORTING
        if not await asyncio.to_thread(marker.exists) and await has_records(db, tenant):
            continue
        if starting is not None:
            starting(tenant, folder)
        await asyncio.to_thread(_touch, marker)
        imported.add(await import_records(db, tenant, folder))
        await asyncio.to_thread(_remove, marker)
        workspaces += 1
    return imported, workspaces


def _touch(marker: Path) -> None:
    with suppress(OSError):  # a folder it cannot write to: imported all the same, unmarked
        marker.touch()


def _remove(marker: Path) -> None:
    with suppress(OSError):
        marker.unlink(missing_ok=True)


def import_report(imported: Imported, workspaces: int, db: Database) -> str:
    """The one line that says what was imported, from how many workspaces, into which database
    (its URL without the password)."""
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(imported.counts.items()))
    skipped = f"; {imported.skipped:,} unreadable lines skipped" if imported.skipped else ""
    return (
        f"Imported {imported.total:,} records from {workspaces} workspace(s) into "
        f"{db.url.render_as_string(hide_password=True)}"
        f"{': ' + kinds if kinds else ''}{skipped}."
    )


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip()]
