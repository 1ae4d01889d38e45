"""Alembic's entry point for the audit schema; run it through orchestrator.store.migrate.

The caller hands over a connection that is already inside a transaction and
holds the migration lock, so two processes opening a fresh database take turns
and the second finds the schema at head.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from orchestrator.store.tables import METADATA

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run the audit store's migrations with orchestrator.store.migrate.upgrade(engine)"
    )
context.configure(
    connection=connection,
    target_metadata=METADATA,
    # SQLite can alter tables only by copying them.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
