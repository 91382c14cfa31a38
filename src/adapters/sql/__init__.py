"""Records in a SQL database (SQLAlchemy 2, async): SQLite by default, PostgreSQL for shared use.

The stores implement the same ports as the JSON Lines stores, storing the same records
(``adapters._records``), one tenant per store instance, on one shared ``Database``::

    db = Database(sqlite_url(workspace / "records.sqlite3"))   # or "postgresql+asyncpg://…"
    await db.migrate()                                         # once, before the stores are used
    SqlInteractionLog(db, tenant)
    SqlCorrectionStore(db, tenant)
    SqlFeedbackStore(db, tenant)
    SqlJobStore(db, tenant)
    SqlJobLeases(db, tenant)      # who follows each training job (one process at a time)
    SqlModelRegistry(db, tenant)
    SqlSettingsStore(db, tenant)
    ...
    await db.close()
"""

from .database import Database, async_url, sqlite_url
from .importing import (
    WORKSPACE_TENANT,
    Imported,
    has_files,
    has_records,
    import_new,
    import_records,
    import_report,
)
from .interaction_log import SqlInteractionLog
from .job_leases import SqlJobLeases
from .record_stores import (
    SqlCorrectionStore,
    SqlFeedbackStore,
    SqlJobStore,
    SqlModelRegistry,
    SqlSettingsStore,
)

__all__ = [
    "WORKSPACE_TENANT",
    "Database",
    "Imported",
    "SqlCorrectionStore",
    "SqlFeedbackStore",
    "SqlInteractionLog",
    "SqlJobLeases",
    "SqlJobStore",
    "SqlModelRegistry",
    "SqlSettingsStore",
    "async_url",
    "has_files",
    "has_records",
    "import_new",
    "import_records",
    "import_report",
    "sqlite_url",
]
