"""Storage: the workspace and the record stores, on disk or in memory (``settings.storage``).

Rules:
- Every store is chosen by one mechanism, ``_by_storage``: a ``providers.Selector`` keyed by
  ``settings.storage`` ("filesystem" or "memory"), its two choices the same port's two adapters.
  The record stores are keyed by ``settings.records_adapter``: JSON Lines files, memory, or a
  database (``TRAINERBOT_DATABASE_URL``: SQLite or PostgreSQL), where every record carries its
  tenant (``tenant``: the tenant's key; "workspace" for the workspace without tenants).
- The database is one per process (``database``, shared by every tenant), its schema migrated
  when first used.
- On disk, a workspace's layout is fixed here: ``records/<name>.jsonl`` for each record store
  (``records="jsonl"``), ``datasets/`` and the other folders of ``FilesystemWorkspace``, trained models in ``models/``,
  and the tenants' own workspaces in ``servers/`` (``TENANTS_FOLDER``, never part of this one's
  files). The records' SQLite database, by default ``records.sqlite3`` in the configured
  workspace, holds every tenant's records: it is no file of any workspace (``database_files``),
  never listed, read, archived or adopted by a tenant.
- Each store is a singleton of its container: a tenant's container (``tenants.py``) has its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dependency_injector import providers

from trainerbot.adapters import memory as in_memory
from trainerbot.adapters import sql
from trainerbot.adapters import storage as on_disk
from trainerbot.adapters.learning import FilesystemArtifactStore, InMemoryArtifactStore
from trainerbot.config import Settings

from .configured import Configured, settings

# Each tenant's workspace is a folder here, below the configured workspace.
TENANTS_FOLDER = "servers"
RECORDS_FOLDER = "records"
MODELS_FOLDER = "models"
DATASETS_FOLDER = "datasets"  # FilesystemDatasetStore's, below the workspace


def _by_storage(
    filesystem: providers.Provider[Any], memory: providers.Provider[Any]
) -> providers.Selector[Any]:
    """``filesystem`` or ``memory``, as ``settings.storage`` says."""
    return providers.Selector(settings.provided.storage, filesystem=filesystem, memory=memory)


# What SQLite writes beside a database file (the write-ahead log, its index, a rollback journal).
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def database_files(settings: Settings) -> tuple[str, ...]:
    """The records' SQLite database file and its companions, as paths below ``settings.workspace``
    (``records.sqlite3`` … by default), when the records are in a SQLite file inside it; else
    none."""
    if settings.records_adapter != "sql":
        return ()
    url = sql.async_url(settings.database_url_value)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return ()
    path, workspace = Path(url.database).resolve(), settings.workspace.resolve()
    if not path.is_relative_to(workspace):
        return ()
    name = path.relative_to(workspace).as_posix()
    return (name, *(name + suffix for suffix in _SQLITE_COMPANIONS))


def _workspace_excluded(settings: Settings) -> tuple[str, ...]:
    """What the workspace's files never include: the tenants' folder, the records' database."""
    return (TENANTS_FOLDER, *database_files(settings))


def _in_workspace(*parts: str) -> providers.Callable[Path]:
    """The path ``parts`` below the workspace, found when first asked for."""
    return providers.Callable(Path.joinpath, settings.provided.workspace, *parts)


# The records' database (one per process: every tenant's container shares the root's), and whose
# records a container's stores hold.
_database = providers.Singleton(
    sql.Database, settings.provided.database_url_value, auto_migrate=True
)
_tenant = providers.Object(sql.WORKSPACE_TENANT)


def _record_store(file: str, jsonl: type, memory: type, database: type) -> providers.Selector[Any]:
    """A record store: ``jsonl`` over ``records/<file>``, ``memory``, or ``database``'s table."""
    return providers.Selector(
        settings.provided.records_adapter,
        jsonl=providers.Singleton(jsonl, _in_workspace(RECORDS_FOLDER, file)),
        memory=providers.Singleton(memory),
        sql=providers.Singleton(database, _database, _tenant),
    )


class Storage(Configured):
    """The workspace, the record stores and the trained models' artifacts of one workspace."""

    workspace = _by_storage(
        filesystem=providers.Singleton(
            on_disk.FilesystemWorkspace,
            settings.provided.workspace,
            excluded=providers.Callable(_workspace_excluded, settings),
        ),
        memory=providers.Singleton(in_memory.InMemoryWorkspace),
    )
    datasets = _by_storage(
        filesystem=providers.Singleton(on_disk.FilesystemDatasetStore, settings.provided.workspace),
        memory=providers.Singleton(in_memory.InMemoryDatasetStore),
    )
    # Trained fewshot, local and lora models (models/), answered with when chosen with !use.
    artifacts = _by_storage(
        filesystem=providers.Singleton(FilesystemArtifactStore, _in_workspace(MODELS_FOLDER)),
        memory=providers.Singleton(InMemoryArtifactStore),
    )
    database = _database
    tenant = _tenant
    interactions = _record_store(
        "interactions.jsonl",
        on_disk.JsonlInteractionLog,
        in_memory.InMemoryInteractionLog,
        sql.SqlInteractionLog,
    )
    corrections = _record_store(
        "corrections.jsonl",
        on_disk.JsonlCorrectionStore,
        in_memory.InMemoryCorrectionStore,
        sql.SqlCorrectionStore,
    )
    feedback = _record_store(
        "feedback.jsonl",
        on_disk.JsonlFeedbackStore,
        in_memory.InMemoryFeedbackStore,
        sql.SqlFeedbackStore,
    )
    jobs = _record_store(
        "jobs.jsonl", on_disk.JsonlJobStore, in_memory.InMemoryJobStore, sql.SqlJobStore
    )
    # Who follows each training job: in memory where one process owns the records (memory, JSON
    # Lines), in the database where processes share them.
    job_leases = providers.Selector(
        settings.provided.records_adapter,
        jsonl=providers.Singleton(in_memory.InMemoryJobLeases),
        memory=providers.Singleton(in_memory.InMemoryJobLeases),
        sql=providers.Singleton(sql.SqlJobLeases, _database, _tenant),
    )
    models = _record_store(
        "models.jsonl",
        on_disk.JsonlModelRegistry,
        in_memory.InMemoryModelRegistry,
        sql.SqlModelRegistry,
    )
    tenant_settings = _record_store(
        "settings.jsonl",
        on_disk.JsonlSettingsStore,
        in_memory.InMemorySettingsStore,
        sql.SqlSettingsStore,
    )
