"""Time-bound elevations: granted by a person, stored and chained, in force until their time.

Store tests run on a SQLite file and, when COMMANDER_TEST_POSTGRES_URL is set, on
PostgreSQL; the CLI tests drive the real `commander` process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import orchestrator.gate.session
from orchestrator.adapters.base import Submission
from orchestrator.errors import UsageError
from orchestrator.models import Source, Verdict
from orchestrator.review import ReviewRequest, run_review
from orchestrator.reviewer import ReviewContext
from orchestrator.settings import resolve
from orchestrator.store import Store
from orchestrator.store.governance import (
    Refused,
    active_elevations,
    grant_elevation,
    list_elevations,
    resolve_until,
    revoke_elevation,
)
from tests.gate_support import DATABASES, REPO, chain_kinds, database, people, wall

NOW = "2026-05-01T10:00:00Z"
WEEK = timedelta(days=7)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty audit database: a SQLite file, or a fresh PostgreSQL schema."""
    yield from database(request.param, tmp_path)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on the test database."""
    with Store.open(db_url) as opened:
        yield opened


def grant(store: Store, **overrides: Any) -> Any:
    """Grant refactor-bot staging IAM until 18:00 as alice (overridable)."""
    args: dict[str, Any] = {
        "categories": ["iam"],
        "environments": ["stg"],
        "until": "18:00",
        "by": "alice",
        "reason": "rotate the CI role",
        "identities": people(),
        "max_span": WEEK,
        "now": NOW,
    } | overrides
    actor = args.pop("actor", "refactor-bot")
    return grant_elevation(store, actor, **args)


def test_grant_is_stored_with_who_why_and_until_and_chained(store: Store, db_url: str) -> None:
    """The grant records its grantor, reason and end; environments are canonical."""
    granted = grant(store)

    assert granted.actor == "refactor-bot"
    assert granted.categories == ("iam",)
    assert granted.environments == ("staging",)
    assert granted.until == "2026-05-01T18:00:00.000000Z"
    assert (granted.granted_by, granted.reason) == ("alice", "rotate the CI role")
    assert active_elevations(store, "refactor-bot", now="2026-05-01T17:59:00Z") == (granted,)
    assert chain_kinds(db_url) == [("elevation.grant", granted.elevation_id)]
    assert store.verify_chain().ok


def test_an_elevation_ends_at_its_time(store: Store) -> None:
    """After `until` the grant is no longer in force, but stays listed as expired."""
    granted = grant(store, until="2h")

    assert active_elevations(store, "refactor-bot", now="2026-05-01T12:00:00Z") == ()
    listed = list_elevations(store, every=True, now="2026-05-01T12:00:00Z")
    assert [(r.elevation, r.status) for r in listed] == [(granted, "expired")]
    assert active_elevations(store, "other-bot", now=NOW) == ()


def test_revoking_ends_an_elevation_early_and_is_chained(store: Store, db_url: str) -> None:
    """A revoked grant is out of force at once; revoking twice is refused."""
    granted = grant(store)

    record = revoke_elevation(
        store,
        granted.elevation_id,
        by="bob",
        reason="done",
        identities=people(),
        now="2026-05-01T11:00:00Z",
    )

    assert (record.status, record.revoked_by, record.revoke_reason) == ("revoked", "bob", "done")
    assert active_elevations(store, "refactor-bot", now="2026-05-01T11:00:01Z") == ()
    with pytest.raises(Refused, match="already revoked"):
        revoke_elevation(
            store, granted.elevation_id, by="bob", reason="x", identities=people(), now=wall()
        )
    with pytest.raises(Refused, match="no elevation"):
        revoke_elevation(
            store, "elv-unknown", by="bob", reason="x", identities=people(), now=wall()
        )
    assert [k for k, _ in chain_kinds(db_url)] == ["elevation.grant", "elevation.revoke"]


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"by": "refactor-bot", "actor": "docs-bot"}, Refused, "registered as ai-agent"),
        ({"by": "deploy-pipeline"}, Refused, "registered as automation"),
        ({"by": "Refactor-Bot", "actor": "refactor-bot"}, Refused, "registered as ai-agent"),
        ({"by": "carol", "actor": "carol"}, Refused, "cannot elevate themselves"),
        ({"until": "09:00"}, UsageError, "already past"),
        ({"until": "8d"}, UsageError, "gate.max_elevation"),
        ({"until": "tomorrow"}, UsageError, "ISO 8601 time, HH:MM"),
        ({"environments": ["stagging"]}, UsageError, "'stagging' is not production"),
        ({"categories": ["IAM policies"]}, UsageError, "not a category name"),
        ({"categories": [], "environments": []}, UsageError, "at least one of"),
        ({"reason": "  "}, UsageError, "--reason must not be blank"),
    ],
)
def test_bad_grants_are_refused_and_store_nothing(
    store: Store, db_url: str, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Machines grant nothing, nobody elevates themselves, and the grant must make sense."""
    with pytest.raises(error, match=message):
        grant(store, **overrides)
    assert chain_kinds(db_url) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18:00", "2026-05-01T18:00:00"),
        ("2h", "2026-05-01T12:00:00"),
        ("+90m", "2026-05-01T11:30:00"),
        ("2026-05-02T08:00:00+02:00", "2026-05-02T06:00:00"),
        ("2026-05-02T08:00", "2026-05-02T08:00:00"),
    ],
)
def test_until_reads_a_time_a_clock_or_a_span(text: str, expected: str) -> None:
    """--until takes ISO 8601 (zone-less is UTC), HH:MM today in UTC, or a span from now."""
    now = datetime(2026, 5, 1, 10, 0)
    assert resolve_until(text, now).isoformat() == expected


