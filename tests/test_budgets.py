"""Action budgets: rolling windows per actor, counted from approvals, reserved atomically.

Store tests run on a SQLite file and, when COMMANDER_TEST_POSTGRES_URL is set, on
PostgreSQL; the race runs real processes against both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.commander import aggregate
from orchestrator.config import load_config
from orchestrator.gate.settle import Unsettled
from orchestrator.guards import (
    BudgetRule,
    BudgetSettings,
    BudgetWindow,
    ChangeFigures,
    GateFacts,
    budget_overruns,
    change_figures,
    parse_duration,
    show_duration,
    stricter_kind,
)
from orchestrator.models import BlastRadius, ResourceChange, RiskTier, Source, Verdict
from orchestrator.store import Store
from orchestrator.store.governance import (
    Identities,
    approve,
    read_budget_windows,
)
from orchestrator.testing import plan_document, resource_change
from tests.gate_support import (
    DATABASES,
    REPO,
    T0,
    database,
    make_decision,
    make_proposal,
    record,
    run_sql,
    write_config,
)

DELETES_PER_HOUR = BudgetRule(metric="deletes", limit=10, window=timedelta(hours=1))
CHANGES_PER_DAY = BudgetRule(metric="changed-resources", limit=200, window=timedelta(days=1))
BLAST_PER_DAY = BudgetRule(metric="blast-radius", limit=300, window=timedelta(days=1))
RULES = (DELETES_PER_HOUR, CHANGES_PER_DAY, BLAST_PER_DAY)
SETTINGS = load_config().commander
APPROVE = Verdict(reviewer="scope", stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty audit database: a SQLite file, or a fresh PostgreSQL schema."""
    yield from database(request.param, tmp_path)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on the test database."""
    with Store.open(db_url) as opened:
        yield opened


# --- rules as data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1h30m", 5400), (45, 45)],
)
def test_durations_read_as_written(text: str | int, seconds: int) -> None:
    """Windows are written the way people say them."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "1x", "h", "1h and", "-1h", True])
def test_bad_durations_are_refused(text: object) -> None:
    """A duration that is not one is an error, never zero."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**8))
def test_shown_durations_read_back(seconds: int) -> None:
    """What a message shows is what the config would need to say."""
    span = timedelta(seconds=seconds)
    assert parse_duration(show_duration(span)) == span


def test_an_actor_has_its_own_rules_or_those_of_its_kind() -> None:
    """Per-actor rules replace the kind's; the stricter kind applies."""
    mine = (BudgetRule(metric="deletes", limit=1, window=timedelta(minutes=5)),)
    settings = BudgetSettings(kinds={Source.AI_AGENT: RULES}, actors={"special-bot": mine})
    assert settings.rules_for("special-bot", Source.AI_AGENT) == mine
    assert settings.rules_for("other-bot", Source.AI_AGENT) == RULES
    assert settings.rules_for("alice", Source.HUMAN) == ()
    assert stricter_kind(Source.HUMAN, Source.AI_AGENT, None) == Source.AI_AGENT
    assert stricter_kind() == Source.HUMAN


def window(rule: BudgetRule, used: int) -> BudgetWindow:
    """A window of `rule` with `used` already spent."""
    return BudgetWindow(rule=rule, used=used, since="a", until="b")


@pytest.mark.parametrize(
    ("used", "this", "exceeded"),
    [(0, 10, False), (9, 1, False), (9, 2, True), (10, 1, True), (0, 11, True), (10, 0, False)],
)
def test_a_change_fits_while_used_plus_its_own_stays_within_the_limit(
    used: int, this: int, exceeded: bool
) -> None:
    """The limit itself is allowed; one more is not."""
    over = budget_overruns((window(DELETES_PER_HOUR, used),), ChangeFigures(deletes=this))
    assert bool(over) == exceeded


def test_change_figures_count_replacements_as_deletes_and_ignore_no_ops() -> None:
    """Destroying is deleting, whatever comes after; reads and no-ops change nothing."""
    changes = [
        ResourceChange(address=f"a.{action}", type="a", action=action)
        for action in ("create", "update", "delete", "replace", "no-op", "read")
    ]
    proposal = make_proposal().model_copy(update={"changes": tuple(changes)})
    figures = change_figures(proposal, BlastRadius(score=42))
    assert figures == ChangeFigures(deletes=2, changed_resources=4, blast_radius=42)


def decide(used: dict[str, int], *, deletes: int = 3, verdict: Verdict = APPROVE) -> Any:
    """Aggregate an approving verdict for a proposal of `deletes` deletes under RULES."""
    windows = tuple(window(rule, used.get(rule.metric, 0)) for rule in RULES)
    return aggregate(
        make_proposal(creates=0, deletes=deletes),
        (verdict,),
        SETTINGS,
        decision_id="d",
        created_at=T0,
        policy_version="p",
        gate=GateFacts(budgets=windows),
    )


