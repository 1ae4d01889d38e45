"""The gate's store API in one place: escalations, approvals, freezes, budgets, elevations.

    escalations.py   Escalation/Approval/Denial models; get, list, find
    approvals.py     approve and deny, with the separation-of-duties rules
    freezes.py       freeze, thaw, who is frozen
    budgets.py       rolling-window use per actor; counting an approved change
    elevations.py    time-bound grants: grant, revoke, list, in force now
    submissions.py   which change a decision submits; the gate's side of recording it

Every write is one transaction holding the writers' lock, with its audit
event chained in that transaction (gate_state.py replays them for `audit
verify`). Every write takes its time as an ISO 8601 `now` from the caller,
who reads the one clock (orchestrator/clock.py) at the edge; a read given no
`now` asks that clock. What recording a decision does to these tables is the
gate session's (orchestrator/gate/settle.py).
"""

from __future__ import annotations

from orchestrator.errors import Refused
from orchestrator.store.approvals import ApprovalResult, approve, deny, may_deny
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
from orchestrator.store.gate_common import Identities
from orchestrator.store.submissions import note_resubmission

__all__ = [
    "ESCALATION_STATUSES",
    "Approval",
    "ApprovalResult",
    "Denial",
    "ElevationRecord",
    "Escalation",
    "EscalationStatus",
    "FreezeResult",
    "Identities",
    "Refused",
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
    "may_deny",
    "note_resubmission",
    "read_budget_windows",
    "resolve_until",
    "revoke_elevation",
    "thaw",
]
