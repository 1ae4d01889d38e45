"""SQL migrations through the real CLI and store: secrets never reach the record, and a
migration with any readable statement is decided and recorded, not refused."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from orchestrator.store import database_url
from tests.conftest import CliResult
from tests.databases import DIALECTS, fresh_database

SECRET = "Tr0ub4dor-and-3-horses"
MIGRATION = f"""-- rotate the app's credentials and its foreign server
CREATE ROLE app_rw LOGIN PASSWORD '{SECRET}';
ALTER USER app_ro WITH ENCRYPTED PASSWORD '{SECRET}';
CREATE SERVER billing FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db', password '{SECRET}');
CREATE USER MAPPING FOR app_rw SERVER billing OPTIONS (user 'app', password '{SECRET}');
COPY staging_rows FROM PROGRAM 'curl https://loader:{SECRET}@files.example/rows.csv';
SELECT dblink_connect('host=db user=app password={SECRET}');
DO $$ BEGIN EXECUTE 'ALTER ROLE app_rw PASSWORD ''{SECRET}'' LOGIN'; END $$;
"""


def _rows(url: str) -> list[str]:
    """Every stored value of every table, with compressed raw inputs inflated."""
    engine = sa.create_engine(database_url(url))
    values: list[str] = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the catalog
                    values.extend(_text(value) for value in row)
    finally:
        engine.dispose()
    return values


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        data = bytes(value)
        try:
            return zlib.decompress(data).decode("utf-8", "replace")
        except zlib.error:
            return data.decode("utf-8", "replace")
    return str(value)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_passwords_and_connection_strings_never_reach_the_store(
    dialect: str, tmp_path: Path, run_cli: Any
) -> None:
    """CREATE/ALTER ROLE … PASSWORD, server and mapping OPTIONS, COPY and dblink connection
    strings are masked before anything is printed or recorded: not in the output, not in
    any row (raw inputs inflated), not in the SQLite file's bytes."""
    path = tmp_path / "rotate.sql"
    path.write_text(MIGRATION)
    with fresh_database(dialect, tmp_path) as url:
        shown: CliResult = run_cli("review", str(path), "--db", url, "--output", "json")
        assert shown.code == 3, shown.stderr
        decision = json.loads(shown.stdout)
        explained: CliResult = run_cli("explain", decision["decision_id"], "--db", url)
        assert explained.code == 0, explained.stderr
        stored = _rows(url)
        assert any(decision["decision_id"] in value for value in stored)
        assert any("(sensitive)" in value for value in stored)  # the masked raw input is kept
        assert not [value for value in stored if SECRET in value]
        for printed in (shown.stdout, shown.stderr, explained.stdout, explained.stderr):
            assert SECRET not in printed
        if dialect == "sqlite":
            assert SECRET.encode() not in (tmp_path / "audit.db").read_bytes()


@pytest.mark.parametrize(
    ("migration", "rule"),
    [
        # a real auth server's shape: a type change inside a DO block with exception handlers
        (
            "DO $$\nBEGIN\n  ALTER TABLE auth.users ALTER COLUMN phone TYPE text;\n"
            "EXCEPTION WHEN SQLSTATE '0A000' THEN RAISE NOTICE 'in use by a view';\nEND $$;\n",
            "scope.sql.column-type-change",
        ),
        # dynamic SQL the review cannot read: an opaque statement, still a decision
        (
            "DO $$ BEGIN EXECUTE format('ALTER TABLE %I ADD COLUMN x int', tname); END $$;\n",
            "scope.sql.unreadable-statement",
        ),
        ("ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0);\n",
         "scope.sql.domain-constraint-scans-columns"),
    ],
)  # fmt: skip
def test_do_blocks_and_alter_domain_are_decided_and_recorded(
    migration: str, rule: str, tmp_path: Path, run_cli: Any
) -> None:
    """Each gets a recorded escalation naming its hazard, not exit 1 with nothing to sign off."""
    path = tmp_path / "m.sql"
    path.write_text(migration)
    result: CliResult = run_cli("review", str(path), "--output", "json")
    assert result.code == 3, result.stderr
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "escalate"
    rules = {f["rule"] for v in decision["verdicts"] for f in v["findings"]}
    assert rule in rules
    shown: CliResult = run_cli("show", decision["decision_id"])
    assert shown.code in {0, 3}, shown.stderr
    assert rule in shown.stdout


def test_text_output_names_unreadable_statements_as_findings(tmp_path: Path, run_cli: Any) -> None:
    """A statement that cannot be read is a finding with a severity in the text output, and
    the reason says the migration cannot be read, not that a plan is incomplete."""
    path = tmp_path / "m.sql"
    path.write_text("CREATE TABLE t (id bigint);\nALTER TABLE t FROBNICATE;\n")
    result: CliResult = run_cli("review", str(path))
    assert result.code == 3, result.stderr
    assert "[high] scope.sql.unreadable-statement  line 2:" in result.stdout
    assert "The migration holds statements that cannot be read" in result.stdout
    assert "The plan is incomplete" not in result.stdout


def test_a_template_exits_1_with_the_step_to_take(tmp_path: Path, run_cli: Any) -> None:
    """An unrendered template is refused on one line that says to render it first."""
    path = tmp_path / "m.sql"
    path.write_text('ALTER TABLE {{ index .Options "Namespace" }}.users ADD COLUMN c text;\n')
    result: CliResult = run_cli("review", str(path), "--kind", "sql")
    assert result.code == 1
    assert "render the template first" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
