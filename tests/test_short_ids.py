"""Short ids: decisions made close together share their heads, so the short form is the tail.

Ids are time-ordered (UUIDv7); the short display form is the random last 8
hex digits. Every command takes a full id or any unique prefix or suffix of
at least 6 characters; an ambiguous one is refused, listing the candidates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import AmbiguousDecisionId, DecisionNotFound
from orchestrator.gate import new_decision_id
from orchestrator.models import short_id
from orchestrator.store import Store
from orchestrator.store.governance import find_escalation
from tests.gate_support import REPO, make_decision, make_proposal, record

PLAN = REPO / "examples" / "iam-boundary" / "plan.json"


def _record_pair(store: Store) -> tuple[str, str]:
    """Two escalations recorded within the same millisecond-ish: ids alike at the head."""
    ids = []
    for tag in ("a", "b"):
        proposal = make_proposal(tag=tag)
        decision = make_decision(proposal).model_copy(update={"decision_id": new_decision_id()})
        ids.append(record(store, proposal, decision, change_id=f"change-{tag}").decision_id)
    return ids[0], ids[1]


def test_the_short_form_tells_decisions_of_one_minute_apart(tmp_path: Path) -> None:
    """An 8-character head names both (refused, listing them); each short tail names one."""
    with Store.open(f"sqlite:///{tmp_path / 'audit.db'}") as store:
        first, second = _record_pair(store)
        assert first[:8] == second[:8]  # time-ordered: the heads collide

        with pytest.raises(AmbiguousDecisionId) as caught:
            store.find(first[:8])
        message = str(caught.value)
        assert f"{first} ({short_id(first)})" in message
        assert f"{second} ({short_id(second)})" in message

        assert store.find(short_id(first)).decision.decision_id == first
        assert store.find(short_id(second)).decision.decision_id == second
        assert find_escalation(store, short_id(second)).decision_id == second
        with pytest.raises(DecisionNotFound, match="at least 6 characters"):
            store.find(short_id(first)[-5:])


def test_commands_show_and_take_the_short_form(run_cli: Any) -> None:
    """review prints the short id; show, pending and approve take it."""
    reviewed = run_cli("review", str(PLAN), "--actor", "alice", "--submitter", "ci")
    assert reviewed.code == 3, reviewed.stderr
    line = next(x for x in reviewed.stdout.splitlines() if x.startswith("decision "))
    ident, short = line.split()[1], line.split()[3]
    assert short == ident[-8:]

    shown = run_cli("show", short, "--output", "json")
    assert shown.code == 0, shown.stderr
    assert json.loads(shown.stdout)["decision_id"] == ident
    assert short in run_cli("pending").stdout
    role = json.loads(shown.stdout)["required_approvals"][0]["role"]
    signed = run_cli("approve", short, "--as", "bob", "--role", role)
    assert signed.code == 0, signed.stderr
    assert ident in signed.stdout
