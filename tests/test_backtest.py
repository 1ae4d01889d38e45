"""`commander backtest`: replay a window of decisions under a candidate policy, report the flips.

Decisions are recorded by the real review path into a SQLite file; the CLI runs
as a real process; one test maps the unit over a real process pool.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestrator.backtest import backtest
from orchestrator.models import Decision
from orchestrator.replay import PolicySpec, load_candidate, replay
from orchestrator.store import Store
from orchestrator.store.governance import Identities, approve, freeze
from orchestrator.testing import plan_document, prior_resource, resource_change
from tests.audit_factories import run_sql
from tests.gate_support import wall
from tests.test_replay import STRICT, TOPOLOGY, candidate_dir, review

LOW_APPROVE = {
    "low:\n    outcome: approve": "low:\n    outcome: escalate\n    approvals: [senior-engineer]"
}


def _noop_plan(tmp_path: Path, name: str) -> Path:
    """A plan that changes nothing: approved at the low tier today."""
    values = {"bucket": name}
    path = tmp_path / f"{name}.json"
    doc = plan_document(
        [resource_change(f"aws_s3_bucket.{name}", ["no-op"], before=values, after=values)],
        prior=[prior_resource(f"aws_s3_bucket.{name}", values)],
    )
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def history(tmp_path: Path) -> tuple[str, list[Decision], datetime]:
    """Five recorded decisions: two critical escalations, three low approvals, and a midpoint."""
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    early = [review(db), review(db, _noop_plan(tmp_path, "early"), actor="coding-agent")]
    time.sleep(0.01)
    middle = datetime.now(UTC).replace(tzinfo=None)
    time.sleep(0.01)
    late = [
        review(db),
        review(db, _noop_plan(tmp_path, "late"), actor="coding-agent"),
        review(db, _noop_plan(tmp_path, "later"), actor="alice"),
    ]
    return db, early + late, middle


def test_backtest_reports_every_decision_that_would_flip(
    history: tuple[str, list[Decision], datetime], tmp_path: Path
) -> None:
    """A stricter candidate rejects the critical escalations and escalates the low approvals."""
    db, decisions, _ = history
    strict = candidate_dir(tmp_path, **STRICT, **LOW_APPROVE)
    with Store.open(db) as store:
        report = backtest(store, PolicySpec(strict, TOPOLOGY))

    assert (report.replayed, report.changed, len(report.flips)) == (5, 5, 5)
    assert report.transitions == {"approve -> escalate": 3, "escalate -> reject": 2}
    flips = {f.decision_id: (f.outcome_before, f.outcome_after) for f in report.flips}
    assert flips == {
        d.decision_id: (d.outcome, "reject" if d.outcome == "escalate" else "escalate")
        for d in decisions
    }
    assert [f.decision_id for f in report.flips] == [d.decision_id for d in decisions]
    assert report.unreplayable == ()


def test_backtest_under_todays_policy_flips_nothing(
    history: tuple[str, list[Decision], datetime],
) -> None:
    """Replaying history under the policy that made it changes nothing."""
    db, _, _ = history
    with Store.open(db) as store:
        report = backtest(store, PolicySpec(None, TOPOLOGY))
    assert (report.replayed, report.changed, report.flips) == (5, 0, ())


def test_cli_window_table_and_json(
    history: tuple[str, list[Decision], datetime], tmp_path: Path, run_cli: Any
) -> None:
    """--since keeps the later decisions; the table and the JSON list the same flips."""
    db, decisions, middle = history
    strict = candidate_dir(tmp_path, **STRICT)
    args = ["backtest", "--config", str(strict), "--topology", str(TOPOLOGY), "--db", db]
    since = ["--since", middle.isoformat() + "Z"]

    text = run_cli(*args, *since)
    as_json = run_cli(*args, *since, "--output", "json")
    before = json.loads(run_cli(*args, "--until", middle.isoformat(), "--output", "json").stdout)

    assert text.code == 0, text.stderr
    assert "3 replayed, 1 changed, 1 would flip" in text.stdout
    late_escalation = decisions[2].decision_id
    row = next(line for line in text.stdout.splitlines() if late_escalation in line)
    assert "escalate → reject" in row
    assert "escalate → reject: 1" in text.stdout
    report = json.loads(as_json.stdout)
    assert report["schema"] == "commander.backtest/v1"
    assert (report["replayed"], report["flipped"]) == (3, 1)
    assert [f["decision_id"] for f in report["flips"]] == [late_escalation]
    assert report["flips"][0]["flipped"] is True
    assert report["transitions"] == {"escalate -> reject": 1}
    assert (before["replayed"], before["flipped"]) == (2, 1)


def test_a_record_that_no_longer_loads_is_reported_and_fails_the_run(
    history: tuple[str, list[Decision], datetime], tmp_path: Path, run_cli: Any
) -> None:
    """A damaged decision is listed as unreplayable and the exit code says the run is partial."""
    db, decisions, _ = history
    damaged = decisions[1].decision_id
    run_sql(
        db, "UPDATE decisions SET decision_json = 'garbage' WHERE decision_id = :id", id=damaged
    )
    strict = candidate_dir(tmp_path, **STRICT)

    result = run_cli("backtest", "--config", str(strict), "--db", db, "--output", "json")

    assert result.code == 1
    report = json.loads(result.stdout)
    assert report["replayed"] == 4
    assert [u["decision_id"] for u in report["unreplayable"]] == [damaged]
    assert "does not load" in report["unreplayable"][0]["error"]


def test_the_unit_maps_over_a_process_pool_with_the_same_result(
    history: tuple[str, list[Decision], datetime], tmp_path: Path
) -> None:
    """Jobs and the policy spec pickle: worker processes give the report the loop gives."""
    db, _, _ = history
    spec = PolicySpec(candidate_dir(tmp_path, **STRICT), TOPOLOGY)
    context = multiprocessing.get_context("spawn")
    with Store.open(db) as store, ProcessPoolExecutor(2, mp_context=context) as pool:
        pooled = backtest(store, spec, mapper=pool.map)
        local = backtest(store, spec)
    assert pooled == local
    assert len(pooled.flips) == 2


def test_missing_candidate_config_is_a_one_line_error(run_cli: Any, tmp_path: Path) -> None:
    """A candidate directory that does not exist fails before any replay, exit 1."""
    assert run_cli("migrate").code == 0  # without a store the first line is "no store at"
    result = run_cli("backtest", "--config", str(tmp_path / "nope"))
    assert result.code == 1
    assert result.stderr.strip().endswith("config directory does not exist")


def _tag_plan(tmp_path: Path, name: str, value: str) -> Path:
    """A one-resource tag change in development: escalated to one senior engineer."""
    before, after = {"bucket": name, "tags": {"v": "0"}}, {"bucket": name, "tags": {"v": value}}
    doc = plan_document(
        [resource_change(f"aws_s3_bucket.{name}", ["update"], before=before, after=after)],
        prior=[prior_resource(f"aws_s3_bucket.{name}", before)],
    )
    path = tmp_path / f"{name}-{value}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_tighter_budget_flips_only_decisions_after_the_use_it_counts(tmp_path: Path) -> None:
    """Budget use is read as it stood at each decision: the first change fits, the second not."""
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    first = review(db, _tag_plan(tmp_path, "logs", "1"), actor="tagger", environment="dev")
    with Store.open(db) as store:
        approve(
            store,
            first.decision_id,
            name="alice",
            role="senior-engineer",
            identities=Identities(),
            now=wall(),
        )
    second = review(db, _tag_plan(tmp_path, "logs", "2"), actor="tagger", environment="dev")
    tight = candidate_dir(
        tmp_path,
        **{"- {metric: changed-resources, limit: 200, window: 24h}": (
            "- {metric: changed-resources, limit: 1, window: 24h}"
        )},
    )  # fmt: skip

    with Store.open(db) as store:
        report = backtest(store, PolicySpec(tight, TOPOLOGY))
        same = backtest(store, PolicySpec(None, TOPOLOGY))

    assert (first.outcome, second.outcome) == ("escalate", "escalate")
    assert [f.decision_id for f in report.flips] == [second.decision_id]
    assert report.flips[0].outcome_after == "reject"
    assert report.flips[0].rules_added == ("budget-exceeded:changed-resources-per-1d",)
    assert (same.changed, same.flips) == (0, ())


def test_decisions_made_by_the_kill_switch_are_listed_apart(tmp_path: Path) -> None:
    """A frozen actor's rejection was no policy's doing: backtests skip it, replays say so."""
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    judged = review(db)
    with Store.open(db) as store:
        freeze(
            store, "refactor-bot", by="alice", reason="runaway", identities=Identities(), now=wall()
        )
    stopped = review(db)
    with Store.open(db) as store:
        report = backtest(store, PolicySpec(None, TOPOLOGY))
        diff = replay(store, stopped.decision_id, load_candidate(PolicySpec(None, TOPOLOGY)))

    assert stopped.rules_fired == ("actor-frozen",)
    assert (report.replayed, report.frozen) == (1, (stopped.decision_id,))
    assert report.flips == ()
    assert judged.decision_id != stopped.decision_id
    assert diff.outcome_before == "reject"
    assert any("was frozen when this was decided" in n for n in diff.notes)
