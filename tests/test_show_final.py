"""`commander show` shows where a decision ended up, in every format.

An escalation every role signed is shown approved-by-humans, a denied one
denied, an unsigned one pending; the JSON keeps the review's `outcome` and
adds `final_state` and `gate` beside it.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from tests.gate_support import REPO

PLAN = REPO / "examples" / "iam-boundary" / "plan.json"
SIGNERS = ("bob", "carol", "dave", "erin")


def _escalate(run_cli: Any) -> dict[str, Any]:
    done = run_cli("review", str(PLAN), "--actor", "alice", "--submitter", "ci", "--output", "json")
    assert done.code == 3, done.stderr
    decision: dict[str, Any] = json.loads(done.stdout)
    return decision


def _shown(run_cli: Any, ident: str) -> dict[str, str]:
    shown = {}
    for fmt in ("text", "json", "markdown", "sarif", "junit", "github"):
        done = run_cli("show", ident, "--output", fmt)
        assert done.code == 0, (fmt, done.stderr)
        shown[fmt] = done.stdout
    return shown


def test_show_says_approved_by_humans_once_every_role_signed(run_cli: Any) -> None:
    """After the last signature every format says approved-by-humans; JSON keeps both states."""
    decision = _escalate(run_cli)
    ident = decision["decision_id"]
    roles = [r["role"] for r in decision["required_approvals"]]
    for name, role in zip(SIGNERS, roles, strict=False):
        assert run_cli("approve", ident, "--as", name, "--role", role).code == 0

    shown = _shown(run_cli, ident)

    data = json.loads(shown["json"])
    assert data["outcome"] == "escalate"
    assert data["final_state"] == "approved-by-humans"
    assert data["gate"]["state"] == "approved-by-humans"
    assert [s["role"] for s in data["gate"]["signed"]] == roles
    assert data["gate"]["missing_roles"] == []
    assert "final     approved-by-humans" in shown["text"]
    assert "**Final state: approved-by-humans**" in shown["markdown"]
    run = json.loads(shown["sarif"])["runs"][0]
    assert run["properties"]["finalState"] == "approved-by-humans"
    suite = ET.fromstring(shown["junit"]).find("testsuite")  # noqa: S314 - our own report
    assert suite is not None
    prop = suite.find("properties/property[@name='commander.final_state']")
    assert prop is not None
    assert prop.get("value") == "approved-by-humans"
    assert "::notice title=commander final state::approved-by-humans" in shown["github"]


def test_show_says_denied_and_pending(run_cli: Any) -> None:
    """A deny ends it as denied (with who); an unsigned escalation is pending."""
    pending = _escalate(run_cli)["decision_id"]
    denied = _escalate(run_cli)["decision_id"]
    assert run_cli("deny", denied, "--as", "bob", "--reason", "too wide").code == 0

    assert json.loads(run_cli("show", pending, "--output", "json").stdout)["final_state"] == (
        "pending"
    )
    shown = json.loads(run_cli("show", denied, "--output", "json").stdout)
    assert (shown["final_state"], shown["gate"]["denied_by"]) == ("denied", "bob")
    assert "denied by bob" in run_cli("show", denied).stdout
