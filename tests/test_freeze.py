"""The kill switch: a frozen actor is rejected at once, its escalations cancelled, all chained.

Store tests run on a SQLite file and, when COMMANDER_TEST_POSTGRES_URL is set, on
PostgreSQL; the end-to-end tests drive the real `commander` process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission
from orchestrator.commander import aggregate
from orchestrator.config import load_config
from orchestrator.gate import ActorFacts, ChangeSubmission, GateSession
from orchestrator.guards import ALL_AI_AGENTS, Freeze, GateFacts
from orchestrator.models import Finding, RiskTier, Source, Verdict
from orchestrator.review import ReviewRequest, prepare, run_review
from orchestrator.settings import resolve
from orchestrator.store import Store
from orchestrator.store.chain import parse_utc
from orchestrator.store.governance import (
    Refused,
    approve,
    current_freeze,
    freeze,
    get_escalation,
    list_freezes,
    thaw,
)
from tests.gate_support import (
    DATABASES,
    REPO,
    chain_kinds,
    database,
    make_decision,
    make_proposal,
    people,
    record,
    run_sql,
    wall,
)

EXAMPLE = REPO / "examples" / "iam-boundary"
NOW = "2026-05-01T10:01:00Z"
FROZEN = Freeze(target="refactor-bot", frozen_by="alice", reason="runaway", frozen_at=NOW)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty audit database: a SQLite file, or a fresh PostgreSQL schema."""
    yield from database(request.param, tmp_path)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on the test database."""
    with Store.open(db_url) as opened:
        yield opened


# --- the decision rule --------------------------------------------------------------------

APPROVE = Verdict(reviewer="scope", stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)
DENY = Verdict(
    reviewer="scope",
    stance="block",
    risk_tier=RiskTier.CRITICAL,
    confidence=1.0,
    findings=(Finding(rule="x", message="no", hard=True),),
)


@pytest.mark.parametrize(
    ("verdicts", "tier"),
    [
        ((), RiskTier.HIGH),
        ((APPROVE,), RiskTier.HIGH),
        ((Verdict.failed("blast-radius", "boom"),), RiskTier.HIGH),
        ((DENY,), RiskTier.CRITICAL),
    ],
)
def test_a_frozen_actor_is_rejected_whatever_the_verdicts(
    verdicts: tuple[Verdict, ...], tier: RiskTier
) -> None:
    """Only the freeze decides: reject, at least high, its who/when/why in the rationale."""
    decision = aggregate(
        make_proposal(),
        verdicts,
        load_config().commander,
        decision_id="d",
        created_at=NOW,
        policy_version="p",
        gate=GateFacts(freeze=FROZEN),
    )
    assert decision.outcome == "reject"
    assert decision.rules_fired == ("actor-frozen",)
    assert decision.risk_tier == tier
    assert decision.required_approvals == ()
    assert decision.rationale == (
        f"refactor-bot is frozen (by alice at {NOW}: runaway); rejected before any reviewer ran.",
    )


def test_all_agents_freeze_names_the_reason_for_the_actor() -> None:
    """The rationale says that every AI agent is frozen, not only this one."""
    everyone = FROZEN.model_copy(update={"target": ALL_AI_AGENTS})
    assert everyone.reason_for("docs-bot").startswith("docs-bot: every AI agent is frozen")


# --- the store -----------------------------------------------------------------------------


def escalate(store: Store, actor: str, source: Source = Source.AI_AGENT) -> str:
    """Record an escalated decision of `actor` decided now; its id."""
    proposal = make_proposal(actor, source=source, tag=actor)
    decision = make_decision(proposal, created_at=datetime.now(UTC).isoformat())
    return record(store, proposal, decision, change_id=actor).decision_id


def test_freeze_cancels_the_actors_open_escalations_only(store: Store, db_url: str) -> None:
    """Its pending escalations are cancelled with the reason; other actors' stay open."""
    mine, theirs = escalate(store, "refactor-bot"), escalate(store, "docs-bot")

    done = freeze(
        store, "Refactor-Bot", by="alice", reason="runaway deletes", identities=people(), now=wall()
    )

    assert done.created
    assert done.cancelled == (mine,)
    cancelled = get_escalation(store, mine)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    assert cancelled.reason == "refactor-bot was frozen by alice: runaway deletes"
    open_one = get_escalation(store, theirs)
    assert open_one is not None
    assert open_one.status == "pending"
    with pytest.raises(Refused, match="was cancelled: refactor-bot was frozen"):
        approve(store, mine, name="bob", role="team-lead", identities=people(), now=wall())
    kinds = [k for k, _ in chain_kinds(db_url)]
    assert kinds[-2:] == ["escalation.cancelled", "actor.freeze"]
    assert store.verify_chain().ok


