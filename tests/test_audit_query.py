"""`commander audit query`: every filter, glob semantics, the indexes it relies on, the CLI.

Store tests run on a SQLite file and on PostgreSQL (see tests/test_store.py).
The 100,000-decision timing lives in bench/audit_bench.py; here the query
plans prove that a lookup by address is an index lookup, whatever the size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.commander import minority_opinion
from orchestrator.models import RiskTier, Verdict
from orchestrator.store import Store, database_url
from orchestrator.store.audit import AuditFilter, build_query, query_decisions
from orchestrator.store.tables_audit import changed_addresses, dissenting
from tests.audit_factories import DIALECTS, fresh_database, ident, record


@pytest.fixture(scope="module", params=DIALECTS)
def seeded_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database holding six decisions that differ in exactly the facets the filters read."""
    with fresh_database(request.param, tmp_path_factory.mktemp("query")) as url:
        with Store.open(url) as store:
            _seed(store)
        yield url


@pytest.fixture
def seeded(seeded_url: str) -> Iterator[Store]:
    """The seeded store, open."""
    with Store.open(seeded_url) as opened:
        yield opened


def _seed(store: Store) -> None:
    record(
        store,
        "boundary",
        actor="refactor-bot",
        addresses=["aws_iam_policy.shared_permission_boundary"],
        services=["checkout", "shared-iam-boundary"],
        stances={"scope": "block", "blast-radius": "block", "contrarian": "approve"},
        outcome="reject",
        tier=RiskTier.CRITICAL,
        created_at="2026-05-01T09:00:00Z",
    )
    record(
        store,
        "checkout",
        actor="deploy-bot",
        addresses=['module.checkout.aws_ecs_service.api["blue"]', "module.checkout.aws_lb.main"],
        services=["checkout"],
        stances={"scope": "approve", "blast-radius": "approve", "contrarian": "concern"},
        created_at="2026-05-02T09:00:00Z",
    )
    record(
        store,
        "docs",
        actor="alice",
        addresses=["docs/README.md"],
        stances={"scope": "approve", "contrarian": "approve"},
        outcome="approve",
        tier=RiskTier.LOW,
        created_at="2026-05-03T09:00:00Z",
    )
    record(
        store,
        "percent",
        actor="refactor-bot",
        addresses=["aws_s3_bucket.logs_100%"],
        stances={"scope": "approve", "contrarian": "approve"},
        outcome="approve",
        tier=RiskTier.MEDIUM,
        created_at="2026-05-04T09:00:00Z",
    )
    record(
        store,
        "underscore",
        actor="refactor-bot",
        addresses=["aws_s3_bucketXlogs"],
        stances={"scope": "concern", "contrarian": "approve", "reversibility": "approve"},
        created_at="2026-05-05T09:00:00Z",
    )
    record(
        store,
        "moved",
        actor="deploy-bot",
        addresses=["module.checkout.aws_lb.main"],
        services=["checkout"],
        stances={"scope": "approve", "blast-radius": "approve"},
        outcome="approve",
        tier=RiskTier.MEDIUM,
        created_at="2026-05-06T09:00:00Z",
    )


def at(text: str) -> datetime:
    """Naive UTC, as the CLI hands times to the store."""
    return datetime.fromisoformat(text)


FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["moved", "underscore", "percent", "docs", "checkout", "boundary"]),
    ({"actor": "refactor-bot"}, ["underscore", "percent", "boundary"]),
    ({"resource": "module.checkout.aws_lb.main"}, ["moved", "checkout"]),
    ({"resource": "module.checkout.*"}, ["moved", "checkout"]),
    ({"resource": 'module.checkout.aws_ecs_service.api["blue"]'}, ["checkout"]),
    ({"resource": 'module.checkout.aws_ecs_service.api["*"]'}, ["checkout"]),
    ({"resource": "module.checkout.aws_ecs_service.api[*]"}, ["checkout"]),
    ({"resource": "*.shared_permission_boundary"}, ["boundary"]),
    ({"resource": "docs/READM?.md"}, ["docs"]),
    # % and _ are literal characters, not LIKE wildcards
    ({"resource": "aws_s3_bucket.logs_100%"}, ["percent"]),
    ({"resource": "aws_s3_bucket_*"}, []),
    ({"resource": "aws_s3_bucket?logs"}, ["underscore"]),
    ({"resource": "AWS_S3_BUCKET*"}, []),
    ({"resource": "*"}, ["moved", "underscore", "percent", "docs", "checkout", "boundary"]),
    ({"service": "checkout"}, ["moved", "checkout", "boundary"]),
    ({"service": "shared-iam-boundary"}, ["boundary"]),
    ({"outcome": "approve"}, ["moved", "percent", "docs"]),
    ({"tier": RiskTier.CRITICAL}, ["boundary"]),
    ({"dissenter": "contrarian"}, ["checkout", "boundary"]),
    ({"dissenter": "scope"}, ["underscore"]),
    ({"dissenter": "reversibility"}, []),
    ({"since": at("2026-05-03T09:00:00")}, ["moved", "underscore", "percent", "docs"]),
    ({"until": at("2026-05-03T09:00:00")}, ["checkout", "boundary"]),
    (
        {"since": at("2026-05-02T00:00:00"), "until": at("2026-05-05T00:00:00")},
        ["percent", "docs", "checkout"],
    ),
    ({"actor": "deploy-bot", "resource": "module.checkout.*", "outcome": "escalate"}, ["checkout"]),
    ({"service": "checkout", "dissenter": "contrarian", "tier": RiskTier.HIGH}, ["checkout"]),
    ({"limit": 2}, ["moved", "underscore"]),
    # the web view's filters: every seeded proposal is an AI agent's, in production
    ({"source": "ai-agent", "actor": "alice"}, ["docs"]),
    ({"source": "human"}, []),
    ({"environment": "production", "outcome": "reject"}, ["boundary"]),
    ({"environment": "staging"}, []),
    ({"gate_state": "pending"}, []),  # recorded without the gate: nothing was escalated
    # keyset paging: strictly older than the last row shown
    (
        {"older_than": (at("2026-05-04T09:00:00"), ident("percent"))},
        ["docs", "checkout", "boundary"],
    ),
    ({"older_than": (at("2026-05-04T09:00:00"), "~"), "limit": 1}, ["percent"]),
]


@pytest.mark.parametrize(("given", "expected"), FILTERS)
def test_each_filter_finds_exactly_the_matching_decisions(
    seeded: Store, given: dict[str, Any], expected: list[str]
) -> None:
    """Every filter, alone and combined, returns the matching decisions newest first."""
    found = query_decisions(seeded, AuditFilter(**given))
    assert [d.decision_id for d in found] == [ident(seed) for seed in expected]


def test_query_summaries_carry_the_decision_and_its_proposal(seeded: Store) -> None:
    """Each row says who proposed what and how it was decided, with UTC times."""
    (row,) = query_decisions(seeded, AuditFilter(resource="docs/*"))
    assert row.model_dump() == {
        "decision_id": ident("docs"),
        "proposal_digest": row.proposal_digest,
        "outcome": "approve",
        "risk_tier": "low",
        "dissent": 0.0,
        "actor": "alice",
        "source": "ai-agent",
        "kind": "terraform",
        "environment": "production",
        "intent": "change for docs",
        "input_name": "docs.json",
        "changed_resources": 1,
        "created_at": "2026-05-03T09:00:00.000000Z",
    }


def _plan(url: str, wanted: AuditFilter) -> str:
    """The database's own query plan for an audit query."""
    engine = sa.create_engine(database_url(url))
    try:
        with engine.begin() as conn:
            query = build_query(conn, wanted).compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}").all()
                return "\n".join(str(r[-1]) for r in rows)
            # A handful of rows is cheaper to scan; what matters is that the index can serve.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {query}").all())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "resource",
    ["module.checkout.aws_lb.main", "module.checkout.*", 'module.checkout.x["k*'],
)
def test_lookup_by_address_is_an_index_search(seeded_url: str, resource: str) -> None:
    """Exact addresses and globs with a literal prefix search the address index, not a scan."""
    plan = _plan(seeded_url, AuditFilter(resource=resource))
    assert "ix_decision_resources_address" in plan, plan
    if seeded_url.startswith("sqlite"):
        assert (
            "SEARCH decision_resources USING COVERING INDEX ix_decision_resources_address" in plan
        ), plan