def test_reviewers_see_the_elevations_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run_review` hands reviewers the actor's profile with only the grants now in force."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    now = datetime.now(UTC).isoformat()
    with Store.open(url) as store:
        live = grant(store, until="1h", now=now)
        ended = grant(store, until="1h", now=now, categories=["network"])
        revoke_elevation(
            store, ended.elevation_id, by="bob", reason="x", identities=people(), now=wall()
        )
        grant(store, until="1h", now=now, actor="docs-bot")
    seen: list[ReviewContext] = []

    def capture(*args: Any) -> list[Verdict]:
        seen.append(args[2])
        return []

    async def capture_async(*args: Any) -> list[Verdict]:
        return capture(*args)

    # The local executor's pool fans out without an event loop; any other, with one.
    monkeypatch.setattr(orchestrator.gate.session, "fan_out_blocking", capture)
    monkeypatch.setattr(orchestrator.gate.session, "fan_out", capture_async)
    run_review(
        ReviewRequest(
            path=str(REPO / "examples" / "iam-boundary" / "plan.json"),
            submission=Submission(source=Source.AI_AGENT, actor="refactor-bot"),
            settings=resolve(db=url, environ={}),
        )
    )

    (context,) = seen
    assert context.actor is not None
    assert context.actor.actor == "refactor-bot"
    assert context.actor.elevations == (live,)


def test_elevate_list_revoke_end_to_end(run_cli: Any) -> None:
    """The CLI grants, lists (text and JSON) and revokes; refusals exit 1, bad usage 2."""
    granted = run_cli(
        "elevate",
        "refactor-bot",
        "--categories",
        "iam,network",
        "--environments",
        "staging",
        "--until",
        "2h",
        "--as",
        "alice",
        "--reason",
        "rotate keys",
    )
    assert granted.code == 0, granted.stderr
    ident = granted.stdout.split(":")[0]
    assert ident.startswith("elv-")
    assert "refactor-bot may touch iam, network, staging until" in granted.stdout

    listed = run_cli("elevations", "--output", "json")
    assert [r["elevation"]["elevation_id"] for r in json.loads(listed.stdout)] == [ident]
    assert run_cli("revoke-elevation", ident, "--as", "bob", "--reason", "done").code == 0
    assert "no elevations in force" in run_cli("elevations").stdout
    assert "revoked" in run_cli("elevations", "--all").stdout

    refused = run_cli("revoke-elevation", ident, "--as", "bob", "--reason", "again")
    assert refused.code == 1
    assert refused.stderr.strip().endswith("is already revoked")
    usage = run_cli("elevate", "refactor-bot", "--until", "2h", "--as", "alice", "--reason", "x")
    assert usage.code == 2
    assert "at least one of --categories and --environments" in usage.stderr
