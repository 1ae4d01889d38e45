"""HCP Terraform / Terraform Enterprise run tasks at the post-plan stage.

HCP Terraform POSTs a signed request (`X-TFC-Task-Signature`: the
HMAC-SHA512 hex of the body under the run task's HMAC key) and wants a 200
at once; the result comes later, as a PATCH of the request's
`task_result_callback_url` with the request's `access_token`:

    {"data": {"type": "task-results",
              "attributes": {"status": "passed"|"failed", "message": …, "url": …},
              "relationships": {"outcomes": {"data": [one per finding]}}}}

The plan is fetched from `plan_json_api_url` (a redirect to a signed
address) and reviewed like any submission, as the change of its pull
request (`OWNER/REPO#N`, when the run came from one on GitHub: PR comments
then sign it) or else of its workspace (`ORGANIZATION/WORKSPACE`).

An escalation answers `failed`, its message naming the roles still to sign
and the decision: HCP Terraform gives a run task minutes, people take
longer. Once they have signed, re-run the plan: the same plan for the same
change, by the same person (the actor is the run's creator, who cannot sign
it), is the same decision, now approved-by-humans, and passes. A result
is never `passed` by mistake: a plan that cannot be fetched or read, a
stage other than post_plan, a review that fails, all answer `failed`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.adapters.base import Submission
from orchestrator.errors import CommanderError
from orchestrator.models import Decision, Source
from orchestrator.service.outbound import Unsent, call, fetch
from orchestrator.service.standing import standing
from orchestrator.service.state import Meta
from orchestrator.store.deliveries import claim_delivery, finish_delivery

if TYPE_CHECKING:
    from orchestrator.service.state import ServiceState

log = logging.getLogger("commander.service.run_task")
STAGE = "post_plan"
MAX_OUTCOMES = 50  # findings past this are counted in the message, not listed
SUBMITTER = "hcp-terraform"
_GITHUB_PR = re.compile(r"^https://github\.com/([^/]+/[^/]+)/pull/(\d+)/?$")
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "info"}


class RunTaskRequest(BaseModel):
    """The fields of HCP Terraform's run task request that commander reads (payload_version 1)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    payload_version: int = Field(ge=1, le=1)
    access_token: str = Field(min_length=1)
    stage: str
    task_result_id: str = Field(min_length=1, max_length=150)
    task_result_callback_url: str = Field(min_length=1)
    run_id: str = ""
    run_app_url: str = ""
    run_message: str = ""
    run_created_by: str = ""
    organization_name: str = ""
    workspace_name: str = ""
    plan_json_api_url: str | None = None
    vcs_pull_request_url: str | None = None
    vcs_commit_url: str | None = None

    @property
    def change_id(self) -> str:
        """The pull request's change when the run came from a GitHub PR, else the workspace's."""
        found = _GITHUB_PR.match(self.vcs_pull_request_url or "")
        if found:
            return f"{found[1]}#{found[2]}"
        return f"{self.organization_name}/{self.workspace_name}"


@dataclass(frozen=True)
class TaskResult:
    """What the callback says."""

    status: str  # passed, failed
    message: str
    url: str | None = None
    outcomes: tuple[dict[str, Any], ...] = ()
    decision_id: str | None = None

    def document(self) -> dict[str, Any]:
        """The JSON:API body of the callback."""
        attributes: dict[str, Any] = {"status": self.status, "message": self.message}
        if self.url:
            attributes["url"] = self.url
        data: dict[str, Any] = {"type": "task-results", "attributes": attributes}
        if self.outcomes:
            data["relationships"] = {"outcomes": {"data": list(self.outcomes)}}
        return {"data": data}


def claim(state: ServiceState, request: RunTaskRequest) -> bool:
    """Record the request once; False when it was received before (a retry: do nothing)."""
    delivery_id = f"hcp:{request.task_result_id}"
    return claim_delivery(state.store, delivery_id, "run_task", now=state.now()) is None


def run(state: ServiceState, request: RunTaskRequest, decisions_url: str) -> TaskResult:
    """Fetch, review and answer one claimed request (after the 200 went back)."""
    result = _result(state, request, decisions_url)
    delivery_id = f"hcp:{request.task_result_id}"
    try:
        call(
            "PATCH",
            request.task_result_callback_url,
            token=request.access_token,
            body=result.document(),
            content_type="application/vnd.api+json",
            accept="application/vnd.api+json",
        )
    except Unsent as exc:
        # HCP Terraform times the task out and shows it errored: never passed.
        log.warning("could not answer run task %s: %s", request.task_result_id, exc)
        answered = False
    else:
        answered = True
    finish_delivery(
        state.store,
        delivery_id,
        status="answered" if answered else "unanswered",
        now=state.now(),
        decision_id=result.decision_id,
        answer=f"{result.status}: {result.message}",
    )
    return result


def _result(state: ServiceState, request: RunTaskRequest, decisions_url: str) -> TaskResult:
    if request.stage != STAGE or not request.plan_json_api_url:
        return TaskResult(
            "failed", f"commander reviews plans at the post_plan stage, not {request.stage}"
        )
    try:
        plan = fetch(request.plan_json_api_url, token=request.access_token).body
    except Unsent as exc:
        return TaskResult("failed", f"commander could not fetch the plan JSON: {exc}")
    meta = Meta(
        kind="terraform",
        submission=Submission(
            source=Source.HUMAN,
            actor=request.run_created_by or SUBMITTER,
            # Not run_message: it changes between runs of one plan ("Triggered via UI"), and
            # the same plan re-run must be the same submission to find its sign-off.
            intent=request.vcs_pull_request_url
            or request.vcs_commit_url
            or f"HCP Terraform run in {request.change_id}",
        ),
        name="plan.json",
        change_id=request.change_id,
        delete=False,
    )
    try:
        done = state.submit(plan, meta, SUBMITTER)
        found = standing(state.store, done.decision.decision_id, now=state.now())
    except CommanderError as exc:
        return TaskResult("failed", f"commander could not review the plan: {exc}")
    url = f"{decisions_url}/{done.decision.decision_id}"
    message = found.summary
    if found.state == "pending":
        message += "; sign it off, then re-run the plan (the same plan passes once approved)"
    status = "passed" if found.state == "passed" else "failed"
    return TaskResult(
        status, message[:1000], url, _outcomes(done.decision), done.decision.decision_id
    )


def _outcomes(decision: Decision) -> tuple[dict[str, Any], ...]:
    """One outcome per finding, most severe first."""
    findings = [(v.reviewer, f) for v in decision.verdicts for f in v.findings]
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    findings.sort(key=lambda pair: (order.get(pair[1].severity.value, 4), pair[1].rule))
    outcomes = []
    for index, (reviewer, finding) in enumerate(findings[:MAX_OUTCOMES]):
        severity = finding.severity.value
        resources = "".join(f"\n- `{r}`" for r in finding.resources[:20])
        outcomes.append(
            {
                "type": "task-result-outcomes",
                "attributes": {
                    "outcome-id": f"{finding.rule}-{index + 1}",
                    "description": finding.message[:500],
                    "body": f"**{finding.rule}** ({reviewer}, {severity})\n\n"
                    f"{finding.message}{resources}",
                    "tags": {
                        "Severity": [{"label": severity, "level": _LEVEL.get(severity, "info")}],
                        "Reviewer": [{"label": reviewer}],
                    },
                },
            }
        )
    return tuple(outcomes)
