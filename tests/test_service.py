"""The HTTP service over a real uvicorn on a loopback port, on SQLite and PostgreSQL.

Submission, idempotency, sign-off, the kill switch, budgets, size limits,
bad input, a crashing reviewer, concurrent clients, probes and metrics: the
same semantics as the CLI, reached through HTTP with bearer tokens.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import make_url

from orchestrator.registry import LoadedReviewer
from orchestrator.store import Store
from orchestrator.store.audit_verify import verify_audit
from orchestrator.testing import CrashingReviewer, plan_document, prior_resource, resource_change
from tests.databases import DIALECTS, fresh_database, run_sql
from tests.gate_support import write_config
from tests.service_support import IAM_PLAN, RunningService, running_service, token_of

IAM = IAM_PLAN.read_bytes()
AGENT = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json"}


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service(db_url, tmp_path) as running:
        yield running


def noop_plan(name: str = "logs") -> bytes:
    """A plan that changes nothing: approved on its own."""
    values = {"bucket": name}
    address = f"aws_s3_bucket.{name}"
    doc = plan_document(
        [resource_change(address, ["no-op"], before=values, after=values)],
        prior=[prior_resource(address, values)],
    )
    return json.dumps(doc).encode()


def decisions_in(url: str) -> int:
    return int(run_sql(url, "SELECT count(*) FROM decisions")[0][0])


# --- submit and read ---------------------------------------------------------------


def test_submission_answers_the_decision_json_and_records_it(
    service: RunningService, db_url: str
) -> None:
    """The IAM boundary story over HTTP: 201, escalate, critical, the three sign-off roles."""
    response = service.submit(IAM, **AGENT)
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["schema"] == "commander.decision/v1"
    assert (decision["outcome"], decision["risk_tier"]) == ("escalate", "critical")
    assert [r["role"] for r in decision["required_approvals"]] == [
        "senior-engineer",
        "security",
        "change-board",
    ]
    assert response.headers["X-Commander-Outcome"] == "escalate"
    assert response.headers["Location"] == f"/v1/decisions/{decision['decision_id']}"
    again = service.client.get(response.headers["Location"], headers=service.as_("ci-bot"))
    assert again.status_code == 200
    assert again.json() == decision
    with Store.open(db_url) as store:
        assert (
            store.get(decision["decision_id"]).decision.model_dump(mode="json", by_alias=True)[
                "outcome"
            ]
            == "escalate"
        )


def test_same_content_twice_is_one_decision(service: RunningService, db_url: str) -> None:
    """A retried submission gets the first decision back (200), and nothing new is recorded."""
    first = service.submit(IAM, **AGENT)
    second = service.submit(IAM, **AGENT)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["decision_id"] == first.json()["decision_id"]
    assert second.headers["X-Commander-Replayed"] == "true"
    assert decisions_in(db_url) == 1
    # Another change id is another submission: judged on its own.
    third = service.submit(IAM, **AGENT, change_id="other-change")
    assert third.status_code == 201
    assert decisions_in(db_url) == 2


def test_identical_submissions_racing_record_one_decision(
    service: RunningService, db_url: str
) -> None:
    """Eight clients send the same plan at once: one decision, seven replays of it."""
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: service.submit(IAM, **AGENT), range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["decision_id"] for a in answers}) == 1
    assert decisions_in(db_url) == 1


def test_concurrent_clients_lose_and_duplicate_nothing(
    service: RunningService, db_url: str
) -> None:
    """Twelve different plans from six clients: twelve decisions, a chain that verifies."""
    bodies = [noop_plan(f"bucket{i}") for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda b: service.submit(b, actor="ci", change_id=b.decode()[-40:]), bodies)
        )
    assert [a.status_code for a in answers] == [201] * 12, [a.text for a in answers]
    assert {a.json()["outcome"] for a in answers} == {"approve"}
    assert len({a.json()["decision_id"] for a in answers}) == 12
    assert decisions_in(db_url) == 12
    with Store.open(db_url) as store:
        assert verify_audit(store).ok


@pytest.mark.parametrize(
    ("accept", "media", "marker"),
    [
        ("text/markdown", "text/markdown", "## "),
        ("application/sarif+json", "application/sarif+json", '"version": "2.1.0"'),
        ("text/plain", "text/plain", "ESCALATE"),
    ],
)
def test_decision_in_the_format_asked(
    service: RunningService, accept: str, media: str, marker: str
) -> None:
    """CI posts the Markdown as a PR comment and uploads the SARIF: both from the same call."""
    response = service.client.post(
        "/v1/reviews",
        content=IAM,
        params=AGENT,
        headers={**service.as_("ci-bot"), "Accept": accept},
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith(media)
    assert marker in response.text


def test_sarif_points_at_the_path_ci_names(service: RunningService) -> None:
    """`?path=` says where the input lives in the repository; SARIF results point there, not at
    the name the runner gave the body, on submit and when read back."""
    params = {**AGENT, "name": "/runner/tmp/plan.json", "path": "infra/prod/plan.json"}
    response = service.client.post(
        "/v1/reviews",
        content=IAM,
        params={**params, "format": "sarif"},
        headers=service.as_("ci-bot"),
    )
    assert response.status_code == 201
    run = response.json()["runs"][0]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"infra/prod/plan.json"}
    decision_id = run["properties"]["decisionId"]
    again = service.client.get(
        f"/v1/decisions/{decision_id}",
        params={"format": "sarif", "path": "infra/prod/plan.json"},
        headers=service.as_("ci-bot"),
    )
    assert again.json()["runs"][0]["results"] == run["results"]


def test_body_over_the_limit_is_refused_with_413(db_url: str, tmp_path: Path) -> None:
    with running_service(db_url, tmp_path, max_body_bytes=1024) as service:
        response = service.submit(IAM, **AGENT)
        assert response.status_code == 413
        assert "over the limit of 1024 bytes" in response.json()["error"]
        assert decisions_in(db_url) == 0


def test_the_default_limit_is_64_mib(service: RunningService) -> None:
    """Without --max-body the service takes 64 MiB, not the CLI's 1 GiB: a byte more is 413."""
    assert service.state.max_body_bytes == 64 << 20
    address = urlsplit(service.url)
    with socket.create_connection((str(address.hostname), int(address.port or 0)), 30) as conn:
        head = (
            "POST /v1/reviews?actor=x HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {token_of('ci-bot')}\r\n"
            f"Content-Length: {(64 << 20) + 1}\r\n\r\n{{}}"
        )
        conn.sendall(head.encode("ascii"))
        with conn.makefile("rb") as answer:
            status = answer.readline().split()[1]
            headers = [answer.readline().strip().lower() for _ in range(6)]
    assert status == b"413"
    assert b"connection: close" in headers


