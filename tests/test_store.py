"""The audit store: round trips, lookups, history, the hash chain, failures, concurrency.

Every store test runs on a SQLite file and, when COMMANDER_TEST_POSTGRES_URL is
set, on PostgreSQL in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.errors import StoreError, UserError
from orchestrator.models import (
    Decision,
    Finding,
    Outcome,
    Proposal,
    RequiredApproval,
    ResourceChange,
    RiskTier,
    Verdict,
)
from orchestrator.store import (
    HEAD_REVISION,
    AmbiguousDecisionId,
    DecisionNotFound,
    Store,
    chain,
    database_url,
)
from orchestrator.store.migrate import MIGRATIONS
from tests.databases import DIALECTS, fresh_database, run_sql

REPO = Path(__file__).resolve().parent.parent


# --- factories ---------------------------------------------------------------------------


def make_proposal(
    actor: str = "agent-7",
    *,
    changes: int = 3,
    intent: str = "rotate the access keys",
    input_name: str = "plan.json",
) -> Proposal:
    """A Terraform proposal with `changes` changes, every third one a delete."""
    built = tuple(
        ResourceChange(
            address=f'module.app.aws_iam_access_key.key["{i}"]',
            type="aws_iam_access_key",
            action="delete" if i % 3 == 0 else "update",
            before={"user": f"svc-{i}", "status": "Active"},
            after=None if i % 3 == 0 else {"user": f"svc-{i}", "status": "Inactive"},
            sensitive_paths=("secret",),
        )
        for i in range(changes)
    )
    raw = {
        "format_version": "1.2",
        "resource_changes": [c.model_dump(mode="json") for c in built],
        "note": "masked: (sensitive value) — ünïcode kept",
    }
    return Proposal(
        kind="terraform",
        source="ai-agent",
        actor=actor,
        intent=intent,
        environment="production",
        environment_name="prod",
        changes=built,
        input_name=input_name,
        raw=raw,
    )


def decision_id(seed: str) -> str:
    """A realistic, deterministic decision id."""
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def make_decision(
    proposal: Proposal,
    seed: str,
    *,
    outcome: Outcome = "escalate",
    created_at: str = "2026-05-01T10:00:00Z",
    ident: str | None = None,
) -> Decision:
    """A decision with two verdicts, one of which blocks with evidence."""
    addresses = tuple(c.address for c in proposal.changes[:2])
    verdicts = (
        Verdict(reviewer="scope", stance="approve", risk_tier=RiskTier.MEDIUM, confidence=0.8),
        Verdict(
            reviewer="blast-radius",
            stance="block",
            risk_tier=RiskTier.HIGH,
            confidence=0.65,
            findings=(
                Finding(
                    rule="blast.fanout",
                    message="47 services depend on this boundary",
                    resources=addresses,
                    evidence={"fanout": 47, "services": ["checkout", "orders"], "ratio": 0.125},
                    severity=RiskTier.HIGH,
                ),
                Finding(rule="blast.delete", message="keys are deleted", resources=addresses[:1]),
            ),
            rationale="deleting keys that 47 services use",
            duration_ms=12,
        ),
    )
    return Decision(
        decision_id=ident or decision_id(seed),
        proposal_digest=proposal.digest(),
        outcome=outcome,
        risk_tier=RiskTier.HIGH,
        required_approvals=(RequiredApproval(role="senior-engineer"),),
        dissent=0.5,
        verdicts=verdicts,
        rationale=("blast-radius blocks: 47 services depend on this boundary",),
        rules_fired=("dissent.escalate",),
        policy_version="2026.05",
        created_at=created_at,
    )


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty audit database: a SQLite file, or a fresh PostgreSQL schema."""
    folder = tmp_path / "data"  # a folder the store must create itself
    with fresh_database(request.param, folder) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on the test database."""
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


def count(url: str, table: str, where: str = "1=1", **params: Any) -> int:
    """Rows of `table` matching `where`."""
    return int(run_sql(url, f"SELECT count(*) FROM {table} WHERE {where}", **params)[0][0])  # noqa: S608


# --- round trips and lookups -----------------------------------------------------------------


def test_record_then_get_returns_what_was_recorded(store: Store) -> None:
    """A recorded decision comes back equal, with its proposal and masked raw input."""
    proposal = make_proposal(changes=7)
    decision = make_decision(proposal, "round-trip")
    store.record(proposal, decision)

    stored = store.get(decision.decision_id)

    assert stored.decision == decision
    assert stored.decision.to_json_dict() == decision.to_json_dict()
    assert stored.proposal.digest() == proposal.digest() == decision.proposal_digest
    assert stored.proposal == proposal
    assert stored.proposal.raw == proposal.raw
    assert stored.seq == 1
    assert stored.chain_hash == store.verify_chain().head_hash


def test_get_unknown_id_is_a_user_error(store: Store) -> None:
    """Asking for an id that was never recorded says so, as an error the user can fix."""
    with pytest.raises(DecisionNotFound, match="no decision 'nope'"):
        store.get("nope")


@pytest.mark.parametrize(
    ("typed", "expected", "error"),
    [
        ("deadbeef01aa", "deadbeef01aa", None),
        ("deadbeef01", "deadbeef01aa", None),
        ("  deadbeef02 ", "deadbeef02bb", None),
        ("deadbeef0", None, AmbiguousDecisionId),
        ("deadbe", None, AmbiguousDecisionId),
        ("dead", None, DecisionNotFound),
        ("cafe0000", None, DecisionNotFound),
        ("DEADBEEF01", None, DecisionNotFound),
        ("deadbeef%", None, DecisionNotFound),
    ],
)
def test_find_accepts_a_unique_prefix(
    store: Store, typed: str, expected: str | None, error: type[UserError] | None
) -> None:
    """An SRE can type a short id; too short, unknown or ambiguous prefixes are user errors."""
    for ident in ("deadbeef01aa", "deadbeef02bb"):
        proposal = make_proposal(actor=ident)
        store.record(proposal, make_decision(proposal, ident, ident=ident))

    if error is None:
        assert store.find(typed).decision.decision_id == expected
    else:
        with pytest.raises(error) as caught:
            store.find(typed)
        assert isinstance(caught.value, UserError)
        assert "\n" not in str(caught.value)


def test_same_proposal_twice_is_one_proposal_with_two_decisions(store: Store, db_url: str) -> None:
    """Submitting the same content again stores the proposal once and both decisions."""
    first = make_proposal(input_name="a.json")
    again = make_proposal(input_name="b.json")
    assert first.digest() == again.digest()

    store.record(first, make_decision(first, "first", created_at="2026-05-01T10:00:00Z"))
    store.record(again, make_decision(again, "again", created_at="2026-05-01T11:00:00Z"))

    assert count(db_url, "proposals") == 1
    assert count(db_url, "decisions", "proposal_digest = :d", d=first.digest()) == 2
    assert store.get(decision_id("again")).proposal.digest() == first.digest()
    assert store.verify_chain().ok


def test_history_lists_one_actors_decisions_newest_first(store: Store) -> None:
    """Reviewers see the actor's own earlier decisions, newest first, with change counts."""
    times = ["2026-05-01T09:00:00Z", "2026-05-01T12:00:00+02:00", "2026-05-01T11:00:00Z"]
    for i, when in enumerate(times):
        proposal = make_proposal(actor="agent-7", changes=3 + i, intent=f"step {i}")
        store.record(proposal, make_decision(proposal, f"h{i}", created_at=when))
    other = make_proposal(actor="someone-else")
    store.record(other, make_decision(other, "other", created_at="2026-05-02T00:00:00Z"))

    history = store.history("agent-7")

    assert [h.decision_id for h in history] == [decision_id(s) for s in ("h2", "h1", "h0")]
    assert [h.created_at for h in history] == [
        "2026-05-01T11:00:00.000000Z",
        "2026-05-01T10:00:00.000000Z",
        "2026-05-01T09:00:00.000000Z",
    ]
    assert [(h.changed_resources, h.destructive_changes) for h in history] == [
        (5, 2),
        (4, 2),
        (3, 1),
    ]
    assert store.history("agent-7", limit=1)[0].decision_id == decision_id("h2")
    assert store.history("nobody") == ()
    assert [s.decision_id for s in store.recent(limit=2)] == [
        decision_id("other"),
        decision_id("h2"),
    ]
    assert {s.actor for s in store.recent(actor="agent-7")} == {"agent-7"}


