"""A populated store to attack, copies of it, and an attacker's tools.

The store is built once per database by the real `commander` CLI: approved,
pending, superseded and denied escalations with their signatures, an
approved change with its budget use, freezes (one lifted), elevations (one
revoked) and an incident, the chain keyed with a known chain key. Each
attack runs on a fresh copy.

The attacker can write every table and knows every algorithm, but holds
neither the chain key nor the checkpoint signing key: `rewrite_chain`
recomputes every digest and hash the way commander does (written out here
from the documented formulas, not imported), and copies the old HMACs,
the best it can do without the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from orchestrator.store import database_url
from tests.conftest import _commander_command
from tests.databases import PG_URL, with_search_path

REPO = Path(__file__).resolve().parents[1]
PLAN = REPO / "examples" / "iam-boundary" / "plan.json"
TOPOLOGY = REPO / "examples" / "iam-boundary" / "topology.yaml"
DOCS_DIFF = REPO / "tests" / "fixtures" / "diff" / "docs-only.diff"
CHAIN_KEY = "5e" * 32
# Every table of the store, in an order that copies them without breaking a foreign key.
TABLES = (
    "alembic_version",
    "chain_head",
    "proposals",
    "decisions",
    "verdicts",
    "findings",
    "finding_resources",
    "decision_resources",
    "decision_services",
    "decision_dissenters",
    "audit_chain",
    "incidents",
    "change_submissions",
    "escalations",
    "escalation_approvals",
    "freezes",
    "budget_usage",
    "elevations",
)


@dataclass(frozen=True)
class Scenario:
    """The built store (never attacked itself) and the ids of what is in it."""

    dialect: str
    url: str
    folder: Path
    ids: dict[str, str]


def build(dialect: str, url: str, folder: Path) -> Scenario:
    """Fill the store at `url` through the CLI; return the ids of every record in it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    env |= {"COMMANDER_DATABASE_URL": url, "COMMANDER_CHAIN_KEY": CHAIN_KEY, "NO_COLOR": "1"}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [*_commander_command(), *args], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode in (0, 3), (args, done.returncode, done.stderr)
        return done.stdout

    def review(change: str, intent: str, *more: str) -> str:
        out = cli(
            "review", *(more or (str(PLAN), "--topology", str(TOPOLOGY))),
            "--actor", "refactor-bot", "--source", "ai-agent", "--environment", "production",
            "--change-id", change, "--submitter", "ci", "--intent", intent, "--output", "json",
        )  # fmt: skip
        return str(json.loads(out)["decision_id"])

    ids = {"approved": review("chg-approved", "rotate the boundary")}
    for name, role in (("bob", "senior-engineer"), ("carol", "security"), ("dave", "change-board")):
        cli("approve", ids["approved"], "--as", name, "--role", role, "--comment", "checked")
    ids["superseded"] = review("chg-pending", "first plan")
    ids["pending"] = review("chg-pending", "second plan")
    cli("approve", ids["pending"], "--as", "bob", "--role", "senior-engineer")
    ids["denied"] = review("chg-denied", "denied plan")
    cli("deny", ids["denied"], "--as", "erin", "--reason", "no rollback plan")
    cli("freeze", "rogue-bot", "--as", "alice", "--reason", "runaway deletes")
    cli("freeze", "other-bot", "--as", "alice", "--reason", "noisy")
    cli("thaw", "other-bot", "--as", "bob", "--reason", "fixed")
    grant = ("--as", "alice", "--reason", "rotate roles", "--until", "2h")
    cli("elevate", "refactor-bot", "--categories", "iam", "--environments", "staging", *grant)
    cli("elevate", "docs-bot", "--categories", "iam", *grant)
    cli("incident", "link", "INC-1", ids["approved"], "--by", "sre", "--note", "checkout down")
    docs = cli(
        "review", str(DOCS_DIFF), "--actor", "docs-bot", "--source", "ai-agent",
        "--environment", "production", "--intent", "fix typos in the docs",
        "--change-id", "chg-docs", "--output", "json",
    )  # fmt: skip
    ids["docs"] = str(json.loads(docs)["decision_id"])
    rows = dict(query(url, "SELECT actor, elevation_id FROM elevations"))
    ids["elevation"], ids["other_elevation"] = rows["refactor-bot"], rows["docs-bot"]
    cli("revoke-elevation", ids["other_elevation"], "--as", "alice", "--reason", "done")
    for name in ("approved", "docs"):
        (digest,) = query(
            url, "SELECT proposal_digest FROM decisions WHERE decision_id = :i", i=ids[name]
        )
        ids[f"{name}_digest"] = digest[0]
    return Scenario(dialect=dialect, url=url, folder=folder, ids=ids)


