"""The gate's store API in one place: escalations, approvals, freezes, budgets, elevations.

    escalations.py   Escalation/Approval/Denial models; get, list, find
    approvals.py     approve and deny, with the separation-of-duties rules
    freezes.py       freeze, thaw, who is frozen
    budgets.py       rolling-window use per actor; counting an approved change
    elevations.py    time-bound grants: grant, revoke, list, in force now
    settle.py        what recording a decision does to all of the above

Every write is one transaction holding the writers' lock, with its audit
event chained in that transaction. Times come in as ISO 8601 `now` from the
caller (the CLI reads the clock), so expiry and windows are deterministic.
"""

from __future__ import annotations

from orchestrator.store.approvals import ApprovalResult, approve, deny
from orchestrator.store.budgets import read_budget_windows
from orchestrator.store.elevations import (
    ElevationRecord,
    active_elevations,
    grant_elevation,
    list_elevations,
    resolve_until,
    revoke_elevation,
)
from orchestrator.store.escalations import (
    ESCALATION_STATUSES,
    Approval,
    Denial,
    Escalation,
    EscalationStatus,
    find_escalation,
    get_escalation,
    list_escalations,
)
from orchestrator.store.freezes import FreezeResult, current_freeze, freeze, list_freezes, thaw
from orchestrator.store.gate_common import Identities, Refused
from orchestrator.store.settle import GateTerms, Unsettled, settle

__all__ = [
    "ESCALATION_STATUSES",
    "Approval",
    "ApprovalResult",
    "Denial",
    "ElevationRecord",
    "Escalation",
    "EscalationStatus",
    "FreezeResult",
    "GateTerms",
    "Identities",
    "Refused",
    "Unsettled",
    "active_elevations",
    "approve",
    "current_freeze",
    "deny",
    "find_escalation",
    "freeze",
    "get_escalation",
    "grant_elevation",
    "list_elevations",
    "list_escalations",
    "list_freezes",
    "read_budget_windows",
    "resolve_until",
    "revoke_elevation",
    "settle",
    "thaw",
]
