"""Policies end to end through the real `commander` process: Rego, YAML rules, failures."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orchestrator.testing import plan_document, resource_change
from tests.test_rego import AI_PLAN, FIXTURES, shared_policy

EXIT = {"approve": 0, "escalate": 3, "reject": 4}


def _config(tmp_path: Path, files: dict[str, str]) -> Path:
    """A user config directory holding the given policies/… files."""
    config = tmp_path / "config"
    for name, text in files.items():
        path = config / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return config


def _plan(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _review(run_cli: Any, plan: Path, config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("review", str(plan), "--output", "json", "--config", str(config), *args)
    assert result.code in EXIT.values(), (result.code, result.stderr)
    decision = json.loads(result.stdout)
    assert result.code == EXIT[decision["outcome"]]
    return result.code, decision


def _policy(decision: dict[str, Any]) -> dict[str, Any]:
    return next(v for v in decision["verdicts"] if v["reviewer"] == "policy")


NOOP_PLAN = plan_document(
    [resource_change("aws_s3_bucket.logs", ["no-op"], before={"b": 1}, after={"b": 1})]
)


def test_shared_rego_policy_denies_an_ai_agent_touching_iam(run_cli: Any, tmp_path: Path) -> None:
    """The published AI-DevOps policy, unchanged, rejects an AI agent's IAM plan, with messages."""
    config = _config(tmp_path, {"policies/ai_devops_scope.rego": shared_policy()[0]})
    code, decision = _review(
        run_cli,
        _plan(tmp_path, AI_PLAN),
        config,
        "--source",
        "ai-agent",
        "--actor",
        "coding-agent",
        "--environment",
        "production",
    )
    assert code == 4
    messages = {f["message"] for v in decision["verdicts"] for f in v["findings"]}
    assert (
        "AI agent change blocked: IAM resource 'aws_iam_role.deployer' requires human review"
        in messages
    )
    assert "AI agent change blocked: VPC modifications require human review" in messages
    assert "hard-denial:rego.ai_devops.scope.deny" in decision["rules_fired"]
    iam = next(f for f in _policy(decision)["findings"] if "aws_iam_role" in f["message"])
    assert iam["resources"] == ["aws_iam_role.deployer"]
    assert iam["evidence"]["package"] == "ai_devops.scope"


def test_shared_rego_policy_lets_a_registered_person_through_to_review(
    run_cli: Any, tmp_path: Path
) -> None:
    """The same plan from a registered person raises no Rego denial (others still judge it)."""
    config = _config(tmp_path, {"policies/ai_devops_scope.rego": shared_policy()[0]})
    _, decision = _review(
        run_cli,
        _plan(tmp_path, AI_PLAN),
        config,
        "--source",
        "human",
        "--actor",
        "alice",
        "--environment",
        "production",
    )
    assert not [f for f in _policy(decision)["findings"] if f["rule"].startswith("rego.")]
    assert not any(r.startswith("hard-denial:rego.") for r in decision["rules_fired"])


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        (
            "broken.rego",
            (FIXTURES / "broken.rego").read_text(encoding="utf-8"),
            "broken.rego: line 7: rego compile error",
        ),
        (
            "conflict.rego",
            'package c\nimport rego.v1\nx := 1\nx := 2 if true\ndeny contains "m" if x == 1\n',
            "conflict.rego: line 4: rego evaluation error",
        ),
    ],
)
def test_a_broken_rego_policy_escalates_and_never_approves(
    run_cli: Any, tmp_path: Path, name: str, text: str, needle: str
) -> None:
    """A plan that would be approved escalates when a Rego module cannot be compiled or run."""
    plan = _plan(tmp_path, NOOP_PLAN)
    clean = _config(
        tmp_path / "clean", {"policies/ok.rego": "package ok\ndeny[m] { false; m := 1 }\n"}
    )
    assert _review(run_cli, plan, clean, "--actor", "alice")[0] == 0
    config = _config(tmp_path, {f"policies/{name}": text})
    code, decision = _review(run_cli, plan, config, "--actor", "alice")
    assert code == 3
    assert "reviewer-failed" in decision["rules_fired"]
    error = _policy(decision)["error"]
    assert needle in error, error
    assert "\n" not in error


def _decision_rows(tmp_path: Path) -> int:
    db = tmp_path / "audit.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return (
            conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
            if "decisions" in tables
            else 0
        )


def test_a_typo_in_a_policy_file_stops_the_review_naming_file_and_line(
    run_cli: Any, tmp_path: Path
) -> None:
    """A misspelt rule key exits 1 with one line naming the file and line; nothing is recorded."""
    text = (
        "rules:\n"
        "  - id: team.no-deletes\n"
        "    message: no deletes\n"
        "    effect: deny\n"
        "    enforcment: hard-mandatory\n"
    )
    config = _config(tmp_path, {"policies/team.yaml": text})
    result = run_cli(
        "review", str(_plan(tmp_path, NOOP_PLAN)), "--config", str(config), "--output", "json"
    )
    assert result.code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert f"{config / 'policies' / 'team.yaml'}: line 5: " in line
    assert "did you mean 'enforcement'" in line
    assert _decision_rows(tmp_path) == 0


def test_an_advisory_rule_reports_what_it_would_decide_without_deciding(
    run_cli: Any, tmp_path: Path
) -> None:
    """A shadow-mode deny on an otherwise approved change: approve, with the would-be outcome."""
    plan = _plan(
        tmp_path,
        plan_document(
            [
                resource_change(
                    "random_pet.name",
                    ["create"],
                    after={"length": 2},
                    provider="registry.terraform.io/hashicorp/random",
                )
            ]
        ),
    )
    rule = (
        "rules:\n"
        "  - id: team.no-pets\n"
        "    message: pets are being phased out\n"
        "    effect: deny\n"
        "    enforcement: advisory\n"
        "    match: {types: [random_pet]}\n"
    )
    config = _config(tmp_path, {"policies/team.yaml": rule})
    code, decision = _review(
        run_cli,
        plan,
        config,
        "--source",
        "ai-agent",
        "--actor",
        "coding-agent",
        "--environment",
        "dev",
    )
    assert code == 0
    [finding] = [f for f in _policy(decision)["findings"] if f["rule"] == "team.no-pets"]
    assert finding["evidence"]["would_outcome"] == "reject"
    assert finding["message"] == "advisory, would deny: pets are being phased out (1 change)"
    enforced = _config(
        tmp_path / "enforced", {"policies/team.yaml": rule.replace("advisory", "hard-mandatory")}
    )
    code, decision = _review(
        run_cli,
        plan,
        enforced,
        "--source",
        "ai-agent",
        "--actor",
        "coding-agent",
        "--environment",
        "dev",
    )
    assert code == 4
    assert "hard-denial:team.no-pets" in decision["rules_fired"]
