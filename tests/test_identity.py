"""Who a name is: look-alike names are one identity; deceptively mixed scripts are refused.

The attack names of issue 14 (a zero-width space, a Unicode hyphen, full-width
letters, a soft hyphen, a Cyrillic `а`) as a table: against the rule itself,
against the store's freezes, budgets and separation of duties (SQLite and
PostgreSQL), and through the real `commander` and the HTTP service.
Hypothesis holds the invariants: the key of a key is itself, and inserting
default-ignorable code points never changes a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import icu
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import identity
from orchestrator.errors import IdentityError
from orchestrator.guards import BudgetRule
from orchestrator.store import Store
from orchestrator.store.audit_verify import verify_audit
from orchestrator.store.budgets import read_budget_windows
from orchestrator.store.governance import (
    Refused,
    approve,
    current_freeze,
    freeze,
    get_escalation,
    thaw,
)
from tests.gate_support import DATABASES, database, make_decision, make_proposal, people, record

# What each attack of the issue typed in place of the frozen `docs-bot`.
LOOK_ALIKES = {
    "zero-width space": "docs-bot\u200b",
    "zero-width space inside": "docs\u200b-bot",
    "Unicode hyphen U+2010": "docs\u2010bot",
    "full-width letters": "\uff44\uff4f\uff43\uff53-bot",
    "soft hyphen": "docs\u00ad-bot",
    "soft hyphen at the end": "docs-bot\u00ad",
    "other case": "Docs-Bot",
    "blanks around": "  docs-bot ",
    "variation selector": "docs-bot\ufe0f",
    "word joiner": "docs\u2060-bot",
    "non-breaking hyphen U+2011": "docs\u2011bot",
}
CYRILLIC_A_ALICE = "\u0430lice"  # Cyrillic а, then Latin: mixed scripts
FULL_WIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"  # one script once folded: accepted


@pytest.mark.parametrize("typed", list(LOOK_ALIKES.values()), ids=list(LOOK_ALIKES))
def test_look_alikes_of_a_name_are_that_name(typed: str) -> None:
    """Each attack name of the issue has the key of `docs-bot`, and is accepted as typed."""
    assert identity.same(typed, "docs-bot")
    assert identity.checked(typed, "actor") == typed.strip()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (CYRILLIC_A_ALICE, "alice"),  # TS #39 skeleton: Cyrillic а is Latin a
        ("\u0430\u0440\u0435", "ape"),  # all Cyrillic, a Latin look-alike
        ("ALICE", "alice"),
        ("r\u200bn", "rn"),
    ],
)
def test_skeleton_makes_look_alikes_one_identity(a: str, b: str) -> None:
    """Confusable characters (UTS #39 confusables.txt) compare equal."""
    assert identity.key(a) == identity.key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("docs-bot", "docs-bots"), ("alice", "alicia"), ("docs-bot", "docsbot"), ("bob", "b0b2")],
)
def test_different_names_stay_different(a: str, b: str) -> None:
    """The rule does not merge names that look different."""
    assert not identity.same(a, b)


@pytest.mark.parametrize(
    "typed",
    ["alice", "Алиса", "山田太郎", "田中さん", "bob@example.com", "ci-bot.2", FULL_WIDTH_ALICE],
)
def test_one_script_names_are_accepted(typed: str) -> None:
    """Latin, Cyrillic alone, Han with kana (Japanese), punctuation and digits are fine."""
    assert identity.checked(typed, "--as") == typed


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (CYRILLIC_A_ALICE, "--as '\u0430lice' mixes scripts"),
        ("p\u0430ypal-bot", "mixes scripts"),  # Latin with one Cyrillic а
        ("docs-\u03b2ot", "mixes scripts"),  # Latin with Greek β
        ("\u200b", "--as must not be blank"),
        ("\u00ad\u200d ", "--as must not be blank"),
    ],
)
def test_mixed_script_and_invisible_names_are_refused(typed: str, message: str) -> None:
    """A refusal names the field and says why; it is a usage error (exit 2, HTTP 422)."""
    with pytest.raises(IdentityError, match=message):
        identity.checked(typed, "--as")


def _default_ignorables() -> list[str]:
    """Default_Ignorable_Code_Point, from ICU's copy of the Unicode property."""
    return [str(c) for c in icu.UnicodeSet("[:Default_Ignorable_Code_Point:]")]


IGNORABLES = _default_ignorables()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_the_key_of_a_key_is_itself(name: str) -> None:
    """key(key(x)) == key(x): comparing stored keys again never splits an identity."""
    once = identity.key(name)
    assert identity.key(once) == once
    assert identity.folded(identity.folded(name)) == identity.folded(name)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.lists(st.tuples(st.integers(0, 20), st.sampled_from(IGNORABLES))))
def test_inserting_default_ignorables_never_changes_the_key(
    name: str, inserts: list[tuple[int, str]]
) -> None:
    """Zero-width spaces, soft hyphens, joiners, variation selectors…: invisible to the key."""
    padded = name
    for at, char in inserts:
        padded = padded[:at] + char + padded[at:]
    assert identity.key(padded) == identity.key(name)


