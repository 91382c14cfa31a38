"""Alembic's environment for the records' migrations: online only, on the connection that
``Database.migrate`` hands over (in ``config.attributes["connection"]``), inside its transaction.

A new revision: change ``schema.py``, then write ``versions/NNNN_<what>.py`` by hand (or
autogenerate it with alembic's ``compare_metadata`` against a database migrated to the previous
revision); ``tests/adapters/sql/test_sql_database.py`` checks that the migrated schema equals
``schema.metadata``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from trainerbot.adapters.sql.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the records' migrations run through Database.migrate(), on its connection")

context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
