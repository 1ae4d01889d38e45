"""`commander incident link` and `commander scorecard`: which reviewer saw the incident coming.

Store tests run on a SQLite file and on PostgreSQL (see tests/test_store.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from orchestrator.errors import UsageError
from orchestrator.store import DecisionNotFound, Store
from orchestrator.store.audit_verify import verify_audit
from orchestrator.store.incidents import link_incident, list_incidents, scorecard
from tests.audit_factories import count, db_url, record, run_sql, store

__all__ = ["db_url", "store"]


def test_link_is_a_chained_event_and_linking_again_records_nothing(
    store: Store, db_url: str
) -> None:
    """A link is stored with who, when and why, chained; the same link twice is one link."""
    decision = record(store, "caused")
    when = datetime(2026, 5, 2, 8, 30, tzinfo=UTC)

    link, new = link_incident(
        store, " INC-7 ", decision.decision_id, linked_by="alice", note="checkout 500s", now=when
    )
    again, new_again = link_incident(store, "INC-7", decision.decision_id, linked_by="bob")

    assert new
    assert not new_again
    assert again == link
    assert link.model_dump() == {
        "incident_id": "INC-7",
        "decision_id": decision.decision_id,
        "linked_by": "alice",
        "note": "checkout 500s",
        "linked_at": "2026-05-02T08:30:00.000000Z",
        "chain_seq": 2,
    }
    assert list_incidents(store) == [link]
    assert list_incidents(store, decision_id="someone-else") == []
    assert count(db_url, "audit_chain", "kind = 'incident.link'") == 1
    assert verify_audit(store).ok


@pytest.mark.parametrize("incident", ["", "   ", "INC\n2", "x" * 201])
def test_link_refuses_an_unusable_incident_id(store: Store, incident: str) -> None:
    """An incident id must be one line of sensible length: it is how people find it again."""
    decision = record(store, "bad-id")
    with pytest.raises(UsageError, match="incident id must be one line"):
        link_incident(store, incident, decision.decision_id)


def test_link_to_an_unknown_decision_records_nothing(store: Store, db_url: str) -> None:
    """Blaming a decision that does not exist is an error and leaves the chain alone."""
    record(store, "known")
    with pytest.raises(DecisionNotFound):
        link_incident(store, "INC-1", "no-such-decision")
    assert count(db_url, "incidents") == 0
    assert count(db_url, "audit_chain") == 1


def _known_set(store: Store) -> list[str]:
    """Five decisions with known stances; the first, third and fifth caused incidents."""
    stances: list[dict[str, Any]] = [
        {"scope": "block", "blast-radius": "approve", "contrarian": "concern"},
        {"scope": "block", "blast-radius": "approve", "contrarian": "approve"},
        {"scope": "approve", "blast-radius": "approve", "contrarian": "concern"},
        {"scope": "approve", "blast-radius": "block", "contrarian": "approve"},
        {"scope": "approve", "blast-radius": "approve", "contrarian": "approve"},
    ]
    ids = [
        record(
            store,
            f"score-{i}",
            stances=s,
            errors=["blast-radius"] if i == 4 else [],
            created_at=f"2026-05-0{i + 1}T10:00:00Z",
        ).decision_id
        for i, s in enumerate(stances)
    ]
    link_incident(store, "INC-1", ids[0])
    link_incident(store, "INC-2", ids[0])  # two incidents, one change: counted once
    link_incident(store, "INC-3", ids[2])
    link_incident(store, "INC-4", ids[4])
    return ids


def test_scorecard_figures_on_a_known_set(store: Store) -> None:
    """Caught, missed, false alarms and the ratios come out as counted by hand."""
    _known_set(store)
    scores = {s.reviewer: s.model_dump(exclude={"reviewer"}) for s in scorecard(store)}
    assert scores == {
        "blast-radius": {
            "judged": 4, "flagged": 1, "caught": 0, "missed": 2, "false_alarms": 1, "quiet": 1,
            "failed": 1, "precision": 0.0, "recall": 0.0, "false_alarm_rate": 0.5,
        },
        "contrarian": {
            "judged": 5, "flagged": 2, "caught": 2, "missed": 1, "false_alarms": 0, "quiet": 2,
            "failed": 0, "precision": 1.0, "recall": 0.6667, "false_alarm_rate": 0.0,
        },
        "scope": {
            "judged": 5, "flagged": 2, "caught": 1, "missed": 2, "false_alarms": 1, "quiet": 1,
            "failed": 0, "precision": 0.5, "recall": 0.3333, "false_alarm_rate": 0.5,
        },
    }  # fmt: skip


def test_scorecard_window_and_undefined_ratios(store: Store) -> None:
    """A window keeps only its decisions; a ratio with nothing to divide by is None, not 0."""
    _known_set(store)
    late = {s.reviewer: s for s in scorecard(store, since=datetime(2026, 5, 4))}
    assert late["blast-radius"].model_dump(include={"judged", "failed", "recall"}) == {
        "judged": 1, "failed": 1, "recall": None,
    }  # fmt: skip
    assert late["scope"].precision is None  # it raised no alarm in the window
    assert scorecard(store, until=datetime(2026, 1, 1)) == []


def test_cli_links_by_id_prefix_and_prints_the_scorecard(
    run_cli: Any, cli_env: dict[str, str]
) -> None:
    """The CLI links by a unique id prefix, lists links, and prints figures with definitions."""
    with Store.open(cli_env["COMMANDER_DATABASE_URL"]) as opened:
        ids = _known_set(opened)
        fresh = record(
            opened, "fresh", stances={"scope": "concern"}, created_at="2026-06-01T10:00:00Z"
        ).decision_id

    linked = run_cli("incident", "link", "INC-9", fresh[:10], "--by", "carol", "--note", "oops")
    again = run_cli("incident", "link", "INC-9", fresh)
    listed = run_cli("incident", "list", "--decision", fresh, "--output", "json")
    unknown = run_cli("incident", "link", "INC-9", "zzzzzzzzzz")
    text = run_cli("scorecard")
    as_json = run_cli("scorecard", "--output", "json", "--until", "2026-05-10")

    assert linked.code == 0, linked.stderr
    assert linked.stdout.startswith(f"linked: incident INC-9 ← decision {fresh}")
    assert again.stdout.startswith("already linked:")
    assert [x["linked_by"] for x in json.loads(listed.stdout)] == ["carol"]
    assert unknown.code == 1
    assert "no decision id starts or ends with 'zzzzzzzzzz'" in unknown.stderr
    assert text.code == 0
    header, _, *rows = text.stdout.splitlines()
    assert header.split() == [
        "reviewer", "judged", "flagged", "caught", "missed", "false_alarms",
        "precision", "recall", "false_alarm_rate", "failed",
    ]  # fmt: skip
    assert rows[0].split() == ["blast-radius", "4", "1", "0", "2", "1", "0%", "0%", "50%", "1"]
    assert rows[2].split()[:4] == ["scope", "6", "3", "2"]  # "fresh" counts without a window
    assert "precision: caught / flagged" in text.stdout
    report = json.loads(as_json.stdout)
    assert report["schema"] == "commander.scorecard/v1"
    assert {r["reviewer"]: r["caught"] for r in report["reviewers"]} == {
        "blast-radius": 0, "contrarian": 2, "scope": 1,
    }  # fmt: skip
    assert set(report["definitions"]) >= {"precision", "recall", "false_alarm_rate"}
    assert len(ids) == 5


def test_tampering_with_the_incident_table_defeats_nothing(store: Store, db_url: str) -> None:
    """Deleting an incident to clean up a reviewer's record is caught by verification."""
    ids = _known_set(store)
    run_sql(db_url, "DELETE FROM incidents WHERE decision_id = :id", id=ids[2])
    report = verify_audit(store)
    assert not report.ok
    assert report.problem is not None
    assert report.problem.startswith("incidents row INC-3/")
    assert report.problem.endswith("is missing (the chain wrote it at seq 8)")
