"""The human gate in the store: who may sign, digest binding, expiry, deny, completion.

Every test runs on a SQLite file and, when COMMANDER_TEST_POSTGRES_URL is set,
on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrator.models import Outcome, Source
from orchestrator.store import Store
from orchestrator.store.governance import (
    ApprovalResult,
    Identities,
    Refused,
    approve,
    deny,
    get_escalation,
    list_escalations,
)
from tests.gate_support import (
    DATABASES,
    T0,
    chain_kinds,
    database,
    make_decision,
    make_proposal,
    people,
    record,
    run_sql,
)

LATER = "2026-05-01T10:05:00Z"


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty audit database: a SQLite file, or a fresh PostgreSQL schema."""
    yield from database(request.param, tmp_path)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on the test database."""
    with Store.open(db_url) as opened:
        yield opened


def escalated(
    store: Store, *, change_id: str = "change-1", expiry: timedelta = timedelta(hours=24)
) -> str:
    """Record one escalated decision needing senior-engineer and team-lead; its id."""
    proposal = make_proposal()
    decision = make_decision(proposal)
    return record(store, proposal, decision, change_id=change_id, expiry=expiry).decision_id


def sign(
    store: Store,
    ident: str,
    name: str,
    role: str,
    *,
    now: str = LATER,
    comment: str = "",
    identities: Identities | None = None,
) -> ApprovalResult:
    """Approve as `name` in `role` (at LATER, with the default identities)."""
    who = identities or people()
    return approve(store, ident, name=name, role=role, comment=comment, identities=who, now=now)


def test_escalated_decision_opens_a_pending_escalation_with_its_tier_roles(store: Store) -> None:
    """The required roles are the decision's; actor, submitter and digest are recorded."""
    ident = escalated(store)

    esc = get_escalation(store, ident, now=LATER)
    assert esc is not None
    assert esc.status == "pending"
    assert esc.required_roles == ("senior-engineer", "team-lead")
    assert esc.actor == "refactor-bot"
    assert esc.submitter == "ci-runner"
    assert esc.proposal_digest == make_proposal().digest()
    assert esc.created_at == "2026-05-01T10:00:00.000000Z"
    assert esc.expires_at == "2026-05-02T10:00:00.000000Z"
    assert [e.decision_id for e in list_escalations(store, status="pending", now=LATER)] == [ident]


def test_approved_and_rejected_decisions_open_no_escalation(store: Store) -> None:
    """Only an escalate outcome waits for humans."""
    outcomes: tuple[Outcome, ...] = ("approve", "reject")
    for outcome in outcomes:
        proposal = make_proposal(tag=outcome)
        decision = record(store, proposal, make_decision(proposal, outcome=outcome))
        assert get_escalation(store, decision.decision_id) is None
    assert list_escalations(store, now=LATER) == []


REFUSALS = [
    ("refactor-bot", "senior-engineer", "proposed this change"),
    ("Refactor-Bot ", "senior-engineer", "proposed this change"),
    ("ci-runner", "senior-engineer", "submitted this change"),
    ("deploy-pipeline", "senior-engineer", "registered as automation"),
    ("review-agent", "senior-engineer", "registered as ai-agent"),
    ("bob", "security", "role 'security' is not required"),
]


@pytest.mark.parametrize(("name", "role", "reason"), REFUSALS)
def test_separation_of_duties_refuses_the_signer(
    store: Store, db_url: str, name: str, role: str, reason: str
) -> None:
    """The actor, the submitter, AI agents and automation sign nothing; unasked roles neither."""
    ident = escalated(store)
    identities = people(
        {
            "refactor-bot": Source.AI_AGENT,
            "review-agent": Source.AI_AGENT,
            "deploy-pipeline": Source.AUTOMATION,
        }
    )

    with pytest.raises(Refused, match=reason) as refused:
        sign(store, ident, name, role, identities=identities)

    assert "\n" not in str(refused.value)
    esc = get_escalation(store, ident, now=LATER)
    assert esc is not None
    assert esc.approvals == ()
    assert [k for k, _ in chain_kinds(db_url)] == ["decision", "change.submitted"]