def test_exceeding_a_budget_rejects_with_the_windows_figures() -> None:
    """The rationale names the actor, the limit, what was used in the window and this change."""
    decision = decide({"deletes": 8})

    assert decision.outcome == "reject"
    assert decision.rules_fired == ("budget-exceeded:deletes-per-1h",)
    assert decision.rationale[0] == (
        "Action budget exceeded: refactor-bot may make at most 10 deletes per 1h; "
        "8 already approved between a and b, 3 in this change, 11 in all."
    )


def test_within_budget_the_decision_is_the_reviewers() -> None:
    """A budget with room changes nothing."""
    assert decide({"deletes": 7, "changed-resources": 197}).outcome == "approve"


@given(
    used=st.integers(min_value=0, max_value=30),
    more=st.integers(min_value=0, max_value=30),
    stance=st.sampled_from(["approve", "concern", "block"]),
)
def test_more_budget_use_never_softens_a_decision(used: int, more: int, stance: str) -> None:
    """Spending more of a budget can only keep or harden the outcome."""
    rank = {"approve": 0, "escalate": 1, "reject": 2}
    verdict = APPROVE.model_copy(update={"stance": stance})
    before = decide({"deletes": used}, verdict=verdict).outcome
    after = decide({"deletes": used + more}, verdict=verdict).outcome
    assert rank[after] >= rank[before]


# --- the store --------------------------------------------------------------------------------


def approved(store: Store, actor: str, *, deletes: int, at: str, score: int = 0) -> str:
    """Record an approved decision of `actor` with `deletes` deletes at `at`; its id."""
    proposal = make_proposal(actor, creates=1, deletes=deletes, tag=f"{actor}{at}{deletes}")
    decision = make_decision(proposal, outcome="approve", created_at=at, score=score)
    return record(store, proposal, decision, change_id=f"{actor}-{at}").decision_id


def used(store: Store, actor: str, now: str) -> dict[str, int]:
    """What `actor` used of each RULES metric in the windows ending at `now`."""
    return {w.rule.metric: w.used for w in read_budget_windows(store, actor, RULES, now=now)}


def test_windows_count_approved_changes_in_the_window_only(store: Store) -> None:
    """Approved decisions count from their time for the length of each window."""
    approved(store, "bot", deletes=4, at="2026-05-01T08:30:00Z", score=50)
    approved(store, "bot", deletes=3, at="2026-05-01T09:30:00Z", score=20)
    approved(store, "other-bot", deletes=5, at="2026-05-01T09:40:00Z")
    for outcome in ("escalate", "reject"):
        proposal = make_proposal("bot", deletes=9, tag=outcome)
        decision = make_decision(proposal, outcome=outcome, created_at="2026-05-01T09:45:00Z")
        record(store, proposal, decision, change_id=outcome)

    assert used(store, "bot", "2026-05-01T10:00:00Z") == {
        "deletes": 3,
        "changed-resources": 9,
        "blast-radius": 70,
    }
    # The case of a name opens no fresh budget.
    assert used(store, "BOT", "2026-05-01T10:00:00Z")["deletes"] == 3
    assert used(store, "bot", "2026-05-02T09:35:00Z") == {
        "deletes": 0,
        "changed-resources": 0,
        "blast-radius": 0,
    }


def test_escalations_count_when_humans_approve_them(store: Store) -> None:
    """An escalation counts against the budget from the signature that completes it."""
    proposal = make_proposal("bot", creates=0, deletes=6)
    ident = record(store, proposal, make_decision(proposal, roles=("team-lead",))).decision_id
    assert used(store, "bot", "2026-05-01T10:30:00Z")["deletes"] == 0

    approve(
        store,
        ident,
        name="carol",
        role="team-lead",
        identities=Identities(),
        now="2026-05-01T10:20:00Z",
    )

    assert used(store, "bot", "2026-05-01T10:30:00Z")["deletes"] == 6
    assert used(store, "bot", "2026-05-01T11:20:00Z")["deletes"] == 0


def test_recording_checks_the_budget_again_and_reserves_in_one_transaction(
    store: Store, db_url: str
) -> None:
    """A decision made on stale figures is not recorded: the caller must decide again."""
    approved(store, "bot", deletes=8, at="2026-05-01T09:59:00Z")
    proposal = make_proposal("bot", creates=0, deletes=3, tag="late")
    stale = GateFacts(budgets=(window(DELETES_PER_HOUR, 0),))
    decision = make_decision(proposal, outcome="approve", created_at=T0)

    with pytest.raises(Unsettled) as unsettled:
        record(store, proposal, decision, rules=(DELETES_PER_HOUR,), facts=stale)

    assert [w.used for w in unsettled.value.facts.budgets] == [8]
    assert run_sql(db_url, "SELECT count(*) FROM decisions")[0][0] == 1
    assert store.verify_chain().ok


