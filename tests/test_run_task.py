"""HCP Terraform run tasks, end to end: a signed request over a real socket, a 200 at once, the
plan fetched (through HCP's redirect) from a loopback fake HCP API, reviewed and recorded, and
the result PATCHed to the fake's callback as JSON:API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.service.integrations import Integrations, run_task_signature_ok
from tests.databases import DIALECTS, fresh_database, run_sql
from tests.platform_fakes import FakePlatform, Seen, fake_platform, run_task_signature
from tests.service_support import IAM_PLAN, RunningService, running_service
from tests.test_github_deployments import noop_plan

KEY = "run-task-hmac-key-for-tests"
ACCESS_TOKEN = "atlasv1.test-access-token"
PLAN_PATH = "/api/v2/plans/plan-1/json-output"
SIGNED_PATH = "/archivist/v1/object/plan-1?signature=abc"


@dataclass
class Rig:
    service: RunningService
    hcp: FakePlatform

    def request(self, task_result_id: str | None = None, **changes: Any) -> dict[str, Any]:
        """A post_plan run task request as HCP Terraform sends it."""
        ident = task_result_id or f"taskrs-{uuid.uuid4().hex[:16]}"
        return {
            "payload_version": 1,
            "stage": "post_plan",
            "access_token": ACCESS_TOKEN,
            "capabilities": {"outcomes": True},
            "configuration_version_id": "cv-1",
            "is_speculative": False,
            "task_result_id": ident,
            "task_result_enforcement_level": "mandatory",
            "task_result_callback_url": f"{self.hcp.url}/api/v2/task-results/{ident}/callback",
            "run_app_url": "https://app.terraform.io/app/acme/infra/runs/run-1",
            "run_id": "run-1",
            "run_message": "Triggered via UI",
            "run_created_at": "2026-12-07T10:00:00.000Z",
            "run_created_by": "alex",
            "workspace_id": "ws-1",
            "workspace_name": "infra-prod",
            "workspace_app_url": "https://app.terraform.io/app/acme/infra-prod",
            "organization_name": "acme",
            "plan_json_api_url": f"{self.hcp.url}{PLAN_PATH}",
            "vcs_repo_url": None,
            "vcs_branch": None,
            "vcs_pull_request_url": None,
            "vcs_commit_url": None,
        } | changes

    def send(self, payload: dict[str, Any], *, key: str | None = KEY) -> httpx.Response:
        raw = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["X-TFC-Task-Signature"] = run_task_signature(key, raw)
        return self.service.client.post("/v1/run-task", content=raw, headers=headers)

    def serve_plan(self, plan: bytes) -> None:
        """The plan's JSON, behind HCP's redirect to a signed address."""
        self.hcp.answer("GET", PLAN_PATH, 307, b"", Location=SIGNED_PATH)
        self.hcp.answer("GET", SIGNED_PATH, 200, plan)

    def result(self, payload: dict[str, Any]) -> Seen:
        """The callback PATCH for this request, once it arrived."""
        path = payload["task_result_callback_url"].removeprefix(self.hcp.url)
        (sent,) = self.hcp.wait_for("PATCH", path)
        return sent


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[Rig]:
    with fake_platform() as hcp:
        integrations = Integrations(run_task_key=KEY)
        with running_service(db_url, tmp_path, integrations=integrations) as service:
            yield Rig(service, hcp)


def test_an_approved_plan_passes(rig: Rig, db_url: str) -> None:
    """200 at once; the plan fetched with the token (not past the redirect); passed, with a URL."""
    rig.serve_plan(noop_plan())
    payload = rig.request()
    response = rig.send(payload)
    assert response.status_code == 200
    sent = rig.result(payload)
    assert sent.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert sent.headers["Content-Type"] == "application/vnd.api+json"
    attributes = sent.body["data"]["attributes"]
    assert sent.body["data"]["type"] == "task-results"
    assert attributes["status"] == "passed"
    decision_id = run_sql(db_url, "SELECT decision_id FROM decisions")[0][0]
    assert attributes["url"] == f"{rig.service.url}/v1/decisions/{decision_id}"
    (first,) = rig.hcp.requests("GET", PLAN_PATH)
    (signed,) = rig.hcp.requests("GET", SIGNED_PATH)
    assert first.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert "Authorization" not in signed.headers
    change = run_sql(db_url, "SELECT change_id, submitter FROM change_submissions")
    assert tuple(change[0]) == ("acme/infra-prod", "hcp-terraform")


def test_an_escalated_plan_fails_naming_the_roles_and_passes_once_signed(rig: Rig) -> None:
    """Escalate → failed with the roles and outcomes; after sign-off the same plan passes."""
    rig.serve_plan(IAM_PLAN.read_bytes())
    first = rig.request()
    rig.send(first)
    result = rig.result(first).body["data"]
    assert result["attributes"]["status"] == "failed"
    assert "senior-engineer, security, change-board" in result["attributes"]["message"]
    outcomes = result["relationships"]["outcomes"]["data"]
    assert outcomes
    assert {o["type"] for o in outcomes} == {"task-result-outcomes"}
    assert outcomes[0]["attributes"]["tags"]["Severity"][0]["level"] == "error"
    decision_id = result["attributes"]["url"].rsplit("/", 1)[-1]
    for who, role in (("alice", "senior-engineer"), ("bob", "security"), ("carol", "change-board")):
        signed = rig.service.client.post(
            f"/v1/escalations/{decision_id}/approve",
            json={"role": role},
            headers=rig.service.as_(who),
        )
        assert signed.status_code == 200, signed.text
    again = rig.request(run_message="Queued manually using Terraform")  # the message may change
    rig.send(again)
    attributes = rig.result(again).body["data"]["attributes"]
    assert attributes["status"] == "passed"
    assert attributes["url"].endswith(decision_id)  # the same decision, now signed off


def test_a_run_from_a_github_pull_request_is_that_pull_request_s_change(
    rig: Rig, db_url: str
) -> None:
    """vcs_pull_request_url on GitHub: the change is OWNER/REPO#N, so PR comments can sign it."""
    rig.serve_plan(noop_plan())
    payload = rig.request(vcs_pull_request_url="https://github.com/acme/infra/pull/7")
    rig.send(payload)
    rig.result(payload)
    assert run_sql(db_url, "SELECT change_id FROM change_submissions")[0][0] == "acme/infra#7"


