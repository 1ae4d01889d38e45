"""The identity rule at the edges: the HTTP service (SQLite and PostgreSQL) and the real CLI.

A frozen `docs-bot` stays frozen under every look-alike of issue 14; a name
mixing scripts is refused with 422 (HTTP) or exit 2 (CLI), naming the field,
before anything is recorded; alice cannot sign a change proposed as ａｌｉｃｅ.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.databases import DIALECTS, fresh_database, run_sql
from tests.service_support import IAM_PLAN, IAM_TOPOLOGY, RunningService, running_service
from tests.test_identity import CYRILLIC_A_ALICE, FULL_WIDTH_ALICE, LOOK_ALIKES

IAM = IAM_PLAN.read_bytes()


@pytest.fixture(params=DIALECTS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningService]:
    """The service on a fresh SQLite file or PostgreSQL schema."""
    with fresh_database(request.param, tmp_path) as url, running_service(url, tmp_path) as running:
        yield running


def decisions_in(service: RunningService) -> int:
    return int(
        run_sql(service.state.options.settings.database_url, "SELECT count(*) FROM decisions")[0][0]
    )


def test_every_look_alike_of_a_frozen_actor_is_rejected(service: RunningService) -> None:
    """With docs-bot frozen, each attack spelling is rejected as frozen, not reviewed."""
    froze = service.client.post(
        "/v1/freezes",
        json={"actor": "docs-bot", "reason": "incident 14"},
        headers=service.as_("root"),
    )
    assert froze.status_code == 201
    for name, typed in LOOK_ALIKES.items():
        answer = service.submit(IAM, actor=typed, source="ai-agent", name="plan.json")
        assert answer.status_code == 201, (name, answer.text)
        assert answer.json()["outcome"] == "reject", name
        assert answer.json()["rules_fired"] == ["actor-frozen"], name


def test_a_mixed_script_actor_is_refused_with_422(service: RunningService) -> None:
    """\u0430lice (Cyrillic а) as the actor, or as a freeze target: 422 naming it; nothing kept."""
    answer = service.submit(IAM, actor=CYRILLIC_A_ALICE, source="ai-agent", name="plan.json")
    assert answer.status_code == 422
    assert "actor" in answer.json()["error"]
    assert "mixes scripts" in answer.json()["error"]
    froze = service.client.post(
        "/v1/freezes",
        json={"actor": "d\u043ecs-bot", "reason": "x"},
        headers=service.as_("root"),
    )
    assert froze.status_code == 422
    assert "mixes scripts" in froze.json()["error"]
    assert decisions_in(service) == 0
    assert service.client.get("/v1/freezes", headers=service.as_("root")).json() == []


def test_alice_cannot_sign_a_change_proposed_as_a_look_alike(service: RunningService) -> None:
    """The actor ａｌｉｃｅ (full-width) is alice: her signature is refused, 409."""
    decision = service.submit(IAM, actor=FULL_WIDTH_ALICE, source="human", name="plan.json")
    assert decision.json()["outcome"] == "escalate", decision.text
    signed = service.client.post(
        f"/v1/escalations/{decision.json()['decision_id']}/approve",
        json={"role": "senior-engineer"},
        headers=service.as_("alice"),
    )
    assert signed.status_code == 409
    assert "nobody approves their own change" in signed.json()["error"]


# --- the real commander ------------------------------------------------------------------------


def review(run_cli: Any, actor: str) -> Any:
    return run_cli(
        "review",
        str(IAM_PLAN),
        "--source",
        "ai-agent",
        "--actor",
        actor,
        "--topology",
        str(IAM_TOPOLOGY),
        "--output",
        "json",
    )


def test_cli_freeze_holds_under_look_alikes(run_cli: Any) -> None:
    """`commander freeze docs-bot`, then a review as ｄｏｃｓ-bot or docs‐bot exits 4 (reject)."""
    frozen = run_cli("freeze", "docs-bot", "--reason", "incident 14", "--as", "sre")
    assert frozen.code == 0, frozen.stderr
    for typed in (LOOK_ALIKES["full-width letters"], LOOK_ALIKES["Unicode hyphen U+2010"]):
        result = review(run_cli, typed)
        assert result.code == 4, result.stderr
        assert json.loads(result.stdout)["rules_fired"] == ["actor-frozen"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("freeze", CYRILLIC_A_ALICE, "--reason", "x", "--as", "sre"), "ACTOR"),
        (("freeze", "docs-bot", "--reason", "x", "--as", "\u200b"), "--as"),
        (("approve", "0000", "--role", "security", "--as", CYRILLIC_A_ALICE), "--as"),
    ],
)
def test_cli_refuses_a_mixed_script_name_with_exit_2(
    run_cli: Any, args: tuple[str, ...], field: str
) -> None:
    """Exit 2 with one line naming the flag; no traceback."""
    assert run_cli("migrate").code == 0  # approve reads an existing store
    result = run_cli(*args)
    assert result.code == 2, result.stderr
    assert field in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_review_as_a_mixed_script_actor_exits_2(run_cli: Any) -> None:
    """A review whose actor mixes Latin and Cyrillic is refused before any reviewer runs."""
    result = review(run_cli, CYRILLIC_A_ALICE)
    assert result.code == 2, result.stderr
    assert "actor" in result.stderr
    assert "mixes scripts" in result.stderr
