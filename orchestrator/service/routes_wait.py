"""Waiting for a decision's gate over HTTP: a long poll instead of a polling loop.

`GET /v1/decisions/{id}/wait?timeout=300` answers as soon as the decision
has settled — at once for an approve or a reject, when its escalation ends
for an escalate (signed off by a PR comment, the API or the CLI; denied,
expired, cancelled) — or when the timeout runs out, with the state still
`pending`. The service looks at the store about once a second while it
waits, so every path that ends an escalation ends the wait. A CI job makes
one request every few minutes instead of one every 30 seconds, and moves on
within a second of the sign-off.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Final

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from orchestrator.service.deps import Reader, State
from orchestrator.service.standing import State as GateStateName
from orchestrator.service.standing import standing

wait_router = APIRouter(prefix="/v1", tags=["reviews"])
LOOK_EVERY: Final = 1.0  # seconds between looks at the store while waiting
MAX_WAIT: Final = 600  # seconds; proxies commonly cut idle requests at 10 minutes


class GateState(BaseModel):
    """Where a decision stands at the gate."""

    decision_id: str
    outcome: str
    state: GateStateName  # passed, failed, pending
    summary: str
    escalation_status: str | None
    missing_roles: list[str]


@wait_router.get(
    "/decisions/{decision_id}/wait",
    summary="Wait until a decision's gate settles (passed or failed), or the timeout runs out.",
    responses={404: {"description": "No such decision."}},
)
async def wait_for_gate(
    decision_id: str,
    response: Response,
    state: State,
    _: Reader,
    seconds: Annotated[
        float,
        Query(
            alias="timeout", ge=0, le=MAX_WAIT, description="Seconds to wait at most; 0: look once."
        ),
    ] = 60,
) -> GateState:
    """The decision's gate state once it settles; `pending` when the timeout ran out first."""
    stored = await run_in_threadpool(state.find, decision_id)
    ident = stored.decision.decision_id
    deadline = time.monotonic() + seconds
    while True:
        found = await run_in_threadpool(lambda: standing(state.store, ident, now=state.now()))
        left = deadline - time.monotonic()
        if found.state != "pending" or left <= 0:
            break
        await asyncio.sleep(min(LOOK_EVERY, left))
    response.headers["X-Commander-State"] = found.state
    return GateState(
        decision_id=ident,
        outcome=found.outcome,
        state=found.state,
        summary=found.summary,
        escalation_status=None if found.escalation is None else found.escalation.status,
        missing_roles=list(found.missing_roles),
    )
