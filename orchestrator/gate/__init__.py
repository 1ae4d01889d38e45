"""The gate: one session from a submission to a recorded decision.

    session.py      the actor's facts → fan out → aggregate → settle, with one clock
    identity.py     what a change is: the default change id
    settle.py       the gate's side of recording a decision, in the decision's transaction
    idempotency.py  the same submission twice is one decision

The pure parts live below: `commander.aggregate` (the decision rules) and
`guards` (freezes, budgets, the facts aggregate weighs). The gate's tables
and their chain events live in the store (store/governance.py).
"""

from __future__ import annotations

from orchestrator.gate.identity import InputPlace, change_id_for, locate_input
from orchestrator.gate.session import (
    ActorFacts,
    ChangeSubmission,
    GateSession,
    Panel,
    Settled,
    decide,
    judge,
    new_decision_id,
)

__all__ = [
    "ActorFacts",
    "ChangeSubmission",
    "GateSession",
    "InputPlace",
    "Panel",
    "Settled",
    "change_id_for",
    "decide",
    "judge",
    "locate_input",
    "new_decision_id",
]
