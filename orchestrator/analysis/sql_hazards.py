"""Per-statement hazard analysis of a migration, at the depth of a PostgreSQL migration linter.

`MigrationAnalyser` reads the statements' facts in order (a stream: it keeps
the few facts later statements depend on, never the statements) and returns
the hazards of each: the lock it takes on an existing table and for how
long, rewrites and scans, data it destroys, clients it breaks, access it
changes, transaction mistakes, and statements it could not read. What it
tracks across statements:

* tables created in this migration: no lock, data or client hazard on them
  (nobody else uses them yet);
* BEGIN/COMMIT: CONCURRENTLY inside a transaction fails, a VALIDATE in the
  transaction that added the constraint NOT VALID keeps its lock through the
  scan, a transaction never committed is lost;
* validated `CHECK (col IS NOT NULL)` constraints, which let PostgreSQL 12+
  skip the scan of SET NOT NULL;
* `SET lock_timeout` / `statement_timeout`.

Hazards that newer servers avoid carry `until_postgres` (a non-volatile
DEFAULT rewrites the table before 11); the reviewer judges them for the
server version it is configured with. The hazard kinds are in
`sql_catalogue`; locks in `sql_locks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol

from pydantic import JsonValue

from orchestrator.analysis.sql_catalogue import KINDS
from orchestrator.analysis.sql_facts import StatementFacts, Step
from orchestrator.analysis.sql_locks import Lock, lock_of, rewrites

_MAX_IDENTIFIER: Final = 63
_TYPE_ADVICE: Final = (
    (re.compile(r"^(?:int|integer|int4|smallint|int2|serial|smallserial)\b"), "a 32-bit integer"),
    (re.compile(r"^(?:big)?serial\b|^serial"), "a serial (use an identity column)"),
    (re.compile(r"^(?:varchar|character varying)\s*\("), "varchar(n) (changing n rewrites)"),
    (re.compile(r"^timestamp(?!tz)(?:\s*\(\d+\))?(?:\s+without time zone)?$"), "timestamp without time zone"),
    (re.compile(r"^(?:char|character|bpchar)\b(?!\s+varying)"), "char(n)"),
)  # fmt: skip
_DESTROYS: Final = {
    "drop-table": "drop-table",
    "drop-column": "drop-column",
    "drop-database": "drop-database",
    "drop-schema": "drop-database",
}
_DROPS_USED: Final = frozenset(
    {"drop-view", "drop-function", "drop-procedure", "drop-type", "drop-sequence",
     "drop-trigger", "drop-materialized-view", "drop-domain", "drop-extension", "drop-policy",
     "drop-rule"}
)  # fmt: skip
_RENAMES: Final = frozenset(
    {"rename-table", "rename-column", "set-schema", "rename-view", "rename-type",
     "rename-domain", "rename-function", "rename-index", "rename-sequence", "rename-schema"}
)  # fmt: skip
_ACCESS: Final = frozenset(
    {"grant", "revoke", "create-policy", "alter-policy", "drop-policy",
     "alter-default-privileges"}
)  # fmt: skip
_RLS: Final = frozenset(
    {"enable-row-level-security", "disable-row-level-security", "force-row-level-security",
     "no-force-row-level-security"}
)  # fmt: skip
_CONCURRENT: Final = frozenset({"create-index", "drop-index", "reindex", "detach-partition"})
_LOCKING: Final = frozenset({"ACCESS EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE"})


@dataclass(frozen=True, slots=True)
class Hazard:
    """One hazard of one statement: what happens, under which lock, and what to do instead."""

    kind: str
    statement: int
    line: int
    end_line: int
    table: str
    message: str
    lock: str | None = None
    work: str | None = None
    until_postgres: int | None = None

    def document(self) -> dict[str, JsonValue]:
        """The hazard as the change's facts carry it."""
        kind = KINDS[self.kind]
        found: dict[str, JsonValue] = {
            "hazard": self.kind,
            "group": kind.group,
            "severity": kind.severity,
            "statement": self.statement,
            "line": self.line,
            "end_line": self.end_line,
            "table": self.table,
            "message": self.message,
            "instead": kind.instead,
        }
        if self.lock is not None:
            found["lock"] = self.lock
            found["work"] = self.work
        if self.until_postgres is not None:
            found["until_postgres"] = self.until_postgres
        return found


