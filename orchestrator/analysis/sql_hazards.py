"""Per-statement hazard analysis of a migration, at the depth of a PostgreSQL migration linter.

`MigrationAnalyser` reads the statements' facts in order (a stream: it keeps
the few facts later statements depend on, never the statements) and returns
the hazards of each: the lock it takes on an existing table and for how
long, rewrites and scans, data it destroys, clients it breaks, access it
changes, transaction mistakes, and statements it could not read. What it
tracks across statements:

* tables created in this migration: no lock, data or client hazard on them
  (nobody else uses them yet); not those created IF NOT EXISTS, which may
  have been there all along;
* BEGIN/COMMIT: CONCURRENTLY inside a transaction fails, a VALIDATE in the
  transaction that added the constraint NOT VALID keeps its lock through the
  scan, a transaction never committed is lost. Many migration tools run each
  file in a transaction of their own: hazards that only exist then carry
  `assumes_tool_transaction` (until an explicit COMMIT ends it), and the
  reviewer judges them as it is configured;
* validated `CHECK (col IS NOT NULL)` constraints, which let PostgreSQL 12+
  skip the scan of SET NOT NULL;
* `SET lock_timeout` / `statement_timeout`.

Hazards that newer servers avoid carry `until_postgres` (a non-volatile
DEFAULT rewrites the table before 11); the reviewer judges them for the
server version it is configured with. The hazard kinds are in
`sql_catalogue`, the rule of each operation in `sql_rules`, locks in
`sql_locks`, type and naming advice in `sql_advice`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pydantic import JsonValue

from orchestrator.analysis.sql_advice import column_advice, table_advice
from orchestrator.analysis.sql_catalogue import KINDS
from orchestrator.analysis.sql_facts import StatementFacts, Step
from orchestrator.analysis.sql_locks import Lock, lock_of
from orchestrator.analysis.sql_rules import RULES, Context, Found

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
    # only a hazard when the migration tool runs the file in one transaction
    assumed: bool = False

    def document(self) -> dict[str, JsonValue]:
        """The hazard as the change's facts carry it (its kind's severity and safer way are in
        the catalogue, not repeated in every change)."""
        kind = KINDS[self.kind]
        found: dict[str, JsonValue] = {
            "hazard": self.kind,
            "group": kind.group,
            "statement": self.statement,
            "line": self.line,
            "end_line": self.end_line,
            "table": self.table,
            "message": self.message,
        }
        if self.lock is not None:
            found["lock"], found["work"] = self.lock, self.work
        if self.until_postgres is not None:
            found["until_postgres"] = self.until_postgres
        if self.assumed:
            found["assumes_tool_transaction"] = True
        return found


class MigrationAnalyser:
    """The hazards of each statement of one migration, read in order."""

    def __init__(self, dialect: str) -> None:
        self._context = Context(postgres=dialect == "postgres")
        self._created: set[str] = set()
        self._null_checks: dict[str, tuple[str, str]] = {}  # constraint -> (table, column)
        self._timeouts = self._timeout_reported = False
        self._transactions = False  # a BEGIN or COMMIT was seen
        self._wrapped = False  # a COMMIT before any BEGIN: the migration tool opened one

    def feed(self, statement: StatementFacts) -> list[Hazard]:
        """The hazards of the next statement."""
        found: list[Found] = []
        if statement.unreadable is not None:
            found.append(Found("unreadable-statement", statement.unreadable))
        if statement.control is not None and not statement.deferred:
            found.extend(self._control(statement))
        if statement.setting in ("lock_timeout", "statement_timeout"):
            self._timeouts = True
        hazards = [self._hazard(statement, "", f) for f in found]
        for step in statement.steps:
            hazards.extend(
                self._hazard(statement, step.address, f) for f in self._step(step, statement)
            )
        return hazards

    def finish(self, last: StatementFacts | None) -> list[Hazard]:
        """Hazards only the end of the migration shows: a transaction never committed."""
        begun = self._context.begun
        if begun is None or last is None or self._wrapped:
            return []
        message = (
            f"the transaction opened at line {begun} is never committed: nothing in it applies"
        )
        return [Hazard("uncommitted-transaction", last.number, begun, last.end_line, "", message)]

    def _hazard(self, statement: StatementFacts, table: str, found: Found) -> Hazard:
        message = found.message
        if statement.within is not None:
            when = " (runs each time it is called)" if statement.deferred else ""
            message = f"{message} — in {statement.within}{when}"
        lock = found.lock
        return Hazard(
            found.kind, statement.number, statement.line, statement.end_line, table, message,
            lock.mode if lock else None, lock.work if lock else None, found.until_postgres,
            found.assumed,
        )  # fmt: skip

    def _control(self, statement: StatementFacts) -> list[Found]:
        context = self._context
        context.not_valid.clear()
        opened, self._transactions = context.begun, True
        if statement.control != "begin":
            # a COMMIT with no BEGIN before it ends the transaction the migration tool opened
            self._wrapped = self._wrapped or (opened is None and context.tool_transaction)
            context.begun, context.tool_transaction = None, False
            return []
        if opened is not None:
            return [
                Found(
                    "transaction-nesting", f"BEGIN inside the transaction opened at line {opened}"
                )
            ]
        context.begun = statement.line
        return []

    def _step(self, step: Step, statement: StatementFacts) -> list[Found]:
        context, op, table = self._context, step.op, step.address
        if op == "create-table" and not statement.deferred:
            if step.facts.get("if_not_exists") is not True:
                # IF NOT EXISTS may find the table there, rows, readers and all: not new
                self._created.add(table)
            return table_advice(step, context.postgres, in_transaction=self._transactions)
        if table in self._created:
            return []  # nobody reads, writes or waits on a table this migration creates
        self._remember(step)
        lock = lock_of(step) if context.postgres else None
        found = self._timeout_advice(lock, table)
        if op in _CONCURRENT and step.facts.get("concurrently") is True:
            if context.in_transaction and not statement.deferred:
                where = (
                    f"inside the transaction opened at line {context.begun}"
                    if context.begun is not None
                    else "in the transaction the migration tool wraps the file in"
                )
                found.append(Found(
                    "concurrently-in-transaction",
                    f"{op.replace('-', ' ').upper()} CONCURRENTLY {where} fails: PostgreSQL "
                    "cannot run it in a transaction block",
                    assumed=context.begun is None,
                ))  # fmt: skip
            return found
        rule = RULES.get(op)
        if rule is not None:
            found.extend(rule(step, lock, context))
        if op == "add-column":
            found.extend(column_advice(table, [step.facts], context.postgres))
        duplicates = step.facts.get("duplicate_columns")
        if isinstance(duplicates, list) and duplicates:
            names = ", ".join(str(d) for d in duplicates)
            found.append(
                Found("duplicate-column", f"column {names} is assigned twice: the statement fails")
            )
        return found

    def _remember(self, step: Step) -> None:
        """Keep what later statements depend on: NOT VALID constraints, proven NOT NULLs."""
        context, facts, name = self._context, step.facts, step.name or ""
        if step.op == "add-constraint":
            name = str(facts.get("constraint_name") or name)
            checked = facts.get("checks_not_null")
            if facts.get("not_valid") is True and context.in_transaction:
                context.not_valid[name] = context.begun is None
                if isinstance(checked, str):
                    self._null_checks[name] = (step.address, checked)
            elif isinstance(checked, str):
                context.proven_not_null.add((step.address, checked))
        elif step.op == "validate-constraint":
            if name in self._null_checks:
                context.proven_not_null.add(self._null_checks[name])
            elif name not in context.not_valid:
                context.validated_elsewhere[step.address] = name

    def _timeout_advice(self, lock: Lock | None, table: str) -> list[Found]:
        if self._timeouts or self._timeout_reported or lock is None or lock.mode not in _LOCKING:
            return []
        self._timeout_reported = True
        return [
            Found(
                "missing-timeouts",
                f"takes {_article(lock.mode)} {lock.mode} lock on {table} with no lock_timeout "
                f"set: behind a long query it queues, and every query on {table} queues behind it",
            )
        ]


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"
