"""The PostgreSQL lock each step takes on its table, and the work done while it is held.

From the PostgreSQL documentation of ALTER TABLE, CREATE/DROP INDEX,
REINDEX and explicit locking: `ACCESS EXCLUSIVE` blocks every read and
write, `SHARE` and `SHARE ROW EXCLUSIVE` block writes, `SHARE UPDATE
EXCLUSIVE` lets reads and writes go on. What matters is how long the lock is
held: a catalog-only change is brief, a scan or a rewrite takes as long as
the table is big.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from orchestrator.analysis.sql_facts import Step

ACCESS_EXCLUSIVE: Final = "ACCESS EXCLUSIVE"
SHARE: Final = "SHARE"
SHARE_ROW_EXCLUSIVE: Final = "SHARE ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE: Final = "SHARE UPDATE EXCLUSIVE"
ROW_EXCLUSIVE: Final = "ROW EXCLUSIVE"

BLOCKS: Final = {
    ACCESS_EXCLUSIVE: "every read and write",
    SHARE: "every write",
    SHARE_ROW_EXCLUSIVE: "every write",
    SHARE_UPDATE_EXCLUSIVE: "no read or write",
    ROW_EXCLUSIVE: "no read or write",
}


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock mode and the work done under it: brief, scan, rewrite or index build."""

    mode: str
    work: str = "brief"

    @property
    def blocks(self) -> str:
        """What waits while the lock is held."""
        return BLOCKS[self.mode]


_BRIEF: Final = Lock(ACCESS_EXCLUSIVE)
# op -> lock, for steps whose lock does not depend on their facts
_BY_OP: Final[dict[str, Lock]] = {
    "add-column": _BRIEF,
    "drop-column": _BRIEF,
    "drop-constraint": _BRIEF,
    "drop-not-null": _BRIEF,
    "set-default": _BRIEF,
    "drop-default": _BRIEF,
    "rename-column": _BRIEF,
    "rename-table": _BRIEF,
    "set-schema": _BRIEF,
    "owner": _BRIEF,
    "replica-identity": _BRIEF,
    "add-identity": _BRIEF,
    "alter-column-options": Lock(SHARE_UPDATE_EXCLUSIVE),
    "drop-expression": Lock(ACCESS_EXCLUSIVE, "rewrite"),
    "enable-row-level-security": _BRIEF,
    "disable-row-level-security": _BRIEF,
    "force-row-level-security": _BRIEF,
    "no-force-row-level-security": _BRIEF,
    "alter-column-type": Lock(ACCESS_EXCLUSIVE, "rewrite"),
    "set-not-null": Lock(ACCESS_EXCLUSIVE, "scan"),
    "validate-constraint": Lock(SHARE_UPDATE_EXCLUSIVE, "scan"),
    "attach-partition": Lock(SHARE_UPDATE_EXCLUSIVE, "scan"),
    "set-logged": Lock(ACCESS_EXCLUSIVE, "rewrite"),
    "set-tablespace": Lock(ACCESS_EXCLUSIVE, "rewrite"),
    "set-storage-options": Lock(SHARE_UPDATE_EXCLUSIVE),
    "set-cluster": Lock(SHARE_UPDATE_EXCLUSIVE),
    "disable-trigger": Lock(SHARE_ROW_EXCLUSIVE),
    "enable-trigger": Lock(SHARE_ROW_EXCLUSIVE),
    "create-trigger": Lock(SHARE_ROW_EXCLUSIVE),
    "create-policy": _BRIEF,
    "alter-policy": _BRIEF,
    "drop-policy": _BRIEF,
    "truncate": _BRIEF,
    "drop-table": _BRIEF,
    "delete-rows": Lock(ROW_EXCLUSIVE, "scan"),
    "update-rows": Lock(ROW_EXCLUSIVE, "scan"),
    "insert-rows": Lock(ROW_EXCLUSIVE),
    "alter-domain-add-constraint": Lock(SHARE, "scan"),
    "alter-domain-set-not-null": Lock(SHARE, "scan"),
    "alter-domain-validate-constraint": Lock(SHARE_UPDATE_EXCLUSIVE, "scan"),
}


def lock_of(step: Step) -> Lock | None:
    """The lock a PostgreSQL step takes on its table, or None when it takes none there."""
    facts, op = step.facts, step.op
    concurrently = facts.get("concurrently") is True
    if op == "create-index":
        return Lock(SHARE_UPDATE_EXCLUSIVE if concurrently else SHARE, "index build")
    if op == "drop-index":
        return Lock(SHARE_UPDATE_EXCLUSIVE if concurrently else ACCESS_EXCLUSIVE)
    if op == "reindex":
        return Lock(SHARE_UPDATE_EXCLUSIVE if concurrently else ACCESS_EXCLUSIVE, "index build")
    if op == "detach-partition":
        return Lock(SHARE_UPDATE_EXCLUSIVE if concurrently else ACCESS_EXCLUSIVE)
    if op == "vacuum":
        return Lock(ACCESS_EXCLUSIVE, "rewrite") if facts.get("full") else None
    if op == "cluster":
        return Lock(ACCESS_EXCLUSIVE, "rewrite")
    if op == "add-constraint":
        return _constraint_lock(step)
    if op == "add-column" and rewrites(step):
        return Lock(ACCESS_EXCLUSIVE, "rewrite")
    return _BY_OP.get(op)


def _constraint_lock(step: Step) -> Lock:
    facts = step.facts
    kind = facts.get("constraint")
    if facts.get("using_index") is True:
        return _BRIEF
    if kind in ("unique", "primary-key", "exclude"):
        return Lock(ACCESS_EXCLUSIVE, "index build")
    mode = SHARE_ROW_EXCLUSIVE if kind == "foreign-key" else ACCESS_EXCLUSIVE
    return Lock(mode, "brief" if facts.get("not_valid") is True else "scan")


def rewrites(step: Step, *, before_11: bool = False) -> bool:
    """Whether ADD COLUMN rewrites every row (on PostgreSQL 11+ unless `before_11`)."""
    facts = step.facts
    return bool(
        facts.get("default_volatile") is True
        or facts.get("generated") == "stored"
        or facts.get("serial") is True
        or facts.get("identity") is True
        or (before_11 and facts.get("default") is True)
    )
