"""The hazard rules of one step, given what the migration has done before it.

Each rule reads one step's facts (`sql_facts.Step`) and the migration's
state so far (`Context`, kept by `sql_hazards.MigrationAnalyser`) and says
which hazards the step carries, in words a reviewer can act on: what
happens, on which table, under which lock. `RULES` maps an operation to its
rule; the hazard kinds themselves are in `sql_catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

from orchestrator.analysis.sql_facts import Step
from orchestrator.analysis.sql_locks import ACCESS_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, Lock, rewrites


@dataclass(frozen=True, slots=True)
class Found:
    """A hazard a rule found: its kind, what happens, the lock, the version that avoids it."""

    kind: str
    message: str
    lock: Lock | None = None
    until_postgres: int | None = None
    assumed: bool = False  # a hazard only inside the transaction a migration tool opens


@dataclass(slots=True)
class Context:
    """What the migration did before this step, as far as the rules need it."""

    postgres: bool
    begun: int | None = None  # the line of the open BEGIN
    # Until a COMMIT says otherwise, the tool running the migration may have opened one.
    tool_transaction: bool = True
    # added NOT VALID in the open transaction -> whether that transaction is only assumed
    not_valid: dict[str, bool] = field(default_factory=dict)
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)
    validated_elsewhere: dict[str, str] = field(default_factory=dict)  # table -> constraint

    @property
    def in_transaction(self) -> bool:
        """Whether the statement runs in a transaction, explicit or the tool's."""
        return self.begun is not None or self.tool_transaction


Rule = Callable[[Step, Lock | None, Context], Iterator[Found]]
_REWRITE: Final = Lock(ACCESS_EXCLUSIVE, "rewrite")


