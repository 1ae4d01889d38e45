"""The service through a PostgreSQL outage: metrics keep serving, dropped connections heal.

A scrape while the store is down answers 200 with `commander_store_up 0`
and the store-read gauges as last read; the counters the process keeps
itself are all there. After the server terminates the pool's connections
(a restart, a failover), the next request is served on a fresh connection
instead of answering 503.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.databases import PG_SKIP, PG_URL, fresh_database, run_sql
from tests.service_support import IAM_PLAN, RunningService, running_service

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP)]

IAM = IAM_PLAN.read_bytes()
AGENT = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json"}


@pytest.fixture
def named() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema's URL whose connections carry a name of their own."""
    name = f"commander_test_{uuid.uuid4().hex[:12]}"
    with fresh_database("postgresql", Path()) as url:
        tagged = make_url(url).update_query_dict({"application_name": name})
        yield tagged.render_as_string(hide_password=False), name


def scrape(service: RunningService) -> str:
    response = service.client.get("/metrics", headers=service.as_("scraper"))
    assert response.status_code == 200, response.text
    return response.text


def test_metrics_keep_serving_while_the_store_is_down(
    named: tuple[str, str], tmp_path: Path
) -> None:
    """Store down: 200, commander_store_up 0, the pending gauge as last read, counters intact."""
    url, _ = named
    with running_service(url, tmp_path) as service:
        assert service.submit(IAM, **AGENT).json()["outcome"] == "escalate"
        before = scrape(service)
        assert "commander_pending_escalations 1.0" in before
        schema = str(make_url(url).query["options"]).removeprefix("-csearch_path=")
        run_sql(url, f'DROP SCHEMA "{schema}" CASCADE')
        run_sql(url, f'CREATE SCHEMA "{schema}"')  # empty: every store read now fails
        during = scrape(service)
    assert "commander_store_up 0.0" in during
    assert "commander_pending_escalations 1.0" in during  # stale, marked by store_up
    escalated = 'outcome="escalate",risk_tier="critical",source="ai-agent"'
    assert f"commander_decisions_total{{{escalated}}} 1.0" in during
    assert "process_resident_memory_bytes" in during
    assert 'route="/v1/reviews",status="201"' in during


def test_a_request_after_postgres_drops_the_pool_is_served(
    named: tuple[str, str], tmp_path: Path
) -> None:
    """pg_terminate_backend on every pooled connection: the next requests still succeed."""
    url, name = named
    with running_service(url, tmp_path) as service:
        reader = service.as_("ci-bot")
        for _ in range(3):  # fill the pool with a connection or two
            assert service.client.get("/v1/decisions", headers=reader).status_code == 200
        killed = run_sql(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name AND pid <> pg_backend_pid()",
            name=name,
        )
        assert killed, "no pooled connection was found to terminate"
        assert service.client.get("/v1/decisions", headers=reader).status_code == 200
        assert service.client.get("/readyz").status_code == 200
        assert service.submit(IAM, **AGENT).status_code == 201
