"""`commander explain` after the human gate: who signed or denied, and the contrarian's fate.

Uses the decisions of tests/test_trailers.py: one fully approved, one pending,
one denied, one approved without humans, all from the real review path.
"""

from __future__ import annotations

from typing import Any

from orchestrator.models import Decision
from orchestrator.render.explain import render_explain
from orchestrator.store import Store
from orchestrator.trailers import escalation_for
from tests.test_trailers import Recorded, recorded

__all__ = ["recorded"]


def story(recorded: Recorded, decision: Decision) -> str:
    """The explain text of one recorded decision, with its escalation."""
    with Store.open(recorded.db) as store:
        stored = store.get(decision.decision_id)
        escalation = escalation_for(store, decision)
    return render_explain(stored.decision, stored.proposal, color=False, escalation=escalation)


def _section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1].split("\n\n", 1)[0]


def test_signed_off_escalation_names_every_signer_and_the_overruled_contrarian(
    recorded: Recorded, run_cli: Any
) -> None:
    """Every signature, with role, time and comment; the contrarian overruled by those signers."""
    result = run_cli("explain", recorded.approved.decision_id, "--db", recorded.db)

    assert result.code == 0, result.stderr
    signoff = _section(result.stdout, "WHO MUST SIGN OFF")
    lines = signoff.splitlines()
    assert lines[0] == "  senior-engineer, security, change-board"
    assert lines[1].startswith("  status: approved-by-humans at ")
    assert lines[2].startswith("  signed by Alice Doe as senior-engineer at ")
    assert lines[2].endswith(': "ok"')
    assert [line.split(" as ")[0] for line in lines[2:5]] == [
        "  signed by Alice Doe",
        "  signed by Carol",
        "  signed by Dan",
    ]
    contrarian = " ".join(_section(result.stdout, "THE CONTRARIAN").split())
    assert (
        "then: overruled by the humans who signed the change off: Alice Doe (senior-engineer), "
        "Carol (security), Dan (change-board)"
    ) in contrarian


def test_denied_escalation_names_who_denied_and_why(recorded: Recorded) -> None:
    """A deny is told with its author and reason, and it upholds the contrarian's objection."""
    text = story(recorded, recorded.denied)
    signoff = _section(text, "WHO MUST SIGN OFF")
    assert "status: denied at " in signoff
    assert "denied by Erin at " in signoff
    assert signoff.rstrip().endswith(": no rollback plan")
    assert "then: upheld: Erin denied the change (no rollback plan)" in text


def test_pending_escalation_lists_who_still_has_to_sign(recorded: Recorded) -> None:
    """A pending escalation shows the signatures so far and the roles still missing."""
    text = story(recorded, recorded.pending)
    signoff = _section(text, "WHO MUST SIGN OFF")
    assert "status: pending since " in signoff
    assert "signed by Alice Doe as senior-engineer" in signoff
    assert "still to sign: security, change-board (expires " in signoff
    assert "then: the humans have not decided yet" in text


def test_decision_without_humans_has_no_gate_story(recorded: Recorded) -> None:
    """An approve needs nobody: the story says so and mentions no escalation."""
    text = story(recorded, recorded.plain)
    assert "nobody: the change was approved without a human" in text
    assert "status:" not in text
    assert "then:" not in text


def test_escalation_the_gate_never_saw_is_said_to_be_unsigned(recorded: Recorded) -> None:
    """An escalated decision without an escalation record is not guessed to be signed."""
    with Store.open(recorded.db) as store:
        stored = store.get(recorded.approved.decision_id)
    text = render_explain(stored.decision, stored.proposal, color=False)
    assert "no escalation is recorded for this decision, so nobody has signed it" in text
