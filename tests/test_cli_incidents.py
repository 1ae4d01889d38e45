"""End to end through the real `commander` process and a real SQLite file.

Each test replays one of the incidents commander exists for (DESIGN.md) as a
plan in `terraform show -json` shape, and checks that the exit code, the
decision JSON and the stored record agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.testing import plan_document, prior_resource, resource_change

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "iam-boundary"
EXIT = {"approve": 0, "escalate": 3, "reject": 4}


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _review(run_cli: Any, plan: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    result = run_cli("review", str(plan), "--output", "json", *args)
    assert result.code in EXIT.values(), result.stderr
    decision = json.loads(result.stdout)
    assert result.code == EXIT[decision["outcome"]], "exit code and JSON outcome disagree"
    return result, decision


def _findings(decision: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for v in decision["verdicts"] for f in v["findings"] if f["rule"] == rule]


def test_ai_agent_widening_shared_iam_boundary_is_critical_and_not_approved(run_cli: Any) -> None:
    """An AI agent changing the permission boundary behind 47 services goes to humans."""
    _, decision = _review(
        run_cli,
        EXAMPLE / "plan.json",
        "--source",
        "ai-agent",
        "--actor",
        "refactor-bot",
        "--intent",
        "tidy the permission boundary",
        "--environment",
        "production",
        "--topology",
        str(EXAMPLE / "topology.yaml"),
    )
    assert decision["schema"] == "commander.decision/v1"
    assert decision["outcome"] != "approve"
    assert decision["risk_tier"] == "critical"
    affected = set(decision["blast_radius"]["affected_services"])
    assert len(affected) == 48  # the 47 dependents and the boundary itself
    assert "shared-iam-boundary" in affected
    if decision["outcome"] == "escalate":
        roles = {a["role"] for a in decision["required_approvals"]}
        assert {"senior-engineer", "security", "change-board"} <= roles


def test_ai_agent_rebuilding_production_with_its_database_is_rejected(
    run_cli: Any, tmp_path: Path
) -> None:
    """An AI agent's plan that replaces every resource, the database too, is rejected."""
    addresses = [
        ("aws_vpc.main", {"cidr_block": "10.0.0.0/16"}),
        ("aws_subnet.private[0]", {"cidr_block": "10.0.1.0/24"}),
        ("aws_subnet.private[1]", {"cidr_block": "10.0.2.0/24"}),
        ("aws_lb.api", {"name": "api"}),
        ("aws_ecs_service.api", {"name": "api", "desired_count": 6}),
        (
            "aws_db_instance.main",
            {
                "identifier": "orders",
                "engine": "postgres",
                "deletion_protection": False,
                "skip_final_snapshot": True,
            },
        ),
        ("aws_s3_bucket.assets", {"bucket": "shop-assets"}),
    ]
    changes = [
        resource_change(
            a,
            ["delete", "create"],
            before=v,
            after=v,
            action_reason="replace_because_cannot_update",
        )
        for a, v in addresses
    ]
    plan = _write(
        tmp_path, plan_document(changes, prior=[prior_resource(a, v) for a, v in addresses])
    )
    result, decision = _review(
        run_cli,
        plan,
        "--source",
        "ai-agent",
        "--actor",
        "coding-agent",
        "--intent",
        "fix the load balancer health check",
        "--environment",
        "prod",
    )
    assert decision["outcome"] == "reject"
    assert result.code == 4
    assert decision["risk_tier"] == "critical"
    assert any(r.startswith("hard-denial:") for r in decision["rules_fired"])
    assert decision["required_approvals"] == []


