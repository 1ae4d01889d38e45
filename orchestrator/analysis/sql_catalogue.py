"""Every hazard a migration statement can carry: its group, severity, safe way and Squawk peer.

The set covers the intent of each rule of Squawk, the PostgreSQL migration
linter (named in `squawk`), plus what a gate needs beyond a linter: access
changes, row-level security switches, destructive DML, unreadable
statements. Groups: `lock` (stalls queries on a table), `data` (loses rows
or values), `compatibility` (breaks running clients or fails the
migration), `access` (changes who sees what), `transaction`, `unreadable`,
and `advice` (timeouts, types, robustness: reported, never a hazard that
makes a migration unsafe).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Group = Literal["lock", "data", "compatibility", "access", "transaction", "unreadable", "advice"]
Severity = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True, slots=True)
class HazardKind:
    """One kind of hazard: what it is, how bad by default, what to do instead, its Squawk rules."""

    id: str
    summary: str
    group: Group
    severity: Severity
    instead: str
    squawk: tuple[str, ...] = ()


_KINDS: Final = (
    HazardKind("index-blocks-writes",
               "An index is built without CONCURRENTLY: writes to the table wait until it is done",
               "lock", "high",
               "CREATE INDEX CONCURRENTLY, outside a transaction",
               ("require-concurrent-index-creation",)),
    HazardKind("drop-index-blocks-table",
               "An index is dropped without CONCURRENTLY: the table is locked while it goes",
               "lock", "high",
               "DROP INDEX CONCURRENTLY, outside a transaction",
               ("require-concurrent-index-deletion",)),
    HazardKind("concurrently-in-transaction",
               "A CONCURRENTLY statement runs inside a transaction, where PostgreSQL refuses it",
               "transaction", "high",
               "run CONCURRENTLY statements in a migration of their own, outside BEGIN/COMMIT",
               ("ban-concurrent-index-creation-in-transaction",)),
    HazardKind("constraint-scans-under-lock",
               "A constraint is added and checked against every row under a lock",
               "lock", "high",
               "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later transaction",
               ("constraint-missing-not-valid", "adding-foreign-key-constraint")),
    HazardKind("validate-in-same-transaction",
               "A constraint is validated in the transaction that added it, so the lock is held "
               "throughout",
               "lock", "high",
               "COMMIT after ADD CONSTRAINT … NOT VALID; VALIDATE CONSTRAINT in a later "
               "transaction",
               ("constraint-missing-not-valid",)),
    HazardKind("foreign-key-locks-tables",
               "A foreign key is added with its check: both tables are locked while every row is "
               "read",
               "lock", "high",
               "add the column, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID, and VALIDATE it "
               "later",
               ("adding-foreign-key-constraint",)),
    HazardKind("index-built-under-lock",
               "A unique or primary key constraint builds its index under a lock that blocks "
               "writes",
               "lock", "high",
               "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE/PRIMARY KEY "
               "USING INDEX",
               ("disallowed-unique-constraint", "adding-serial-primary-key-field",
                "adding-primary-key-constraint")),
    HazardKind("rewrites-table",
               "The statement rewrites the whole table under an exclusive lock",
               "lock", "high",
               "add the column without the default (or as a plain column), SET DEFAULT for new "
               "rows, backfill in batches",
               ("adding-field-with-default", "prefer-repack")),
    HazardKind("column-type-change",
               "A column's type changes: the table is rewritten and clients may break",
               "lock", "high",
               "add a column of the new type, write both, backfill in batches, switch readers, "
               "drop the old one", ("changing-column-type",)),
    HazardKind("set-not-null-scans-table",
               "SET NOT NULL reads every row under an exclusive lock",
               "lock", "high",
               "ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT "
               "NULL (PostgreSQL 12+ skips the scan)", ("adding-not-nullable-field",)),
    HazardKind("partition-detach-blocks-table",
               "A partition is detached without CONCURRENTLY, locking the parent table",
               "lock", "high",
               "DETACH PARTITION … CONCURRENTLY, outside a transaction",
               ("require-concurrent-partition-detach",)),
    HazardKind("reindex-blocks-table",
               "REINDEX without CONCURRENTLY blocks writes (and reads through the index)",
               "lock", "high",
               "REINDEX … CONCURRENTLY, outside a transaction", ("require-concurrent-reindex",)),
    HazardKind("domain-constraint-scans-columns",
               "A constraint added to a domain checks every column of that domain under a lock",
               "lock", "high",
               "put the constraint on the columns (NOT VALID, then VALIDATE)",
               ("ban-alter-domain-with-add-constraint",)),
    HazardKind("explicit-table-lock",
               "The migration takes an explicit table lock",
               "lock", "medium",
               "take no explicit lock; let each statement take the least lock it needs"),
    HazardKind("required-column",
               "A NOT NULL column without a default is added: running inserts fail",
               "compatibility", "high",
               "add the column nullable (or with a non-volatile DEFAULT), backfill, then "
               "SET NOT NULL", ("adding-required-field",)),
    HazardKind("rename-breaks-clients",
               "An object is renamed (or moved to another schema): clients using the old name "
               "break",
               "compatibility", "high",
               "add the new name (a column or a view), move every reader and writer, drop the old "
               "name in a later release",
               ("renaming-column", "renaming-table", "renaming-object", "ban-set-schema")),
    HazardKind("drop-not-null-breaks-clients",
               "NOT NULL is dropped: readers that rely on a value may break",
               "compatibility", "medium",
               "keep NOT NULL and write a marker value, or update every reader first",
               ("ban-drop-not-null",)),
    HazardKind("drop-breaks-clients",
               "A view, function, type, trigger, sequence, extension or domain is dropped while "
               "something may use it",
               "compatibility", "medium",
               "stop every use of the object in a release first, then drop it",
               ("ban-drop-view", "ban-drop-function", "ban-drop-type", "ban-drop-trigger",
                "ban-drop-sequence", "ban-drop-extension", "ban-drop-domain")),
    HazardKind("trigger-disabled",
               "A trigger is disabled, so what it enforces stops happening",
               "compatibility", "medium",
               "keep the trigger enabled; change what it does instead"),
    HazardKind("domain-with-constraint",
               "A domain is created with a constraint, which later changes cannot validate cheaply",
               "compatibility", "medium",
               "put CHECK constraints on the columns, not on a domain",
               ("ban-create-domain-with-constraint",)),
    HazardKind("duplicate-column",
               "A column is assigned twice in one statement",
               "compatibility", "medium",
               "name each column once", ("ban-duplicate-column-assignments",)),
    HazardKind("drop-table",
               "A table and its data are dropped",
               "data", "critical",
               "rename the table or revoke its use for a release, back it up, then drop it",
               ("ban-drop-table",)),
    HazardKind("drop-column",
               "A column and its data are dropped",
               "data", "critical",
               "stop using the column in a release first, back it up, then drop it",
               ("ban-drop-column",)),
    HazardKind("drop-database",
               "A database or schema is dropped",
               "data", "critical",
               "never drop a database in a migration; decommission it on its own",
               ("ban-drop-database", "ban-drop-schema")),
    HazardKind("truncate-cascade",
               "TRUNCATE … CASCADE empties every table that references the named ones",
               "data", "critical",
               "TRUNCATE the named tables only (RESTRICT), after checking what references them",
               ("ban-truncate-cascade",)),
    HazardKind("truncate",
               "A table is emptied with TRUNCATE",
               "data", "critical",
               "DELETE with a WHERE clause, in batches, after a backup"),
    HazardKind("delete-without-where",
               "DELETE without a WHERE clause removes every row",
               "data", "critical",
               "add a WHERE clause naming the rows; delete in batches after a backup"),
    HazardKind("update-without-where",
               "UPDATE without a WHERE clause changes every row",
               "data", "critical",
               "add a WHERE clause naming the rows; update in batches after a backup"),
    HazardKind("access-change",
               "Privileges are granted or revoked",
               "access", "high",
               "review who gains or loses access; grant the least privilege to named roles"),
    HazardKind("row-level-security-switch",
               "Row-level security is switched on or off, changing who sees which rows",
               "access", "high",
               "create the policies first and switch row-level security in its own reviewed "
               "change"),
    HazardKind("role-change",
               "A role or user is created, changed or dropped",
               "access", "high",
               "manage roles and their powers outside migrations, with the secret in a vault"),
    HazardKind("uncommitted-transaction",
               "A transaction is begun and never committed",
               "transaction", "high",
               "end the transaction with COMMIT", ("ban-uncommitted-transaction",)),
    HazardKind("transaction-nesting",
               "Transactions are nested, or begun where the migration tool already opens one",
               "transaction", "medium",
               "one BEGIN … COMMIT per migration, or none when the tool wraps it",
               ("transaction-nesting",)),
    HazardKind("unreadable-statement",
               "A statement could not be read, so its effect is unknown",
               "unreadable", "high",
               "write the statement so it can be read (or review it by hand)", ("syntax-error",)),
    HazardKind("missing-timeouts",
               "No lock_timeout is set before a statement that locks a table",
               "advice", "low",
               "SET lock_timeout (and statement_timeout) before the first statement that locks "
               "a table", ("require-timeout-settings",)),
    HazardKind("enum-value-appended",
               "An enum value is added without saying where it goes",
               "advice", "low",
               "ALTER TYPE … ADD VALUE … BEFORE or AFTER an existing value",
               ("require-enum-value-ordering",)),
    HazardKind("column-type-advice",
               "A column type with a known pitfall (int keys, varchar, timestamp without time "
               "zone, char)",
               "advice", "low",
               "bigint identity keys, text with a CHECK on its length, timestamptz",
               ("prefer-bigint-over-int", "prefer-bigint-over-smallint", "prefer-identity",
                "prefer-text-field", "prefer-timestamptz", "ban-char-field")),
    HazardKind("identifier-too-long",
               "A name longer than 63 bytes, which PostgreSQL truncates silently",
               "advice", "low",
               "names of at most 63 bytes (PostgreSQL cuts longer ones silently)",
               ("identifier-too-long",)),
    HazardKind("not-rerunnable",
               "A statement fails if the migration is run twice",
               "advice", "low",
               "IF NOT EXISTS / IF EXISTS, or one transaction around the migration",
               ("prefer-robust-stmts",)),
)  # fmt: skip

KINDS: Final[dict[str, HazardKind]] = {kind.id: kind for kind in _KINDS}
# Groups that make a migration unsafe; advice is reported but does not.
HAZARD_GROUPS: Final = frozenset(
    {"lock", "data", "compatibility", "access", "transaction", "unreadable"}
)
