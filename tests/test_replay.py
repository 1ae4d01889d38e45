"""`commander replay`: a recorded decision judged again under today's or a candidate policy.

Decisions are recorded by the real review path (`run_review`) into a SQLite
file; the CLI runs as a real process.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission
from orchestrator.config import shipped_config_dir
from orchestrator.guards import BudgetRule
from orchestrator.models import Decision, Proposal, RiskTier, Verdict
from orchestrator.registry import validate_reviewer
from orchestrator.replay import (
    Candidate,
    ReplayJob,
    budget_windows,
    load_job,
    replay,
    replay_one,
)
from orchestrator.replay_diff import diff_decisions
from orchestrator.review import ReviewRequest, run_review
from orchestrator.reviewer import ReviewContext
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.asof import UsageEvent, history_before
from orchestrator.store.governance import Identities, grant_elevation, revoke_elevation
from tests.audit_factories import count
from tests.gate_support import wall

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "iam-boundary"
TOPOLOGY = EXAMPLE / "topology.yaml"


def review(
    db: str,
    plan: Path = EXAMPLE / "plan.json",
    *,
    actor: str = "refactor-bot",
    environment: str = "prod",
    **settings: Any,
) -> Decision:
    """Record a decision through the real review path."""
    result = run_review(
        ReviewRequest(
            path=str(plan),
            submission=Submission(
                source="ai-agent", actor=actor, intent="tidy the boundary", environment=environment
            ),
            settings=Settings(
                database_url=db,
                config_dir=settings.get("config"),
                topology=settings.get("topology", TOPOLOGY),
            ),
        )
    )
    return result.decision


def candidate_dir(tmp_path: Path, **changes: str) -> Path:
    """A candidate config directory: the shipped commander.yaml with lines replaced."""
    folder = tmp_path / "candidate"
    folder.mkdir()
    text = (shipped_config_dir() / "commander.yaml").read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    (folder / "commander.yaml").write_text(text, encoding="utf-8")
    return folder


STRICT = {"ai_agent_critical: escalate": "ai_agent_critical: reject"}


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A fresh SQLite store."""
    return f"sqlite:///{tmp_path / 'audit.db'}"


def test_replay_under_the_same_policy_reproduces_the_decision(db: str) -> None:
    """Reviewers are pure: the same policy and topology give the same decision, every verdict."""
    recorded = review(db)
    with Store.open(db) as store:
        diff = replay(store, recorded.decision_id[:12], Candidate.load(None, TOPOLOGY))
        decisions, links = count(db, "decisions"), count(db, "audit_chain")
    assert not diff.changed, diff
    assert (diff.outcome_before, diff.outcome_after) == ("escalate", "escalate")
    assert diff.policy_before == diff.policy_after
    assert all(v.changed == () for v in diff.verdicts)
    assert {v.reviewer for v in diff.verdicts} == {v.reviewer for v in recorded.verdicts}
    # the decision and its change.submitted event, and nothing of the replay
    assert (decisions, links) == (1, 2), "a replay is never recorded"


def test_stricter_candidate_policy_flips_the_outcome(db: str, tmp_path: Path, run_cli: Any) -> None:
    """A candidate that rejects critical AI-agent changes shows escalate → reject, and why."""
    recorded = review(db)
    strict = candidate_dir(tmp_path, **STRICT)
    args = ["replay", recorded.decision_id, "--db", db, "--config", str(strict)]

    text = run_cli(*args, "--topology", str(TOPOLOGY))
    as_json = run_cli(*args, "--topology", str(TOPOLOGY), "--output", "json")

    assert text.code == 0, text.stderr
    assert "outcome  escalate → reject   FLIPPED" in text.stdout
    assert "+ai-agent-critical" in text.stdout
    assert "roles    senior-engineer, security, change-board → (none)" in text.stdout
    assert text.stdout.rstrip().endswith("outcome flips")
    diff = json.loads(as_json.stdout)
    assert (diff["flipped"], diff["outcome_before"], diff["outcome_after"]) == (
        True,
        "escalate",
        "reject",
    )
    assert diff["policy_after"].startswith("2026.11+")
    assert diff["policy_after"] != diff["policy_before"]
    assert count(db, "decisions") == 1


def test_replay_shows_each_verdict_that_changed(db: str, tmp_path: Path, run_cli: Any) -> None:
    """Without the topology, blast-radius sees no dependents: the diff names it and its findings."""
    recorded = review(db)
    empty = tmp_path / "empty.yaml"
    empty.write_text("services: {}\n", encoding="utf-8")

    result = run_cli("replay", recorded.decision_id, "--db", db, "--topology", str(empty))
    diff = json.loads(
        run_cli(
            "replay", recorded.decision_id, "--db", db, "--topology", str(empty), "--output", "json"
        ).stdout
    )

    assert result.code == 0, result.stderr
    by_name = {v["reviewer"]: v for v in diff["verdicts"]}
    blast = by_name["blast-radius"]
    assert "stance" in blast["changed"]
    assert blast["before"]["stance"] == "concern"
    assert blast["after"]["stance"] == "approve"
    assert blast["rules_removed"]
    assert by_name["reversibility"]["changed"] == []
    line = next(x for x in result.stdout.splitlines() if x.lstrip().startswith("blast-radius"))
    assert "concern critical" in line
    assert "→ approve" in line
    assert "reversibility  unchanged" in result.stdout


