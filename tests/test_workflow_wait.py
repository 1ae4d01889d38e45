"""The GitHub Actions gate step waits by long poll, and falls back to polling without it.

The workflow's own gate script (docs/github-actions/commander-review.yml),
run by bash as the runner runs it, against a real service on loopback, and
against a fake older service that has no /wait route.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.databases import fresh_database
from tests.deploy_support import run_step
from tests.platform_fakes import fake_platform
from tests.service_support import IAM_PLAN, running_service, token_of

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="the workflow's steps use curl and jq"
)
AGENT = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json"}


def test_the_gate_step_passes_within_seconds_of_the_sign_off(tmp_path: Path) -> None:
    """One long poll is open when the last role signs: the step passes at once, no 30 s sleep."""
    runner = tmp_path / "runner"
    runner.mkdir()
    with fresh_database("sqlite", tmp_path) as url, running_service(url, tmp_path) as service:
        ident = service.submit(IAM_PLAN.read_bytes(), **AGENT).json()["decision_id"]
        env = {
            "COMMANDER_URL": service.url,
            "COMMANDER_TOKEN": token_of("ci-bot"),
            "ID": ident,
            "OUTCOME": "escalate",
            "WAIT_MINUTES": "2",
        }
        signed_at: list[float] = []

        def sign_later() -> None:
            time.sleep(2)
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
            signed_at.append(time.monotonic())

        signer = threading.Thread(target=sign_later)
        signer.start()
        done = run_step("gate", runner, env)
        ended = time.monotonic()
        signer.join()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "approved-by-humans" in done.stdout
    assert ended - signed_at[0] < 5  # the long poll returned, not a 30-second poll


def test_the_gate_step_falls_back_to_polling_a_service_without_the_long_poll(
    tmp_path: Path,
) -> None:
    """/wait is 404 on an older service: the step reads /v1/escalations/{id} instead."""
    runner = tmp_path / "runner"
    runner.mkdir()
    ident = "0190aaaa-0000-7000-8000-000000000001"
    with fake_platform() as older:
        older.answer("GET", f"/v1/decisions/{ident}/wait?timeout=0", 404, {"error": "Not Found"})
        older.answer("GET", f"/v1/escalations/{ident}", 200, {"status": "approved-by-humans"})
        env = {
            "COMMANDER_URL": older.url,
            "COMMANDER_TOKEN": "cmdr_x",
            "ID": ident,
            "OUTCOME": "escalate",
            "WAIT_MINUTES": "0",
        }
        done = run_step("gate", runner, env)
        assert [s.path for s in older.requests()] == [
            f"/v1/decisions/{ident}/wait?timeout=0",
            f"/v1/escalations/{ident}",
        ]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "polling every 30 seconds" in done.stdout