def test_a_frozen_actors_escalation_cannot_be_approved_even_if_reopened(
    store: Store, db_url: str
) -> None:
    """Approval checks the freeze itself, not only the cancelled status."""
    ident = escalate(store, "refactor-bot")
    freeze(store, "refactor-bot", by="alice", reason="runaway", identities=people(), now=wall())
    run_sql(db_url, "UPDATE escalations SET status = 'pending'")

    with pytest.raises(Refused, match=r"refactor-bot is frozen .*cannot be approved"):
        approve(store, ident, name="bob", role="team-lead", identities=people(), now=wall())


def test_freezing_twice_keeps_the_first_freeze(store: Store, db_url: str) -> None:
    """A second freeze changes nothing and says who froze it first."""
    freeze(store, "refactor-bot", by="alice", reason="first", identities=people(), now=wall())
    again = freeze(
        store, "refactor-bot", by="bob", reason="second", identities=people(), now=wall()
    )

    assert not again.created
    assert (again.freeze.frozen_by, again.freeze.reason) == ("alice", "first")
    assert [k for k, _ in chain_kinds(db_url)] == ["actor.freeze"]


def test_all_ai_agents_freeze_stops_agents_not_people(store: Store) -> None:
    """Declared or registered AI agents are frozen and their escalations cancelled; humans not."""
    agent = escalate(store, "docs-bot")
    registered = escalate(store, "helper", source=Source.HUMAN)
    person = escalate(store, "alice", source=Source.HUMAN)
    identities = people({"helper": Source.AI_AGENT})

    done = freeze(store, None, by="sre", reason="bad day", identities=identities, now=wall())

    assert sorted(done.cancelled) == sorted([agent, registered])
    esc = get_escalation(store, person)
    assert esc is not None
    assert esc.status == "pending"
    assert current_freeze(store, "anything", ai_agent=True) is not None
    assert current_freeze(store, "alice", ai_agent=False) is None
    assert [f.target for f in list_freezes(store)] == [ALL_AI_AGENTS]


@pytest.mark.parametrize(
    ("by", "actor", "reason"),
    [
        ("refactor-bot", "refactor-bot", "registered as ai-agent"),
        ("deploy-pipeline", "docs-bot", "registered as automation"),
        ("docs-bot", "docs-bot", "nobody thaws themselves"),
        ("alice", "someone-else", "someone-else is not frozen"),
    ],
)
def test_thaw_refusals(store: Store, by: str, actor: str, reason: str) -> None:
    """Machines thaw nothing, nobody thaws themselves, and thawing needs a freeze."""
    for name in ("refactor-bot", "docs-bot"):
        freeze(store, name, by="alice", reason="stop", identities=people(), now=wall())

    with pytest.raises(Refused, match=reason):
        thaw(store, actor, by=by, identities=people(), now=wall())


def test_thaw_lifts_the_freeze_and_is_chained(store: Store, db_url: str) -> None:
    """After a thaw the actor is free; freeze and thaw are both in the chain."""
    freeze(store, "refactor-bot", by="alice", reason="stop", identities=people(), now=wall())
    lifted = thaw(store, "refactor-bot", by="bob", reason="fixed", identities=people(), now=wall())

    assert lifted.frozen_by == "alice"
    assert current_freeze(store, "refactor-bot", ai_agent=True) is None
    assert [k for k, _ in chain_kinds(db_url)] == ["actor.freeze", "actor.thaw"]
    assert store.verify_chain().ok


def test_a_freeze_during_the_review_rejects_at_record_time(store: Store) -> None:
    """Frozen between the first check and the record: the decision is recorded as a reject."""
    proposal = make_proposal()
    setup = prepare(resolve(db="sqlite://", environ={}))
    facts = ActorFacts(profile=config_profile(proposal))  # read before the freeze
    freeze(store, "refactor-bot", by="alice", reason="mid-review", identities=people(), now=NOW)

    settled = GateSession(store, setup).settle(
        ChangeSubmission(proposal=proposal, change_id="c"), (APPROVE,), facts
    )

    decision = settled.decision
    assert decision.outcome == "reject"
    assert decision.rules_fired == ("actor-frozen",)
    assert store.get(decision.decision_id).decision == decision


def config_profile(proposal: Any) -> Any:
    """The actor's profile as the shipped registry judges it."""
    from orchestrator.agents import AgentRegistry

    return AgentRegistry.none().profile(proposal.actor, proposal.source)


