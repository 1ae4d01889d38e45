"""Races at the gate, in parallel processes, on a real SQLite file and PostgreSQL.

Four people sign the last open role of the same three escalations at once:
one completes each. Twenty different plans are submitted for one change at
once: the last one recorded is the one left to approve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.errors import Refused
from orchestrator.store import Store
from orchestrator.store.governance import Identities, approve, get_escalation, list_escalations
from tests.gate_support import (
    DATABASES,
    REPO,
    chain_kinds,
    database,
    make_decision,
    make_proposal,
    record,
    run_sql,
    wall,
)

RACERS = ("carol", "dave", "erin", "frank")
WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from orchestrator.clock import iso_micros, utc_now
    from orchestrator.store import Store
    from orchestrator.store.governance import Identities, Refused, approve

    url, name, ids, gate = sys.argv[1], sys.argv[2], sys.argv[3].split(","), Path(sys.argv[4])
    store = Store.open(url)
    (gate.parent / f"ready-{name}").touch()
    deadline = time.monotonic() + 60
    while not gate.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.002)
    results = {}
    for ident in ids:
        try:
            done = approve(
                store, ident, name=name, role="team-lead", identities=Identities(),
                now=iso_micros(utc_now()),
            )
            results[ident] = "completed" if done.completed else "signed"
        except Refused as refused:
            results[ident] = f"refused: {refused}"
    store.close()
    print(json.dumps(results))
    """
)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty audit database: a SQLite file, or a fresh PostgreSQL schema."""
    yield from database(request.param, tmp_path)


def test_racing_approvers_for_the_last_role_make_one_final_decision(
    db_url: str, tmp_path: Path
) -> None:
    """Exactly one racer completes each escalation; the others are refused; the chain holds."""
    with Store.open(db_url) as store:
        ids = []
        for i in range(3):
            proposal = make_proposal(tag=f"race-{i}")
            # Decided now: the racers read the real clock, and the escalation must be open.
            decision = make_decision(proposal, created_at=datetime.now(UTC).isoformat())
            record(store, proposal, decision, change_id=f"race-{i}")
            approve(
                store,
                decision.decision_id,
                name="bob",
                role="senior-engineer",
                identities=Identities(),
                now=wall(),
            )
            ids.append(decision.decision_id)

    gate = tmp_path / "go"
    env = os.environ | {"PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, name, ",".join(ids), str(gate)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in RACERS
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in RACERS):
        assert time.monotonic() < deadline, [w.poll() for w in workers]
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        time.sleep(0.01)
    gate.touch()
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0] * len(RACERS), outputs
    results = [json.loads(out) for out, _ in outputs]

    with Store.open(db_url) as store:
        for ident in ids:
            outcomes = [r[ident] for r in results]
            assert outcomes.count("completed") == 1, outcomes
            assert all(o.startswith("refused: ") for o in outcomes if o != "completed"), outcomes
            winner = RACERS[outcomes.index("completed")]
            esc = get_escalation(store, ident)
            assert esc is not None
            assert esc.status == "approved-by-humans"
            assert {(a.role, a.name) for a in esc.approvals} == {
                ("senior-engineer", "bob"),
                ("team-lead", winner),
            }
        assert store.verify_chain().ok
    finals = [
        str(ref) for kind, ref in chain_kinds(db_url) if kind == "escalation.approved-by-humans"
    ]
    assert sorted(finals) == sorted(ids)
    counted = run_sql(db_url, "SELECT decision_id FROM budget_usage ORDER BY decision_id")
    assert [r[0] for r in counted] == sorted(ids)


PLANS = 20
PLAN_WORKER = textwrap.dedent(
    """
    import random, sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from orchestrator.store import Store
    from tests.gate_support import make_decision, make_proposal, record

    url, tag, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = Store.open(url)
    proposal = make_proposal(tag=tag)
    (gate.parent / f"ready-{tag}").touch()
    deadline = time.monotonic() + 60
    while not gate.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.002)
    # The decision's time is taken when its reviewers finish, before the record waits its turn.
    decision = make_decision(proposal, created_at=datetime.now(UTC).isoformat())
    time.sleep(random.random() * 0.05)
    record(store, proposal, decision, change_id="race-change")
    store.close()
    print(decision.decision_id)
    """
)


def test_concurrent_different_plans_leave_the_last_recorded_one_to_approve(
    db_url: str, tmp_path: Path
) -> None:
    """Twenty plans for one change at once: exactly one escalation stays open, the last recorded."""
    Store.open(db_url).close()  # the schema, before the racers
    gate = tmp_path / "go"
    env = os.environ | {"PYTHONPATH": str(REPO)}
    tags = [f"plan-{i}" for i in range(PLANS)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", PLAN_WORKER, db_url, tag, str(gate)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in tags
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{t}").exists() for t in tags):
        assert time.monotonic() < deadline, [w.poll() for w in workers]
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        time.sleep(0.01)
    gate.touch()
    outputs = [w.communicate(timeout=180) for w in workers]
    assert [w.returncode for w in workers] == [0] * PLANS, outputs
    decided = {out.strip() for out, _ in outputs}

    order = run_sql(db_url, "SELECT ref_id FROM audit_chain WHERE kind = 'decision' ORDER BY seq")
    last = str(order[-1][0])
    assert {str(r[0]) for r in order} == decided
    now = datetime.now(UTC).isoformat()
    with Store.open(db_url) as store:
        open_now = list_escalations(store, status="pending", now=now)
        assert [e.decision_id for e in open_now] == [last]
        for ident in decided - {last}:
            with pytest.raises(Refused, match="cancelled"):
                approve(
                    store,
                    ident,
                    name="bob",
                    role="senior-engineer",
                    identities=Identities(),
                    now=now,
                )
        for name, role in (("bob", "senior-engineer"), ("carol", "team-lead")):
            done = approve(store, last, name=name, role=role, identities=Identities(), now=now)
        assert done.completed
        assert store.verify_chain().ok
