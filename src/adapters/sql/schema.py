"""The tables of the records, in SQLAlchemy 2 Core: one row per record, every row with its tenant.

Rules every table follows:

- ``tenant`` (the server's key) is part of every row, first in every key and index, and every
  query of the stores filters on it: two tenants on one database never see each other's records.
- ``record`` holds the whole entity as the JSON text of ``adapters._records`` (the very record
  the JSON Lines stores write), so SQL and JSONL stores hold exactly the same entities. The other
  columns are only what a query looks up or orders by.
- ``seq`` is an ever-growing integer primary key: the order records were first written, which is
  the order the ports promise (``recent``, ``all``, ``models``). A record's id is unique per
  tenant, ``(tenant, id)``, so a write of a known id updates the row and keeps its place.

Indexes, so that no query of a store scans a table:

- ``interactions (tenant, conversation_id, seq)``: ``recent``;
- ``interaction_messages`` primary key ``(tenant, message_id)``: ``find_by_message`` (a prompt's
  message id and every reply message id of an answer, each naming its interaction);
- unique ``(tenant, id)`` everywhere: lookups by id and upserts;
- ``(tenant, seq)`` on the append-only tables: ``all()`` of one tenant in order.

Changing a table means a new Alembic revision in ``migrations/versions`` as well; a test checks
that the migrated schema equals this metadata.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Names for constraints and indexes, so migrations and databases agree on them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# A 64-bit sequence on PostgreSQL; on SQLite an INTEGER PRIMARY KEY, the rowid (64-bit as well).
Sequence = BigInteger().with_variant(Integer(), "sqlite")


def _seq() -> Column[int]:
    return Column("seq", Sequence, primary_key=True, autoincrement=True)


def _tenant() -> Column[str]:
    return Column("tenant", String, nullable=False)


def _record() -> Column[str]:
    return Column("record", Text, nullable=False)


interactions = Table(
    "interactions",
    metadata,
    _seq(),
    _tenant(),
    Column("id", String, nullable=False),
    Column("conversation_id", String, nullable=False),
    _record(),
    UniqueConstraint("tenant", "id"),
    Index(None, "tenant", "conversation_id", "seq"),
)

# Platform message id -> the interaction it belongs to: the prompt's message (written with the
# interaction) and each bot message that carried its answer (``link_reply``). The latest link of
# a message id wins, as in the JSON Lines log. An empty message id (a console prompt) is no id and
# never has a row.
interaction_messages = Table(
    "interaction_messages",
    metadata,
    _tenant(),
    Column("message_id", String, nullable=False),
    Column("interaction_id", String, nullable=False),
    PrimaryKeyConstraint("tenant", "message_id"),
    ForeignKeyConstraint(["tenant", "interaction_id"], ["interactions.tenant", "interactions.id"]),
)


def _append_only(name: str) -> Table:
    """A table of records of one kind with an id, listed per tenant in the order first written."""
    return Table(
        name,
        metadata,
        _seq(),
        _tenant(),
        Column("id", String, nullable=False),
        _record(),
        UniqueConstraint("tenant", "id"),
        Index(None, "tenant", "seq"),
    )


corrections = _append_only("corrections")
feedback = _append_only("feedback")
# The latest state of each training job (a save of a known job id replaces its record).
jobs = _append_only("jobs")
# Registered models (registering a known id again replaces its record, keeping its place).
models = _append_only("models")

# Which model answers for a tenant: one row per tenant, the last activation.
active_models = Table(
    "active_models",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("model_id", String, nullable=False),
)

# A tenant's own settings: one row per tenant, the last saved.
tenant_settings = Table(
    "tenant_settings",
    metadata,
    Column("tenant", String, primary_key=True),
    _record(),
)

# Who follows each training job and posts its outcome (``SqlJobLeases``): one row per job ever
# claimed; ``expires_at`` in seconds since the epoch by the database's own clock; ``finished``
# once its outcome was posted (then nobody claims it again).
job_leases = Table(
    "job_leases",
    metadata,
    _tenant(),
    Column("job_id", String, nullable=False),
    Column("holder", String, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("finished", Boolean, nullable=False),
    PrimaryKeyConstraint("tenant", "job_id"),
)