@pytest.mark.parametrize(
    ("body", "params", "reason"),
    [
        (
            b'{"format_version": "1.2", "resource_changes": [{"address": 5}]}',
            {"kind": "terraform"},
            "resource_changes[0]",
        ),
        (b"{not json", {"kind": "terraform"}, "plan.json"),
        (b"\x00\x01\x02", {}, "plan.json"),
    ],
)
def test_malformed_input_is_a_4xx_naming_the_place(
    service: RunningService, db_url: str, body: bytes, params: dict[str, str], reason: str
) -> None:
    response = service.submit(body, **params, name="plan.json")
    assert response.status_code == 422, response.text
    assert reason in response.json()["error"]
    assert "\n" not in response.json()["error"]
    assert decisions_in(db_url) == 0


def test_bad_metadata_and_empty_body_are_4xx(service: RunningService) -> None:
    assert service.submit(b"", **AGENT).status_code == 400
    wrong = service.submit(IAM, actor="x", source="robot")
    assert wrong.status_code == 422
    assert "source" in wrong.json()["error"]


def test_a_crashing_reviewer_never_gives_a_2xx_approve(service: RunningService) -> None:
    """A plan every built-in approves escalates when a reviewer crashes."""
    assert service.submit(noop_plan(), actor="ci").json()["outcome"] == "approve"
    state = service.state
    crashing = LoadedReviewer(
        name="crashing", reviewer=CrashingReviewer(), stage=1, settings_model=None, origin="test"
    )
    state.setup = dataclasses.replace(state.setup, reviewers=[*state.setup.reviewers, crashing])
    response = service.submit(noop_plan("other"), actor="ci")
    assert response.status_code == 201
    assert response.json()["outcome"] == "escalate"
    assert "reviewer-failed" in response.json()["rules_fired"]


def test_decision_not_found_is_404(service: RunningService) -> None:
    response = service.client.get("/v1/decisions/0000ffff", headers=service.as_("ci-bot"))
    assert response.status_code == 404
    assert "0000ffff" in response.json()["error"]


# --- the human gate ----------------------------------------------------------------


