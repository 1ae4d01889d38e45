"""Reading a migration: statements sqlglot keeps as text, DO blocks, function bodies, dumps,
templates, and the text cut into statements."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.analysis.sql_text import split
from orchestrator.errors import InputError
from orchestrator.models import Proposal, Source

SUBMISSION = Submission(source=Source.HUMAN, actor="alice", environment="production")


def sql(text: str) -> Proposal:
    return load_proposal(text.encode(), "m.sql", SUBMISSION, kind="sql")


def facts(proposal: Proposal, index: int = 0) -> dict[str, object]:
    after = proposal.changes[index].after
    assert isinstance(after, dict)
    return after


@pytest.mark.parametrize(
    ("statement", "operation", "address"),
    [
        ("ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0)",
         "alter-domain-add-constraint", "positive"),
        ("ALTER DOMAIN positive OWNER TO admin", "alter-domain", "positive"),
        ("COMMENT ON COLUMN t.c IS 'the total'", "comment", "t"),
        ("CREATE POLICY own ON accounts USING (owner = current_user)", "create-policy",
         "accounts"),
        ("ALTER TABLE t ENABLE ROW LEVEL SECURITY", "enable-row-level-security", "t"),
        ("ALTER TABLE t VALIDATE CONSTRAINT fk", "validate-constraint", "t"),
        ("ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_idx", "add-constraint", "t"),
        ("ALTER TABLE t DETACH PARTITION p CONCURRENTLY", "detach-partition", "t"),
        ("ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok'", "add-enum-value", "mood"),
        ("CREATE EXTENSION IF NOT EXISTS pgcrypto", "create-extension", "pgcrypto"),
        ("CREATE ROLE reader NOLOGIN", "create-role", "reader"),
        ("REINDEX INDEX CONCURRENTLY i", "reindex", "i"),
        ("CREATE TRIGGER audit AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()",
         "create-trigger", "t"),
        ("CLUSTER orders USING orders_pkey", "cluster", "orders"),
        ("LOCK TABLE orders IN SHARE MODE", "lock-table", "orders"),
        ("ALTER TABLE t ADD CHECK (num_nonnulls (a, b) = 1)", "add-constraint", "t"),
        ("ALTER TABLE t ALTER CONSTRAINT fk NOT DEFERRABLE", "alter-constraint", "t"),
        ("DROP FUNCTION hot_rank (numeric, published timestamp with time zone)", "drop-function",
         "hot_rank"),
    ],
)  # fmt: skip
def test_statements_sqlglot_keeps_as_text_are_read_by_their_grammar(
    statement: str, operation: str, address: str
) -> None:
    """ALTER DOMAIN, COMMENT ON, CREATE POLICY, USING INDEX, row-level security … are steps
    with their facts, not unread text, and the migration stays complete."""
    proposal = sql(statement)
    assert proposal.status.complete, proposal.status.notes
    assert [(facts(proposal)["operation"], proposal.changes[0].address)] == [(operation, address)]


def test_a_drop_of_several_objects_is_one_step_each() -> None:
    """DROP INDEX a, b and DROP FUNCTION f, g CASCADE (which sqlglot does not parse) are read."""
    proposal = sql("DROP INDEX a_idx, b_idx; DROP FUNCTION f, g CASCADE;")
    assert proposal.status.complete
    assert [
        (c.address, facts(proposal, i)["operation"]) for i, c in enumerate(proposal.changes)
    ] == [
        ("a_idx", "drop-index"),
        ("b_idx", "drop-index"),
        ("f", "drop-function"),
        ("g", "drop-function"),
    ]
    assert facts(proposal, 3)["cascade"] is True


def test_one_alter_table_mixing_known_and_parsed_actions_is_read_whole() -> None:
    """An action sqlglot reads (ADD COLUMN) next to one it does not (VALIDATE) is still read."""
    proposal = sql("ALTER TABLE t ADD COLUMN c text, VALIDATE CONSTRAINT fk;")
    assert proposal.status.complete
    assert [facts(proposal, i)["operation"] for i in range(2)] == [
        "add-column",
        "validate-constraint",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "START TRANSACTION; CREATE TABLE t (id bigint); COMMIT;",
        "BEGIN WORK; CREATE TABLE t (id bigint); END;",
        "BEGIN ISOLATION LEVEL SERIALIZABLE; CREATE TABLE t (id bigint); COMMIT;",
    ],
)
def test_transaction_control_in_every_spelling_is_tracked(text: str) -> None:
    """START TRANSACTION, BEGIN WORK and END open and close a transaction like BEGIN/COMMIT."""
    proposal = sql(text + " CREATE INDEX CONCURRENTLY i ON u (c);")
    assert proposal.status.complete
    hazards = [h for c in proposal.changes for h in (c.after or {}).get("hazards", [])]  # type: ignore[union-attr]
    assert not [h for h in hazards if h["hazard"] == "concurrently-in-transaction"]


def test_a_do_block_is_opened_and_its_statements_read_at_their_lines() -> None:
    """The SQL inside DO $$ … $$ is reviewed like any statement, control flow peeled off."""
    proposal = sql(
        "-- widen the phone columns\n"
        "DO $$\n"
        "BEGIN\n"
        "  ALTER TABLE users ALTER COLUMN phone TYPE text;\n"
        "EXCEPTION\n"
        "  -- a view depends on it\n"
        "  WHEN SQLSTATE '0A000' THEN RAISE NOTICE 'skipped';\n"
        "END $$;\n"
    )
    assert proposal.status.complete
    (change,) = proposal.changes
    assert change.address == "users"
    assert change.location is not None
    assert change.location.line == 4
    assert facts(proposal)["operation"] == "alter-column-type"
    assert facts(proposal)["within"] == "the DO block at line 2"


def test_control_flow_around_statements_is_peeled_off() -> None:
    """IF … THEN, loops, DECLARE and nested blocks leave the statements they guard."""
    proposal = sql(
        "DO $$ DECLARE n int := 0; BEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN\n"
        "    CREATE TYPE mood AS ENUM ('ok', 'meh');\n"
        "  END IF;\n"
        "  FOR n IN 1..3 LOOP\n"
        "    INSERT INTO ticks VALUES (n);\n"
        "  END LOOP;\n"
        "  PERFORM pg_sleep(0); n := n + 1;\n"
        "END $$;"
    )
    assert proposal.status.complete, proposal.status.notes
    assert [facts(proposal, i)["operation"] for i in range(2)] == ["create-type", "insert-rows"]


def test_dynamic_sql_in_a_do_block_is_an_opaque_statement_with_a_hazard() -> None:
    """EXECUTE of a string built at run time cannot be read: a hazard, never a silent pass."""
    proposal = sql("DO $$ BEGIN EXECUTE 'DROP TABLE ' || quote_ident(t); END $$;")
    assert not proposal.status.complete
    (change,) = proposal.changes
    (hazard,) = facts(proposal)["hazards"]  # type: ignore[misc]
    assert hazard["hazard"] == "unreadable-statement"
    assert "dynamic SQL" in hazard["message"]
    assert change.type == "sql_statement"


def test_execute_of_one_literal_is_read_as_its_statement() -> None:
    """EXECUTE 'DROP TABLE t' is DROP TABLE t."""
    proposal = sql("DO $$ BEGIN EXECUTE 'DROP TABLE legacy'; END $$;")
    assert [(c.address, facts(proposal)["operation"]) for c in proposal.changes] == [
        ("legacy", "drop-table")
    ]


def test_a_do_block_in_another_language_is_opaque() -> None:
    """DO LANGUAGE plpython3u runs code no SQL reader can see."""
    proposal = sql("CREATE TABLE t (id bigint); DO LANGUAGE plpython3u $$ plpy.execute('x') $$;")
    assert not proposal.status.complete
    assert "it is in plpython3u" in proposal.status.notes[0]


def test_a_function_body_is_read_as_what_runs_when_it_is_called() -> None:
    """A PL/pgSQL function's statements are reviewed too, marked as deferred."""
    proposal = sql(
        "CREATE FUNCTION purge() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE n int := 0;\n"
        "BEGIN\n"
        "  DELETE FROM sessions;\n"
        "  RETURN NEW;\n"
        "END $$;"
    )
    read = [(facts(proposal, i)["operation"], facts(proposal, i).get("deferred")) for i in (0, 1)]
    assert read == [("create-function", None), ("delete-rows", True)]
    (hazard,) = facts(proposal, 1)["hazards"]  # type: ignore[misc]
    assert hazard["hazard"] == "delete-without-where"
    assert "function purge (runs each time it is called)" in hazard["message"]
    assert proposal.changes[1].location is not None
    assert proposal.changes[1].location.line == 4


