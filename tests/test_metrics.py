"""The service's metrics an SRE dashboard needs, checked against a running service.

Gate endings and approval latency come from every path (the API, the CLI on
the same store, expiry, cancellation); reviewer times are float seconds; every
known series exists from the start; promtool finds nothing to lint; the
Grafana dashboard only asks for metrics the service exports.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.models import Verdict
from tests.conftest import REPO, _commander_command
from tests.databases import fresh_database
from tests.gate_support import write_config
from tests.service_support import IAM_PLAN, RunningService, running_service
from tests.test_service import noop_plan

IAM = IAM_PLAN.read_bytes()
AGENT = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json"}
DASHBOARD = REPO / "docs" / "grafana-dashboard.json"
REVIEWERS = ("blast-radius", "contrarian", "policy", "reversibility", "scope")


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service(db_url, tmp_path) as running:
        yield running


def scrape(service: RunningService) -> str:
    response = service.client.get("/metrics", headers=service.as_("scraper"))
    assert response.status_code == 200
    return response.text


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def endings(text: str, tier: str = "critical") -> dict[str, float]:
    return {
        kind: value(text, "commander_gate_endings_total", ending=kind, risk_tier=tier)
        for kind in ("approved", "denied", "expired", "cancelled")
    }


def test_approval_with_the_cli_is_counted_with_its_latency(
    service: RunningService, db_url: str
) -> None:
    """Signed with `commander approve` against the service's store, not over HTTP: still counted."""
    decision_id = service.submit(IAM, **AGENT).json()["decision_id"]
    assert endings(scrape(service)) == dict.fromkeys(endings(""), 0.0)
    for who, role in (("alice", "senior-engineer"), ("bob", "security"), ("carol", "change-board")):
        done = subprocess.run(
            [*_commander_command(), "approve", decision_id, "--as", who, "--role", role,
             "--db", db_url],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    text = scrape(service)
    assert endings(text)["approved"] == 1.0
    count = "commander_approval_latency_seconds_count"
    assert value(text, count, risk_tier="critical") == 1.0
    assert value(text, "commander_approval_latency_seconds_sum", risk_tier="critical") > 0
    assert endings(scrape(service))["approved"] == 1.0  # counted once, however often scraped


def test_denial_and_cancellation_are_counted(service: RunningService) -> None:
    """A deny over the API and a changed plan for the same change each end one escalation."""
    denied = service.submit(IAM, **AGENT).json()["decision_id"]
    service.client.post(
        f"/v1/escalations/{denied}/deny", json={"reason": "not now"}, headers=service.as_("bob")
    )
    service.submit(IAM, **AGENT, change_id="infra#7")
    service.submit(noop_plan(), **AGENT, change_id="infra#7")  # cancels the one before
    assert endings(scrape(service)) == {
        "approved": 0.0,
        "denied": 1.0,
        "expired": 0.0,
        "cancelled": 1.0,
    }


def test_expiry_is_counted(db_url: str, tmp_path: Path) -> None:
    """An escalation nobody signed in time is counted as expired once its time has passed."""
    config = write_config(tmp_path / "config", gate={"escalation_expiry": 1, "approvers": {}})
    with running_service(db_url, tmp_path, config_dir=config) as service:
        service.submit(IAM, **AGENT)
        assert endings(scrape(service))["expired"] == 0.0
        time.sleep(1.5)
        assert endings(scrape(service))["expired"] == 1.0


def test_known_series_exist_from_the_start(service: RunningService) -> None:
    """Before any review: every reviewer, outcome, tier and ending has its zero series and
    _created, and the process metrics are there."""
    text = scrape(service)
    found = samples(text)
    for reviewer in REVIEWERS:
        key = ("commander_reviewer_duration_seconds_count", (("reviewer", reviewer),))
        assert found[key] == 0.0
        assert ("commander_reviewer_errors_created", (("reviewer", reviewer),)) in found
    for outcome in ("approve", "escalate", "reject"):
        labels = (("outcome", outcome), ("risk_tier", "high"), ("source", "ai-agent"))
        assert found[("commander_decisions_total", labels)] == 0.0
    assert ("commander_gate_endings_created", (("ending", "expired"), ("risk_tier", "low"))) in (
        found
    )
    assert any(name == "process_resident_memory_bytes" for name, _ in found)
    assert any(name == "python_info" for name, _ in found)


def test_fast_reviewers_report_float_seconds(service: RunningService) -> None:
    """Reviewers that take under a millisecond no longer sum to 0: times are float seconds."""
    service.submit(noop_plan(), actor="ci")
    text = scrape(service)
    for reviewer in REVIEWERS:
        assert value(text, "commander_reviewer_duration_seconds_count", reviewer=reviewer) == 1.0
        assert value(text, "commander_reviewer_duration_seconds_sum", reviewer=reviewer) > 0.0


def test_float_seconds_stay_out_of_the_decision_json() -> None:
    """The measured float rides beside the verdict: JSON, equality and the record are unchanged."""
    plain = Verdict(reviewer="scope", stance="approve", risk_tier="low", confidence=1.0)
    timed = plain.timed(0.0004)
    assert timed.seconds == 0.0004
    assert timed.duration_ms == 0
    assert timed.model_dump() == plain.model_dump()
    assert timed == plain
    assert Verdict.model_validate(timed.model_dump()).seconds == 0.0


def test_findings_are_counted_by_rule_and_severity(service: RunningService) -> None:
    """Each finding of a recorded decision counts under its rule, reviewer and severity."""
    decision = service.submit(IAM, **AGENT).json()
    text = scrape(service)
    for verdict in decision["verdicts"]:
        for finding in verdict["findings"]:
            if finding["rule"] == "blast-radius.reach":
                continue  # a summary, not a finding to count
            labels = {
                "rule": finding["rule"],
                "reviewer": verdict["reviewer"],
                "severity": finding["severity"],
            }
            assert value(text, "commander_findings_total", **labels) >= 1.0
    dissent = value(text, "commander_decision_dissent_count", outcome="escalate")
    assert dissent == 1.0


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (Debian: apt-get install prometheus ships /usr/bin/promtool)",
)
def test_promtool_finds_nothing_to_lint(service: RunningService) -> None:
    """`promtool check metrics` (Prometheus' own linter) is clean on a busy service's /metrics."""
    decision_id = service.submit(IAM, **AGENT).json()["decision_id"]
    service.submit(noop_plan(), actor="ci")
    service.client.post(
        f"/v1/escalations/{decision_id}/deny", json={"reason": "no"}, headers=service.as_("bob")
    )
    done = subprocess.run(
        ["promtool", "check", "metrics"],
        input=scrape(service),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


# --- the Grafana dashboard ------------------------------------------------------------------

_FUNCTIONS = {
    "sum", "rate", "increase", "histogram_quantile", "by", "without", "max", "topk", "avg",
    "count", "le", "irate", "clamp_min", "on", "ignoring", "group_left", "vector", "or",
    "and", "unless", "min", "sort_desc", "label_replace", "time", "scalar", "delta",
}  # fmt: skip


def _metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not its functions, labels or variables)."""
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_strings = re.sub(r'"[^"]*"', "", without_labels)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
    without_groupings = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", without_ranges)
    words = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", without_groupings))
    return {w for w in words if w not in _FUNCTIONS and not w.startswith("__")}


def test_dashboard_reads_only_metrics_the_service_exports(service: RunningService) -> None:
    """The Grafana dashboard is valid JSON, and every panel's queries name exported metrics."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    service.submit(IAM, **AGENT)
    exported = {name for name, _ in samples(scrape(service))}
    panels = dashboard["panels"]
    titles = {p["title"] for p in panels}
    assert {"AI change volume by tier", "Approval time", "Dissent"} <= titles
    for panel in panels:
        targets = panel.get("targets", [])
        assert targets, panel["title"]
        for target in targets:
            names = _metric_names(target["expr"])
            assert names, target["expr"]
            assert names <= exported, (panel["title"], names - exported)
