"""The records of a workspace written by an earlier release (JSON Lines files in ``records/``),
imported into the database once, when a program opens the workspace (``import_earlier_records``).

Rules:
- Only with the records in a database (``Settings.records_adapter`` "sql": the workspace's own
  SQLite file by default) and the workspace on disk.
- Each tenant's ``servers/<key>/records/`` becomes that tenant's records. The workspace's own
  ``records/`` (written before tenants) becomes the records of the server the bot will adopt it
  into (``adoption_target``, when that server has no data yet), else those of the workspace
  without tenants (``WORKSPACE_TENANT``), as ``trainerbot migrate`` imports it.
- Once: a tenant that has records in the database already is left alone (``sql.import_new``);
  an import cut short is finished by the next start, and a failed one stops the start (nothing
  is served from a half-imported workspace). The files are kept, only read.
- When no records folder holds a record file, nothing is opened: no database, no thread.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from trainerbot.adapters import sql
from trainerbot.adapters.storage.tenants import known_tenants, usage
from trainerbot.config import Settings
from trainerbot.core.errors import TrainerbotError

from .storage import RECORDS_FOLDER, TENANTS_FOLDER
from .tenants import adoption_target, tenant_workspace

log = logging.getLogger(__name__)


def record_sources(settings: Settings) -> list[tuple[str, Path]]:
    """Every records folder of the workspace, each with the tenant whose records it holds: the
    workspace's own (see the module's rules), then each tenant's, as found on disk."""
    owner = sql.WORKSPACE_TENANT
    target = adoption_target(settings)
    if target is not None and usage(tenant_workspace(settings, target))[0] == 0:
        owner = target.key
    sources = [(owner, settings.workspace / RECORDS_FOLDER)]
    sources += [
        (tenant.key, tenant_workspace(settings, tenant) / RECORDS_FOLDER)
        for tenant in known_tenants(settings.workspace / TENANTS_FOLDER)
    ]
    return sources


def _with_files(settings: Settings) -> list[tuple[str, Path]]:
    return [(key, folder) for key, folder in record_sources(settings) if sql.has_files(folder)]


async def import_earlier_records(settings: Settings) -> str | None:
    """Import the JSON Lines records of every tenant that has none in the database yet, and log
    (a warning) and return the one line that says what was imported (as ``trainerbot migrate``
    prints it); None when there was nothing to import.

    Call it before the workspace is used (the CLI does, before the bot or the console starts): it
    opens its own connection to the database and closes it. If it fails (``TrainerbotError``,
    one line: the database failed, a file could not be read), nothing should be served from the
    workspace: records written then would mix with the ones still to import. The next call goes
    on where it stopped."""
    if settings.records_adapter != "sql" or settings.storage != "filesystem":
        return None
    sources = await asyncio.to_thread(_with_files, settings)
    if not sources:
        return None
    db = sql.Database(settings.database_url_value)
    started: list[str] = []

    def starting(tenant: str, folder: Path) -> None:
        if not started:  # a large workspace takes minutes (each record is one commit)
            log.warning(
                "Importing the records an earlier release kept in JSON Lines files into %s, "
                "once; the files are kept.",
                db.url.render_as_string(hide_password=True),
            )
        started.append(tenant)
        log.info("importing %s as the records of %s", folder, tenant)

    try:
        await db.migrate()
        imported, workspaces = await sql.import_new(db, sources, starting)
    except (TrainerbotError, OSError) as error:
        cause = str(error).strip() or type(error).__name__
        cause += "" if cause.endswith((".", "!", "?")) else "."
        raise TrainerbotError(
            "The records an earlier release kept in JSON Lines files could not be imported: "
            f"{cause} Start again once that is fixed: the import goes on where it stopped."
        ) from error
    finally:
        await db.close()
    if not workspaces:
        return None
    report = sql.import_report(imported, workspaces, db)
    log.warning("%s", report)
    return report


def import_earlier_records_or_exit(settings: Settings) -> str | None:
    """``import_earlier_records`` for a program's entry point, outside any event loop: a failure
    ends the program with its one line (``SystemExit``), before anything is served."""
    try:
        return asyncio.run(import_earlier_records(settings))
    except TrainerbotError as error:
        raise SystemExit(f"trainerbot: {error}") from None
