"""Upgrading a store an older commander wrote: its gate state is adopted and checked from then on.

The store is built by the real migrations at revision 0003 and filled the way
that commander filled it (tests/legacy_store.py): decisions whose links carry
no raw-input digest, gate rows whose events do not hold all they wrote.
Revision 0004 chains one `gate.adopted` event holding every gate row and
each raw input's digest; `audit verify` then checks the old rows against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from orchestrator.store import Store
from orchestrator.store.governance import Identities, approve, get_escalation
from tests.audit_factories import make
from tests.databases import DIALECTS, fresh_database, run_sql
from tests.legacy_store import LegacyWriter, at_revision

T0 = datetime(2026, 5, 1, 10, 0)
LATER = "2026-05-01T11:00:00Z"


@pytest.fixture(params=DIALECTS)
def legacy_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store at revision 0003 with an open escalation, a signed one, a freeze and budget use."""
    with fresh_database(request.param, tmp_path) as url:
        at_revision(url, "0003")
        writer = LegacyWriter(url)
        _fill(writer)
        writer.close()
        yield url


def _submission(ident: str, change: str, digest: str) -> tuple[str, dict[str, object]]:
    return (
        "INSERT INTO change_submissions (decision_id, change_id, proposal_digest, submitter, "
        "created_at) VALUES (:i, :c, :d, 'ci', :t)",
        {"i": ident, "c": change, "d": digest, "t": T0},
    )


def _escalation(ident: str, change: str, digest: str) -> tuple[str, dict[str, object]]:
    return (
        "INSERT INTO escalations (decision_id, change_id, proposal_digest, actor, source, "
        "submitter, risk_tier, required_roles, status, created_at, expires_at) VALUES "
        "(:i, :c, :d, 'agent-7', 'ai-agent', 'ci', 'high', :r, 'pending', :t, :e)",
        {
            "i": ident,
            "c": change,
            "d": digest,
            "r": '["senior-engineer"]',
            "t": T0,
            "e": datetime(2026, 5, 2, 10, 0),
        },
    )


def _fill(writer: LegacyWriter) -> None:
    for seed, change in (("old-open", "change-a"), ("old-signed", "change-b")):
        proposal, decision = make(seed, created_at="2026-05-01T10:00:00Z")
        ident, digest = decision.decision_id, decision.proposal_digest
        writer.decision(
            proposal,
            decision,
            _submission(ident, change, digest),
            _escalation(ident, change, digest),
        )
    signed = make("old-signed")[1].decision_id
    approval = {"decision_id": signed, "name": "bob", "role": "senior-engineer", "comment": ""}
    writer.event(
        "escalation.approval",
        approval | {"proposal_digest": make("old-signed")[1].proposal_digest},
        (
            "INSERT INTO escalation_approvals (decision_id, role, name, name_key, comment, "
            "created_at) VALUES (:i, 'senior-engineer', 'bob', 'bob', '', :t)",
            {"i": signed, "t": T0},
        ),
        (
            "UPDATE escalations SET status = 'approved-by-humans', closed_at = :t, "
            "closed_by = 'bob' WHERE decision_id = :i",
            {"i": signed, "t": T0},
        ),
        (
            "INSERT INTO budget_usage (decision_id, actor, counted_at, deletes, "
            "changed_resources, blast_radius) VALUES (:i, 'agent-7', :t, 0, 1, 0)",
            {"i": signed, "t": T0},
        ),
        ref_id=signed,
        actor="bob",
        at=T0,
    )
    writer.event(
        "actor.freeze",
        {"target": "runaway-bot", "frozen_by": "alice", "reason": "deletes", "cancelled": []},
        (
            "INSERT INTO freezes (target, frozen_by, reason, frozen_at) "
            "VALUES ('runaway-bot', 'alice', 'deletes', :t)",
            {"t": T0},
        ),
        ref_id="runaway-bot",
        actor="alice",
        at=T0,
    )


def test_upgrade_adopts_the_gate_state_and_it_verifies(legacy_url: str) -> None:
    """After the upgrade the whole record verifies, and the old gate rows are in one event."""
    with Store.open(legacy_url) as store:
        report = store.verify_chain()
    assert report.ok, report.message
    kinds = [r[0] for r in run_sql(legacy_url, "SELECT kind FROM audit_chain ORDER BY seq")]
    assert kinds[-1] == "gate.adopted"
    assert kinds.count("gate.adopted") == 1
    seqs = run_sql(legacy_url, "SELECT chain_seq FROM change_submissions ORDER BY chain_seq")
    assert [r[0] for r in seqs] == [1, 2], "submissions are ordered as their decisions were chained"
    assert run_sql(legacy_url, "SELECT count(*) FROM proposals WHERE raw_sha256 IS NULL") == [(0,)]


@pytest.mark.parametrize(
    ("statement", "table", "column"),
    [
        pytest.param(
            "UPDATE escalations SET status = 'approved-by-humans' WHERE change_id = 'change-a'",
            "escalations",
            "status",
            id="old-escalation-approved-by-sql",
        ),
        pytest.param("DELETE FROM freezes", "freezes", None, id="old-freeze-deleted"),
        pytest.param(
            "UPDATE proposals SET raw_zlib = NULL, raw_sha256 = NULL", "proposals", "raw_zlib",
            id="old-raw-input-nulled",
        ),
    ],
)  # fmt: skip
def test_old_rows_edited_after_the_upgrade_are_found(
    legacy_url: str, statement: str, table: str, column: str | None
) -> None:
    """A row written before the upgrade is as tamper-evident as a new one from then on."""
    Store.open(legacy_url).close()
    run_sql(legacy_url, statement)
    with Store.open(legacy_url) as store:
        report = store.verify_chain()
    assert not report.ok
    assert (report.table, report.column) == (table, column), report.message


def test_the_gate_works_on_adopted_rows(legacy_url: str) -> None:
    """An escalation opened before the upgrade is signed after it, and the record verifies."""
    with Store.open(legacy_url) as store:
        ident = make("old-open")[1].decision_id
        done = approve(
            store, ident, name="carol", role="senior-engineer", identities=Identities(), now=LATER
        )
        assert done.completed
        esc = get_escalation(store, ident, now=LATER)
        assert esc is not None
        assert esc.status == "approved-by-humans"
        report = store.verify_chain()
    assert report.ok, report.message


def test_trailers_vouch_for_adopted_escalations_and_refuse_edited_ones(legacy_url: str) -> None:
    """Signed before the upgrade: vouched for by the upgrade's event; edited after: refused."""
    from orchestrator.errors import StoreError
    from orchestrator.store.vouch import vouched_escalation

    signed = make("old-signed")[1].decision_id
    with Store.open(legacy_url) as store:
        assert vouched_escalation(store, signed, now=LATER).status == "approved-by-humans"
    run_sql(
        legacy_url,
        "UPDATE escalation_approvals SET name = 'mallory' WHERE decision_id = :i",
        i=signed,
    )
    with Store.open(legacy_url) as store, pytest.raises(StoreError, match="does not match"):
        vouched_escalation(store, signed, now=LATER)
