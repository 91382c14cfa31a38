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
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip()]