class MigrationAnalyser:
    """The hazards of each statement of one migration, read in order."""

    def __init__(self, dialect: str) -> None:
        self._postgres = dialect == "postgres"
        self._created: set[str] = set()
        self._begun: int | None = None  # the line of the open BEGIN
        self._not_valid: set[str] = set()  # constraints added NOT VALID in the open transaction
        self._null_checks: dict[str, tuple[str, str]] = {}  # constraint -> (table, column)
        self._not_null_proven: set[tuple[str, str]] = set()
        # constraints validated here whose definition is in an earlier migration, by table
        self._validated_elsewhere: dict[str, str] = {}
        self._wrapped = False  # a COMMIT before any BEGIN: the migration tool opened a transaction
        self._timeouts = False
        self._timeout_reported = False
        self._any_transaction = False

    def feed(self, statement: StatementFacts) -> list[Hazard]:
        """The hazards of the next statement."""
        found: list[Hazard] = []

        def hazard(kind: str, table: str, message: str, lock: Lock | None = None, **extra: int) -> None:
            found.append(
                Hazard(
                    kind,
                    statement.number,
                    statement.line,
                    statement.end_line,
                    table,
                    _within(statement, message),
                    lock.mode if lock else None,
                    lock.work if lock else None,
                    extra.get("until_postgres"),
                )
            )

        if statement.unreadable is not None:
            hazard("unreadable-statement", "", statement.unreadable)
        if statement.control is not None and not statement.deferred:
            self._control(statement, hazard)
        if statement.setting in ("lock_timeout", "statement_timeout"):
            self._timeouts = True
        for step in statement.steps:
            self._step(step, statement, hazard)
        return found

    def finish(self, last: StatementFacts | None) -> list[Hazard]:
        """Hazards only the end of the migration shows: a transaction never committed."""
        if self._begun is None or last is None or self._wrapped:
            return []
        return [
            Hazard(
                "uncommitted-transaction",
                last.number,
                self._begun,
                last.end_line,
                "",
                f"the transaction opened at line {self._begun} is never committed: "
                "nothing in it is applied",
            )
        ]

    def _control(self, statement: StatementFacts, hazard: _Report) -> None:
        self._not_valid.clear()
        if statement.control != "begin":
            self._wrapped = self._wrapped or (self._begun is None and not self._any_transaction)
            self._begun = None
            self._any_transaction = True
            return
        if self._begun is not None:
            hazard("transaction-nesting", "", f"BEGIN inside the transaction opened at line {self._begun}")
        else:
            self._begun = statement.line
        self._any_transaction = True

    def _step(self, step: Step, statement: StatementFacts, hazard: _Report) -> None:  # noqa: C901, PLR0912 - one table of rules
        op, facts, table = step.op, step.facts, step.address
        if op == "create-table" and not statement.deferred:
            self._created.add(table)
            self._advice_for_table(step, statement, hazard)
            return
        if table in self._created:
            return  # nobody reads, writes or waits on a table this migration creates
        lock = lock_of(step) if self._postgres else None
        self._timeout_advice(lock, table, statement, hazard)
        if op in _CONCURRENT and facts.get("concurrently") is True:
            if self._begun is not None and not statement.deferred:
                hazard("concurrently-in-transaction", table,
                       f"{_verb(op)} CONCURRENTLY inside the transaction opened at line "
                       f"{self._begun} fails: PostgreSQL cannot run it in a transaction block")
            return
        if op in _DESTROYS:
            hazard(_DESTROYS[op], table, f"{_verb(op)} {_named(step)} destroys its data for good", lock)
        elif op == "truncate":
            kind = "truncate-cascade" if facts.get("cascade") else "truncate"
            also = " and every table referencing it (CASCADE)" if facts.get("cascade") else ""
            hazard(kind, table, f"TRUNCATE deletes every row of {table}{also}", lock)
        elif op in ("delete-rows", "update-rows") and facts.get("where") is False:
            verb = "DELETE" if op == "delete-rows" else "UPDATE"
            hazard(f"{verb.lower()}-without-where", table, f"{verb} without WHERE changes every row of {table}", lock)
        elif op == "create-index" and self._postgres:
            hazard("index-blocks-writes", table, f"CREATE INDEX {_named(step)} without CONCURRENTLY takes a SHARE lock: every write to {table} waits until the index is built", lock)
        elif op == "drop-index" and self._postgres:
            hazard("drop-index-blocks-table", table, f"DROP INDEX {_named(step)} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table: every read and write waits", lock)
        elif op == "reindex" and self._postgres:
            hazard("reindex-blocks-table", table, f"REINDEX {table} without CONCURRENTLY blocks its table while the index is rebuilt", lock)
        elif op == "detach-partition" and self._postgres:
            hazard("partition-detach-blocks-table", table, f"DETACH PARTITION {_named(step)} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on {table}", lock)
        elif op == "add-column":
            self._add_column(step, lock, hazard)
        elif op == "add-constraint":
            self._add_constraint(step, lock, hazard)
        elif op == "validate-constraint":
            name = step.name or ""
            if name in self._not_valid and self._postgres:
                hazard("validate-in-same-transaction", table, f"VALIDATE CONSTRAINT {name} runs in the transaction that added it NOT VALID: the ACCESS EXCLUSIVE lock of the ADD is held through the whole validation scan", lock)
            if name in self._null_checks:
                self._not_null_proven.add(self._null_checks[name])
            elif name not in self._not_valid:
                self._validated_elsewhere[table] = name
        elif op == "set-not-null" and self._postgres:
            proven = (table, step.name or "") in self._not_null_proven
            maybe = self._validated_elsewhere.get(table)
            spared = (
                " (the validated CHECK (… IS NOT NULL) spares the scan from PostgreSQL 12)" if proven
                else f" (unless {maybe}, validated above, is CHECK ({step.name} IS NOT NULL): that spares the scan from PostgreSQL 12)" if maybe
                else ""
            )
            hazard("set-not-null-scans-table", table, f"SET NOT NULL on {table}.{step.name} scans every row under an ACCESS EXCLUSIVE lock{spared}", lock, **({"until_postgres": 12} if spared else {}))
        elif op == "alter-column-type":
            hazard("column-type-change", table, f"changing the type of {table}.{step.name} rewrites the table while every read and write waits, and breaks clients that read the old type", lock or Lock("ACCESS EXCLUSIVE", "rewrite"))
        elif op in _RENAMES:
            hazard("rename-breaks-clients", table, f"{_verb(op)} {_named(step)}: every query using the old name fails at once, until every client is deployed", lock)
        elif op == "drop-not-null":
            hazard("drop-not-null-breaks-clients", table, f"DROP NOT NULL on {table}.{step.name}: clients that rely on a value get NULLs", lock)
        elif op in _DROPS_USED:
            hazard("drop-breaks-clients", table, f"{_verb(op)} {_named(step)}: whatever still uses it fails", lock)
        elif op in ("vacuum", "cluster") and lock is not None:
            hazard("rewrites-table", table, f"{op.upper()} rewrites {table} under an ACCESS EXCLUSIVE lock", lock)
        elif op in ("set-logged", "set-tablespace", "drop-expression") and lock is not None:
            hazard("rewrites-table", table, f"{_verb(op)} rewrites {table} under an ACCESS EXCLUSIVE lock", lock)
        elif op in ("alter-domain-add-constraint", "alter-domain-set-not-null") and facts.get("not_valid") is not True:
            hazard("domain-constraint-scans-columns", table, f"{_verb(op)} {table} checks every column of every table that uses the domain, under lock", lock)
        elif op == "create-domain" and facts.get("check") is True:
            hazard("domain-with-constraint", table, f"domain {table} carries a CHECK: any later change to it re-checks every column using it")
        elif op == "disable-trigger":
            hazard("trigger-disabled", table, f"DISABLE TRIGGER on {table}: what the trigger enforces (foreign keys, audit, derived values) stops", lock)
        elif op in _ACCESS:
            hazard("access-change", table, _access(step), lock)
        elif op in _RLS:
            hazard("row-level-security-switch", table, _rls(op, table), lock)
        elif op in ("create-role", "create-user", "create-group", "alter-role", "alter-user", "alter-group", "drop-role", "drop-user"):
            powers = facts.get("powers")
            extra = f" with {', '.join(str(p) for p in powers)}" if isinstance(powers, list) and powers else ""
            hazard("role-change", table, f"{_verb(op)} {table}{extra}: who can log in and what they may do changes")
        elif op == "add-enum-value" and facts.get("ordered") is False:
            hazard("enum-value-appended", table, f"ADD VALUE to {table} without BEFORE/AFTER appends it: comparisons and ORDER BY on the enum see it last")
        elif op == "lock-table":
            hazard("explicit-table-lock", table, f"LOCK TABLE {table} holds its lock to the end of the transaction")
        duplicates = facts.get("duplicate_columns")
        if isinstance(duplicates, list) and duplicates:
            hazard("duplicate-column", table, f"column {', '.join(str(d) for d in duplicates)} is assigned twice: the statement fails")

    def _add_column(self, step: Step, lock: Lock | None, hazard: _Report) -> None:
        facts, table, column = step.facts, step.address, f"{step.address}.{step.name}"
        if self._postgres and rewrites(step):
            cause = (
                f"its volatile default {facts.get('volatile_call')}" if facts.get("default_volatile")
                else "a stored generated column" if facts.get("generated") == "stored"
                else "a serial column's nextval() default" if facts.get("serial")
                else "an identity column"
            )
            hazard("rewrites-table", table, f"ADD COLUMN {column} with {cause} rewrites every row under an ACCESS EXCLUSIVE lock", lock)
        elif self._postgres and facts.get("default") is True:
            hazard("rewrites-table", table, f"ADD COLUMN {column} with a DEFAULT rewrites every row under an ACCESS EXCLUSIVE lock before PostgreSQL 11", Lock("ACCESS EXCLUSIVE", "rewrite"), until_postgres=11)
        if facts.get("not_null") and not any(facts.get(k) for k in ("default", "generated", "identity", "serial")):
            hazard("required-column", table, f"ADD COLUMN {column} NOT NULL without a default fails on a table that has rows, and old clients' INSERTs fail", lock)
        if isinstance(facts.get("references"), str) and self._postgres:
            hazard("foreign-key-locks-tables", table, f"ADD COLUMN {column} REFERENCES {facts['references']} takes a SHARE ROW EXCLUSIVE lock on both tables: writes to them wait", Lock("SHARE ROW EXCLUSIVE"))
        if (facts.get("unique") or facts.get("primary_key")) and self._postgres:
            what = "PRIMARY KEY" if facts.get("primary_key") else "UNIQUE"
            hazard("index-built-under-lock", table, f"ADD COLUMN {column} {what} builds its index under an ACCESS EXCLUSIVE lock: every read and write waits", Lock("ACCESS EXCLUSIVE", "index build"))
        self._advice_for_columns(table, [facts], hazard)

    def _add_constraint(self, step: Step, lock: Lock | None, hazard: _Report) -> None:
        facts, table = step.facts, step.address
        kind, name = facts.get("constraint"), str(facts.get("constraint_name") or step.name or "")
        checked = facts.get("checks_not_null")
        if facts.get("not_valid") is True:
            self._not_valid.add(name)
            if isinstance(checked, str):
                self._null_checks[name] = (table, checked)
            return
        if isinstance(checked, str):
            self._not_null_proven.add((table, checked))
        if not self._postgres or facts.get("using_index") is True:
            return
        if kind in ("unique", "primary-key", "exclude"):
            hazard("index-built-under-lock", table, f"ADD CONSTRAINT {name} {str(kind).upper().replace('-', ' ')} builds its index under an ACCESS EXCLUSIVE lock: every read and write to {table} waits", lock)
        elif kind == "foreign-key":
            hazard("constraint-scans-under-lock", table, f"ADD CONSTRAINT {name} FOREIGN KEY without NOT VALID checks every row under a SHARE ROW EXCLUSIVE lock on {table} and {facts.get('references')}: writes to both wait", lock)
        elif kind == "check":
            hazard("constraint-scans-under-lock", table, f"ADD CONSTRAINT {name} CHECK without NOT VALID checks every row of {table} under an ACCESS EXCLUSIVE lock", lock)

    def _timeout_advice(self, lock: Lock | None, table: str, statement: StatementFacts, hazard: _Report) -> None:
        if self._timeouts or self._timeout_reported or lock is None or lock.mode not in _LOCKING:
            return
        self._timeout_reported = True
        hazard("missing-timeouts", table, f"takes a {lock.mode} lock on {table} with no lock_timeout set: behind a long query it queues, and every query on {table} queues behind it")

    def _advice_for_table(self, step: Step, statement: StatementFacts, hazard: _Report) -> None:
        types = step.facts.get("column_types")
        columns = [{"column": c, "type": t} for c, t in types.items()] if isinstance(types, dict) else []
        self._advice_for_columns(step.address, columns, hazard)
        duplicates = step.facts.get("duplicate_columns")
        if isinstance(duplicates, list) and duplicates:
            hazard("duplicate-column", step.address, f"column {', '.join(str(d) for d in duplicates)} is defined twice: the statement fails")
        if step.facts.get("if_not_exists") is False and self._begun is None and not self._any_transaction:
            hazard("not-rerunnable", step.address, f"CREATE TABLE {step.address} without IF NOT EXISTS outside a transaction: a rerun after a partial failure fails")

    def _advice_for_columns(self, table: str, columns: list[dict[str, JsonValue]], hazard: _Report) -> None:
        notes = []
        for column in columns:
            name, typ = str(column.get("column") or ""), str(column.get("type") or "")
            if len(name.encode()) > _MAX_IDENTIFIER:
                hazard("identifier-too-long", table, f"column name {name[:20]}… is over 63 bytes: PostgreSQL cuts it")
            notes.extend(f"{name} is {why}" for pattern, why in _TYPE_ADVICE if pattern.search(typ))
        if len(table.split(".")[-1].encode()) > _MAX_IDENTIFIER:
            hazard("identifier-too-long", table, "the table name is over 63 bytes: PostgreSQL cuts it")
        if notes and self._postgres:
            hazard("column-type-advice", table, "; ".join(notes[:5]))