def test_escalation_is_signed_through_the_api(service: RunningService, db_url: str) -> None:
    """Three approvers sign their roles; the escalation completes; the chain names them."""
    decision_id = service.submit(IAM, **AGENT).json()["decision_id"]
    listed = service.client.get("/v1/escalations", headers=service.as_("alice")).json()
    assert [e["decision_id"] for e in listed] == [decision_id]
    assert listed[0]["submitter"] == "ci-bot"

    def sign(who: str, role: str) -> Any:
        return service.client.post(
            f"/v1/escalations/{decision_id}/approve",
            json={"role": role, "comment": "checked the 47 services"},
            headers=service.as_(who),
        )

    assert sign("bob", "senior-engineer").status_code == 403  # not in bob's token
    assert sign("alice", "senior-engineer").json()["completed"] is False
    refused = sign("alice", "change-board")
    assert refused.status_code == 409
    assert "one role only" in refused.json()["error"]
    assert sign("bob", "security").json()["completed"] is False
    done = sign("carol", "change-board").json()
    assert done["completed"] is True
    assert done["escalation"]["status"] == "approved-by-humans"
    signers = run_sql(db_url, "SELECT name FROM escalation_approvals ORDER BY name")
    assert [row[0] for row in signers] == ["alice", "bob", "carol"]
    with Store.open(db_url) as store:
        assert verify_audit(store).ok
    metrics = service.client.get("/metrics", headers=service.as_("scraper")).text
    assert 'commander_approval_latency_seconds_count{risk_tier="critical"} 1.0' in metrics


def test_nobody_approves_what_they_submitted(service: RunningService) -> None:
    """The submitter is the token's principal: the separation of duties holds over HTTP."""
    decision_id = service.submit(IAM, who="dana", **AGENT).json()["decision_id"]
    own = service.client.post(
        f"/v1/escalations/{decision_id}/approve",
        json={"role": "security"},
        headers=service.as_("dana"),
    )
    assert own.status_code == 409
    assert "submitted" in own.json()["error"]


def test_deny_ends_the_escalation(service: RunningService) -> None:
    decision_id = service.submit(IAM, **AGENT).json()["decision_id"]
    denied = service.client.post(
        f"/v1/escalations/{decision_id}/deny",
        json={"reason": "not during the freeze window"},
        headers=service.as_("bob"),
    )
    assert denied.status_code == 200
    assert denied.json()["status"] == "denied"
    late = service.client.post(
        f"/v1/escalations/{decision_id}/approve",
        json={"role": "security"},
        headers=service.as_("bob"),
    )
    assert late.status_code == 409


def test_freeze_rejects_at_once_and_thaw_lets_the_same_plan_be_judged(
    service: RunningService, db_url: str
) -> None:
    """The kill switch over HTTP; a thaw is not answered with the frozen-time rejection."""
    escalated = service.submit(IAM, **AGENT).json()["decision_id"]
    froze = service.client.post(
        "/v1/freezes",
        json={"actor": "agent-7", "reason": "incident 42"},
        headers=service.as_("root"),
    )
    assert froze.status_code == 201
    assert froze.json()["cancelled"] == [escalated]
    again = service.client.post(
        "/v1/freezes",
        json={"actor": "agent-7", "reason": "incident 42"},
        headers=service.as_("root"),
    )
    assert (again.status_code, again.json()["created"]) == (200, False)

    frozen = service.submit(IAM, **AGENT)
    assert frozen.status_code == 201
    assert frozen.json()["outcome"] == "reject"
    assert frozen.json()["rules_fired"] == ["actor-frozen"]

    thawed = service.client.delete(
        "/v1/freezes/agent-7", params={"reason": "resolved"}, headers=service.as_("root")
    )
    assert thawed.status_code == 200
    judged = service.submit(IAM, **AGENT)
    assert judged.status_code == 201
    assert judged.json()["outcome"] == "escalate"
    assert decisions_in(db_url) == 3


def test_freeze_every_ai_agent_and_thaw(service: RunningService) -> None:
    root = service.as_("root")
    body = {"all_ai_agents": True, "reason": "agents misbehaving"}
    assert service.client.post("/v1/freezes", json=body, headers=root).status_code == 201
    assert service.submit(noop_plan(), **AGENT).json()["outcome"] == "reject"
    assert service.client.delete("/v1/freezes", headers=root).status_code == 400
    lifted = service.client.delete("/v1/freezes", params={"all_ai_agents": True}, headers=root)
    assert lifted.status_code == 200
    assert service.client.get("/v1/freezes", headers=root).json() == []


