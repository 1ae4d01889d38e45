"""The human gate through the real `commander` process and a real SQLite file.

A person reviews the IAM boundary example (escalated to named roles); the SRE
on call lists, approves and denies with the CLI. Exit codes: 0 done, 1 refused
with a one-line reason, 2 wrong usage.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gate_support import REPO, chain_kinds, write_config

PLAN = REPO / "examples" / "iam-boundary" / "plan.json"
SIGNERS = ("bob", "carol", "dave", "erin")


def review(run_cli: Any, plan: Path = PLAN, *args: str) -> dict[str, Any]:
    """Review `plan` as alice (a person); the decision JSON, which must be an escalation."""
    result = run_cli(
        "review", str(plan), "--actor", "alice", "--submitter", "ci", "--output", "json", *args
    )
    assert result.code == 3, result.stderr
    decision: dict[str, Any] = json.loads(result.stdout)
    assert decision["required_approvals"]
    return decision


def roles(decision: dict[str, Any]) -> list[str]:
    """The roles the decision asks for, in order."""
    return [r["role"] for r in decision["required_approvals"]]


def changed_plan(tmp_path: Path) -> Path:
    """The example plan with one attribute changed: another digest, the same change."""
    doc = json.loads(PLAN.read_text(encoding="utf-8"))
    doc["resource_changes"][0]["change"]["after"]["description"] = "changed after review"
    path = tmp_path / "v2" / "plan.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_pending_approve_until_approved_by_humans(run_cli: Any, cli_env: dict[str, str]) -> None:
    """pending lists age, tier, roles and signers; each role signed completes it, all chained."""
    decision = review(run_cli)
    ident, needed = decision["decision_id"], roles(decision)

    listed = run_cli("pending")
    assert listed.code == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith(ident))
    assert decision["risk_tier"] in line
    assert "alice" in line
    assert all(f"{r}: —" in line for r in needed)

    for name, role in zip(SIGNERS, needed[:-1], strict=False):
        signed = run_cli("approve", ident[:12], "--as", name, "--role", role, "--comment", "ok")
        assert signed.code == 0, signed.stderr
        assert f"{role} signed by {name}" in signed.stdout
    pending = json.loads(run_cli("pending", "--output", "json").stdout)
    assert [p["decision_id"] for p in pending] == [ident]
    assert pending[0]["missing_roles"] == needed[-1:]

    last = run_cli("approve", ident, "--as", "zoe", "--role", needed[-1])
    assert last.code == 0, last.stderr
    assert f"{ident}: approved-by-humans (" in last.stdout
    assert run_cli("pending").stdout.strip() == "no open escalations"
    assert "approved-by-humans" in run_cli("pending", "--all").stdout
    kinds = [k for k, ref in chain_kinds(cli_env["COMMANDER_DATABASE_URL"]) if ref == ident]
    assert kinds == ["decision", "change.submitted"] + ["escalation.approval"] * len(needed) + [
        "escalation.approved-by-humans"
    ]


REFUSED = [
    ("alice", "alice proposed this change; nobody approves their own change"),
    ("ci", "ci submitted this change; nobody approves their own submission"),
    ("refactor-bot", "refactor-bot is registered as ai-agent"),
]


def test_refused_approvals_exit_1_with_one_line(run_cli: Any) -> None:
    """The actor, the submitter and a registered AI agent are refused in one line each."""
    decision = review(run_cli)

    for name, reason in REFUSED:
        role = roles(decision)[0]
        result = run_cli("approve", decision["decision_id"], "--as", name, "--role", role)
        assert result.code == 1, (name, result.stderr)
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert reason in result.stderr


def test_deny_ends_it_for_everyone(run_cli: Any) -> None:
    """After a deny the escalation is closed: approving it is refused and says why."""
    decision = review(run_cli)
    ident = decision["decision_id"]

    denied = run_cli("deny", ident, "--as", "bob", "--reason", "widens every role")
    assert denied.code == 0, denied.stderr
    assert "denied by bob: widens every role" in denied.stdout
    again = run_cli("approve", ident, "--as", "carol", "--role", roles(decision)[0])
    assert again.code == 1
    assert "was denied by bob: widens every role" in again.stderr


def test_expired_escalation_cannot_be_approved(run_cli: Any, tmp_path: Path) -> None:
    """With gate.escalation_expiry 1s, a late signature is refused and the list says expired."""
    gate = {"escalation_expiry": "1s", "approvers": {}, "max_elevation": "7d"}
    config = write_config(tmp_path / "config", gate=gate)
    decision = review(run_cli, PLAN, "--config", str(config))
    time.sleep(1.1)

    late = run_cli("approve", decision["decision_id"], "--as", "bob", "--role", roles(decision)[0])

    assert late.code == 1
    assert "expired at" in late.stderr
    assert "it can no longer be approved" in late.stderr
    assert run_cli("pending").stdout.strip() == "no open escalations"
    assert "expired" in run_cli("pending", "--all").stdout


def test_changed_plan_invalidates_earlier_approvals(run_cli: Any, tmp_path: Path) -> None:
    """Re-submitting changed content for the same change cancels the old escalation."""
    first = review(run_cli, PLAN, "--change-id", "PR-42")
    role = roles(first)[0]
    assert run_cli("approve", first["decision_id"], "--as", "bob", "--role", role).code == 0

    second = review(run_cli, changed_plan(tmp_path), "--change-id", "PR-42")
    assert second["proposal_digest"] != first["proposal_digest"]

    stale = run_cli("approve", first["decision_id"], "--as", "carol", "--role", roles(first)[1])
    assert stale.code == 1
    superseded = "superseded: change 'PR-42' was re-submitted with a different plan"
    assert f"{superseded} as decision {second['decision_id']}" in stale.stderr
    fresh = json.loads(run_cli("pending", "--output", "json").stdout)
    assert [(p["decision_id"], p["approvals"]) for p in fresh] == [(second["decision_id"], [])]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("approve", "0193abcdef", "--as", "bob"), 2, "--role"),
        (("approve", "0193abcdef", "--role", "team-lead"), 2, "--as"),
        (("deny", "0193abcdef", "--as", "bob"), 2, "--reason"),
        (("approve", "0193abcdef", "--as", "bob", "--role", "x"), 1, "no escalated decision"),
        (("approve", "ab", "--as", "bob", "--role", "x"), 1, "at least 6 characters"),
        (("pending", "--output", "yaml"), 2, "yaml"),
    ],
)
def test_gate_usage(run_cli: Any, args: tuple[str, ...], code: int, message: str) -> None:
    """Missing flags exit 2; an unknown escalation exits 1; never a traceback."""
    assert run_cli("migrate").code == 0  # a store without that escalation (none: "no store")
    result = run_cli(*args)
    assert result.code == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
