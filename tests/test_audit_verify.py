"""`commander audit verify`: a row edited behind the store's back is named, at its chain seq.

Runs on a SQLite file and on PostgreSQL (see tests/test_store.py). The chain's
own checks (links, decisions, proposals, verdicts, findings) are tested in
tests/test_store.py; this file covers the command, the query projections and
incident links, and the migration that fills the projections of older stores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.store import Store
from orchestrator.store.audit import AuditFilter, query_decisions
from orchestrator.store.audit_verify import verify_audit
from orchestrator.store.incidents import link_incident
from tests.audit_factories import count, db_url, ident, make, record, run_sql, seq_of, store
from tests.legacy_store import LegacyWriter, at_revision

REPO = Path(__file__).resolve().parents[1]

__all__ = ["db_url", "store"]


def _five(store: Store) -> list[str]:
    """Five chained decisions with every projection filled, and an event between each."""
    ids = []
    for i in range(5):
        decision = record(
            store,
            f"verify-{i}",
            addresses=[f"aws_iam_role.r{i}", "aws_iam_policy.shared"],
            services=["checkout", f"svc-{i}"],
            stances={"scope": "block", "blast-radius": "block", "contrarian": "approve"},
            created_at=f"2026-05-0{i + 1}T10:00:00Z",
        )
        ids.append(decision.decision_id)
        store.append_event("note", {"i": i}, actor="sre")
    return ids


def test_cli_names_the_row_an_sql_update_changed(store: Store, db_url: str, run_cli: Any) -> None:
    """Flipping a recorded outcome with SQL makes `audit verify` exit 1 naming that row."""
    ids = _five(store)
    target = ids[2]
    clean = run_cli("audit", "verify", "--db", db_url)
    assert clean.code == 0, clean.stderr
    assert clean.stdout.startswith("chain ok: 10 rows")

    run_sql(db_url, "UPDATE decisions SET outcome = 'approve' WHERE decision_id = :id", id=target)
    broken = run_cli("audit", "verify", "--db", db_url)
    as_json = run_cli("audit", "verify", "--db", db_url, "--output", "json")

    seq = seq_of(db_url, target)
    assert broken.code == 1
    assert broken.stdout.strip() == (
        f"chain broken at seq {seq} ({target[:12]}…): "
        "decisions.outcome does not match the decision JSON"
    )
    report = json.loads(as_json.stdout)
    assert as_json.code == 1
    assert (report["ok"], report["first_bad_seq"], report["ref_id"]) == (False, seq, target)
    assert report["rows_checked"] == seq - 1


TAMPERING = [
    ("DELETE FROM decision_resources WHERE decision_id = :id", "decision_resources rows"),
    (
        "UPDATE decision_resources SET address = 'aws_iam_role.elsewhere' "
        "WHERE decision_id = :id AND address = 'aws_iam_policy.shared'",
        "decision_resources rows",
    ),
    (
        "INSERT INTO decision_services (decision_id, service) VALUES (:id, 'billing')",
        "decision_services rows",
    ),
    ("DELETE FROM decision_dissenters WHERE decision_id = :id", "decision_dissenters rows"),
    (
        "UPDATE decision_dissenters SET stance = 'block' WHERE decision_id = :id",
        "decision_dissenters rows",
    ),
]


@pytest.mark.parametrize(("statement", "problem"), TAMPERING)
def test_edited_query_projection_is_found_at_its_decision(
    store: Store, db_url: str, statement: str, problem: str
) -> None:
    """Hiding a decision from audit queries (or planting one) breaks verification there."""
    ids = _five(store)
    target = ids[3]
    assert verify_audit(store).ok

    run_sql(db_url, statement, id=target)
    report = verify_audit(store)

    seq = seq_of(db_url, target)
    assert (report.ok, report.first_bad_seq, report.ref_id) == (False, seq, target)
    assert report.rows_checked == seq - 1
    assert report.problem == f"{problem} do not match the decision record"


def test_edited_or_removed_incident_is_found_at_its_event(store: Store, db_url: str) -> None:
    """An incident note rewritten, or an incident link deleted, is named by its chain event."""
    ids = _five(store)
    first, _ = link_incident(store, "INC-1", ids[0], linked_by="alice", note="checkout down")
    second, _ = link_incident(store, "INC-2", ids[1], linked_by="bob", note="login down")
    assert verify_audit(store).ok

    run_sql(db_url, "UPDATE incidents SET note = 'unrelated' WHERE incident_id = 'INC-2'")
    edited = verify_audit(store)
    assert (edited.ok, edited.first_bad_seq, edited.ref_id) == (False, second.chain_seq, ids[1])
    assert (edited.table, edited.row, edited.column) == ("incidents", f"INC-2/{ids[1]}", "note")
    assert edited.problem == (
        f"incidents row INC-2/{ids[1]}: note is 'unrelated' but the chain says 'login down'"
    )

    run_sql(db_url, "DELETE FROM incidents WHERE incident_id = 'INC-1'")
    removed = verify_audit(store)
    assert (removed.ok, removed.first_bad_seq) == (False, first.chain_seq)
    assert removed.problem == (
        f"incidents row INC-1/{ids[0]} is missing (the chain wrote it at seq {first.chain_seq})"
    )


def test_incident_planted_without_an_event_is_found(store: Store, db_url: str) -> None:
    """An incident row inserted with SQL, outside the chain, fails verification."""
    ids = _five(store)
    run_sql(
        db_url,
        "INSERT INTO incidents (incident_id, decision_id, linked_by, note, linked_at, chain_seq) "
        "VALUES ('INC-9', :id, 'mallory', 'blame it', '2026-05-09 10:00:00', 999)",
        id=ids[4],
    )
    report = verify_audit(store)
    assert (report.ok, report.first_bad_seq, report.table) == (False, None, "incidents")
    assert report.problem == f"incidents row INC-9/{ids[4]} is not in the chain (no event wrote it)"


def test_upgrade_fills_the_projections_of_decisions_recorded_before_it(db_url: str) -> None:
    """A store from revision 0002 gets the projections of its decisions on upgrade, and verifies."""
    at_revision(db_url, "0002")
    writer = LegacyWriter(db_url, projections=False)
    ids = []
    for i in range(5):
        proposal, decision = make(
            f"verify-{i}",
            addresses=[f"aws_iam_role.r{i}", "aws_iam_policy.shared"],
            services=["checkout", f"svc-{i}"],
            stances={"scope": "block", "blast-radius": "block", "contrarian": "approve"},
            created_at=f"2026-05-0{i + 1}T10:00:00Z",
        )
        writer.decision(proposal, decision)
        ids.append(decision.decision_id)
    writer.close()

    with Store.open(db_url) as upgraded:
        assert count(db_url, "decision_resources") == 10
        report = verify_audit(upgraded)
        found = query_decisions(upgraded, AuditFilter(resource="aws_iam_role.r3"))
    assert report.ok, report.message
    assert [d.decision_id for d in found] == [ids[3]]
    assert ident("verify-3") == ids[3]


def test_an_escalation_approved_with_sql_is_caught_by_verify_and_by_trailer(
    run_cli: Any, cli_env: dict[str, str]
) -> None:
    """The issue's attack: one UPDATE no longer passes verify, and `trailer` will not vouch."""
    plan = REPO / "examples" / "iam-boundary" / "plan.json"
    reviewed = run_cli("review", str(plan), "--actor", "refactor-bot", "--output", "json")
    assert reviewed.code == 3, reviewed.stderr
    ident = json.loads(reviewed.stdout)["decision_id"]
    url = cli_env["COMMANDER_DATABASE_URL"]
    run_sql(
        url, "UPDATE escalations SET status = 'approved-by-humans' WHERE decision_id = :i", i=ident
    )

    verify = run_cli("audit", "verify", "--output", "json")
    trailer = run_cli("trailer", ident)

    report = json.loads(verify.stdout)
    assert verify.code == 1
    assert (report["table"], report["row"], report["column"]) == ("escalations", ident, "status")
    assert trailer.code == 1
    assert "approved-by-humans" not in trailer.stdout
    assert f"escalation {ident} does not match the audit chain" in trailer.stderr