def test_budget_is_spent_and_shown_through_the_api(db_url: str, tmp_path: Path) -> None:
    """Under 10 changes an hour, 4 + 5 are approved, 2 more rejected; the window shows 9."""
    rule = {"metric": "changed-resources", "limit": 10, "window": "1h"}
    config = write_config(
        tmp_path / "config",
        agents={
            "unknown_actors": "ai-agent",
            "actors": {
                "budget-bot": {
                    "kind": "ai-agent",
                    "purposes": ["infra"],
                    "environments": ["development"],
                }
            },
        },
        budgets={"kinds": {}, "actors": {"budget-bot": [rule]}},
    )
    meta = {"actor": "budget-bot", "source": "ai-agent", "environment": "dev"}
    with running_service(db_url, tmp_path, config_dir=config) as service:
        outcomes = []
        for name, count in (("a", 4), ("b", 5), ("c", 2)):
            changes = [
                resource_change(f'aws_s3_object.{name}["{i}"]', ["create"], after={"key": str(i)})
                for i in range(count)
            ]
            body = json.dumps(plan_document(changes)).encode()
            answer = service.submit(body, **meta, name=f"{name}.json").json()
            outcomes.append(answer["outcome"])
        assert outcomes == ["approve", "approve", "reject"]
        assert answer["rules_fired"] == ["budget-exceeded:changed-resources-per-1h"]
        windows = service.client.get(
            "/v1/actors/budget-bot/budgets",
            params={"source": "ai-agent"},
            headers=service.as_("ci-bot"),
        ).json()
        assert [(w["rule"]["metric"], w["used"], w["rule"]["limit"]) for w in windows] == [
            ("changed-resources", 9, 10)
        ]


# --- authentication and authorisation ---------------------------------------------

# Each guarded route with a request that would otherwise be valid enough to pass auth.
ROUTE_CALLS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("POST", "/v1/reviews"): ("/v1/reviews", {"content": b"{}"}),
    ("POST", "/v1/guard"): ("/v1/guard", {"json": {"command": "ls", "cwd": "/"}}),
    ("GET", "/v1/decisions"): ("/v1/decisions", {}),
    ("GET", "/v1/decisions/{decision_id}"): ("/v1/decisions/abc", {}),
    ("GET", "/v1/decisions/{decision_id}/wait"): ("/v1/decisions/abc/wait", {}),
    ("GET", "/v1/escalations"): ("/v1/escalations", {}),
    ("GET", "/v1/escalations/{decision_id}"): ("/v1/escalations/abc", {}),
    ("POST", "/v1/escalations/{decision_id}/approve"): (
        "/v1/escalations/abc/approve",
        {"json": {"role": "security"}},
    ),
    ("POST", "/v1/escalations/{decision_id}/deny"): (
        "/v1/escalations/abc/deny",
        {"json": {"reason": "no"}},
    ),
    ("GET", "/v1/freezes"): ("/v1/freezes", {}),
    ("POST", "/v1/freezes"): ("/v1/freezes", {"json": {"actor": "x", "reason": "r"}}),
    ("DELETE", "/v1/freezes/{actor}"): ("/v1/freezes/x", {}),
    ("DELETE", "/v1/freezes"): ("/v1/freezes", {}),
    ("GET", "/v1/actors/{actor}/budgets"): ("/v1/actors/x/budgets", {}),
    ("GET", "/metrics"): ("/metrics", {}),
    ("GET", "/v1/audit/checkpoint"): ("/v1/audit/checkpoint", {}),
}
# Who may call each route; everyone else is refused with 403.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/reviews"): {"ci-bot"},
    ("POST", "/v1/guard"): {"ci-bot", "claude"},
    # carol holds the approver role but not the security gate role asked for: 403 too
    ("POST", "/v1/escalations/{decision_id}/approve"): {"alice", "bob"},
    # an approver in a required role (checked per escalation), or an admin
    ("POST", "/v1/escalations/{decision_id}/deny"): {"alice", "bob", "carol", "root"},
    ("POST", "/v1/freezes"): {"root"},
    ("DELETE", "/v1/freezes/{actor}"): {"root"},
    ("DELETE", "/v1/freezes"): {"root"},
    ("GET", "/metrics"): {"ci-bot", "alice", "bob", "carol", "root", "scraper"},
    # a scraper keeps checkpoints where the database's writers cannot reach
    ("GET", "/v1/audit/checkpoint"): {"ci-bot", "alice", "bob", "carol", "root", "scraper"},
}
READERS = {"ci-bot", "alice", "bob", "carol", "root"}
OPEN = {"/healthz", "/readyz", "/openapi.json"}
# Platforms prove who they are with a signature over the body, not a bearer token
# (tests/test_github_webhook.py, tests/test_run_task.py check those).
SIGNED = {"/v1/github/webhook", "/v1/run-task"}


