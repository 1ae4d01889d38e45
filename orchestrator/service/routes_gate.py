"""The human gate over HTTP: escalations, sign-offs, the kill switch and budgets.

Each route calls the same store function as its CLI command (`pending`,
`approve`, `deny`, `freeze`, `thaw`), with the caller's principal as the
name the audit chain records. An approver signs and denies only in the gate
roles their token lists (an admin may deny too); the store then applies the
gate's own rules (no self-approval, no stale plan, configured approvers), and
a refusal is 409 with its reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.guards import BudgetWindow, Freeze
from orchestrator.models import Source
from orchestrator.service import fields
from orchestrator.service.auth import Role, refuse_own_change
from orchestrator.service.bodies import documented, read_json
from orchestrator.service.deps import Admin, Denier, Reader, Signer, State
from orchestrator.store import governance
from orchestrator.store.chain import parse_utc

gate_router = APIRouter(prefix="/v1", tags=["gate"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such escalation."},
    409: {"description": "The gate's rules refuse it; the error says why."},
}


class SignRequest(BaseModel):
    """A sign-off in one required role."""

    model_config = ConfigDict(extra="forbid")

    role: fields.Role = Field(description="The required role you sign for.")
    comment: fields.Text = Field("", description="What you checked, for the record.")


class DenyRequest(BaseModel):
    """A denial: the escalation ends and nobody can approve it afterwards."""

    model_config = ConfigDict(extra="forbid")

    reason: fields.RequiredText = Field(description="Why, for the record.")


class FreezeRequest(BaseModel):
    """Stop one actor, or every AI agent."""

    model_config = ConfigDict(extra="forbid")

    actor: fields.Name | None = None
    all_ai_agents: bool = False
    reason: fields.RequiredText

    @model_validator(mode="after")
    def _one_target(self) -> FreezeRequest:
        if (self.actor is None) == (not self.all_ai_agents):
            raise ValueError("name one actor or set all_ai_agents")
        return self


class SignResult(BaseModel):
    """The escalation after a sign-off, and whether it is now approved."""

    completed: bool
    escalation: governance.Escalation


class FreezeAnswer(BaseModel):
    """A freeze in force, whether this request made it, and what it cancelled."""

    created: bool
    freeze: Freeze
    cancelled: tuple[str, ...]


@gate_router.get("/escalations", summary="Escalations: pending ones by default.")
async def list_escalations(
    state: State,
    _: Reader,
    status: Annotated[
        governance.EscalationStatus | None, Query(description="Only this status; default pending.")
    ] = "pending",
    every: Annotated[bool, Query(alias="all", description="Every status.")] = False,
) -> list[dict[str, Any]]:
    """Open escalations with their age and the roles still missing."""
    now = state.now()
    found = await run_in_threadpool(
        governance.list_escalations, state.store, status=None if every else status, now=now
    )
    return [_shown(e, now) for e in found]


@gate_router.get(
    "/escalations/{decision_id}", summary="One escalation.", responses={404: _REFUSED[404]}
)
async def get_escalation(decision_id: fields.DecisionId, state: State, _: Reader) -> dict[str, Any]:
    """An escalation by decision id or unique prefix."""
    now = state.now()
    found = await run_in_threadpool(governance.find_escalation, state.store, decision_id, now=now)
    return _shown(found, now)


@gate_router.post(
    "/escalations/{decision_id}/approve",
    summary="Sign an escalation in one required role, as the token's principal.",
    responses=_REFUSED,
    openapi_extra=documented(SignRequest),
)
async def approve(
    decision_id: fields.DecisionId, request: Request, state: State, principal: Signer
) -> SignResult:
    """Sign; the escalation is approved when every required role has signed."""
    body = await read_json(request, SignRequest)
    if body.role.strip() not in principal.approves:
        raise HTTPException(
            403,
            f"{principal.name} may not sign as {body.role!r}; their token lists "
            f"{', '.join(principal.approves) or 'no gate roles'}",
        )
    if principal.github is not None:
        esc = await run_in_threadpool(
            lambda: governance.find_escalation(state.store, decision_id, now=state.now())
        )
        refuse_own_change(principal, esc.actor, esc.submitter)
    result = await run_in_threadpool(
        lambda: governance.approve(
            state.store,
            decision_id,
            name=principal.name,
            role=body.role,
            comment=body.comment,
            identities=state.identities,
            now=state.now(),
        )
    )
    # the approval latency is read from the store at scrape time, whoever signed (gate_watch)
    _settled(state)
    return SignResult(completed=result.completed, escalation=result.escalation)


@gate_router.post(
    "/escalations/{decision_id}/deny",
    summary="Deny an escalation, as the token's principal.",
    responses=_REFUSED,
    openapi_extra=documented(DenyRequest),
)
async def deny(
    decision_id: fields.DecisionId, request: Request, state: State, principal: Denier
) -> governance.Escalation:
    """End the escalation: nobody can approve it afterwards.

    A denial is final, so it takes an approver whose token lists one of the
    escalation's required roles, or an admin (who could freeze the actor).
    """
    body = await read_json(request, DenyRequest)
    if Role.ADMIN not in principal.roles:
        found = await run_in_threadpool(
            governance.find_escalation, state.store, decision_id, now=state.now()
        )
        if not governance.may_deny(principal.approves, found.required_roles):
            raise HTTPException(
                403,
                f"{principal.name} may not deny {found.decision_id[:13]}: it needs "
                f"{', '.join(found.required_roles) or 'any gate role'}, their token lists "
                f"{', '.join(principal.approves) or 'no gate roles'}",
            )
    denied = await run_in_threadpool(
        lambda: governance.deny(
            state.store,
            decision_id,
            name=principal.name,
            reason=body.reason,
            identities=state.identities,
            now=state.now(),
        )
    )
    _settled(state)
    return denied


def _settled(state: State) -> None:
    """A deployment may be waiting for this escalation: look now, not at the next tick."""
    if state.deployment_watch is not None:
        state.deployment_watch.wake()


@gate_router.get("/freezes", summary="Freezes in force.")
async def list_freezes(state: State, _: Reader) -> list[Freeze]:
    """Who is frozen now."""
    return await run_in_threadpool(governance.list_freezes, state.store)


@gate_router.post(
    "/freezes",
    summary="Freeze an actor (or every AI agent): its reviews are rejected at once.",
    status_code=201,
    responses={200: {"description": "Already frozen; nothing changed."}},
    openapi_extra=documented(FreezeRequest),
)
async def freeze(
    request: Request, response: Response, state: State, principal: Admin
) -> FreezeAnswer:
    """Stop an actor and cancel its open escalations, in one transaction."""
    body = await read_json(request, FreezeRequest)
    done = await run_in_threadpool(
        lambda: governance.freeze(
            state.store,
            body.actor,
            by=principal.name,
            reason=body.reason,
            identities=state.identities,
            now=state.now(),
        )
    )
    if not done.created:
        response.status_code = 200
    return FreezeAnswer(created=done.created, freeze=done.freeze, cancelled=done.cancelled)


@gate_router.delete(
    "/freezes/{actor}",
    summary="Thaw an actor.",
    responses={409: _REFUSED[409]},
)
async def thaw(
    actor: fields.Name,
    state: State,
    principal: Admin,
    reason: Annotated[fields.Text, Query(description="Why, for the record.")] = "",
) -> Freeze:
    """Lift one actor's freeze."""
    return await _thaw(state, actor, principal.name, reason)