def test_automation_withdrawing_a_quarter_of_ip_prefixes_is_rejected(
    run_cli: Any, tmp_path: Path
) -> None:
    """A cleanup job deleting 1,100 of 4,306 prefixes is rejected with 25.5% as evidence."""
    prefixes = [f'cloudflare_byo_ip_prefix.customer["p{i:04d}"]' for i in range(4306)]
    values = {"account_id": "f037e56e89293a057740de681ac9abbe", "advertisement": "on"}
    changes = [
        resource_change(
            a,
            ["delete"] if i < 1100 else ["no-op"],
            before=values,
            after=None if i < 1100 else values,
            provider="registry.terraform.io/cloudflare/cloudflare",
        )
        for i, a in enumerate(prefixes)
    ]
    plan = _write(
        tmp_path, plan_document(changes, prior=[prior_resource(a, values) for a in prefixes])
    )
    result, decision = _review(
        run_cli,
        plan,
        "--source",
        "automation",
        "--actor",
        "byoip-cleanup",
        "--intent",
        "remove prefixes pending deletion",
        "--environment",
        "production",
    )
    assert decision["outcome"] == "reject"
    assert result.code == 4
    bulk = _findings(decision, "blast-radius.bulk-destroy")
    assert bulk, decision["rules_fired"]
    evidence = bulk[0]["evidence"]
    assert evidence["destroyed"] == 1100
    assert evidence["population"] == 4306
    assert evidence["destroyed_percent"] == 25.5
    assert decision["blast_radius"]["fleet_fraction"] == pytest.approx(0.2555, abs=1e-4)


def test_ai_agent_noop_plan_is_approved_as_low(run_cli: Any, tmp_path: Path) -> None:
    """A plan that changes nothing is approved at the low tier, whoever proposes it."""
    values = {"bucket": "logs"}
    plan = _write(
        tmp_path,
        plan_document(
            [resource_change("aws_s3_bucket.logs", ["no-op"], before=values, after=values)],
            prior=[prior_resource("aws_s3_bucket.logs", values)],
        ),
    )
    result, decision = _review(
        run_cli,
        plan,
        "--source",
        "ai-agent",
        "--actor",
        "coding-agent",
        "--environment",
        "production",
    )
    assert decision["outcome"] == "approve"
    assert decision["risk_tier"] == "low"
    assert result.code == 0
    assert decision["required_approvals"] == []


def test_decision_is_recorded_and_can_be_shown_and_explained(run_cli: Any) -> None:
    """The JSON printed at review time is what `show` returns later; `explain` tells every view."""
    _, decision = _review(
        run_cli,
        EXAMPLE / "plan.json",
        "--source",
        "ai-agent",
        "--actor",
        "refactor-bot",
        "--topology",
        str(EXAMPLE / "topology.yaml"),
    )
    shown = run_cli("show", decision["decision_id"][:13], "--output", "json")
    assert shown.code == 0, shown.stderr
    shown_json = json.loads(shown.stdout)
    # show adds where the decision ended up beside the recorded decision
    assert {k: v for k, v in shown_json.items() if k not in ("final_state", "gate")} == decision
    explained = run_cli("explain", decision["decision_id"])
    assert explained.code == 0, explained.stderr
    for verdict in decision["verdicts"]:
        assert verdict["reviewer"] in explained.stdout


def test_same_input_gives_same_digest_and_decision(run_cli: Any) -> None:
    """Two reviews of one input differ only in id and time."""
    args = ("--source", "human", "--actor", "alice", "--topology", str(EXAMPLE / "topology.yaml"))
    _, first = _review(run_cli, EXAMPLE / "plan.json", *args)
    _, second = _review(run_cli, EXAMPLE / "plan.json", *args)
    assert first["proposal_digest"] == second["proposal_digest"]

    def stable(d: dict[str, Any]) -> dict[str, Any]:
        d = {k: v for k, v in d.items() if k not in {"decision_id", "created_at"}}
        d["verdicts"] = [{k: v for k, v in x.items() if k != "duration_ms"} for x in d["verdicts"]]
        return d

    assert stable(first) == stable(second)


def test_standard_input_is_reviewed(run_cli: Any) -> None:
    """`-` reads the plan from standard input."""
    text = (EXAMPLE / "plan.json").read_text(encoding="utf-8")
    result = run_cli("review", "-", "--output", "json", "--source", "human", stdin=text)
    assert result.code in {0, 3, 4}, result.stderr
    assert json.loads(result.stdout)["proposal_digest"].startswith("sha256:")


@pytest.mark.parametrize("fmt", ["text", "markdown", "sarif"])
def test_every_output_format_keeps_the_exit_code(run_cli: Any, fmt: str) -> None:
    """The output format changes what is printed, never the exit code."""
    result = run_cli(
        "review",
        str(EXAMPLE / "plan.json"),
        "--output",
        fmt,
        "--source",
        "ai-agent",
        "--topology",
        str(EXAMPLE / "topology.yaml"),
    )
    assert result.code == 3, result.stderr
    assert result.stdout.strip()
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes
