"""HCP Terraform's run task endpoint: a signed request, a 200 at once, the result later.

The signature (`X-TFC-Task-Signature`, HMAC-SHA512 under
COMMANDER_RUN_TASK_HMAC_KEY) is checked before anything is read: missing or
wrong is 401 and nothing is recorded. Without the key the route is 404. The
verification request HCP Terraform sends when the run task is saved
(stage `test`) is answered 200 and nothing else. A request HCP Terraform
retries (the same task_result_id) is answered 200 and not run again.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from orchestrator.service.bodies import read_body
from orchestrator.service.deps import State
from orchestrator.service.integrations import run_task_signature_ok
from orchestrator.service.run_tasks import RunTaskRequest, claim, run

run_task_router = APIRouter(prefix="/v1", tags=["platforms"])


@run_task_router.post(
    "/run-task",
    summary="HCP Terraform / Terraform Enterprise run task (post_plan); signed with the HMAC key.",
    status_code=200,
    response_class=Response,
    responses={
        200: {"description": "Received; the result follows on the task's callback URL."},
        401: {"description": "The signature is missing or wrong; nothing was recorded."},
        404: {"description": "Run tasks are not configured."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The run task request as HCP Terraform sends it (payload_version 1).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def run_task(
    request: Request,
    state: State,
    background: BackgroundTasks,
    signature: Annotated[str | None, Header(alias="X-TFC-Task-Signature")] = None,
) -> Response:
    """Check the signature, answer 200, then fetch, review and call back."""
    key = state.integrations.run_task_key
    if key is None:
        raise HTTPException(404, "run tasks are not configured on this service")
    body = await read_body(request, state.max_body_bytes)
    counted = state.metrics.deliveries
    if not run_task_signature_ok(key, body, signature):
        counted.labels("hcp", "run_task", "unsigned").inc()
        raise HTTPException(401, "X-TFC-Task-Signature is missing or does not match the body")
    try:
        document = json.loads(body)
        if isinstance(document, dict) and document.get("stage") == "test":
            counted.labels("hcp", "run_task", "ignored").inc()
            return Response(status_code=200)  # HCP Terraform checking the endpoint when saved
        task = RunTaskRequest.model_validate(document)
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise HTTPException(422, f"not a run task request: {first}") from None
    if await run_in_threadpool(claim, state, task):
        decisions = str(request.base_url).rstrip("/") + "/v1/decisions"
        background.add_task(run, state, task, decisions)
        counted.labels("hcp", "run_task", "acted").inc()
    else:
        counted.labels("hcp", "run_task", "replayed").inc()
    return Response(status_code=200)
