"""Corrections, feedback, training jobs, models and settings in SQL, one tenant per store.

Behave as the JSON Lines stores do:

- corrections and feedback come back in the order they were added; adding an id already stored
  keeps the first (a retried or re-imported write is not doubled);
- a job's ``save`` replaces the job's state (an upsert by id); ``all`` gives each job's latest
  state, oldest job (first saved) first;
- registering a model id again replaces its record and keeps its place; ``activate`` needs no
  registered model (a provider's base model can be active); the last activation wins;
- settings: the last saved win; nothing saved is ``TenantSettings()``.

Each method is one transaction; a write is committed before it returns. Lookups use the
``(tenant, id)`` key or the tenant's primary key; ``all``/``models`` read the ``(tenant, seq)``
index: only the tenant's own rows, never the whole table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Table, select

from trainerbot.adapters._records import (
    correction_from_record,
    correction_to_record,
    feedback_from_record,
    feedback_to_record,
    job_from_record,
    job_to_record,
    model_from_record,
    model_to_record,
    settings_from_record,
    settings_record,
)
from trainerbot.core.entities import (
    Correction,
    Feedback,
    TenantSettings,
    TrainedModel,
    TrainingJob,
)
from trainerbot.core.jobs import supersedes
from trainerbot.ports import (
    CorrectionStore,
    FeedbackStore,
    JobStore,
    ModelRegistry,
    SettingsStore,
)

from ._store import SqlStore, dump, load, load_all
from .schema import active_models, corrections, jobs, models, tenant_settings
from .schema import feedback as feedback_table

T = TypeVar("T")


class _RecordTable(SqlStore):
    """Records with an id in one of the ``(seq, tenant, id, record)`` tables."""

    async def _add(self, table: Table, entity_id: str, record: Mapping[str, Any]) -> None:
        async with self._db.begin() as connection:
            await connection.execute(
                self._insert_new(table, ["tenant", "id"], {"id": entity_id, "record": dump(record)})
            )

    async def _put(self, table: Table, entity_id: str, record: Mapping[str, Any]) -> None:
        async with self._db.begin() as connection:
            await connection.execute(
                self._upsert(table, ["tenant", "id"], {"id": entity_id, "record": dump(record)})
            )

    async def _get(
        self, table: Table, reader: Callable[[Mapping[str, Any]], T], entity_id: str
    ) -> T | None:
        query = select(table.c.record).where(
            table.c.tenant == self._tenant, table.c.id == entity_id
        )
        async with self._db.connect() as connection:
            text = (await connection.execute(query)).scalar_one_or_none()
        return None if text is None else load(reader, text, table.name)

    async def _all(self, table: Table, reader: Callable[[Mapping[str, Any]], T]) -> list[T]:
        query = select(table.c.record).where(table.c.tenant == self._tenant).order_by(table.c.seq)
        async with self._db.connect() as connection:
            texts = list((await connection.execute(query)).scalars())
        return load_all(reader, texts, table.name)


class SqlCorrectionStore(_RecordTable, CorrectionStore):
    """One tenant's corrections, in the order they were made."""

    async def add(self, correction: Correction) -> None:
        await self._add(corrections, correction.id, correction_to_record(correction))

    async def all(self) -> list[Correction]:
        return await self._all(corrections, correction_from_record)


class SqlFeedbackStore(_RecordTable, FeedbackStore):
    """One tenant's feedback, in the order it was given."""

    async def add(self, feedback: Feedback) -> None:
        await self._add(feedback_table, feedback.id, feedback_to_record(feedback))

    async def all(self) -> list[Feedback]:
        return await self._all(feedback_table, feedback_from_record)


class SqlJobStore(_RecordTable, JobStore):
    """The latest state of each of one tenant's training jobs."""

    async def save(self, job: TrainingJob) -> None:
        # Read and written in one transaction, the row locked (PostgreSQL; SQLite's writes are
        # serial already), so a late report never overwrites a newer state (``supersedes``).
        query = select(jobs.c.record).where(jobs.c.tenant == self._tenant, jobs.c.id == job.id)
        if self._db.dialect == "postgresql":
            query = query.with_for_update()
        record = {"id": job.id, "record": dump(job_to_record(job))}
        async with self._db.begin() as connection:
            text = (await connection.execute(query)).scalar_one_or_none()
            recorded = None if text is None else load(job_from_record, text, jobs.name)
            if supersedes(job, recorded):
                await connection.execute(self._upsert(jobs, ["tenant", "id"], record))

    async def get(self, job_id: str) -> TrainingJob | None:
        return await self._get(jobs, job_from_record, job_id)

    async def all(self) -> list[TrainingJob]:
        return await self._all(jobs, job_from_record)


class SqlModelRegistry(_RecordTable, ModelRegistry):
    """One tenant's registered models and its active model."""

    async def register(self, model: TrainedModel) -> None:
        await self._put(models, model.id, model_to_record(model))

    async def models(self) -> list[TrainedModel]:
        return await self._all(models, model_from_record)

    async def activate(self, model_id: str) -> None:
        # Not checked against the registered models: a provider's base model can be active too.
        async with self._db.begin() as connection:
            await connection.execute(
                self._upsert(active_models, ["tenant"], {"model_id": model_id})
            )

    async def active(self) -> str | None:
        query = select(active_models.c.model_id).where(active_models.c.tenant == self._tenant)
        async with self._db.connect() as connection:
            model_id: str | None = (await connection.execute(query)).scalar_one_or_none()
        return model_id


class SqlSettingsStore(SqlStore, SettingsStore):
    """One tenant's settings: one row, replaced by each save."""

    async def get(self) -> TenantSettings:
        query = select(tenant_settings.c.record).where(tenant_settings.c.tenant == self._tenant)
        async with self._db.connect() as connection:
            text = (await connection.execute(query)).scalar_one_or_none()
        settings = None if text is None else load(settings_from_record, text, "tenant_settings")
        return settings or TenantSettings()

    async def save(self, settings: TenantSettings) -> None:
        record = dump(settings_record(settings))
        async with self._db.begin() as connection:
            await connection.execute(self._upsert(tenant_settings, ["tenant"], {"record": record}))