def test_every_route_is_listed_for_the_auth_checks(service: RunningService) -> None:
    """A new route cannot slip past the 401/403 matrix below."""
    paths = service.app.openapi()["paths"]
    app_routes = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path not in OPEN | SIGNED
        for method in operations
    }
    assert app_routes == set(ROUTE_CALLS)


@pytest.mark.parametrize("route", list(ROUTE_CALLS), ids=lambda r: f"{r[0]} {r[1]}")
def test_every_route_needs_the_right_token(service: RunningService, route: tuple[str, str]) -> None:
    method, _ = route
    path, kwargs = ROUTE_CALLS[route]

    def call(headers: dict[str, str]) -> int:
        return service.client.request(method, path, headers=headers, **kwargs).status_code

    assert call({}) == 401
    assert call({"Authorization": "Bearer cmdr_not-a-token"}) == 401
    assert call({"Authorization": "Basic YWxpY2U6cHc="}) == 401
    allowed = ALLOWED.get(route, READERS)
    for name in ("ci-bot", "alice", "bob", "carol", "root", "scraper", "claude"):
        status = call(service.as_(name))
        if name in allowed:
            assert status not in (401, 403), (name, status)
        else:
            assert status == 403, (name, status)


def test_unauthenticated_answer_carries_the_bearer_challenge(service: RunningService) -> None:
    response = service.client.get("/v1/decisions")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"error": "a bearer token is required"}


# --- probes, metrics, OpenAPI -------------------------------------------------------


def test_probes_need_no_token(service: RunningService) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize("dialect", DIALECTS[1:])
def test_readyz_is_503_when_the_store_is_gone(dialect: str, tmp_path: Path) -> None:
    """The schema dropped under a running service: not ready (the reason is in its log)."""
    with fresh_database(dialect, tmp_path) as url, running_service(url, tmp_path) as service:
        assert service.client.get("/readyz").status_code == 200
        schema = str(make_url(url).query["options"]).removeprefix("-csearch_path=")
        run_sql(url, f'DROP SCHEMA "{schema}" CASCADE')
        run_sql(url, f'CREATE SCHEMA "{schema}"')  # for fresh_database's own drop
        response = service.client.get("/readyz")
        assert response.status_code == 503
        assert "the audit store is unavailable" in response.json()["error"]
        assert service.submit(noop_plan(), actor="ci").status_code == 503


def test_metrics_count_decisions_reviewers_and_pending(service: RunningService) -> None:
    service.submit(IAM, **AGENT)
    service.submit(IAM, **AGENT)  # a replay: counted apart
    service.submit(noop_plan(), actor="ci")
    text = service.client.get("/metrics", headers=service.as_("scraper")).text
    escalated = 'outcome="escalate",risk_tier="critical",source="ai-agent"'
    assert f"commander_decisions_total{{{escalated}}} 1.0" in text
    assert 'commander_decisions_total{outcome="approve",risk_tier="low",source="human"} 1.0' in text
    assert "commander_submissions_replayed_total 1.0" in text
    assert 'commander_reviewer_duration_seconds_count{reviewer="blast-radius"} 2.0' in text
    assert "commander_pending_escalations 1.0" in text
    assert "commander_pending_escalation_oldest_age_seconds" in text
    assert (
        'commander_http_requests_total{method="POST",route="/v1/reviews",status="201"} 2.0' in text
    )


def test_openapi_document_is_served_and_matches_the_checked_in_copy(
    service: RunningService,
) -> None:
    """docs/openapi.json is what the service serves: regenerate it when routes change."""
    served = service.client.get("/openapi.json").json()
    checked_in = json.loads(
        (Path(__file__).resolve().parent.parent / "docs" / "openapi.json").read_text("utf-8")
    )
    assert served == checked_in, "run: python -m orchestrator.service.openapi > docs/openapi.json"
    assert served["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert set(served["paths"]) >= {"/v1/reviews", "/v1/escalations/{decision_id}/approve"}


def test_guarded_routes_are_all_declared_with_a_bearer_in_openapi(service: RunningService) -> None:
    served = service.client.get("/openapi.json").json()
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            if path in OPEN | SIGNED:
                continue
            assert operation.get("security") == [{"HTTPBearer": []}], (method, path)