# --- real reviews racing for the last of a budget ---------------------------------------------

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from orchestrator.adapters.base import Submission
    from orchestrator.models import Source
    from orchestrator.review import ReviewRequest, run_review
    from orchestrator.settings import resolve
    from orchestrator.store import Store, governance

    url, config, plan, name, gate = sys.argv[1:6]
    folder, racers = Path(gate).parent, sys.argv[6].split(",")
    Store.open(url).close()
    read = governance.read_budget_windows

    def read_then_wait(*args, **kwargs):
        # Both reviews read their budget before either records: the race is certain.
        windows = read(*args, **kwargs)
        (folder / f"read-{name}").touch()
        while not all((folder / f"read-{n}").exists() for n in racers):
            time.sleep(0.002)
        return windows

    governance.read_budget_windows = read_then_wait
    request = ReviewRequest(
        path=plan,
        submission=Submission(source=Source.AI_AGENT, actor="budget-bot", environment="dev"),
        settings=resolve(db=url, config=config, environ={}),
        change_id=name,
    )
    (Path(gate).parent / f"ready-{name}").touch()
    deadline = time.monotonic() + 60
    while not Path(gate).exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.002)
    decision = run_review(request).decision
    print(json.dumps({"outcome": decision.outcome, "rationale": decision.rationale}))
    """
)
BUDGET_AGENTS = {
    "unknown_actors": "ai-agent",
    "actors": {
        "budget-bot": {"kind": "ai-agent", "purposes": ["infra"], "environments": ["development"]}
    },
}


def budget_config(folder: Path, limit: int) -> Path:
    """A config directory giving budget-bot at most `limit` changed resources an hour."""
    rule = {"metric": "changed-resources", "limit": limit, "window": "1h"}
    return write_config(
        folder, agents=BUDGET_AGENTS, budgets={"kinds": {}, "actors": {"budget-bot": [rule]}}
    )


def create_plan(folder: Path, name: str, count: int) -> Path:
    """A plan creating `count` S3 objects (approved on its own in development)."""
    changes = [
        resource_change(f'aws_s3_object.{name}["{i}"]', ["create"], after={"key": f"{name}{i}"})
        for i in range(count)
    ]
    path = folder / f"{name}.json"
    path.write_text(json.dumps(plan_document(changes)), encoding="utf-8")
    return path


def test_two_parallel_reviews_of_one_actor_cannot_both_fit_the_budget(
    db_url: str, tmp_path: Path
) -> None:
    """Two processes review 6 changes each under a budget of 10: exactly one is approved."""
    config = budget_config(tmp_path / "config", limit=10)
    names = ("first", "second")
    plans = {n: create_plan(tmp_path, n, 6) for n in names}
    gate = tmp_path / "go"
    env = os.environ | {"PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                db_url,
                str(config),
                str(plans[n]),
                n,
                str(gate),
                ",".join(names),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in names
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in names):
        assert time.monotonic() < deadline, [w.poll() for w in workers]
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        time.sleep(0.01)
    gate.touch()
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    results = [json.loads(out) for out, _ in outputs]
    assert sorted(r["outcome"] for r in results) == ["approve", "reject"], results
    rejected = next(r for r in results if r["outcome"] == "reject")
    assert "at most 10 changed-resources per 1h; 6 already approved" in rejected["rationale"][0]
    assert run_sql(db_url, "SELECT sum(changed_resources) FROM budget_usage")[0][0] == 6
    with Store.open(db_url) as store:
        assert store.verify_chain().ok


def test_budget_exceeded_end_to_end(run_cli: Any, tmp_path: Path) -> None:
    """The third review over a budget of 10 changes an hour is rejected (exit 4) with figures."""
    config = budget_config(tmp_path / "config", limit=10)
    args = ("--source", "ai-agent", "--actor", "budget-bot", "--environment", "dev")
    codes = []
    for name, count in (("a", 4), ("b", 5), ("c", 2)):
        plan = create_plan(tmp_path, name, count)
        result = run_cli("review", str(plan), "--config", str(config), "--output", "json", *args)
        codes.append(result.code)
    assert codes == [0, 0, 4], result.stderr
    decision = json.loads(result.stdout)
    assert decision["rules_fired"] == ["budget-exceeded:changed-resources-per-1h"]
    assert "9 already approved" in decision["rationale"][0]
    assert "2 in this change, 11 in all" in decision["rationale"][0]