@pytest.mark.parametrize(
    "given",
    [
        {"service": "checkout"},
        {"dissenter": "contrarian"},
        {"actor": "alice"},
        {"tier": RiskTier.HIGH, "outcome": "escalate"},
        {"since": at("2026-05-02T00:00:00"), "actor": "deploy-bot", "service": "checkout"},
        {"older_than": (at("2026-05-04T09:00:00"), "x"), "source": "human"},
        {"environment": "production", "gate_state": "pending"},
    ],
)
def test_no_filter_scans_a_whole_table(seeded_url: str, given: dict[str, Any]) -> None:
    """Other filters walk decisions by time through an index and probe by key: no table scan."""
    plan = _plan(seeded_url, AuditFilter(**given))
    if seeded_url.startswith("sqlite"):
        scans = [line for line in plan.splitlines() if line.startswith("SCAN")]
        assert all("USING INDEX ix_decisions_created_at" in line for line in scans), plan
    else:
        assert "Seq Scan" not in plan, plan


def test_cli_prints_a_table_or_json_lines(run_cli: Any, cli_env: dict[str, str]) -> None:
    """`audit query` prints a table by default and one JSON object per line on request."""
    with Store.open(cli_env["COMMANDER_DATABASE_URL"]) as opened:
        record(opened, "one", actor="alice", addresses=["aws_iam_role.ci"])
        record(opened, "two", actor="bob", created_at="2026-05-02T10:00:00Z")

    table = run_cli("audit", "query", "--resource", "aws_iam_role.*")
    lines = run_cli("audit", "query", "--output", "jsonl", "--since", "2026-05-01T00:00Z")
    empty = run_cli("audit", "query", "--actor", "nobody", "--output", "jsonl")

    assert table.code == 0, table.stderr
    assert ident("one") in table.stdout
    assert ident("two") not in table.stdout
    assert table.stdout.strip().endswith("1 decision")
    assert lines.code == 0, lines.stderr
    assert [json.loads(x)["actor"] for x in lines.stdout.splitlines()] == ["bob", "alice"]
    assert (empty.code, empty.stdout) == (0, "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "--since 'last tuesday': give an ISO 8601 time"),
        (["--tier", "severe"], "--tier"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_cli_refuses_bad_filters_as_usage_errors(
    run_cli: Any, args: list[str], message: str
) -> None:
    """A filter that does not parse is a one-line usage error (exit 2), not a traceback."""
    result = run_cli("audit", "query", *args)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


verdicts = st.lists(
    st.builds(
        Verdict,
        reviewer=st.sampled_from(["scope", "blast-radius", "reversibility", "contrarian", "x"]),
        stance=st.sampled_from(["approve", "concern", "block"]),
        risk_tier=st.sampled_from(list(RiskTier)),
        confidence=st.floats(0.0, 1.0),
        rationale=st.text(alphabet="abc ", max_size=5),
        error=st.one_of(st.none(), st.just("boom")),
    ),
    max_size=6,
)


@given(verdicts)
def test_dissenters_are_the_reviewers_of_the_minority_opinion(found: list[Verdict]) -> None:
    """The dissenter facet names exactly the reviewers the decision's minority opinion quotes."""
    opinion = minority_opinion(found)
    quoted = [] if opinion is None else [part.split(" (")[0] for part in opinion.split(" | ")]
    assert [v.reviewer for v in dissenting(found)] == quoted


@pytest.mark.parametrize(
    ("change", "addresses"),
    [
        ({"address": "a.x", "action": "update"}, ["a.x"]),
        ({"address": "a.x", "action": "delete"}, ["a.x"]),
        ({"address": "a.x", "action": "no-op"}, []),
        ({"address": "data.a.x", "action": "read"}, []),
        ({"address": "a.new", "action": "no-op", "previous_address": "a.old"}, ["a.new", "a.old"]),
        ({"address": "a.x", "action": "no-op", "importing": True}, ["a.x"]),
        ({"address": "a.x", "action": "forget"}, ["a.x"]),
    ],
)
def test_every_changed_moved_or_imported_address_is_indexed(
    change: dict[str, Any], addresses: list[str]
) -> None:
    """Reads and no-ops touch nothing; a move touches both its addresses; an import its one."""
    assert changed_addresses({"changes": [change]}) == addresses