def test_bad_signatures_are_401_and_nothing_is_recorded(rig: Rig, db_url: str) -> None:
    rig.serve_plan(noop_plan())
    payload = rig.request()
    assert rig.send(payload, key="guess").status_code == 401
    assert rig.send(payload, key=None).status_code == 401
    assert run_sql(db_url, "SELECT count(*) FROM platform_deliveries")[0][0] == 0
    assert run_sql(db_url, "SELECT count(*) FROM decisions")[0][0] == 0
    assert rig.hcp.requests() == []


def test_a_retried_request_runs_once(rig: Rig, db_url: str) -> None:
    """HCP Terraform retrying the same task_result_id: 200, one review, one callback."""
    rig.serve_plan(noop_plan())
    payload = rig.request(task_result_id="taskrs-same")
    assert rig.send(payload).status_code == 200
    rig.result(payload)
    assert rig.send(payload).status_code == 200
    assert len(rig.hcp.requests("PATCH")) == 1
    assert len(rig.hcp.requests("GET", PLAN_PATH)) == 1
    assert run_sql(db_url, "SELECT count(*) FROM decisions")[0][0] == 1
    metrics = rig.service.client.get("/metrics", headers=rig.service.as_("scraper")).text
    for result in ("acted", "replayed"):
        series = f'event="run_task",platform="hcp",result="{result}"'
        assert f"commander_platform_deliveries_total{{{series}}} 1.0" in metrics


def test_the_verification_request_is_acknowledged_and_nothing_else(rig: Rig, db_url: str) -> None:
    """Saving the run task in HCP Terraform sends stage `test`: 200, no callback, no row."""
    payload = rig.request(stage="test", access_token="test-token")
    assert rig.send(payload).status_code == 200
    assert run_sql(db_url, "SELECT count(*) FROM platform_deliveries")[0][0] == 0
    assert rig.hcp.requests() == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"stage": "pre_plan", "plan_json_api_url": None}, "post_plan stage, not pre_plan"),
        ({"plan_json_api_url": "http://127.0.0.1:9/nothing"}, "could not fetch the plan JSON"),
    ],
)
def test_what_cannot_be_reviewed_fails(rig: Rig, changes: dict[str, Any], says: str) -> None:
    """Fail closed: the wrong stage or an unreachable plan is failed, never passed."""
    payload = rig.request(**changes)
    rig.send(payload)
    attributes = rig.result(payload).body["data"]["attributes"]
    assert attributes["status"] == "failed"
    assert says in attributes["message"]


def test_a_plan_that_is_not_a_plan_fails(rig: Rig) -> None:
    rig.serve_plan(b'{"format_version": "1.2", "resource_changes": "nope"}')
    payload = rig.request()
    rig.send(payload)
    attributes = rig.result(payload).body["data"]["attributes"]
    assert (attributes["status"], attributes["message"][:36]) == (
        "failed",
        "commander could not review the plan:",
    )


def test_a_request_that_is_not_a_run_task_is_422(rig: Rig) -> None:
    assert rig.send({"payload_version": 1, "stage": "post_plan"}).status_code == 422


def test_without_a_key_run_tasks_are_not_there(db_url: str, tmp_path: Path) -> None:
    with running_service(db_url, tmp_path) as service:
        assert service.client.post("/v1/run-task", content=b"{}").status_code == 404


def test_signature_check_is_hcp_s_scheme() -> None:
    """The HMAC-SHA512 hex of the body under the key; anything else fails."""
    body = b'{"payload_version":1}'
    good = run_task_signature(KEY, body)
    assert run_task_signature_ok(KEY, body, good)
    assert not run_task_signature_ok(KEY, body + b"\n", good)
    assert not run_task_signature_ok("other", body, good)
    assert not run_task_signature_ok(KEY, body, None)
