"""SQL migrations: statements into steps, dialects, secrets, and statements not read."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.adapters.sql_split import detect_dialect, looks_like_sql
from orchestrator.errors import InputError
from orchestrator.models import Action, Proposal, Source

FIXTURES = Path(__file__).parent / "fixtures" / "sql"
SUBMISSION = Submission(source=Source.HUMAN, actor="alice", environment="production")


def sql(text: str) -> Proposal:
    return load_proposal(text.encode(), "m.sql", SUBMISSION, kind="sql")


def ops(text: str) -> list[tuple[str, str, Action, str, str | None]]:
    found = []
    for change in sql(text).changes:
        assert isinstance(change.after, dict)
        found.append(
            (
                change.address,
                change.type,
                change.action,
                str(change.after["operation"]),
                change.name,
            )
        )
    return found


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "CREATE TABLE shop.carts (id bigint)",
            ("shop.carts", "sql_table", Action.CREATE, "create-table", None),
        ),
        (
            "DROP TABLE IF EXISTS carts CASCADE",
            ("carts", "sql_table", Action.DELETE, "drop-table", None),
        ),
        ("DROP SCHEMA app CASCADE", ("app", "sql_schema", Action.DELETE, "drop-schema", None)),
        ("TRUNCATE logs", ("logs", "sql_rows", Action.DELETE, "truncate", None)),
        ("DELETE FROM events", ("events", "sql_rows", Action.DELETE, "delete-rows", None)),
        (
            "DELETE FROM events WHERE id < 10",
            ("events", "sql_rows", Action.UPDATE, "delete-rows", None),
        ),
        (
            "UPDATE users SET plan = 'free'",
            ("users", "sql_rows", Action.UPDATE, "update-rows", None),
        ),
        (
            "INSERT INTO users (id) VALUES (1)",
            ("users", "sql_rows", Action.CREATE, "insert-rows", None),
        ),
        (
            "ALTER TABLE users ADD COLUMN nick text",
            ("users", "sql_table", Action.UPDATE, "add-column", "nick"),
        ),
        (
            "ALTER TABLE users DROP COLUMN fax",
            ("users", "sql_table", Action.UPDATE, "drop-column", "fax"),
        ),
        (
            "ALTER TABLE users ALTER COLUMN age TYPE bigint",
            ("users", "sql_table", Action.UPDATE, "alter-column-type", "age"),
        ),
        (
            "ALTER TABLE users ALTER COLUMN age SET NOT NULL",
            ("users", "sql_table", Action.UPDATE, "set-not-null", "age"),
        ),
        (
            "ALTER TABLE users RENAME COLUMN a TO b",
            ("users", "sql_table", Action.UPDATE, "rename-column", "a"),
        ),
        (
            "ALTER TABLE users RENAME TO people",
            ("users", "sql_table", Action.UPDATE, "rename-table", None),
        ),
        (
            "ALTER TABLE users DROP CONSTRAINT users_email_key",
            ("users", "sql_table", Action.UPDATE, "drop-constraint", "users_email_key"),
        ),
        (
            "CREATE INDEX users_email ON users (email)",
            ("users", "sql_index", Action.CREATE, "create-index", "users_email"),
        ),
        (
            "DROP INDEX users_email",
            ("users_email", "sql_index", Action.DELETE, "drop-index", "users_email"),
        ),
        (
            "GRANT SELECT ON TABLE users TO analyst",
            ("users", "sql_grant", Action.UPDATE, "grant", None),
        ),
        (
            "CREATE VIEW active AS SELECT 1",
            ("active", "sql_view", Action.CREATE, "create-view", None),
        ),
    ],
)
def test_statements_become_operations_on_tables(
    statement: str, expected: tuple[str, str, Action, str, str | None]
) -> None:
    """Each DDL or DML statement is one change addressed by its table, with what it does."""
    assert ops(statement) == [expected]


def test_facts_reviewers_need_are_in_the_change() -> None:
    """WHERE, CONCURRENTLY, NOT NULL and DEFAULT are stated, so reviewers need no SQL parser."""
    changes = sql(
        "DELETE FROM a; DELETE FROM a WHERE x; CREATE INDEX CONCURRENTLY i ON a (x);"
        "ALTER TABLE a ADD COLUMN n int NOT NULL; ALTER TABLE a ADD COLUMN d int NOT NULL DEFAULT 0"
    ).changes
    facts = [c.after for c in changes]
    assert [f["where"] for f in facts[:2]] == [False, True]  # type: ignore[index,call-overload]
    assert facts[2]["concurrently"] is True  # type: ignore[index,call-overload]
    assert [(f["not_null"], f["default"]) for f in facts[3:]] == [(True, False), (True, True)]  # type: ignore[index,call-overload]
    assert [f["statement"] for f in facts] == [1, 2, 3, 4, 5]  # type: ignore[index,call-overload]


def test_one_statement_with_several_actions_is_several_changes() -> None:
    """ALTER TABLE with two DROP COLUMNs and a type change is three changes on one table."""
    assert [
        (o[3], o[4])
        for o in ops("ALTER TABLE users DROP COLUMN a, DROP COLUMN b, ALTER COLUMN c TYPE text")
    ] == [("drop-column", "a"), ("drop-column", "b"), ("alter-column-type", "c")]


@pytest.mark.parametrize(
    ("text", "dialect"),
    [
        ("CREATE TABLE t (id serial);", "postgres"),
        ("CREATE TABLE `t` (id int) ENGINE=InnoDB;", "mysql"),
        ("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);", "sqlite"),
        ("-- dialect: mysql\nCREATE TABLE t (id int);", "mysql"),
        ("-- run `diesel migration` to apply\nCREATE TABLE t (id int);", "postgres"),
        ("CREATE TABLE t (id int);", "postgres"),
    ],
)
def test_dialect_comes_from_a_comment_or_the_syntax(text: str, dialect: str) -> None:
    """A `-- dialect:` comment decides; otherwise the syntax; PostgreSQL when nothing tells."""
    assert detect_dialect(text) == dialect
    assert sql(text).format_version == dialect


@pytest.mark.parametrize("name", ["mysql.sql", "sqlite.sql"])
def test_mysql_and_sqlite_migrations_are_read(name: str) -> None:
    """MySQL backticks and MODIFY COLUMN, SQLite AUTOINCREMENT and PRAGMA are understood."""
    proposal = load_proposal((FIXTURES / name).read_bytes(), name, SUBMISSION)
    assert proposal.kind == "sql"
    assert proposal.status.complete
    assert proposal.changes


def test_an_unparseable_statement_is_a_change_with_a_hazard_and_the_rest_still_reviewed() -> None:
    """One broken statement is a change of its own carrying the hazard, at its line; the
    migration is marked incomplete, naming it; the others are still changes."""
    proposal = load_proposal((FIXTURES / "syntax-error.sql").read_bytes(), "s.sql", SUBMISSION)
    assert [c.address for c in proposal.changes] == ["shop.refunds", "shop.refunds", "statement 3"]
    broken = proposal.changes[-1]
    assert broken.type == "sql_statement"
    assert broken.location is not None
    assert broken.location.line == 4
    assert isinstance(broken.after, dict)
    hazards = broken.after["hazards"]
    assert isinstance(hazards, list)
    assert [h["hazard"] for h in hazards if isinstance(h, dict)] == ["unreadable-statement"]
    assert not proposal.status.complete
    (note,) = proposal.status.notes
    assert note.startswith("statement 3 (line 4) cannot be parsed as postgres")


def test_statements_nothing_reads_are_not_trusted() -> None:
    """A statement no grammar here reads is reported as not understood, never guessed at."""
    proposal = sql("CREATE TABLE t (id int); ALTER SYSTEM SET work_mem = 1;")
    assert [c.type for c in proposal.changes] == ["sql_table", "sql_statement"]
    assert not proposal.status.complete
    assert "was not understood (ALTER SYSTEM SET)" in proposal.status.notes[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CREATE TABLE (;", "no SQL statement can be reviewed: statement 1 (line 1)"),
        ("-- only a comment\n", "no SQL statement in the input"),
        ("SELECT 'unterminated", "can be reviewed: statement 1 (line 1): the rest of the file"),
    ],
)
def test_sql_nothing_can_be_read_from_is_an_input_error(text: str, message: str) -> None:
    """A file in which no statement can be reviewed fails with one line, not an empty review."""
    with pytest.raises(InputError) as caught:
        sql(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_transaction_control_and_reads_change_nothing() -> None:
    """BEGIN, SET, SELECT and COMMIT are statements, not changes."""
    proposal = sql("BEGIN; SET lock_timeout = '5s'; SELECT 1; COMMIT;")
    assert proposal.changes == ()
    assert proposal.status.complete


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE users SET password = 'hunter2-correct-horse' WHERE id = 1",
        "CREATE USER app WITH PASSWORD 'hunter2-correct-horse'",
        "ALTER ROLE app PASSWORD 'hunter2-correct-horse'",
        "ALTER USER app WITH ENCRYPTED PASSWORD 'hunter2-correct-horse'",
        "CREATE ROLE app LOGIN PASSWORD 'hunter2-correct-horse' VALID UNTIL 'infinity'",
        "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw "
        "OPTIONS (host 'db', password 'hunter2-correct-horse')",
        "CREATE USER MAPPING FOR app SERVER s "
        "OPTIONS (user 'app', password 'hunter2-correct-horse')",
        "COPY t FROM PROGRAM 'curl https://app:hunter2-correct-horse@files.example/x.csv'",
        "SELECT dblink_connect('host=db user=app password=hunter2-correct-horse')",
        "CREATE SUBSCRIPTION s CONNECTION 'host=db password=hunter2-correct-horse' PUBLICATION p",
        "DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ''hunter2-correct-horse'' LOGIN'; END $$",
    ],
)
def test_literals_holding_secrets_are_masked(statement: str) -> None:
    """A password or connection string is masked in the changes, the notes and the raw input."""
    proposal = sql(f"-- rotate\n{statement};\nCREATE TABLE t (id bigint);")
    kept = str(proposal.document) + str(proposal.raw) + str(proposal.status.notes)
    assert "hunter2-correct-horse" not in kept
    assert "(sensitive)" in str(proposal.raw)


def test_masking_keeps_sql_that_only_names_secrets() -> None:
    """Columns named token_… and values such as 'client_secret_basic' stay readable SQL."""
    proposal = sql(
        "UPDATE clients SET token_endpoint_auth_method = CASE WHEN public THEN 'none' "
        "ELSE 'client_secret_basic' END WHERE token_endpoint_auth_method IS NULL;"
    )
    assert proposal.status.complete
    assert "client_secret_basic" in str(proposal.raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("create table t (id int);", True),
        ("-- migrate\nALTER TABLE t ADD COLUMN x int;", True),
        ("  DELETE FROM t;", True),
        ("Create a new table for the users.\n", False),
        ("ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0);", True),
        ("CREATE POLICY own ON t USING (true);", True),
        ("do $$ begin perform 1; end $$;", True),
        ("REINDEX TABLE CONCURRENTLY t;", True),
        ("UPDATE\n    community c\nSET\n    local = TRUE;", True),
        ("-- re-run the replaceable schema\nSELECT\n    1;\n", True),
        ("SET search_path = app, public;", True),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;", True),
        ("Set up the database first.\n", False),
        ("Do this first, then that.\n", False),
        ("-- DROP TABLE users;\nnothing here", False),
        ("apiVersion: v1\nkind: ConfigMap\n", False),
    ],
)
def test_sql_is_recognised_by_its_statements(text: str, expected: bool) -> None:
    """SQL is told apart from prose by statement keywords at the start of a line."""
    assert looks_like_sql(text) is expected


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="CREATE TABLE DROP ALTER;()'$-\n abc,", max_size=120))
def test_arbitrary_text_never_crashes_the_sql_adapter(text: str) -> None:
    """Whatever the text, --kind sql gives a proposal or a one-line input error."""
    try:
        sql(text or "x")
    except InputError as exc:
        # the property is about whatever error is raised, so it is checked where it is caught
        assert "\n" not in str(exc)  # noqa: PT017
