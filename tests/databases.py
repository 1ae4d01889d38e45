"""Real test databases: a SQLite file, or a fresh PostgreSQL schema dropped afterwards.

Every store-backed test module runs on both; PostgreSQL cases skip with the
reason when COMMANDER_TEST_POSTGRES_URL names no server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from orchestrator.store import database_url

PG_URL = os.environ.get("COMMANDER_TEST_POSTGRES_URL")
PG_SKIP = "set COMMANDER_TEST_POSTGRES_URL to run store tests on PostgreSQL"
# The dialects a database fixture is parametrised over.
DIALECTS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP)],
    ),
]


def with_search_path(url: str, schema: str) -> str:
    """The URL with its connections pointed at one schema."""
    parsed = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@contextmanager
def fresh_database(dialect: str, folder: Path) -> Iterator[str]:
    """An empty database's URL: a SQLite file in `folder`, or a PostgreSQL schema dropped after."""
    if dialect == "sqlite":
        yield f"sqlite:///{folder / 'audit.db'}"
        return
    assert PG_URL is not None
    schema = f"commander_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(database_url(PG_URL))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def run_sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run SQL outside the store, as someone with direct database access would."""
    engine = sa.create_engine(database_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()
