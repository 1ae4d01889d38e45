"""Third-party reviewers through the real entry-point discovery, in a real process.

A plugin distribution is laid out on PYTHONPATH as pip would install it (a
module plus a `.dist-info` folder with `entry_points.txt`), so the installed
`commander` finds it exactly as it finds the built-ins.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from orchestrator.testing import plan_document, prior_resource, resource_change

PLUGIN = textwrap.dedent(
    """
    import time
    from orchestrator.models import Finding, RiskTier, Verdict

    class CostReviewer:
        name = "acme-cost"

        async def review(self, proposal, context):
            big = [c.address for c in proposal.effective_changes if c.type == "aws_instance"]
            if not big:
                return Verdict(reviewer=self.name, stance="approve", risk_tier=RiskTier.LOW,
                               confidence=0.8, rationale="no instances")
            return Verdict(reviewer=self.name, stance="concern", risk_tier=RiskTier.MEDIUM,
                           confidence=0.8, rationale="instances cost money",
                           findings=(Finding(rule="acme.cost", message="new instances",
                                             resources=tuple(big), evidence={"count": len(big)}),))

    class CrashingReviewer:
        name = "acme-crash"

        async def review(self, proposal, context):
            raise RuntimeError("acme backend unreachable")

    class SpinningReviewer:
        name = "acme-spin"

        async def review(self, proposal, context):
            end = time.monotonic() + 120
            while time.monotonic() < end:
                pass

    class SyncReviewer:
        name = "acme-sync"

        def review(self, proposal, context):
            return None
    """
)


def _install_plugin(site: Path, entries: dict[str, str]) -> None:
    site.mkdir()
    (site / "acme_reviewers.py").write_text(PLUGIN, encoding="utf-8")
    dist = site / "acme_reviewers-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-reviewers\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = acme_reviewers:{target}" for name, target in entries.items())
    (dist / "entry_points.txt").write_text(f"[commander.reviewers]\n{lines}\n", encoding="utf-8")


def _noop_plan(tmp_path: Path) -> Path:
    values = {"bucket": "logs"}
    plan = tmp_path / "plan.json"
    doc = plan_document(
        [resource_change("aws_s3_bucket.logs", ["no-op"], before=values, after=values)],
        prior=[prior_resource("aws_s3_bucket.logs", values)],
    )
    plan.write_text(json.dumps(doc), encoding="utf-8")
    return plan


@pytest.fixture
def plugin_site(tmp_path: Path, cli_env: dict[str, str]) -> Any:
    """Install a fake third-party plugin distribution for the CLI subprocesses."""

    def install(entries: dict[str, str], timeout: float | None = None) -> None:
        site = tmp_path / "site"
        _install_plugin(site, entries)
        cli_env["PYTHONPATH"] = str(site)
        if timeout is not None:
            config = tmp_path / "config"
            config.mkdir()
            shipped = Path(__file__).resolve().parents[1] / "configs" / "commander.yaml"
            text = shipped.read_text(encoding="utf-8").replace(
                "reviewer_timeout_seconds: 10", f"reviewer_timeout_seconds: {timeout}"
            )
            (config / "commander.yaml").write_text(text, encoding="utf-8")
            cli_env["COMMANDER_CONFIG"] = str(config)

    return install


def test_third_party_reviewer_is_discovered_and_heard(
    run_cli: Any, plugin_site: Any, tmp_path: Path
) -> None:
    """A plugin registered under commander.reviewers runs beside the built-ins, sorted by name."""
    plugin_site({"acme-cost": "CostReviewer"})
    result = run_cli("review", str(_noop_plan(tmp_path)), "--output", "json")
    assert result.code == 0, result.stderr
    names = [v["reviewer"] for v in json.loads(result.stdout)["verdicts"]]
    assert names == sorted(names)
    assert "acme-cost" in names


def test_crashing_plugin_never_lets_a_change_through(
    run_cli: Any, plugin_site: Any, tmp_path: Path
) -> None:
    """A no-op plan that would be approved escalates when one reviewer crashes."""
    plugin_site({"acme-crash": "CrashingReviewer"})
    result = run_cli("review", str(_noop_plan(tmp_path)), "--output", "json")
    decision = json.loads(result.stdout)
    assert result.code == 3, result.stderr
    assert decision["outcome"] == "escalate"
    crashed = next(v for v in decision["verdicts"] if v["reviewer"] == "acme-crash")
    assert "acme backend unreachable" in crashed["error"]
    assert "reviewer-failed" in decision["rules_fired"]


def test_hung_plugin_times_out_and_escalates(
    run_cli: Any, plugin_site: Any, tmp_path: Path
) -> None:
    """A reviewer spinning the CPU is cut off at its timeout; the decision escalates."""
    plugin_site({"acme-spin": "SpinningReviewer"}, timeout=1)
    result = run_cli("review", str(_noop_plan(tmp_path)), "--output", "json", timeout=60)
    assert result.code == 3, result.stderr
    spun = next(v for v in json.loads(result.stdout)["verdicts"] if v["reviewer"] == "acme-spin")
    assert "timed out" in spun["error"]


def test_invalid_plugin_stops_the_review_with_its_name(
    run_cli: Any, plugin_site: Any, tmp_path: Path
) -> None:
    """A plugin breaking the contract is refused at load time, naming itself: exit 1."""
    plugin_site({"acme-sync": "SyncReviewer"})
    result = run_cli("review", str(_noop_plan(tmp_path)))
    assert result.code == 1
    assert "acme-sync" in result.stderr
    assert "must be async" in result.stderr