def test_one_person_counts_for_one_role_only(store: Store) -> None:
    """Signing a second role as the same person (in any case) is refused."""
    ident = escalated(store)
    sign(store, ident, "bob", "senior-engineer")

    with pytest.raises(Refused, match="one person counts for one role only"):
        sign(store, ident, "BOB", "team-lead")
    with pytest.raises(Refused, match="already signed by bob"):
        sign(store, ident, "carol", "senior-engineer")


def test_configured_approvers_sign_only_their_roles(store: Store) -> None:
    """With gate.approvers set, an unlisted person or an unlisted role is refused."""
    ident = escalated(store)
    identities = people(approvers={"alice": ("senior-engineer",), "bob": ("team-lead",)})

    with pytest.raises(Refused, match=r"may not sign as team-lead"):
        sign(store, ident, "alice", "team-lead", identities=identities)
    with pytest.raises(Refused, match=r"mallory may not sign"):
        sign(store, ident, "mallory", "team-lead", identities=identities)
    sign(store, ident, "alice", "senior-engineer", identities=identities)


def test_all_roles_signed_is_approved_by_humans_with_every_signer(
    store: Store, db_url: str
) -> None:
    """The last role completes it: signers, roles, times and comments, all chained."""
    ident = escalated(store)
    first = sign(store, ident, "bob", "senior-engineer", comment="checked the diff")
    assert not first.completed
    assert first.escalation.missing_roles == ("team-lead",)

    last = sign(store, ident, "carol", "Team-Lead", now="2026-05-01T10:07:00Z")

    assert last.completed
    esc = get_escalation(store, ident, now="2026-05-01T11:00:00Z")
    assert esc is not None
    assert esc.status == "approved-by-humans"
    assert esc.closed_at == "2026-05-01T10:07:00.000000Z"
    signed = {(a.role, a.name, a.comment, a.created_at) for a in esc.approvals}
    assert signed == {
        ("senior-engineer", "bob", "checked the diff", "2026-05-01T10:05:00.000000Z"),
        ("team-lead", "carol", "", "2026-05-01T10:07:00.000000Z"),
    }
    assert chain_kinds(db_url) == [
        ("decision", ident),
        ("change.submitted", ident),
        ("escalation.approval", ident),
        ("escalation.approval", ident),
        ("escalation.approved-by-humans", ident),
    ]
    assert store.verify_chain().ok
    with pytest.raises(Refused, match="already approved-by-humans"):
        sign(store, ident, "dave", "team-lead")


def test_any_deny_ends_the_escalation(store: Store, db_url: str) -> None:
    """After one deny nobody can approve; the denial says who and why."""
    ident = escalated(store)
    sign(store, ident, "bob", "senior-engineer")

    denied = deny(
        store, ident, name="dave", reason="drops the audit bucket", identities=people(), now=LATER
    )

    assert denied.status == "denied"
    assert denied.denial is not None
    assert (denied.denial.name, denied.denial.reason) == ("dave", "drops the audit bucket")
    with pytest.raises(Refused, match="was denied by dave: drops the audit bucket"):
        sign(store, ident, "carol", "team-lead")
    other = escalated(store, change_id="other")
    with pytest.raises(Refused, match="registered as ai-agent"):
        deny(store, other, name="refactor-bot", reason="no", identities=people(), now=LATER)
    assert ("escalation.denied", ident) in chain_kinds(db_url)