class _Report(Protocol):
    def __call__(
        self, kind: str, table: str, message: str, lock: Lock | None = None, **extra: int
    ) -> None: ...


def _within(statement: StatementFacts, message: str) -> str:
    if statement.within is None:
        return message
    when = " (runs each time it is called)" if statement.deferred else ""
    return f"{message} — in {statement.within}{when}"


def _verb(op: str) -> str:
    return op.replace("-", " ").upper()


def _named(step: Step) -> str:
    return f"{step.address}.{step.name}" if step.name and step.op.endswith("column") else (step.name or step.address)


def _access(step: Step) -> str:
    facts = step.facts
    if step.op in ("grant", "revoke"):
        who = facts.get("grantees")
        privileges = facts.get("privileges")
        to = f" {'to' if step.op == 'grant' else 'from'} {', '.join(str(w) for w in who)}" if isinstance(who, list) and who else ""
        what = ", ".join(str(p) for p in privileges) if isinstance(privileges, list) and privileges else "privileges"
        public = " (PUBLIC: every role)" if isinstance(who, list) and "public" in who else ""
        return f"{step.op.upper()} {what} on {step.address}{to}{public}: who can read or write it changes"
    return f"{_verb(step.op)} {facts.get('object') or step.name or ''} on {step.address}: which rows each role sees or writes changes"


def _rls(op: str, table: str) -> str:
    if op == "enable-row-level-security":
        return f"ENABLE ROW LEVEL SECURITY on {table}: without a policy for them, every role but the owner sees no rows"
    if op == "disable-row-level-security":
        return f"DISABLE ROW LEVEL SECURITY on {table}: every role with access sees every row"
    if op == "force-row-level-security":
        return f"FORCE ROW LEVEL SECURITY on {table}: the owner is held to the policies too"
    return f"NO FORCE ROW LEVEL SECURITY on {table}: the owner bypasses the policies again"