def test_replay_of_an_unknown_decision_is_a_one_line_error(db: str, run_cli: Any) -> None:
    """Asking for a decision that is not there fails with exit 1 and no traceback."""
    review(db)
    result = run_cli("replay", "ffffffffffff", "--db", db)
    assert result.code == 1
    assert result.stderr.strip() == (
        "commander: error: no decision id starts or ends with 'ffffffffffff'"
    )


class HistoryReader:
    """Reports how many earlier decisions of the actor it was shown."""

    name = "history-reader"

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Approve, with the history's length as evidence."""
        seen = len(context.history)
        return Verdict(
            reviewer=self.name,
            stance="approve",
            risk_tier=RiskTier.LOW,
            confidence=min(1.0, seen / 10),
            rationale=f"{seen} earlier decisions",
        )


def test_replay_shows_reviewers_the_history_as_it_stood_then(db: str) -> None:
    """The second decision is replayed with the first in its history, and not with the third."""
    first, second, third = (review(db) for _ in range(3))
    base = Candidate.load(None, TOPOLOGY)
    reader = validate_reviewer(HistoryReader, label="test")
    candidate = Candidate(
        config=base.config, reviewers=(reader,), context=base.context, topology=base.topology
    )
    with Store.open(db) as store:
        histories = [
            history_before(store, "refactor-bot", d.decision_id) for d in (first, second, third)
        ]
        job = load_job(store, store.get(second.decision_id), lookback=timedelta(0))
        other = history_before(store, "someone-else", third.decision_id)

    assert [[h.decision_id for h in hist] for hist in histories] == [
        [],
        [first.decision_id],
        [second.decision_id, first.decision_id],
    ]
    assert other == ()
    verdict = next(v for v in replay_one(job, candidate).verdicts if v.reviewer == reader.name)
    assert verdict.after is not None
    assert verdict.after.rationale == "1 earlier decisions"


def test_diff_names_reviewers_that_joined_or_left(db: str) -> None:
    """A reviewer present only before or only after is a change of presence."""
    recorded = review(db)
    trimmed = recorded.model_copy(
        update={"verdicts": recorded.verdicts[1:], "policy_version": "other"}
    )
    diff = diff_decisions(recorded, trimmed, actor="refactor-bot")
    gone = recorded.verdicts[0].reviewer
    change = next(v for v in diff.verdicts if v.reviewer == gone)
    assert (change.changed, change.after) == (("presence",), None)
    assert diff.changed
    assert not diff.flipped


def test_replay_carries_the_stored_raw_input_to_reviewers(db: str, tmp_path: Path) -> None:
    """The proposal replayed is the stored one, raw input included (policies read it)."""
    plan = tmp_path / "plan.json"
    shutil.copy(EXAMPLE / "plan.json", plan)
    recorded = review(db, plan)
    plan.unlink()  # the replay must not need the original file
    with Store.open(db) as store:
        job: ReplayJob = load_job(store, store.get(recorded.decision_id), lookback=timedelta(0))
    assert job.proposal.raw is not None
    assert job.proposal.digest() == recorded.proposal_digest


def test_replay_sees_the_elevations_in_force_at_the_decision(db: str) -> None:
    """A grant revoked later still counted then; one granted later did not."""
    first = review(db)
    people = Identities()
    with Store.open(db) as store:
        grant = grant_elevation(
            store, "refactor-bot", categories=["iam"], environments=["production"], until="2h",
            by="alice", reason="incident 7", identities=people, max_span=timedelta(days=1),
            now=wall(),
        )  # fmt: skip
    second = review(db)
    with Store.open(db) as store:
        revoke_elevation(
            store, grant.elevation_id, by="alice", reason="done", identities=people, now=wall()
        )
        then = [
            load_job(store, store.get(d.decision_id), lookback=timedelta(0)).elevations
            for d in (first, second)
        ]
    assert then == [(), (grant,)]


def test_budget_windows_count_the_use_inside_each_window() -> None:
    """Use counted after the window's start and up to the decision counts; nothing else does."""
    usage = [
        UsageEvent(counted_at=t, deletes=d, changed_resources=c, blast_radius=0)
        for t, d, c in [
            ("2026-05-01T08:59:00Z", 5, 50),  # outside the hour, inside the day
            ("2026-05-01T09:30:00Z", 2, 20),
            ("2026-05-01T10:00:00Z", 1, 10),  # at the decision's own time: counted
            ("2026-05-01T10:00:01Z", 9, 90),  # after it: a later approval
        ]
    ]
    rules = [
        BudgetRule(metric="deletes", limit=3, window=timedelta(hours=1)),
        BudgetRule(metric="changed-resources", limit=100, window=timedelta(days=1)),
    ]
    windows = budget_windows(usage, rules, "2026-05-01T10:00:00.000Z")
    assert [(w.used, w.since, w.until) for w in windows] == [
        (3, "2026-05-01T09:00:00.000000Z", "2026-05-01T10:00:00.000000Z"),
        (80, "2026-04-30T10:00:00.000000Z", "2026-05-01T10:00:00.000000Z"),
    ]
