"""The long poll: GET /v1/decisions/{id}/wait answers when the gate settles, on SQLite and
PostgreSQL, over a real socket.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.databases import DIALECTS, fresh_database
from tests.service_support import IAM_PLAN, RunningService, running_service
from tests.test_github_deployments import noop_plan

AGENT = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json"}


@pytest.fixture(params=DIALECTS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningService]:
    with fresh_database(request.param, tmp_path) as url, running_service(url, tmp_path) as running:
        yield running


def wait(service: RunningService, ident: str, timeout: float) -> httpx.Response:
    return service.client.get(
        f"/v1/decisions/{ident}/wait", params={"timeout": timeout}, headers=service.as_("ci-bot")
    )


def test_an_approve_has_passed_at_once(service: RunningService) -> None:
    ident = service.submit(noop_plan(), **AGENT).json()["decision_id"]
    started = time.monotonic()
    answer = wait(service, ident[:13], 300)  # a prefix is enough
    assert time.monotonic() - started < 5
    assert answer.json() == answer.json() | {"decision_id": ident, "state": "passed"}
    assert answer.headers["X-Commander-State"] == "passed"


def test_a_pending_escalation_is_pending_when_the_timeout_runs_out(service: RunningService) -> None:
    ident = service.submit(IAM_PLAN.read_bytes(), **AGENT).json()["decision_id"]
    started = time.monotonic()
    answer = wait(service, ident, 1.5).json()
    assert 1.4 < time.monotonic() - started < 10
    assert (answer["state"], answer["escalation_status"]) == ("pending", "pending")
    assert answer["missing_roles"] == ["senior-engineer", "security", "change-board"]


def test_the_wait_ends_within_seconds_of_the_last_sign_off(service: RunningService) -> None:
    """A waiting request answers passed about a second after the last role signs, not at timeout."""
    ident = service.submit(IAM_PLAN.read_bytes(), **AGENT).json()["decision_id"]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(wait, service, ident, 120)
        time.sleep(0.5)
        for who, role in (
            ("alice", "senior-engineer"),
            ("bob", "security"),
            ("carol", "change-board"),
        ):
            service.client.post(
                f"/v1/escalations/{ident}/approve",
                json={"role": role},
                headers=service.as_(who),
            )
        signed = time.monotonic()
        answer = waiting.result(timeout=60)
    assert time.monotonic() - signed < 5
    assert answer.json()["state"] == "passed"
    assert answer.json()["escalation_status"] == "approved-by-humans"


def test_a_denial_ends_the_wait_failed(service: RunningService) -> None:
    ident = service.submit(IAM_PLAN.read_bytes(), **AGENT).json()["decision_id"]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(wait, service, ident, 120)
        time.sleep(0.5)
        service.client.post(
            f"/v1/escalations/{ident}/deny", json={"reason": "no"}, headers=service.as_("bob")
        )
        answer = waiting.result(timeout=60).json()
    assert (answer["state"], answer["escalation_status"]) == ("failed", "denied")


def test_unknown_decision_and_bad_timeout_are_4xx(service: RunningService) -> None:
    assert wait(service, "0000000000000000", 0).status_code == 404
    assert wait(service, "0000000000000000", 601).status_code == 422