def test_frozen_review_is_rejected_at_once_before_any_reviewer(db_url: str) -> None:
    """`run_review` right after a freeze rejects within the second, with no verdicts."""
    with Store.open(db_url) as store:
        frozen = freeze(
            store, "refactor-bot", by="alice", reason="stop", identities=people(), now=wall()
        )

    result = run_review(
        ReviewRequest(
            path=str(EXAMPLE / "plan.json"),
            submission=Submission(source=Source.AI_AGENT, actor="refactor-bot"),
            settings=resolve(db=db_url, environ={}),
        )
    )

    decision = result.decision
    assert decision.outcome == "reject"
    assert decision.verdicts == ()
    lag = parse_utc(decision.created_at) - parse_utc(frozen.freeze.frozen_at)
    assert lag.total_seconds() < 1.0


# --- end to end -------------------------------------------------------------------------------


def review(run_cli: Any, *args: str) -> tuple[int, dict[str, Any]]:
    """Review the IAM boundary example as refactor-bot; exit code and decision JSON."""
    result = run_cli(
        "review",
        str(EXAMPLE / "plan.json"),
        "--source",
        "ai-agent",
        "--actor",
        "refactor-bot",
        "--topology",
        str(EXAMPLE / "topology.yaml"),
        "--output",
        "json",
        *args,
    )
    assert result.code in {0, 3, 4}, result.stderr
    return result.code, json.loads(result.stdout)


def test_freeze_review_thaw_end_to_end(run_cli: Any, cli_env: dict[str, str]) -> None:
    """Freeze → reject at once, escalation cancelled → thaw → normal review; all chained."""
    code, before = review(run_cli)
    assert code == 3

    frozen = run_cli("freeze", "refactor-bot", "--reason", "deleting prod", "--as", "alice")
    assert frozen.code == 0, frozen.stderr
    assert before["decision_id"] in frozen.stdout
    code, rejected = review(run_cli)
    assert code == 4
    assert rejected["rules_fired"] == ["actor-frozen"]
    assert rejected["verdicts"] == []
    assert "deleting prod" in rejected["rationale"][0]
    listed = run_cli("pending", "--all")
    assert "cancelled" in listed.stdout

    thawed = run_cli("thaw", "refactor-bot", "--as", "bob")
    assert thawed.code == 0, thawed.stderr
    code, after = review(run_cli)
    assert code == 3
    assert after["verdicts"]

    url = cli_env["COMMANDER_DATABASE_URL"]
    kinds = chain_kinds(url)
    assert kinds == [
        ("decision", before["decision_id"]),
        ("change.submitted", before["decision_id"]),
        ("escalation.cancelled", before["decision_id"]),
        ("actor.freeze", "refactor-bot"),
        ("decision", rejected["decision_id"]),
        ("change.submitted", rejected["decision_id"]),
        ("actor.thaw", "refactor-bot"),
        ("decision", after["decision_id"]),
        ("change.submitted", after["decision_id"]),
    ]
    with Store.open(url) as store:
        assert store.verify_chain().ok


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("freeze", "refactor-bot", "--reason", "x"), 2, "--as"),
        (("freeze", "--reason", "x", "--as", "alice"), 2, "name one ACTOR or give --all-ai-agents"),
        (("freeze", "a", "--all-ai-agents", "--reason", "x", "--as", "alice"), 2, "name one"),
        (("freeze", "a", "--reason", " ", "--as", "alice"), 2, "--reason must not be blank"),
        (("thaw", "nobody", "--as", "alice"), 1, "nobody is not frozen"),
    ],
)
def test_freeze_and_thaw_usage(
    run_cli: Any, args: tuple[str, ...], code: int, message: str
) -> None:
    """Wrong usage exits 2, a refused thaw exits 1, each with a one-line reason."""
    result = run_cli(*args)
    assert result.code == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_all_ai_agents_freeze_end_to_end(run_cli: Any) -> None:
    """`freeze --all-ai-agents` rejects every agent's review; `frozen` lists it; thaw lifts it."""
    assert run_cli("freeze", "--all-ai-agents", "--reason", "bad day", "--as", "sre").code == 0
    code, decision = review(run_cli, "--actor", "never-registered-bot")
    assert code == 4
    assert "every AI agent is frozen" in decision["rationale"][0]
    assert "every AI agent: frozen by sre" in run_cli("frozen").stdout

    assert run_cli("thaw", "--all-ai-agents", "--as", "sre").code == 0
    assert review(run_cli, "--actor", "never-registered-bot")[0] == 3
