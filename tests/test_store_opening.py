"""Stores come into being only by commands that write, and only where the user meant.

`review`, `migrate`, `serve` and the gate's own acts (freeze, thaw, elevate,
revoke) may create the store, and only in a folder that exists; every
command that reads (or signs an escalation, which must exist) exits 1 with
"no store at …" where there is none, creating nothing. In-memory SQLite is
refused; a plain path given to `--db` is a SQLite file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import NoStore
from orchestrator.store import Store
from tests.databases import DIALECTS, fresh_database

PLAN = Path(__file__).resolve().parents[1] / "examples" / "iam-boundary" / "plan.json"

READERS: list[tuple[str, ...]] = [
    ("audit", "verify"),
    ("audit", "query"),
    ("pending",),
    ("show", "0193abcdef"),
    ("explain", "0193abcdef"),
    ("approve", "0193abcdef", "--as", "bob", "--role", "senior-engineer"),
    ("deny", "0193abcdef", "--as", "bob", "--reason", "no"),
]


@pytest.mark.parametrize("command", READERS, ids=[" ".join(c[:2]) for c in READERS])
def test_a_command_that_reads_never_creates_a_store(
    run_cli: Any, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """A mistyped --db: exit 1, one line naming the path, no folder and no file made."""
    missing = tmp_path / "typo" / "none.db"
    done = run_cli(*command, "--db", f"sqlite:///{missing}")

    assert done.code == 1, (done.stdout, done.stderr)
    assert done.stderr.strip() == (
        f"commander: error: no store at {missing}: check --db or COMMANDER_DATABASE_URL "
        "(`commander review` or `commander migrate` creates one)"
    )
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", ":memory:"])
def test_an_in_memory_store_is_refused(run_cli: Any, tmp_path: Path, url: str) -> None:
    """A decision id that would never be saved is never printed: in-memory SQLite exits 1."""
    done = run_cli("review", str(PLAN), "--db", url)

    assert done.code == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "the audit store cannot be in memory" in line


def test_a_plain_path_is_a_sqlite_file(run_cli: Any, tmp_path: Path) -> None:
    """--db audit.db (no URL) is that file: review creates it, the readers read it."""
    path = tmp_path / "audit.db"
    assert run_cli("review", str(PLAN), "--db", str(path)).code == 3
    assert path.is_file()

    verified = run_cli("audit", "verify", "--db", str(path))
    assert verified.code == 0, verified.stderr
    assert verified.stdout.startswith("chain ok: ")


@pytest.mark.parametrize(
    "command",
    [("review", str(PLAN)), ("freeze", "coding-agent", "--reason", "stop", "--as", "alice")],
    ids=["review", "freeze"],
)
def test_a_writer_creates_a_store_only_in_a_folder_that_exists(
    run_cli: Any, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Even a writer makes no folders: a missing one is named, nothing is written."""
    missing = tmp_path / "no" / "such" / "audit.db"
    done = run_cli(*command, "--db", f"sqlite:///{missing}")

    assert done.code == 1
    assert f"folder {missing.parent} does not exist" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "no").exists()


def test_migrate_creates_the_store_readers_then_find(run_cli: Any, tmp_path: Path) -> None:
    """`commander migrate` is how a store is made before anything is reviewed."""
    path = tmp_path / "team.db"
    assert run_cli("migrate", "--db", str(path)).code == 0
    assert run_cli("pending", "--db", str(path)).stdout.strip() == "no open escalations"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_empty_database_is_no_store_to_readers(dialect: str, tmp_path: Path) -> None:
    """A database without the schema (a fresh PostgreSQL, an empty file) is not a store to read."""
    with fresh_database(dialect, tmp_path) as url:
        if dialect == "sqlite":
            (tmp_path / "audit.db").touch()
        with pytest.raises(NoStore, match="holds no audit store"):
            Store.open(url, create=False)
        Store.open(url, create=True).close()
        Store.open(url, create=False).close()
