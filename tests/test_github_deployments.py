"""Deployment protection rules, end to end: a signed deployment_protection_rule delivery, the
decision recorded for the deployment's pull request, and the answer on the callback URL of a
loopback fake GitHub API — at once when the decision has settled, when the gate settles if not.
"""

from __future__ import annotations

import json
import time
from typing import Any

from orchestrator.testing import plan_document, prior_resource, resource_change
from tests.databases import run_sql
from tests.github_support import (
    AGENT,
    CALLBACK,
    GITHUB_TOKEN,
    REPO,
    GitHubRig,
    comment_event,
    deployment_event,
)
from tests.service_support import IAM_PLAN


def noop_plan() -> bytes:
    """A plan that changes nothing: approved on its own."""
    values = {"bucket": "logs"}
    doc = plan_document(
        [resource_change("aws_s3_bucket.logs", ["no-op"], before=values, after=values)],
        prior=[prior_resource("aws_s3_bucket.logs", values)],
    )
    return json.dumps(doc).encode()


def settle_status(db_url: str, expected: str, timeout: float = 20) -> str:
    """The delivery's status once it is `expected` (the watch records it after answering)."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(run_sql(db_url, "SELECT status FROM platform_deliveries")[0][0])
        if status == expected or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def answers(rig: GitHubRig) -> list[dict[str, Any]]:
    return [s.body for s in rig.github.requests("POST", CALLBACK)]


def test_an_approved_change_is_approved_at_once(rig: GitHubRig) -> None:
    """The PR's decision is approve: the callback says approved, with the installation token."""
    rig.service.submit(noop_plan(), **AGENT)
    answer = rig.deliver("deployment_protection_rule", deployment_event(rig.github.url))
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "passed"
    sent = rig.github.requests("POST", CALLBACK)
    assert len(sent) == 1
    assert sent[0].headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert sent[0].body["environment_name"] == "production"
    assert sent[0].body["state"] == "approved"
    assert "approved" in sent[0].body["comment"]


def test_a_rejected_change_is_rejected(rig: GitHubRig) -> None:
    """A frozen actor's plan is rejected: so is its deployment."""
    rig.service.client.post(
        "/v1/freezes",
        json={"actor": "agent-7", "reason": "incident 42"},
        headers=rig.service.as_("root"),
    )
    assert rig.service.submit(noop_plan(), **AGENT).json()["outcome"] == "reject"
    rig.deliver("deployment_protection_rule", deployment_event(rig.github.url))
    assert [a["state"] for a in answers(rig)] == ["rejected"]


def test_an_escalated_change_waits_for_sign_off_by_comment(rig: GitHubRig) -> None:
    """Pending: nothing is answered until the last role signs on the PR; then approved."""
    rig.service.submit(IAM_PLAN.read_bytes(), **AGENT)
    waiting = rig.deliver("deployment_protection_rule", deployment_event(rig.github.url))
    assert waiting.json()["state"] == "waiting"
    for login, role in (("alice-gh", "senior-engineer"), ("bob-gh", "security")):
        rig.deliver("issue_comment", comment_event(f"/commander approve --role {role}", login))
    assert answers(rig) == []  # change-board has not signed
    rig.deliver(
        "issue_comment", comment_event("/commander approve --role change-board", "carol-gh")
    )
    sent = rig.github.wait_for("POST", CALLBACK)
    assert sent[0].body["state"] == "approved"
    assert "signed off" in sent[0].body["comment"]


def test_an_escalation_denied_through_the_api_rejects_the_waiting_deployment(
    rig: GitHubRig, db_url: str
) -> None:
    """The watch reads the store: a denial by any path answers rejected, with the reason."""
    decision_id = rig.service.submit(IAM_PLAN.read_bytes(), **AGENT).json()["decision_id"]
    rig.deliver("deployment_protection_rule", deployment_event(rig.github.url))
    rig.service.client.post(
        f"/v1/escalations/{decision_id}/deny",
        json={"reason": "not this week"},
        headers=rig.service.as_("bob"),
    )
    sent = rig.github.wait_for("POST", CALLBACK)
    assert sent[0].body["state"] == "rejected"
    assert "not this week" in sent[0].body["comment"]
    assert settle_status(db_url, "answered") == "answered"


def test_a_deployment_without_a_decision_is_rejected(rig: GitHubRig) -> None:
    """Fail closed: nothing was submitted for the PR or the commit."""
    rig.deliver("deployment_protection_rule", deployment_event(rig.github.url, prs=(99,)))
    (answer,) = answers(rig)
    assert answer["state"] == "rejected"
    assert f"{REPO}#99" in answer["comment"]
    assert "submit the plan first" in answer["comment"]


def test_a_commit_s_decision_serves_a_deployment_without_a_pull_request(rig: GitHubRig) -> None:
    """A push deployment finds the decision submitted as OWNER/REPO@SHA."""
    sha = "b" * 40
    rig.service.submit(noop_plan(), **(AGENT | {"change_id": f"{REPO}@{sha}"}))
    rig.deliver("deployment_protection_rule", deployment_event(rig.github.url, prs=(), sha=sha))
    assert [a["state"] for a in answers(rig)] == ["approved"]


def test_bad_signature_is_401_and_nothing_is_recorded_or_answered(
    rig: GitHubRig, db_url: str
) -> None:
    rig.service.submit(noop_plan(), **AGENT)
    event = deployment_event(rig.github.url)
    assert rig.deliver("deployment_protection_rule", event, secret="guess").status_code == 401
    assert rig.deliver("deployment_protection_rule", event, secret=None).status_code == 401
    assert run_sql(db_url, "SELECT count(*) FROM platform_deliveries")[0][0] == 0
    assert answers(rig) == []


def test_a_replayed_delivery_is_answered_once(rig: GitHubRig) -> None:
    """The same X-GitHub-Delivery twice: one answer on the callback."""
    rig.service.submit(noop_plan(), **AGENT)
    event = deployment_event(rig.github.url)
    first = rig.deliver("deployment_protection_rule", event, delivery="dep-1")
    again = rig.deliver("deployment_protection_rule", event, delivery="dep-1")
    assert (first.json()["replayed"], again.json()["replayed"]) == (False, True)
    assert len(answers(rig)) == 1


def test_an_answer_github_refused_is_sent_again_by_the_watch(rig: GitHubRig, db_url: str) -> None:
    """A failed callback stays owed: the watch sends it once GitHub answers again."""
    rig.service.submit(noop_plan(), **AGENT)
    rig.github.answer("POST", CALLBACK, 502, {"message": "bad gateway"})
    first = rig.deliver("deployment_protection_rule", deployment_event(rig.github.url))
    assert first.json()["answered"] is False
    rig.github.answer("POST", CALLBACK, 204, b"")
    rig.github.wait_for("POST", CALLBACK, count=2)
    assert settle_status(db_url, "answered") == "answered"
    assert len(answers(rig)) == 2  # answered once it went through, never again
