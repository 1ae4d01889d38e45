"""Identifiers checked at the HTTP edge: the same 422 on SQLite and PostgreSQL, nothing leaked.

PostgreSQL refuses a NUL byte and a value longer than its column where
SQLite stores both; before the edge checked them, the same request was 201
on one store and 503 (with the database URL) on the other. Every identifier
and free text of every route is checked for length and control characters,
and the 422 names the field. A store that is down answers 503 without its
address.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from tests.databases import DIALECTS, PG_URL, fresh_database, run_sql
from tests.service_support import IAM_PLAN, RunningService, running_service

IAM = IAM_PLAN.read_bytes()
LONG_NAME = "a" * 201  # the store keeps 200 characters of a name
SIGN = {"role": "security", "comment": "checked"}

# (who, method, path, request keywords, the field the 422 names)
CASES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("ci-bot", "GET", "/v1/decisions/%00abcdef", {}, "path.decision_id"),
    ("ci-bot", "GET", "/v1/decisions/" + "a" * 101, {}, "path.decision_id"),
    ("ci-bot", "GET", "/v1/decisions", {"params": {"actor": "x\x00"}}, "query.actor"),
    ("ci-bot", "GET", "/v1/escalations/%00abcdef", {}, "path.decision_id"),
    ("alice", "POST", "/v1/escalations/%00abcdef/approve", {"json": SIGN}, "path.decision_id"),
    (
        "alice",
        "POST",
        "/v1/escalations/abcdef/approve",
        {"json": {"role": "secu\x00rity"}},
        "body.role",
    ),
    (
        "alice",
        "POST",
        "/v1/escalations/abcdef/approve",
        {"json": {"role": "security", "comment": "ok\x00"}},
        "body.comment",
    ),
    ("alice", "POST", "/v1/escalations/abcdef/deny", {"json": {"reason": "\x00"}}, "body.reason"),
    (
        "alice",
        "POST",
        "/v1/escalations/abcdef/deny",
        {"json": {"reason": "r" * 4001}},
        "body.reason",
    ),
    ("root", "POST", "/v1/freezes", {"json": {"actor": LONG_NAME, "reason": "r"}}, "body.actor"),
    ("root", "POST", "/v1/freezes", {"json": {"actor": "do\x00cs", "reason": "r"}}, "body.actor"),
    ("root", "POST", "/v1/freezes", {"json": {"actor": "docs\n", "reason": "r"}}, "body.actor"),
    (
        "root",
        "POST",
        "/v1/freezes",
        {"json": {"actor": "docs", "reason": "\x1b[2J"}},
        "body.reason",
    ),
    ("root", "DELETE", "/v1/freezes/%00docs", {}, "path.actor"),
    ("root", "DELETE", "/v1/freezes/docs", {"params": {"reason": "\x00"}}, "query.reason"),
    ("ci-bot", "GET", f"/v1/actors/{LONG_NAME}/budgets", {}, "path.actor"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"actor": LONG_NAME}}, "query.actor"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"actor": "x\x00y"}}, "query.actor"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"change_id": "c" * 501}}, "query.change_id"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"change_id": "c\x00"}}, "query.change_id"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"intent": "x\x00"}}, "query.intent"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"environment": "prod\x00"}}, "query.environment"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"name": "plan\x00.json"}}, "query.name"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"path": "a\x00"}}, "query.path"),
    ("ci-bot", "POST", "/v1/reviews", {"params": {"name": "n" * 256}}, "query.name"),
    ("ci-bot", "POST", "/v1/guard", {"params": {"actor": "x\x00"}}, "query.actor"),
    ("ci-bot", "POST", "/v1/guard", {"params": {"intent": "x\x00"}}, "query.intent"),
    (
        "ci-bot",
        "POST",
        "/v1/guard",
        {"json": {"actor": "x\x00", "command": "rm -rf /srv"}},
        "body.actor",
    ),
    ("ci-bot", "POST", "/v1/guard", {"json": {"actor": LONG_NAME, "argv": ["ls"]}}, "body.actor"),
    (
        "ci-bot",
        "POST",
        "/v1/guard",
        {"json": {"environment": "prod\n", "command": "terraform apply"}},
        "body.environment",
    ),
]


@pytest.fixture(scope="module", params=DIALECTS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp(request.param)
    with fresh_database(request.param, folder) as url, running_service(url, folder) as running:
        yield running


@pytest.mark.parametrize(
    ("who", "method", "path", "kwargs", "field"), CASES, ids=[c[4] + " " + c[2] for c in CASES]
)
def test_a_bad_identifier_is_422_naming_the_field(
    service: RunningService, who: str, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    """The same request answers the same 422 on both stores, before anything is written."""
    if ("/reviews" in path or "/guard" in path) and "json" not in kwargs:
        kwargs = {**kwargs, "content": IAM if "/reviews" in path else b"{}"}
    response = service.client.request(method, path, headers=service.as_(who), **kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith(f"{field}: "), response.json()
    assert "\n" not in response.json()["error"]


def test_names_at_the_store_limit_are_accepted(service: RunningService) -> None:
    """200 characters of actor and 500 of change id fit the columns: recorded on both stores."""
    answer = service.submit(IAM, actor="a" * 200, change_id="c" * 500, name="plan.json")
    assert answer.status_code == 201, answer.text
    # the default change id (actor:environment:file name) fits its column too
    longest = {"actor": "d" * 200, "environment": "development", "name": "d/" * 300 + "n" * 255}
    assert service.submit(IAM, **longest).status_code == 201
    frozen = service.client.post(
        "/v1/freezes",
        json={"actor": "b" * 200, "reason": "tab\tand\nline"},
        headers=service.as_("root"),
    )
    assert frozen.status_code == 201, frozen.text


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="set COMMANDER_TEST_POSTGRES_URL")
def test_a_store_that_is_down_is_503_without_its_address(tmp_path: Path) -> None:
    """Neither /readyz nor a 503 shows the URL, the user, the host or the driver's words."""
    assert PG_URL is not None
    parsed = make_url(PG_URL)
    with fresh_database("postgresql", tmp_path) as url, running_service(url, tmp_path) as service:
        schema = str(make_url(url).query["options"]).removeprefix("-csearch_path=")
        run_sql(url, f'DROP SCHEMA "{schema}" CASCADE')
        run_sql(url, f'CREATE SCHEMA "{schema}"')  # for fresh_database's own drop
        answers = [
            service.client.get("/readyz"),
            service.submit(IAM, actor="x"),
            service.client.get("/v1/decisions", headers=service.as_("ci-bot")),
            service.client.get("/v1/escalations", headers=service.as_("ci-bot")),
        ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        text = answer.text
        assert "the audit store is unavailable" in text
        for secret in ("postgresql://", f"{parsed.username}@", str(parsed.host), schema):
            assert secret not in text, (secret, text)
