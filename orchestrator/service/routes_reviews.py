"""Submitting proposals and reading decisions.

`POST /v1/reviews` takes the raw input file as its body, exactly as
`commander review` reads it (a plan's JSON, manifests, a diff, SQL), and
its metadata as query parameters, so a pipeline submits with one
`curl --data-binary @plan.json`. The answer is the decision JSON of
DESIGN.md — 201 for a new decision, 200 for the one already made for the
same submission — or, on request (`Accept` or `format`), the Markdown PR
comment, SARIF or text.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from orchestrator.adapters.base import Submission
from orchestrator.choices import InputKind, OutputFormat
from orchestrator.models import Decision, Proposal, Source
from orchestrator.render import render
from orchestrator.render.locations import Sources
from orchestrator.service.bodies import read_body
from orchestrator.service.deps import Reader, State, Submitter
from orchestrator.service.fields import ChangeId, DecisionId, Environment, InputName, Name, Text
from orchestrator.service.state import Meta, Submitted
from orchestrator.store.store import DecisionSummary

reviews_router = APIRouter(prefix="/v1", tags=["reviews"])


_MEDIA = {
    OutputFormat.json: "application/json",
    OutputFormat.markdown: "text/markdown; charset=utf-8",
    OutputFormat.sarif: "application/sarif+json",
    OutputFormat.text: "text/plain; charset=utf-8",
    OutputFormat.junit: "application/xml",
    OutputFormat.github: "text/plain; charset=utf-8",
}
_BY_ACCEPT = {
    "text/markdown": OutputFormat.markdown,
    "application/sarif+json": OutputFormat.sarif,
    "text/plain": OutputFormat.text,
    "application/json": OutputFormat.json,
}
# The service cannot see the runner's checkout: CI says where the input file lives.
PathQuery = Annotated[
    InputName | None,
    Query(
        description="The input file's path in the repository (e.g. infra/plan.json), for the "
        "file and line locations of SARIF, JUnit and GitHub answers; default: name.",
    ),
]
_DECISION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Decision, "description": "The decision (JSON unless asked otherwise)."},
}


@reviews_router.post(
    "/reviews",
    summary="Submit a proposed change; answer with its decision.",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": Decision, "description": "A new decision."},
        200: {"model": Decision, "description": "The decision already made for this submission."},
        413: {"description": "The body is over the size limit."},
        422: {"description": "The body cannot be read as the kind given; the reason says where."},
        503: {
            "description": "As many submissions as `--max-concurrent` are in progress (come "
            "back after `Retry-After` seconds), or the store does not answer."
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The input file as `commander review` reads it.",
            "content": {
                "application/json": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def submit(  # noqa: PLR0917 - FastAPI maps one parameter to each query field
    request: Request,
    state: State,
    principal: Submitter,
    actor: Annotated[Name, Query(description="Who proposes the change.")] = "unknown",
    source: Annotated[Source, Query(description="What kind of proposer it is.")] = Source.HUMAN,
    intent: Annotated[Text, Query(description="The stated purpose of the change.")] = "",
    environment: Annotated[
        Environment | None,
        Query(description="Target environment; unknown names count as production."),
    ] = None,
    kind: Annotated[InputKind, Query(description="Input kind; auto detects it.")] = InputKind.auto,
    name: Annotated[
        InputName, Query(description="The input's file name, as the record shows it.")
    ] = "request-body",
    change_id: Annotated[
        ChangeId | None,
        Query(
            description="Which change this submits; default: what the change is (its "
            "configuration, objects, paths or migration path, with actor and environment)."
        ),
    ] = None,
    delete: Annotated[bool, Query(description="Kubernetes: review deleting the objects.")] = False,
    fmt: Annotated[
        OutputFormat | None, Query(alias="format", description="Answer format; overrides Accept.")
    ] = None,
    path: PathQuery = None,
) -> Response:
    """Review the body and record the decision; the same submission twice is one decision."""
    meta = Meta(
        kind=kind.value,
        submission=Submission(source=source, actor=actor, intent=intent, environment=environment),
        name=name,
        change_id=change_id,
        delete=delete,
        path=path,
    )
    admission = state.admission
    if not admission.enter():
        raise HTTPException(
            503,
            f"{admission.limit} submissions are in progress (--max-concurrent); retry shortly",
            {"Retry-After": str(admission.RETRY_AFTER_SECONDS)},
        )
    answer_format = _format(fmt, request)

    def judged() -> tuple[Submitted, Response]:
        # Rendered on the request's thread too: the event loop only moves bytes.
        done = state.submit(body, meta, principal.name)
        return done, _answer(done.decision, done.proposal, answer_format, path)

    try:
        body = await read_body(request, state.max_body_bytes)
        done, response = await run_in_threadpool(judged)
    finally:
        admission.leave()
    decision = done.decision
    response.status_code = 200 if done.replayed else 201
    response.headers["Location"] = f"/v1/decisions/{decision.decision_id}"
    response.headers["X-Commander-Outcome"] = decision.outcome
    response.headers["X-Commander-Replayed"] = "true" if done.replayed else "false"
    return response


@reviews_router.get(
    "/decisions/{decision_id}",
    summary="A recorded decision, by id or unique prefix.",
    response_model=None,
    responses={**_DECISION_RESPONSES, 404: {"description": "No such decision."}},
)
async def get_decision(
    decision_id: DecisionId,
    request: Request,
    state: State,
    _: Reader,
    fmt: Annotated[
        OutputFormat | None, Query(alias="format", description="Answer format; overrides Accept.")
    ] = None,
    path: PathQuery = None,
) -> Response:
    """Read a decision back as it was recorded."""
    stored = await run_in_threadpool(state.find, decision_id)
    response = _answer(stored.decision, stored.proposal, _format(fmt, request), path)
    response.headers["X-Commander-Outcome"] = stored.decision.outcome
    return response


@reviews_router.get("/decisions", summary="The newest decisions, newest first.")
async def list_decisions(
    state: State,
    _: Reader,
    actor: Annotated[Name | None, Query(description="Only this actor's.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[DecisionSummary]:
    """Summaries of recent decisions."""
    return await run_in_threadpool(lambda: state.store.recent(actor=actor, limit=limit))


def _format(given: OutputFormat | None, request: Request) -> OutputFormat:
    if given is not None:
        return given
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in _BY_ACCEPT:
            return _BY_ACCEPT[media]
    return OutputFormat.json


def _answer(
    decision: Decision, proposal: Proposal, fmt: OutputFormat, path: str | None
) -> Response:
    sources = Sources(input_path=path) if path else None
    text = render(fmt.value, decision, proposal, color=False, sources=sources)
    return Response(text, media_type=_MEDIA[fmt])
