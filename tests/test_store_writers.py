"""SQLite writers of one process queue on a lock instead of busy-waiting in BEGIN IMMEDIATE.

Under load a service's request threads used to spend most of their time in
SQLite's busy handler, sleeping and retrying on a file another thread held.
Now every store on a file in this process shares one lock, taken before the
transaction begins, and a submission's pre-review reads are one transaction.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from orchestrator.store import Store
from tests.gate_support import make_decision, make_proposal


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite audit database with its schema in place."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    Store.open(url).close()
    return url


def test_a_second_writer_waits_before_it_begins(url: str) -> None:
    """While one store of the file writes, another store's write does not even BEGIN."""
    with Store.open(url) as first, Store.open(url) as second:
        begun: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.startswith("BEGIN"):
                begun.append(statement)

        # The store's own engine: the statements it sends are the observation point.
        event.listen(second._engine, "before_cursor_execute", seen)
        writer = threading.Thread(target=second.append_event, args=("test.write", {"n": 1}))
        with first.writing("hold the file"):
            writer.start()
            time.sleep(0.3)
            assert begun == []
        writer.join(timeout=30)
        assert begun == ["BEGIN IMMEDIATE"]
        assert second.verify_chain().ok


def test_many_threads_record_every_decision_once(url: str) -> None:
    """Eight threads recording at once: each decision lands once and the chain verifies."""
    errors: list[BaseException] = []

    def record(store: Store, n: int) -> None:
        try:
            for i in range(5):
                proposal = make_proposal(f"bot-{n}", tag=f"{n}-{i}")
                store.record(proposal, make_decision(proposal))
        except BaseException as exc:
            errors.append(exc)

    with Store.open(url) as store:
        threads = [threading.Thread(target=record, args=(store, n)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert len(store.recent(limit=100)) == 40
        report: Any = store.verify_chain()
        assert report.ok