def query(url: str, statement: str, **params: Any) -> list[Any]:
    """Run SQL as someone with direct database access would."""
    engine = sa.create_engine(database_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


@contextmanager
def copy_of(scenario: Scenario, folder: Path) -> Iterator[str]:
    """A fresh copy of the scenario's store to attack: its URL."""
    if scenario.dialect == "sqlite":
        source = Path(sa.make_url(scenario.url).database or "")
        with sqlite3.connect(source) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target = folder / "attacked.db"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        return
    assert PG_URL is not None
    source_schema = sa.make_url(scenario.url).query["options"].split("=", 1)[1]
    schema = f"commander_attack_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(database_url(PG_URL))
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            for table in TABLES:
                new, old = f'"{schema}".{table}', f'"{source_schema}".{table}'
                conn.exec_driver_sql(f"CREATE TABLE {new} (LIKE {old} INCLUDING ALL)")
                conn.exec_driver_sql(f"INSERT INTO {new} SELECT * FROM {old}")  # noqa: S608
        yield with_search_path(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# --- the attacker's recomputation ---------------------------------------------------------------


def stamp(moment: datetime) -> str:
    """A time as both databases read a timestamp written as text."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


Link = dict[str, Any]
CHAIN_COLUMNS = (
    "seq", "kind", "ref_id", "actor", "payload", "payload_digest", "prev_hash", "hash",
    "created_at", "mac",
)  # fmt: skip
Edit = Callable[[sa.Connection, list[Link]], list[Link]]


def rewrite_chain(url: str, edit: Edit) -> None:
    """Let `edit` change rows and return the chain it wants; recompute and store that chain.

    `edit` gets every chain row (dicts, oldest first) and returns the new
    list: rows kept (edited or not), dropped, or new ones (kind, ref_id,
    actor, payload, created_at). Every digest and hash is then recomputed,
    chain_seq references follow their rows, and the head moves to the end.
    """
    engine = sa.create_engine(database_url(url))
    try:
        with engine.begin() as conn:
            old = [
                dict(r)
                for r in conn.execute(sa.text("SELECT * FROM audit_chain ORDER BY seq")).mappings()
            ]
            for row in old:
                if isinstance(row["payload"], str):
                    row["payload"] = json.loads(row["payload"])
                if isinstance(row["created_at"], str):
                    row["created_at"] = datetime.fromisoformat(row["created_at"])
            chain = edit(conn, [dict(r) for r in old])
            moved = {r["seq"]: i + 1 for i, r in enumerate(chain) if "seq" in r}
            prev = "0" * 64
            for seq, row in enumerate(chain, start=1):
                row["payload_digest"] = _digest(conn, row)
                link = {
                    "seq": seq,
                    "kind": row["kind"],
                    "ref_id": row["ref_id"],
                    "payload_digest": row["payload_digest"],
                }
                row |= {
                    "seq": seq,
                    "prev_hash": prev,
                    "hash": _sha(_canonical(link | {"prev_hash": prev})),
                }
                row.setdefault("mac", None)
                prev = row["hash"]
            conn.execute(sa.text("DELETE FROM audit_chain"))
            columns = [c for c in old[0] if c in CHAIN_COLUMNS]
            insert = sa.text(
                f"INSERT INTO audit_chain ({', '.join(columns)}) "  # noqa: S608 - known columns
                f"VALUES ({', '.join(':' + c for c in columns)})"
            )
            for row in chain:
                payload = None if row["payload"] is None else json.dumps(row["payload"])
                conn.execute(
                    insert, row | {"payload": payload, "created_at": stamp(row["created_at"])}
                )
            # Our own table names only; negated first so that no two rows share a seq midway.
            for table in ("incidents", "change_submissions"):
                if "chain_seq" not in {c["name"] for c in sa.inspect(conn).get_columns(table)}:
                    continue  # a store from before revision 0004
                found = conn.execute(sa.text(f"SELECT chain_seq FROM {table}")).all()  # noqa: S608
                for (seq,) in found:
                    conn.execute(
                        sa.text(f"UPDATE {table} SET chain_seq = :new WHERE chain_seq = :old"),  # noqa: S608
                        {"new": -moved.get(seq, seq), "old": seq},
                    )
                conn.execute(sa.text(f"UPDATE {table} SET chain_seq = -chain_seq"))  # noqa: S608
            last = chain[-1]
            keyed = ", mac = :m" if "mac" in columns else ""
            conn.execute(
                sa.text(f"UPDATE chain_head SET seq = :s, hash = :h{keyed}"),  # noqa: S608
                {"s": last["seq"], "h": last["hash"], "m": last["mac"]},
            )
    finally:
        engine.dispose()


def _digest(conn: sa.Connection, row: Link) -> str:
    if row["kind"] != "decision":
        return _sha(
            _canonical(
                {
                    "actor": row["actor"],
                    "created_at": _iso(row["created_at"]),
                    "payload": row["payload"],
                }
            )
        )
    (text,) = conn.execute(
        sa.text("SELECT decision_json FROM decisions WHERE decision_id = :i"), {"i": row["ref_id"]}
    ).one()
    if row["payload"] is None:
        return _sha(text)
    raw = row["payload"]["raw"]
    return _sha(f'{{"decision":"{_sha(text)}","raw":{"null" if raw is None else json.dumps(raw)}}}')


def erase_decision(conn: sa.Connection, ident: str) -> None:
    """Delete every row of one decision, as a careful attacker would."""
    for table in (
        "budget_usage", "escalation_approvals", "escalations", "change_submissions",
        "incidents", "decision_dissenters", "decision_services", "decision_resources",
        "finding_resources", "findings", "verdicts", "decisions",
    ):  # fmt: skip
        conn.execute(sa.text(f"DELETE FROM {table} WHERE decision_id = :i"), {"i": ident})  # noqa: S608
