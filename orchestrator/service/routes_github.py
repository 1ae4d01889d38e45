"""GitHub's webhook: sign-off from pull-request comments, and deployment protection rules.

    issue_comment                /commander approve|deny on a PR (github_comments.py)
    deployment_protection_rule   approve or reject a deployment (github_deployments.py)

GitHub signs each delivery with the webhook's secret: `X-Hub-Signature-256`
is `sha256=` and the HMAC-SHA256 of the raw body. A delivery whose
signature is missing or wrong is 401 and nothing is read from it, let alone
recorded. Without COMMANDER_GITHUB_WEBHOOK_SECRET the route is 404. A
signed delivery is answered 200 with what was done; events the service does
not handle are 202, ignored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from orchestrator.service.bodies import read_body
from orchestrator.service.deps import State
from orchestrator.service.github_comments import handle_comment, pull_comment
from orchestrator.service.github_deployments import deployment_request
from orchestrator.service.integrations import github_signature_ok
from orchestrator.service.state import ServiceState

github_router = APIRouter(prefix="/v1/github", tags=["platforms"])
_HANDLED = frozenset({"issue_comment", "deployment_protection_rule"})


@github_router.post(
    "/webhook",
    summary="GitHub webhook: /commander comments on pull requests and deployment protection "
    "rules; signed with the secret.",
    responses={
        202: {"description": "An event this service does not act on."},
        401: {"description": "The signature is missing or wrong; nothing was recorded."},
        404: {"description": "GitHub webhooks are not configured."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The event as GitHub sends it (JSON).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def webhook(
    request: Request,
    state: State,
    event: Annotated[str, Header(alias="X-GitHub-Event")] = "",
    delivery: Annotated[str, Header(alias="X-GitHub-Delivery", max_length=100)] = "",
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> JSONResponse:
    """Check the signature, then act on the event once per delivery."""
    secret = state.integrations.github_secret
    if secret is None:
        raise HTTPException(404, "GitHub webhooks are not configured on this service")
    body = await read_body(request, state.max_body_bytes)
    counted = event if event in _HANDLED else "other"
    if not github_signature_ok(secret, body, signature):
        state.metrics.deliveries.labels("github", counted, "unsigned").inc()
        raise HTTPException(401, "X-Hub-Signature-256 is missing or does not match the body")
    done = await _dispatch(state, event, delivery.strip(), body)
    if done is None:
        state.metrics.deliveries.labels("github", counted, "ignored").inc()
        if event == "ping":
            return JSONResponse({"status": "pong"})
        return JSONResponse({"event": event, "status": "ignored"}, status_code=202)
    result = "replayed" if done.get("replayed") else "acted"
    state.metrics.deliveries.labels("github", counted, result).inc()
    return JSONResponse({"event": event} | done)


async def _dispatch(
    state: ServiceState, event: str, delivery: str, body: bytes
) -> dict[str, Any] | None:
    """What handling the event did, or None when there was nothing to do."""
    if event not in _HANDLED:
        return None
    if not delivery:
        raise HTTPException(400, "X-GitHub-Delivery is missing")
    payload = _payload(body)
    if event == "issue_comment" and (found := pull_comment(payload)) is not None:
        done = await run_in_threadpool(handle_comment, state, delivery, found)
        if state.deployment_watch is not None:
            state.deployment_watch.wake()  # a deployment may be waiting for this sign-off
        return done
    if event == "deployment_protection_rule" and (asked := deployment_request(payload)):
        return await run_in_threadpool(state.deployments.handle, delivery, asked)
    return None


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise HTTPException(400, f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "the body is not a JSON object")
    return payload