def _drop(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    kind = {"drop-schema": "drop-database"}.get(step.op, step.op)
    yield Found(kind, f"{_verb(step.op)} {_named(step)} destroys its data for good", lock)


def _truncate(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    if step.facts.get("cascade"):
        yield Found(
            "truncate-cascade",
            f"TRUNCATE … CASCADE deletes every row of {step.address} and of every table "
            "that references it",
            lock,
        )
    else:
        yield Found("truncate", f"TRUNCATE deletes every row of {step.address}", lock)


def _rows(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    if step.facts.get("where") is False:
        verb = "DELETE" if step.op == "delete-rows" else "UPDATE"
        yield Found(
            f"{verb.lower()}-without-where",
            f"{verb} without WHERE changes every row of {step.address}",
            lock,
        )


def _add_column(step: Step, lock: Lock | None, context: Context) -> Iterator[Found]:
    facts, column = step.facts, f"{step.address}.{step.name}"
    if context.postgres and rewrites(step):
        yield Found(
            "rewrites-table",
            f"ADD COLUMN {column} with {_rewrite_cause(step)} rewrites every row under an "
            "ACCESS EXCLUSIVE lock",
            lock,
        )
    elif context.postgres and facts.get("default") is True:
        yield Found(
            "rewrites-table",
            f"ADD COLUMN {column} with a DEFAULT rewrites every row under an ACCESS EXCLUSIVE "
            "lock before PostgreSQL 11",
            _REWRITE,
            until_postgres=11,
        )
    filled = ("default", "generated", "identity", "serial")
    if facts.get("not_null") and not any(facts.get(k) for k in filled):
        yield Found(
            "required-column",
            f"ADD COLUMN {column} NOT NULL without a default fails on a table that has rows, "
            "and old clients' INSERTs fail",
            lock,
        )
    if isinstance(facts.get("references"), str) and context.postgres:
        yield Found(
            "foreign-key-locks-tables",
            f"ADD COLUMN {column} REFERENCES {facts['references']} takes a SHARE ROW EXCLUSIVE "
            "lock on both tables: writes to them wait",
            Lock(SHARE_ROW_EXCLUSIVE),
        )
    if (facts.get("unique") or facts.get("primary_key")) and context.postgres:
        what = "PRIMARY KEY" if facts.get("primary_key") else "UNIQUE"
        yield Found(
            "index-built-under-lock",
            f"ADD COLUMN {column} {what} builds its index under an ACCESS EXCLUSIVE lock: every "
            "read and write waits",
            Lock(ACCESS_EXCLUSIVE, "index build"),
        )


def _rewrite_cause(step: Step) -> str:
    facts = step.facts
    if facts.get("default_volatile"):
        return f"the volatile default {facts.get('volatile_call')}"
    if facts.get("generated") == "stored":
        return "a stored generated value"
    if facts.get("serial"):
        return "a serial's nextval() default"
    return "an identity"


def _add_constraint(step: Step, lock: Lock | None, context: Context) -> Iterator[Found]:
    facts, table = step.facts, step.address
    kind, name = facts.get("constraint"), _constraint_name(step)
    name = f" {name}" if name else ""
    if not context.postgres or facts.get("using_index") is True or facts.get("not_valid"):
        return
    if kind in ("unique", "primary-key", "exclude"):
        yield Found(
            "index-built-under-lock",
            f"ADD CONSTRAINT{name} {str(kind).upper().replace('-', ' ')} builds its index under "
            f"an ACCESS EXCLUSIVE lock: every read and write to {table} waits",
            lock,
        )
    elif kind == "foreign-key":
        yield Found(
            "constraint-scans-under-lock",
            f"ADD CONSTRAINT{name} FOREIGN KEY without NOT VALID checks every row under a SHARE "
            f"ROW EXCLUSIVE lock on {table} and {facts.get('references')}: writes to both wait",
            lock,
        )
    elif kind == "check":
        yield Found(
            "constraint-scans-under-lock",
            f"ADD CONSTRAINT{name} CHECK without NOT VALID checks every row of {table} under an "
            "ACCESS EXCLUSIVE lock",
            lock,
        )


def _validate(step: Step, lock: Lock | None, context: Context) -> Iterator[Found]:
    name = step.name or ""
    if name in context.not_valid and context.postgres:
        yield Found(
            "validate-in-same-transaction",
            f"VALIDATE CONSTRAINT {name} runs in the transaction that added it NOT VALID: the "
            "ACCESS EXCLUSIVE lock of the ADD is held through the whole validation scan",
            lock,
            assumed=context.not_valid[name],
        )


def _set_not_null(step: Step, lock: Lock | None, context: Context) -> Iterator[Found]:
    if not context.postgres:
        return
    column = f"{step.address}.{step.name}"
    message = f"SET NOT NULL on {column} scans every row under an ACCESS EXCLUSIVE lock"
    maybe = context.validated_elsewhere.get(step.address)
    if (step.address, step.name or "") in context.proven_not_null:
        message += " (a validated CHECK (… IS NOT NULL) spares the scan from PostgreSQL 12)"
    elif maybe is not None:
        message += (
            f" (unless {maybe}, validated above, is CHECK ({step.name} IS NOT NULL): "
            "that spares the scan from PostgreSQL 12)"
        )
    else:
        yield Found("set-not-null-scans-table", message, lock)
        return
    yield Found("set-not-null-scans-table", message, lock, until_postgres=12)


def _type_change(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    yield Found(
        "column-type-change",
        f"changing the type of {step.address}.{step.name} rewrites the table while every read "
        "and write waits, and breaks clients that read the old type",
        lock or _REWRITE,
    )


def _rewrite(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    if lock is not None:
        yield Found(
            "rewrites-table",
            f"{_verb(step.op)} rewrites {step.address} under an ACCESS EXCLUSIVE lock",
            lock,
        )


def _domain(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    if step.op == "create-domain":
        if step.facts.get("check") is True:
            yield Found(
                "domain-with-constraint",
                f"domain {step.address} carries a CHECK: any later change to it re-checks "
                "every column using it",
            )
    elif step.facts.get("not_valid") is not True:
        what = "ADD CONSTRAINT" if step.op.endswith("constraint") else "SET NOT NULL"
        yield Found(
            "domain-constraint-scans-columns",
            f"ALTER DOMAIN {step.address} {what} checks every column of every table that uses "
            "the domain, under lock",
            lock,
        )


def _access(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    facts = step.facts
    if step.op not in ("grant", "revoke"):
        what = facts.get("object") or step.name or ""
        yield Found(
            "access-change",
            f"{_verb(step.op)} {what} on {step.address}: which rows each role sees or writes "
            "changes",
            lock,
        )
        return
    grantees = facts.get("grantees")
    who = [str(w) for w in grantees] if isinstance(grantees, list) else []
    raw = facts.get("privileges")
    privileges = ", ".join(str(p) for p in raw) if isinstance(raw, list) and raw else "privileges"
    to = f" {'to' if step.op == 'grant' else 'from'} {', '.join(who)}" if who else ""
    public = " (PUBLIC: every role)" if "public" in who else ""
    yield Found(
        "access-change",
        f"{step.op.upper()} {privileges} on {step.address}{to}{public}: who can read or write "
        "it changes",
        lock,
    )


_RLS: Final = {
    "enable-row-level-security": "without a policy for them, every role but the owner sees no rows",
    "disable-row-level-security": "every role with access sees every row",
    "force-row-level-security": "the owner is held to the policies too",
    "no-force-row-level-security": "the owner bypasses the policies again",
}


def _rls(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    yield Found(
        "row-level-security-switch",
        f"{_verb(step.op)} on {step.address}: {_RLS[step.op]}",
        lock,
    )


def _role(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    powers = step.facts.get("powers")
    extra = (
        f" with {', '.join(str(p) for p in powers)}" if isinstance(powers, list) and powers else ""
    )
    yield Found(
        "role-change",
        f"{_verb(step.op)} {step.address}{extra}: who can log in and what they may do changes",
    )


def _enum(step: Step, lock: Lock | None, _: Context) -> Iterator[Found]:
    if step.facts.get("ordered") is False:
        yield Found(
            "enum-value-appended",
            f"ADD VALUE to {step.address} without BEFORE/AFTER appends it: comparisons and "
            "ORDER BY on the enum see it last",
        )


# Operations whose hazard is always the same, said with the step's names: op -> (hazard,
# message with {name} and {table}, whether only PostgreSQL's locks make it one).
_SAID: Final[dict[str, tuple[str, str, bool]]] = {
    "create-index": (
        "index-blocks-writes",
        "CREATE INDEX {name} without CONCURRENTLY takes a SHARE lock: every write to {table} "
        "waits until the index is built",
        True,
    ),
    "drop-index": (
        "drop-index-blocks-table",
        "DROP INDEX {name} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table: "
        "every read and write waits",
        True,
    ),
    "reindex": (
        "reindex-blocks-table",
        "REINDEX {table} without CONCURRENTLY blocks its table while the index is rebuilt",
        True,
    ),
    "detach-partition": (
        "partition-detach-blocks-table",
        "DETACH PARTITION {name} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on {table}",
        True,
    ),
    "drop-not-null": (
        "drop-not-null-breaks-clients",
        "DROP NOT NULL on {table}.{name}: clients that rely on a value get NULLs",
        False,
    ),
    "disable-trigger": (
        "trigger-disabled",
        "DISABLE TRIGGER on {table}: what the trigger enforces (foreign keys, audit, derived "
        "values) stops",
        False,
    ),
    "lock-table": (
        "explicit-table-lock",
        "LOCK TABLE {table} holds its lock to the end of the transaction",
        False,
    ),
    **dict.fromkeys(
        ("rename-table", "rename-column", "set-schema", "rename-view", "rename-type",
         "rename-domain", "rename-function", "rename-index", "rename-sequence", "rename-schema"),
        ("rename-breaks-clients",
         "{verb} {name}: every query using the old name fails at once, until every client is "
         "deployed",
         False),
    ),
    **dict.fromkeys(
        ("drop-view", "drop-function", "drop-procedure", "drop-type", "drop-sequence",
         "drop-trigger", "drop-materialized-view", "drop-domain", "drop-extension", "drop-rule"),
        ("drop-breaks-clients", "{verb} {name}: what uses it fails", False),
    ),
}  # fmt: skip


def _said(step: Step, lock: Lock | None, context: Context) -> Iterator[Found]:
    kind, message, postgres_only = _SAID[step.op]
    if context.postgres or not postgres_only:
        name = step.name if step.op == "drop-not-null" else _named(step)
        yield Found(kind, message.format(name=name, table=step.address, verb=_verb(step.op)), lock)


def _ops(rule: Rule, *ops: str) -> dict[str, Rule]:
    return dict.fromkeys(ops, rule)


RULES: Final[dict[str, Rule]] = {
    **_ops(_said, *_SAID),
    **_ops(_drop, "drop-table", "drop-column", "drop-database", "drop-schema"),
    **_ops(_rows, "delete-rows", "update-rows"),
    **_ops(_rewrite, "vacuum", "cluster", "set-logged", "set-tablespace", "drop-expression"),
    **_ops(
        _domain, "alter-domain-add-constraint", "alter-domain-set-not-null", "create-domain"
    ),
    **_ops(_access, "grant", "revoke", "create-policy", "alter-policy", "drop-policy",
           "alter-default-privileges"),
    **_ops(_rls, *_RLS),
    **_ops(_role, "create-role", "create-user", "create-group", "alter-role", "alter-user",
           "alter-group", "drop-role", "drop-user", "drop-group"),
    "truncate": _truncate,
    "add-column": _add_column,
    "add-constraint": _add_constraint,
    "validate-constraint": _validate,
    "set-not-null": _set_not_null,
    "alter-column-type": _type_change,
    "add-enum-value": _enum,
}  # fmt: skip


def _constraint_name(step: Step) -> str:
    return str(step.facts.get("constraint_name") or step.name or "")


def _verb(op: str) -> str:
    return op.replace("-", " ").upper()


def _named(step: Step) -> str:
    if step.name and step.op.endswith("column"):
        return f"{step.address}.{step.name}"
    return step.name or step.address