@gate_router.delete(
    "/freezes",
    summary="Thaw every AI agent (the freeze made with all_ai_agents).",
    responses={409: _REFUSED[409]},
)
async def thaw_ai_agents(
    state: State,
    principal: Admin,
    all_ai_agents: Annotated[bool, Query(description="Must be true.")] = False,
    reason: Annotated[fields.Text, Query(description="Why, for the record.")] = "",
) -> Freeze:
    """Lift the freeze on every AI agent."""
    if not all_ai_agents:
        raise HTTPException(400, "name an actor (/v1/freezes/ACTOR) or set all_ai_agents=true")
    return await _thaw(state, None, principal.name, reason)


@gate_router.get("/actors/{actor}/budgets", summary="An actor's budget windows, used so far.")
async def budgets(
    actor: fields.Name,
    state: State,
    _: Reader,
    source: Annotated[Source, Query(description="The kind the actor declares.")] = Source.HUMAN,
) -> list[BudgetWindow]:
    """Each budget rule for the actor with what it has used in the window ending now."""
    profile = state.setup.context.agents.profile(actor, source)
    rules = state.setup.config.commander.budgets.rules_for(actor, profile.kind)
    return list(
        await run_in_threadpool(
            lambda: governance.read_budget_windows(state.store, actor, rules, now=state.now())
        )
    )


async def _thaw(state: State, actor: str | None, by: str, reason: str) -> Freeze:
    return await run_in_threadpool(
        lambda: governance.thaw(
            state.store, actor, by=by, reason=reason, identities=state.identities, now=state.now()
        )
    )


def _shown(esc: governance.Escalation, now: str) -> dict[str, Any]:
    waited = parse_utc(now) - parse_utc(esc.created_at)
    return esc.model_dump(mode="json") | {
        "age_seconds": max(0, int(waited.total_seconds())),
        "missing_roles": list(esc.missing_roles),
    }
