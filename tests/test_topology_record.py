"""A decision records its review-time topology; replay and backtest say whether theirs is it.

Before, a replay run without --topology (as documented) reported made-up
changes with nothing at the top saying the review had used a topology.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from orchestrator.models import Decision, TopologyRef
from orchestrator.replay import topology_status

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "iam-boundary"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _reviewed(run_cli: Any, topology: Path) -> dict[str, Any]:
    result = run_cli(
        "review",
        str(EXAMPLE / "plan.json"),
        "--source",
        "ai-agent",
        "--actor",
        "bot",
        "--environment",
        "production",
        "--topology",
        str(topology),
        "--output",
        "json",
    )
    assert result.code == 3, result.stderr
    decision: dict[str, Any] = json.loads(result.stdout)
    return decision


def test_the_decision_records_the_topology_path_and_digest(run_cli: Any, tmp_path: Path) -> None:
    """The digest is the file's plain sha256, as `sha256sum` prints it; the path as given."""
    topology = tmp_path / "topology.yaml"
    shutil.copy(EXAMPLE / "topology.yaml", topology)
    decision = _reviewed(run_cli, topology)
    digest = hashlib.sha256(topology.read_bytes()).hexdigest()
    assert decision["topology"] == {"path": str(topology), "digest": f"sha256:{digest}"}
    shown = run_cli("show", decision["decision_id"], "--output", "json")
    assert json.loads(shown.stdout)["topology"] == decision["topology"]


def test_replay_says_at_the_top_whether_its_topology_is_the_reviews(
    run_cli: Any, tmp_path: Path
) -> None:
    """Second line of the replay: none given, matches, or differs (with both digests)."""
    topology = tmp_path / "topology.yaml"
    shutil.copy(EXAMPLE / "topology.yaml", topology)
    ident = _reviewed(run_cli, topology)["decision_id"]
    short = "sha256:" + hashlib.sha256(topology.read_bytes()).hexdigest()[:12]

    bare = run_cli("replay", ident)
    assert bare.code == 0, bare.stderr
    assert bare.stdout.splitlines()[1] == (
        f"  topology NONE GIVEN: the review used {topology} ({short}); "
        f"pass --topology {topology} to replay like for like"
    )
    same = run_cli("replay", ident, "--topology", str(topology))
    assert same.stdout.splitlines()[1] == f"  topology matches the review's: {topology} ({short})"

    other = tmp_path / "other.yaml"
    other.write_text(topology.read_text() + "# edited\n")
    moved = run_cli("replay", ident, "--topology", str(other), "--output", "json")
    report = json.loads(moved.stdout)
    assert report["topology_status"] == "differs"
    assert report["topology_line"].startswith(f"DIFFERS from the review's: it used {topology}")

    backtest = run_cli("backtest", "--config", str(CONFIGS))
    assert backtest.code == 0, backtest.stderr
    assert backtest.stdout.splitlines()[2] == (
        "topology of the replays: 1 none, though the review had one (changes may come from it)"
    )
    matched = run_cli("backtest", "--config", str(CONFIGS), "--topology", str(topology))
    assert matched.stdout.splitlines()[2] == "topology: every replay ran on its review's own"


def test_a_record_from_before_still_loads_and_replays_say_it_is_unrecorded() -> None:
    """Older decision JSON has no `topology`: it reads as None and the replay says so."""
    decision = Decision.model_validate(
        {
            "decision_id": "d",
            "proposal_digest": "sha256:0",
            "outcome": "approve",
            "risk_tier": "low",
            "dissent": 0.0,
            "verdicts": [],
            "rationale": [],
            "policy_version": "p",
            "created_at": "2026-01-01T00:00:00.000Z",
        }
    )
    assert decision.topology is None
    given = TopologyRef(path="t.yaml", digest="sha256:ab")
    status, line = topology_status(decision.topology, given)
    assert status == "unrecorded"
    assert line.startswith("NOT RECORDED with this decision")