def test_expired_escalation_cannot_be_approved_and_says_so(store: Store) -> None:
    """Past its expiry an escalation reads as expired and refuses every signature."""
    ident = escalated(store, expiry=timedelta(hours=1))
    sign(store, ident, "bob", "senior-engineer", now="2026-05-01T10:59:59Z")

    with pytest.raises(Refused, match=r"expired at 2026-05-01T11:00:00.000000Z"):
        sign(store, ident, "carol", "team-lead", now="2026-05-01T11:00:00Z")

    esc = get_escalation(store, ident, now="2026-05-01T11:00:00Z")
    assert esc is not None
    assert esc.status == "expired"
    assert esc.reason is not None
    assert "expired" in esc.reason
    assert list_escalations(store, status="pending", now="2026-05-01T11:00:00Z") == []
    assert len(list_escalations(store, status="expired", now="2026-05-01T11:00:00Z")) == 1
    assert len(list_escalations(store, status="pending", now="2026-05-01T10:30:00Z")) == 1


def test_changed_plan_for_the_same_change_needs_its_own_approvals(
    store: Store, db_url: str
) -> None:
    """A re-submitted plan with new content cancels the old escalation and its signatures."""
    first = make_proposal(tag="v1")
    old = record(store, first, make_decision(first)).decision_id
    sign(store, old, "bob", "senior-engineer")

    second = make_proposal(tag="v2")
    new = record(store, second, make_decision(second, created_at=LATER)).decision_id

    with pytest.raises(Refused, match=rf"cancelled: superseded.*{new}"):
        sign(store, old, "carol", "team-lead")
    fresh = get_escalation(store, new, now=LATER)
    assert fresh is not None
    assert fresh.approvals == ()
    assert fresh.proposal_digest == second.digest() != first.digest()
    assert ("escalation.cancelled", old) in chain_kinds(db_url)

    # Even re-opened by hand, the old approval is bound to a digest that is no longer the latest.
    run_sql(db_url, "UPDATE escalations SET status = 'pending' WHERE decision_id = :d", d=old)
    with pytest.raises(Refused, match=rf"stale plan: .*re-submitted.*{new}"):
        sign(store, old, "carol", "team-lead")


def test_same_plan_resubmitted_keeps_the_earlier_escalation_approvable(store: Store) -> None:
    """Identical content is the same proposal: its digest is still the latest."""
    proposal = make_proposal()
    old = record(store, proposal, make_decision(proposal)).decision_id
    record(store, proposal, make_decision(proposal, created_at=LATER))

    assert sign(store, old, "bob", "senior-engineer").escalation.status == "pending"


def test_other_changes_do_not_supersede_each_other(store: Store) -> None:
    """Only a submission of the same change id makes an escalation stale."""
    first = make_proposal(tag="v1")
    old = record(store, first, make_decision(first), change_id="a").decision_id
    second = make_proposal(tag="v2")
    record(store, second, make_decision(second, created_at=LATER), change_id="b")

    sign(store, old, "bob", "senior-engineer")


def test_a_tier_without_named_roles_needs_one_signature(store: Store) -> None:
    """An escalation that names no role is completed by any one person's signature."""
    proposal = make_proposal()
    ident = record(store, proposal, make_decision(proposal, roles=())).decision_id

    assert sign(store, ident, "bob", "on-call").completed


def test_prefix_finds_an_escalation_and_unknown_ids_are_user_errors(store: Store) -> None:
    """A unique prefix of the decision id is enough; an unknown one is a clear error."""
    ident = escalated(store)
    sign(store, ident[:10], "bob", "senior-engineer")

    with pytest.raises(Exception, match="no escalated decision id starts or ends with"):
        sign(store, "ffffffffff", "bob", "senior-engineer")
    assert get_escalation(store, "nope") is None
    proposal = make_proposal(tag="fine")
    fine = record(store, proposal, make_decision(proposal, outcome="approve"), change_id="f")
    with pytest.raises(Exception, match=r"was not escalated \(approve\): nothing to sign"):
        sign(store, fine.decision_id, "bob", "senior-engineer")


def test_created_at_is_the_decision_time(store: Store) -> None:
    """The escalation starts when the decision was made, so expiry counts from then."""
    ident = escalated(store)
    esc = get_escalation(store, ident)
    assert esc is not None
    assert esc.created_at.startswith(T0[:19])