# --- the hash chain --------------------------------------------------------------------------


def test_chain_verifies_after_many_records_and_events(store: Store) -> None:
    """Decisions and audit events share one chain, and an untouched chain verifies."""
    for i in range(25):
        proposal = make_proposal(actor=f"agent-{i % 3}", changes=1 + i % 4)
        store.record(proposal, make_decision(proposal, f"many-{i}"))
        if i % 5 == 0:
            entry = store.append_event("freeze", {"actor": f"agent-{i % 3}", "n": i}, actor="sre")
            assert entry.kind == "freeze"

    report = store.verify_chain()

    assert report.ok, report.message
    assert report.rows_checked == report.head_seq == 30
    assert report.message.startswith("chain ok: 30 rows")


def seq_of(url: str, ident: str) -> int:
    """The chain position of a decision."""
    return int(
        run_sql(
            url, "SELECT seq FROM audit_chain WHERE ref_id = :i AND kind = 'decision'", i=ident
        )[0][0]
    )


TAMPERING = [
    ("UPDATE decisions SET outcome = 'approve' WHERE decision_id = :id", "decisions.outcome"),
    (
        "UPDATE decisions SET decision_json = "
        'REPLACE(decision_json, \'"outcome":"reject"\', \'"outcome":"approve"\') '
        "WHERE decision_id = :id",
        "decision content does not match its recorded digest",
    ),
    ("UPDATE verdicts SET stance = 'approve' WHERE decision_id = :id", "verdicts rows"),
    ("UPDATE findings SET message = 'nothing to see' WHERE decision_id = :id", "findings rows"),
    ("DELETE FROM finding_resources WHERE decision_id = :id", "finding_resources rows"),
    ("UPDATE proposals SET intent = 'fix a typo' WHERE actor = :id", "proposals columns"),
    ("UPDATE audit_chain SET prev_hash = :zeros WHERE seq = :seq", "prev_hash does not match"),
    ("UPDATE audit_chain SET payload_digest = :zeros WHERE seq = :seq", "row hash does not match"),
    ("UPDATE audit_chain SET actor = 'someone' WHERE seq = :seq", "actor does not match"),
    ("DELETE FROM audit_chain WHERE seq = :seq", "row is missing"),
]