# --- the store: freezes, budgets, separation of duties ---------------------------------------


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty audit database: a SQLite file, or a fresh PostgreSQL schema."""
    yield from database(request.param, tmp_path)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on the test database."""
    with Store.open(db_url) as opened:
        yield opened


def now() -> str:
    return datetime.now(UTC).isoformat()


def test_a_frozen_name_is_frozen_under_every_look_alike(store: Store) -> None:
    """With docs-bot frozen, every attack name finds that freeze; a thaw by look-alike lifts it."""
    freeze(store, "docs-bot", by="sre", reason="runaway", identities=people(), now=now())
    for typed in LOOK_ALIKES.values():
        found = current_freeze(store, typed, ai_agent=False)
        assert found is not None, typed
        assert found.target == "docs-bot"
    again = freeze(
        store,
        LOOK_ALIKES["full-width letters"],
        by="sre",
        reason="x",
        identities=people(),
        now=now(),
    )
    assert again.created is False
    with pytest.raises(Refused, match="nobody thaws themselves"):
        thaw(store, "docs-bot", by=LOOK_ALIKES["zero-width space"], identities=people(), now=now())
    thaw(store, LOOK_ALIKES["Unicode hyphen U+2010"], by="sre", identities=people(), now=now())
    assert current_freeze(store, "docs-bot", ai_agent=False) is None
    assert verify_audit(store).ok


def test_freezing_a_look_alike_cancels_the_actors_escalations(store: Store) -> None:
    """The kill switch reaches the escalations of the name as it was typed in the review."""
    proposal = make_proposal("docs-bot", tag="x")
    pending = record(store, proposal, make_decision(proposal, created_at=now())).decision_id
    done = freeze(
        store, LOOK_ALIKES["soft hyphen"], by="sre", reason="stop", identities=people(), now=now()
    )
    assert done.cancelled == (pending,)
    assert get_escalation(store, pending).status == "cancelled"


def test_a_look_alike_shares_the_actors_budget(store: Store) -> None:
    """Use counted under one spelling is use of every look-alike: no fresh budget by renaming."""
    rule = BudgetRule(metric="deletes", limit=5, window="24h")
    for actor, deletes in (("Docs-Bot", 3), ("docs\u200b-bot", 1)):
        proposal = make_proposal(actor, tag=actor, deletes=deletes)
        decision = make_decision(proposal, outcome="approve", created_at=now())
        record(store, proposal, decision, change_id=actor)
    for typed in ("docs-bot", *LOOK_ALIKES.values()):
        (window,) = read_budget_windows(store, typed, (rule,), now=now())
        assert window.used == 4, typed
    assert verify_audit(store).ok


def test_an_approver_cannot_sign_a_look_alike_of_their_own_name(store: Store) -> None:
    """alice cannot approve a change whose actor is \u0430lice (Cyrillic а) or ａｌｉｃｅ.

    The Cyrillic spelling is refused at review time now; a store from before
    holds such a row, and the sign-off must still see through it.
    """
    for actor in (CYRILLIC_A_ALICE, FULL_WIDTH_ALICE):
        proposal = make_proposal(actor, tag=actor)
        pending = record(store, proposal, make_decision(proposal, created_at=now())).decision_id
        with pytest.raises(Refused, match="nobody approves their own change"):
            approve(
                store,
                pending,
                name="alice",
                role="senior-engineer",
                identities=people(),
                now=now(),
            )


def test_a_submitter_look_alike_cannot_sign(store: Store) -> None:
    """The submitter recorded as ci-runner cannot sign as ｃｉ-runner or ci\u2010runner."""
    proposal = make_proposal("refactor-bot", tag="s")
    pending = record(store, proposal, make_decision(proposal, created_at=now())).decision_id
    for name in ("\uff43\uff49-runner", "ci\u2010runner"):
        with pytest.raises(Refused, match="own submission"):
            approve(store, pending, name=name, role="team-lead", identities=people(), now=now())


def test_one_signer_under_two_spellings_counts_once(store: Store) -> None:
    """bob and ｂｏｂ are one person: the second role is refused to him."""
    proposal = make_proposal("refactor-bot", tag="t")
    pending = record(store, proposal, make_decision(proposal, created_at=now())).decision_id
    approve(store, pending, name="bob", role="team-lead", identities=people(), now=now())
    with pytest.raises(Refused, match="one person counts for one role only"):
        approve(
            store,
            pending,
            name="\uff42\uff4f\uff42",
            role="senior-engineer",
            identities=people(),
            now=now(),
        )


@pytest.mark.parametrize(
    ("name", "field"),
    [(CYRILLIC_A_ALICE, "--as"), ("\u200b", "--as")],
)
def test_the_store_refuses_a_mixed_script_signer(store: Store, name: str, field: str) -> None:
    """approve, deny and freeze refuse such a name before writing anything."""
    proposal = make_proposal("refactor-bot", tag="m")
    pending = record(store, proposal, make_decision(proposal, created_at=now())).decision_id
    with pytest.raises(IdentityError, match=field):
        approve(store, pending, name=name, role="team-lead", identities=people(), now=now())
    with pytest.raises(IdentityError, match="ACTOR"):
        freeze(store, name, by="sre", reason="x", identities=people(), now=now())
    assert get_escalation(store, pending).approvals == ()