def test_inserts_into_one_table_are_one_change() -> None:
    """A data load of many INSERTs is one change per table, counting its statements."""
    rows = "".join(f"INSERT INTO events (id) VALUES ({i});\n" for i in range(500))  # noqa: S608 - test input
    proposal = sql("CREATE TABLE audit (id bigint);\n" + rows + "INSERT INTO audit VALUES (1);")  # noqa: S608 - test input
    loads = {c.address: c for c in proposal.changes if c.type == "sql_rows"}
    assert set(loads) == {"events", "audit"}
    assert isinstance(loads["events"].after, dict)
    assert loads["events"].after["statements"] == 500
    assert loads["events"].location is not None
    assert (loads["events"].location.line, loads["events"].location.end_line) == (2, 501)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('-- {{ in a comment }}\nALTER TABLE {{ index .Options "Namespace" }}.users ADD c int;', 2),
        ("CREATE TABLE t (id bigint);\n\nDROP TABLE {{ .Values.table }};", 3),
        ("{% if prod %}DROP TABLE t;{% endif %}", 1),
    ],
)
def test_a_template_is_refused_with_the_step_to_take(text: str, line: int) -> None:
    """An unrendered Go or Jinja template is not SQL yet: render it first."""
    with pytest.raises(InputError) as caught:
        sql(text)
    assert f"line {line} holds the template placeholder" in str(caught.value)
    assert "render the template first" in str(caught.value)


def test_a_semicolon_inside_strings_comments_and_bodies_ends_no_statement() -> None:
    """Quotes, comments, E'' escapes and dollar quotes hide their `;` from the splitter."""
    text = (
        "-- a; b\nCREATE TABLE a (x text DEFAULT 'a;b');\n"
        "/* c; */ DO $fn$ BEGIN PERFORM 1; END $fn$;\n"
        "SELECT E'it\\'s; fine', \"odd;name\" FROM t;"
    )
    assert [(c.kind, c.line) for c in split(text)] == [
        ("statement", 2),
        ("statement", 3),
        ("statement", 4),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["CREATE TABLE t (id int)", "'a;b'", "$$x;y$$", "-- c;\n", "/* ; */", ";"]),
        max_size=12,
    )
)
def test_splitting_keeps_every_character_of_the_statements(parts: list[str]) -> None:
    """Whatever the text, each statement cut from it is the text between its `;`s."""
    text = " ".join(parts)
    for chunk in split(text):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.line == text.count("\n", 0, chunk.start) + 1


def test_array_literals_are_not_taken_for_templates() -> None:
    """'{{a,b}}' is a two-dimensional array, not a placeholder: the migration is reviewed."""
    proposal = sql("ALTER TABLE t ADD COLUMN grid text[][] DEFAULT '{{a,b}}';")
    assert proposal.status.complete