@pytest.mark.parametrize(("statement", "problem"), TAMPERING)
def test_tampering_is_found_at_its_row(
    store: Store, db_url: str, statement: str, problem: str
) -> None:
    """Editing a stored decision, its projections or its chain link breaks the chain there."""
    idents = []
    for i in range(5):
        ident = decision_id(f"tamper-{i}")
        proposal = make_proposal(actor=ident, changes=2)
        store.record(proposal, make_decision(proposal, f"tamper-{i}", outcome="reject"))
        idents.append(ident)
        store.append_event("note", {"i": i}, actor="sre")
    target = idents[2]
    seq = seq_of(db_url, target)
    assert store.verify_chain().ok

    run_sql(db_url, statement, id=target, seq=seq, zeros="0" * 64)
    report = store.verify_chain()

    assert not report.ok
    assert report.first_bad_seq == seq
    assert report.rows_checked == seq - 1
    assert problem in (report.problem or "")
    if "row is missing" in problem:
        assert report.message.startswith(f"chain broken at seq {seq}: row is missing")
    else:
        assert report.ref_id == target
        assert report.message.startswith(f"chain broken at seq {seq} ({target[:12]}…): ")


def test_tampered_event_and_truncated_chain_are_found(store: Store, db_url: str) -> None:
    """An edited event payload and a removed last row are both reported."""
    proposal = make_proposal()
    store.record(proposal, make_decision(proposal, "event-base"))
    entry = store.append_event("thaw", {"actor": "agent-7", "reason": "fixed"}, actor="sre")

    run_sql(db_url, "UPDATE audit_chain SET payload = :p WHERE seq = :s", p='{"actor": "x"}', s=2)
    edited = store.verify_chain()
    assert (edited.ok, edited.first_bad_seq) == (False, entry.seq)
    assert "event content does not match" in (edited.problem or "")

    run_sql(db_url, "DELETE FROM audit_chain WHERE seq = 2")
    truncated = store.verify_chain()
    assert (truncated.ok, truncated.first_bad_seq) == (False, 2)
    assert "chain ends at seq 1 but its head is seq 2" in (truncated.problem or "")


