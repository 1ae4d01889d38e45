"""Gate roles: a denial takes a required role, and separation of duties follows the content.

Issue 14: an approver token with no gate roles could deny any escalation (a
denial is final), and a principal holding both ci and approver could resubmit
content another pipeline submitted, be handed the replay, and then approve
it. Through the real service (SQLite and PostgreSQL) and the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.store import Store
from orchestrator.store.audit_verify import verify_audit
from orchestrator.store.governance import may_deny
from tests.databases import DIALECTS, fresh_database, run_sql
from tests.gate_support import REPO, write_config
from tests.service_support import IAM_PLAN, RunningService, running_service

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


def chained(url: str, kind: str) -> list[tuple[str, str]]:
    """(ref_id, actor) of every chain event of `kind`, oldest first."""
    rows = run_sql(url, "SELECT kind, ref_id, actor FROM audit_chain ORDER BY seq")
    return [(r[1], r[2]) for r in rows if r[0] == kind]


@pytest.mark.parametrize(
    ("holds", "required", "allowed"),
    [
        ((), ("security",), False),
        (("dba",), ("security", "change-board"), False),
        (("Security",), ("security", "change-board"), True),
        (("dba",), (), True),  # a tier asking for "any approver"
        ((), (), False),
    ],
)
def test_who_may_deny(holds: tuple[str, ...], required: tuple[str, ...], allowed: bool) -> None:
    """A denial takes one of the required roles (any gate role when any approver will do)."""
    assert may_deny(holds, required) is allowed


def test_an_approver_without_gate_roles_cannot_deny(service: RunningService, db_url: str) -> None:
    """erin's token lists no gate role: 403, the escalation stays pending, nothing chained."""
    decision_id = service.submit(IAM, **AGENT).json()["decision_id"]
    denied = service.client.post(
        f"/v1/escalations/{decision_id}/deny",
        json={"reason": "because I can"},
        headers=service.as_("erin"),
    )
    assert denied.status_code == 403
    assert "no gate roles" in denied.json()["error"]
    shown = service.client.get(f"/v1/escalations/{decision_id}", headers=service.as_("erin"))
    assert shown.json()["status"] == "pending"
    assert chained(db_url, "escalation.denied") == []


def test_a_role_holder_or_an_admin_may_deny(service: RunningService, db_url: str) -> None:
    """carol (change-board, a required role) denies one; root (admin) denies another."""
    first = service.submit(IAM, **AGENT).json()["decision_id"]
    by_carol = service.client.post(
        f"/v1/escalations/{first}/deny", json={"reason": "no"}, headers=service.as_("carol")
    )
    assert by_carol.status_code == 200, by_carol.text
    second = service.submit(IAM, actor="agent-8", source="ai-agent", name="plan.json")
    by_root = service.client.post(
        f"/v1/escalations/{second.json()['decision_id']}/deny",
        json={"reason": "incident"},
        headers=service.as_("root"),
    )
    assert by_root.status_code == 200, by_root.text
    assert [a for _, a in chained(db_url, "escalation.denied")] == ["carol", "root"]


def test_resubmitting_anothers_content_makes_you_its_submitter(
    service: RunningService, db_url: str
) -> None:
    """dana (ci + approver) resubmits what ci-bot submitted: the replay, then 409 on approve."""
    first = service.submit(IAM, **AGENT).json()
    again = service.submit(IAM, who="dana", **AGENT)
    assert again.json()["decision_id"] == first["decision_id"]
    assert service.submit(IAM, who="dana", **AGENT).status_code == again.status_code
    own = service.client.post(
        f"/v1/escalations/{first['decision_id']}/approve",
        json={"role": "security"},
        headers=service.as_("dana"),
    )
    assert own.status_code == 409, own.text
    assert "dana submitted this content" in own.json()["error"]
    # one event for dana, however often she retries; none for ci-bot's own retry
    service.submit(IAM, **AGENT)
    assert chained(db_url, "change.resubmitted") == [(first["decision_id"], "dana")]
    bob = service.client.post(
        f"/v1/escalations/{first['decision_id']}/approve",
        json={"role": "security"},
        headers=service.as_("bob"),
    )
    assert bob.status_code == 200, bob.text
    with Store.open(db_url) as store:
        assert verify_audit(store).ok


# --- the real commander ------------------------------------------------------------------------

PLAN = REPO / "examples" / "iam-boundary" / "plan.json"


def review(run_cli: Any, submitter: str, *args: str) -> dict[str, Any]:
    result = run_cli(
        "review", str(PLAN), "--actor", "alice", "--submitter", submitter, "--output", "json", *args
    )
    assert result.code == 3, result.stderr
    decision: dict[str, Any] = json.loads(result.stdout)
    return decision


def test_cli_an_earlier_submitter_of_the_same_content_cannot_approve(run_cli: Any) -> None:
    """ci-a submits, dana submits the same plan for the same change: ci-a cannot sign dana's."""
    review(run_cli, "ci-a")
    latest = review(run_cli, "dana")
    role = latest["required_approvals"][0]["role"]
    refused = run_cli("approve", latest["decision_id"], "--as", "ci-a", "--role", role)
    assert refused.code == 1, refused.stderr
    assert "ci-a submitted this content" in refused.stderr
    assert run_cli("approve", latest["decision_id"], "--as", "bob", "--role", role).code == 0


def test_cli_deny_takes_a_required_role(run_cli: Any, tmp_path: Path) -> None:
    """With gate.approvers, erin (dba only) may not deny; bob (in a required role) may."""
    first = review(run_cli, "ci")
    needed = [r["role"] for r in first["required_approvals"]]
    approvers = {"erin": ["dba"], "bob": [needed[0]]}
    gate = {"escalation_expiry": "24h", "approvers": approvers, "max_elevation": "7d"}
    config = str(write_config(tmp_path / "config", gate=gate))
    ident = first["decision_id"]

    erin = run_cli("deny", ident, "--as", "erin", "--reason", "no", "--config", config)
    assert erin.code == 1, erin.stderr
    assert "erin signs none of the roles" in erin.stderr
    bob = run_cli("deny", ident, "--as", "bob", "--reason", "no", "--config", config)
    assert bob.code == 0, bob.stderr
