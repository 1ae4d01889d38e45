"""`POST /v1/guard`: an agent's tool call in, allow / ask / deny out, as `commander guard`.

The body is the tool call exactly as the agent's hook hands it to
`commander guard` on standard input (Claude Code or Codex `PreToolUse`,
Gemini CLI `BeforeTool`, or the generic JSON); the answer is the generic
answer, which the CLI renders in the hook's own format. The call is judged
by the same function as the CLI's (guard_core.judge), reviewed and recorded
in the service's store, so freezes and budgets hold across every agent that
asks. Tokens with the `agent` role may use this route and nothing else.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.adapters.commands_calls import read_call
from orchestrator.commands.guard_core import GuardOptions
from orchestrator.models import Source
from orchestrator.service.bodies import read_body
from orchestrator.service.deps import Guarded, State
from orchestrator.service.fields import Environment, Name, Text, check_body_fields

guard_router = APIRouter(prefix="/v1", tags=["guard"])

# A human answer is waited for at most this long within one request.
_MAX_WAIT_SECONDS = 600


class GuardAnswer(BaseModel):
    """The guard's answer: allow, ask or deny, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Literal["allow", "ask", "deny"]
    outcome: Literal["approve", "escalate", "reject"] | None = Field(
        description="The recorded decision's outcome; null when nothing was recorded "
        "(a call that changes nothing, or an unknown command the catalog answers itself)."
    )
    reason: str = Field(description="One paragraph: the rules that decided and the findings.")
    decision_id: str | None = None


@guard_router.post(
    "/guard",
    summary="Judge one tool call of an agent: allow, ask or deny.",
    responses={
        413: {"description": "The body is over the size limit."},
        422: {"description": "The body is not a tool call; the reason says where."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The tool call as the agent's pre-tool-use hook receives it.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def guard(  # noqa: PLR0917 - FastAPI maps one parameter to each query field
    request: Request,
    state: State,
    principal: Guarded,
    fmt: Annotated[
        Literal["auto", "claude-code", "codex", "gemini", "generic"],
        Query(alias="format", description="The body's format; auto detects it."),
    ] = "auto",
    actor: Annotated[
        Name | None, Query(description="The agent's name; default the hook's agent.")
    ] = None,
    source: Annotated[Source, Query(description="What kind of actor it is.")] = Source.AI_AGENT,
    environment: Annotated[
        Environment | None,
        Query(description="Target environment; unknown names count as production."),
    ] = None,
    intent: Annotated[Text, Query(description="What the agent is working on.")] = "",
    wait: Annotated[
        float, Query(ge=0, le=_MAX_WAIT_SECONDS, description="Seconds to wait for a human answer.")
    ] = 0.0,
) -> GuardAnswer:
    """Judge the call; what changes something is reviewed and recorded as the CLI does."""
    body = await read_body(request, state.max_body_bytes)
    call = read_call(body, "request body", fmt)
    # The generic format names its actor, environment and intent in the body.
    check_body_fields(
        {
            "actor": (call.actor, Name),
            "environment": (call.environment, Environment),
            "intent": (call.intent, Text),
        }
    )
    options = GuardOptions(
        actor=actor, source=source.value, environment=environment, intent=intent, wait=wait
    )
    answer = await run_in_threadpool(state.guard, call, options, principal.name)
    return GuardAnswer.model_validate(answer.document())