def test_decision_outside_the_chain_is_found(store: Store, db_url: str) -> None:
    """A decision row slipped in with SQL, without a chain link, fails verification."""
    proposal = make_proposal()
    decision = make_decision(proposal, "chained")
    store.record(proposal, decision)
    run_sql(
        db_url,
        "INSERT INTO decisions (decision_id, proposal_digest, outcome, risk_tier, dissent, "
        "policy_version, created_at, decision_json) SELECT 'forged00000', proposal_digest, "
        "'approve', risk_tier, dissent, policy_version, created_at, decision_json "
        "FROM decisions WHERE decision_id = :id",
        id=decision.decision_id,
    )

    report = store.verify_chain()

    assert (report.ok, report.first_bad_seq, report.ref_id) == (False, None, "forged00000")
    assert report.message == "chain broken outside (forged00000): decision is not in the chain"


# --- failures ----------------------------------------------------------------------------------


def test_failed_chain_append_leaves_nothing_of_the_decision(store: Store, db_url: str) -> None:
    """When the chain append fails, no row of the decision (or its new proposal) remains."""
    kept = make_proposal(actor="kept")
    store.record(kept, make_decision(kept, "kept"))
    # A competing writer already holds the next seq, so this append hits a duplicate key.
    run_sql(
        db_url,
        "INSERT INTO audit_chain (seq, kind, ref_id, actor, payload_digest, prev_hash, hash, "
        "created_at) VALUES (2, 'note', NULL, NULL, :z, :z, :h, :t)",
        z="0" * 64,
        h="f" * 64,
        t="2026-05-01 00:00:00",
    )
    proposal = make_proposal(actor="lost", changes=4)
    decision = make_decision(proposal, "lost")

    with pytest.raises(StoreError, match=f"cannot record decision {decision.decision_id}") as err:
        store.record(proposal, decision)

    assert "\n" not in str(err.value)
    ident = decision.decision_id
    for table in ("decisions", "verdicts", "findings", "finding_resources"):
        assert count(db_url, table, "decision_id = :i", i=ident) == 0, table
    assert count(db_url, "proposals", "actor = 'lost'") == 0
    assert count(db_url, "audit_chain", "ref_id = :i", i=ident) == 0
    assert run_sql(db_url, "SELECT seq FROM chain_head")[0][0] == 1


def test_recording_a_decision_id_twice_is_refused(store: Store, db_url: str) -> None:
    """The store is append-only: a second decision under the same id is refused whole."""
    proposal = make_proposal()
    original = make_decision(proposal, "once", outcome="reject")
    store.record(proposal, original)
    other = make_proposal(actor="other")
    rewrite = make_decision(other, "twice", outcome="approve", ident=original.decision_id)

    with pytest.raises(StoreError, match="already recorded"):
        store.record(other, rewrite)

    assert store.get(original.decision_id).decision == original
    assert count(db_url, "proposals") == count(db_url, "audit_chain") == 1
    assert store.verify_chain().ok


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"proposal_digest": "sha256:" + "0" * 64}, "but the proposal given has digest"),
        ({"created_at": "yesterday"}, "is not an ISO-8601 time"),
        ({"rationale": ("lone surrogate \ud800 from a plan",)}, "not valid Unicode"),
    ],
)
def test_inconsistent_decision_is_refused(
    store: Store, db_url: str, change: dict[str, str], message: str
) -> None:
    """A decision for another proposal, with no readable time or unstorable text is refused."""
    proposal = make_proposal()
    decision = make_decision(proposal, "bad").model_copy(update=change)

    with pytest.raises(StoreError, match=message):
        store.record(proposal, decision)

    assert count(db_url, "decisions") == count(db_url, "audit_chain") == 0


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgresql://postgres:hunter2@127.0.0.1:1/x", "postgresql://postgres:***@127.0.0.1:1/x"),
        ("postgres://postgres@127.0.0.1:1/x", "postgres://postgres@127.0.0.1:1/x"),
        ("sqlite:///{blocker}/sub/audit.db", "cannot create folder"),
        ("mysql://root@127.0.0.1/x", "supports SQLite and PostgreSQL"),
        ("not a url://x", "does not parse"),
    ],
)
def test_unreachable_database_is_a_one_line_store_error(
    tmp_path: Path, url: str, named: str
) -> None:
    """An unreachable or unusable database is one line naming the URL, never the password."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    with pytest.raises(StoreError) as caught:
        Store.open(url.format(blocker=blocker))

    message = str(caught.value)
    assert named in message
    assert "\n" not in message
    assert "hunter2" not in message


# --- schema and migrations ---------------------------------------------------------------------


def test_head_revision_constant_matches_the_migrations() -> None:
    """The cheap version check compares against the newest migration there is."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_migrated_schema_matches_the_table_definitions(store: Store, db_url: str) -> None:
    """What the migrations create is exactly what tables.py declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from orchestrator.store.tables import METADATA

    engine = sa.create_engine(database_url(db_url))
    try:
        with engine.connect() as conn:
            differences = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), METADATA
            )
    finally:
        engine.dispose()
    assert differences == []


def test_reopening_keeps_the_record_and_refuses_an_unknown_schema(db_url: str) -> None:
    """Records survive reopening; a database migrated by a newer commander is refused."""
    proposal = make_proposal()
    decision = make_decision(proposal, "durable")
    with Store.open(db_url) as first:
        first.record(proposal, decision)
    with Store.open(db_url) as again:
        assert again.get(decision.decision_id).decision == decision

    run_sql(db_url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match=r"revision 9999.*upgrade commander"):
        Store.open(db_url)


def test_opening_a_current_database_imports_neither_alembic_nor_the_orm(tmp_path: Path) -> None:
    """A review on an existing store skips the import cost of Alembic and SQLAlchemy's ORM."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    Store.open(url).close()
    code = (
        "import sys; from orchestrator.store import Store; "
        f"Store.open({url!r}).close(); "
        "print('alembic' in sys.modules or 'sqlalchemy.orm' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    assert done.stdout.strip() == "False"


# --- concurrency -------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from test_store import make_decision, make_proposal
    from orchestrator.store import Store

    url, name, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = Store.open(url)
    (gate.parent / f"ready-{name}").touch()
    deadline = time.monotonic() + 60
    while not gate.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.005)
    for i in range(20):
        proposal = make_proposal(actor=name, changes=1 + i % 5, intent=f"step {i}")
        store.record(proposal, make_decision(proposal, f"{name}-{i}"))
    store.close()
    """
)


def test_two_processes_recording_at_once_do_not_fork_the_chain(db_url: str, tmp_path: Path) -> None:
    """Two processes opening a fresh store and recording together leave one valid chain."""
    gate = tmp_path / "go"
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, name, str(gate)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("writer-a", "writer-b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in ("writer-a", "writer-b")):
        assert time.monotonic() < deadline, [w.poll() for w in workers]
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        time.sleep(0.01)
    gate.touch()
    results = [w.communicate(timeout=120) for w in workers]

    assert [w.returncode for w in workers] == [0, 0], results
    with Store.open(db_url) as store:
        report = store.verify_chain()
        assert report.ok, report.message
        assert len(store.history("writer-a")) == len(store.history("writer-b")) == 20
    seqs = [row[0] for row in run_sql(db_url, "SELECT seq FROM audit_chain ORDER BY seq")]
    assert seqs == list(range(1, 41))


# --- invariants -------------------------------------------------------------------------------


def json_values(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Any JSON document whose strings come from `text`."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=15,
    )


# A parsed plan may hold any string json.loads can produce, lone surrogates and NUL included.
ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=8)
# Events come from commander itself: printable Unicode.
EVENT_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=json_values(ANY_TEXT),
    payload=st.dictionaries(EVENT_TEXT, json_values(EVENT_TEXT), max_size=3),
)
def test_any_raw_input_and_event_payload_round_trip_and_verify(
    store: Store, raw: Any, payload: dict[str, Any]
) -> None:
    """Whatever JSON the raw input or an event holds comes back exactly and verifies."""
    ident = uuid.uuid4().hex
    # Its own actor: the same content would be one proposal row, keeping the first raw.
    proposal = make_proposal(actor=ident).model_copy(update={"raw": raw})
    store.record(proposal, make_decision(proposal, ident, ident=ident))
    store.append_event("note", payload, actor="hypothesis")

    assert store.get(ident).proposal.raw == raw
    assert store.verify_chain().ok


@pytest.mark.parametrize(
    "raw",
    [
        {"b": 1, "a": [2**70, -0.0, 1e-300, "é ✓ \u2028"]},
        {"lone": "\ud800 half a pair", "nested": [{"z": None, "y": True}]},
        "a diff's text, not an object",
    ],
    ids=["order-and-numbers", "lone-surrogate", "text"],
)
def test_raw_inputs_hard_to_encode_come_back_in_their_own_key_order(store: Store, raw: Any) -> None:
    """The raw input is stored as written (no key sorting, any string), and read back equal."""
    ident = uuid.uuid4().hex
    proposal = make_proposal(actor=ident).model_copy(update={"raw": raw})
    store.record(proposal, make_decision(proposal, ident, ident=ident))
    back = store.get(ident).proposal.raw
    assert back == raw
    assert json.dumps(back) == json.dumps(raw)  # the same key order, too


@given(
    seq=st.integers(min_value=1, max_value=2**40),
    kind=ANY_TEXT,
    ref_id=st.none() | ANY_TEXT,
    digest=ANY_TEXT,
    prev=ANY_TEXT,
    actor=st.none() | ANY_TEXT,
    payload=json_values(ANY_TEXT),
)
def test_link_and_event_digests_are_the_documented_canonical_json(
    seq: int, kind: str, ref_id: str | None, digest: str, prev: str, actor: str | None, payload: Any
) -> None:
    """The hand-written canonical texts are exactly canonical(...): anyone can recompute them."""
    link = {"seq": seq, "kind": kind, "ref_id": ref_id, "payload_digest": digest, "prev_hash": prev}
    at = datetime(2026, 5, 1, 10, 0, 0, 123456)
    event = {"actor": actor, "created_at": chain.iso_utc(at), "payload": payload}
    assert_same_digest(lambda: chain.entry_hash(seq, kind, ref_id, digest, prev), link)
    assert_same_digest(lambda: chain.event_digest(actor, at, payload), event)


@given(value=json_values(ANY_TEXT) | st.floats() | st.lists(st.floats()))
def test_canonical_is_json_dumps_sorted_and_compact(value: Any) -> None:
    """chain.canonical runs json's C encoder directly: the text is json.dumps's, to the byte."""
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert chain.canonical(value) == expected


def test_canonical_refuses_what_json_dumps_refuses() -> None:
    """A value JSON cannot hold, a circular one, or mixed key types: the same errors."""
    circular: list[Any] = []
    circular.append(circular)
    for bad, error in (
        ({"a": object()}, TypeError),
        (circular, ValueError),
        ({1: 2, "a": 3}, TypeError),
    ):
        with pytest.raises(error) as ours:
            chain.canonical(bad)
        with pytest.raises(error) as reference:
            json.dumps(bad, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert str(ours.value) == str(reference.value)


def assert_same_digest(written_out: Callable[[], str], document: Any) -> None:
    """`written_out()` is the digest of canonical(document), or both refuse the text.

    A lone surrogate has no UTF-8 form: there is no digest, and the row is
    refused rather than chained under an encoding a verifier elsewhere would
    not reproduce.
    """
    try:
        expected = chain.sha256_hex(chain.canonical(document))
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            written_out()
        return
    assert written_out() == expected
