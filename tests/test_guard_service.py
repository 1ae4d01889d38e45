"""`commander guard` asking a real `commander serve` over HTTP (COMMANDER_URL and a token).

The service runs on a loopback port (tests/service_support.py); the guard
runs as a subprocess, as an agent's hook runs it, and reaches the service
through a real socket. Its local store must stay untouched: the service
judges and records.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import DIALECTS, fresh_database
from tests.guard_support import claude, guard
from tests.service_support import RunningService, running_service, token_of


@pytest.fixture(params=DIALECTS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningService]:
    """A service on SQLite or PostgreSQL."""
    with (
        fresh_database(request.param, tmp_path) as url,
        running_service(url, tmp_path) as running,
    ):
        yield running


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The agent's working tree."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    return tmp_path / "repo"


def remote_env(url: str, tmp_path: Path, token: str | None = token_of("claude")) -> dict[str, str]:
    """The hook's environment: the service's address and the agent's token; a local store
    that must never be created."""
    env = {
        **os.environ,
        "COMMANDER_URL": url,
        "COMMANDER_DATABASE_URL": f"sqlite:///{tmp_path / 'local-must-not-exist.db'}",
        "COMMANDER_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("COMMANDER_TOKEN", None)
    if token is not None:
        env["COMMANDER_TOKEN"] = token
    return env


def hook_answer(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The hookSpecificOutput of a Claude Code answer."""
    assert done.returncode == 0, done.stderr
    answer: dict[str, str] = json.loads(done.stdout)["hookSpecificOutput"]
    return answer


def test_service_denies_and_records_in_its_own_store(
    service: RunningService, repo: Path, tmp_path: Path
) -> None:
    """A Claude Code hook asks the service: deny, recorded there, nothing written locally."""
    env = remote_env(service.url, tmp_path)
    out = hook_answer(guard(env, claude("kubectl delete ns prod", repo)))
    assert out["permissionDecision"] == "deny"
    assert "scope.ai-agent.data-deletion-production" in out["permissionDecisionReason"]
    decision_id = out["permissionDecisionReason"].split("decision ")[1].split("]")[0]
    recorded = service.client.get(f"/v1/decisions/{decision_id}", headers=service.as_("ci-bot"))
    assert recorded.json()["outcome"] == "reject"
    mine = service.client.get("/v1/decisions?actor=claude-code", headers=service.as_("ci-bot"))
    assert [d["decision_id"] for d in mine.json()] == [decision_id]
    assert not (tmp_path / "local-must-not-exist.db").exists()


def test_read_only_call_is_allowed_by_the_service_without_a_record(
    service: RunningService, repo: Path, tmp_path: Path
) -> None:
    """`git status` through the service: allow, and the service records nothing."""
    env = remote_env(service.url, tmp_path)
    out = hook_answer(guard(env, claude("git status && kubectl get pods -A", repo)))
    assert out["permissionDecision"] == "allow"
    listed = service.client.get("/v1/decisions", headers=service.as_("ci-bot")).json()
    assert listed == []


def test_wrapper_through_the_service_runs_only_on_approve(
    service: RunningService, repo: Path, tmp_path: Path
) -> None:
    """`guard -- CMD` asks the service, then runs CMD only when it allows it."""
    env = remote_env(service.url, tmp_path)
    marker = repo / "ran"
    ok = guard(env, None, "--", "touch", str(marker), cwd=repo)
    assert ok.returncode == 0, ok.stderr
    assert marker.exists()
    marker.unlink()
    line = f"touch {marker} && kubectl delete ns prod"
    rejected = guard(env, None, "--", "sh", "-c", line, cwd=repo)
    assert rejected.returncode == 4
    assert not marker.exists()


def test_frozen_agent_is_denied_through_the_service(
    service: RunningService, repo: Path, tmp_path: Path
) -> None:
    """An admin freezes the agent through the API; its next call via the service is denied."""
    frozen = service.client.post(
        "/v1/freezes",
        json={"actor": "claude-code", "reason": "deleting buckets"},
        headers=service.as_("root"),
    )
    assert frozen.status_code in (200, 201), frozen.text
    env = remote_env(service.url, tmp_path)
    out = hook_answer(guard(env, claude("helm uninstall web -n dev", repo), "--environment", "dev"))
    assert out["permissionDecision"] == "deny"
    assert "frozen" in out["permissionDecisionReason"]


def test_a_denial_while_waiting_answers_deny(
    service: RunningService, repo: Path, tmp_path: Path
) -> None:
    """With --wait, the service holds the answer until a human answers the escalation."""
    env = remote_env(service.url, tmp_path)
    payload = {"cwd": str(repo), "command": "kubectl scale deploy/web --replicas=0 -n prod"}
    call = tmp_path / "call.json"
    call.write_text(json.dumps(payload), encoding="utf-8")
    argv = [sys.executable, "-m", "orchestrator", "guard", "--actor", "ops-bot", "--wait", "60"]
    with call.open("rb") as stdin:
        waiting = subprocess.Popen(
            argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
    try:
        pending: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while not pending and time.monotonic() < deadline:
            time.sleep(0.2)
            pending = service.client.get("/v1/escalations", headers=service.as_("carol")).json()
        assert pending, "the escalation never appeared"
        # alice signs senior-engineer, a role this escalation needs: she may deny it
        denied = service.client.post(
            f"/v1/escalations/{pending[0]['decision_id']}/deny",
            json={"reason": "not during the sale"},
            headers=service.as_("alice"),
        )
        assert denied.status_code == 200, denied.text
        stdout, stderr = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:  # never leave the guard behind
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 4, stderr
    assert json.loads(stdout)["decision"] == "deny"


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def assert_blocked(env: dict[str, str], repo: Path) -> None:
    """The hook blocks the call (exit 2, nothing on stdout) and the wrapper runs nothing."""
    blocked = guard(env, claude("ls", repo), "--format", "claude-code")
    assert blocked.returncode == 2
    assert blocked.stdout == ""
    assert "blocked" in blocked.stderr
    marker = repo / "ran"
    wrapped = guard(env, None, "--", "touch", str(marker), cwd=repo)
    assert wrapped.returncode == 1
    assert not marker.exists()


def test_unreachable_service_blocks_the_call(repo: Path, tmp_path: Path) -> None:
    """Nobody listens at COMMANDER_URL: blocked, never allowed, never judged locally."""
    assert_blocked(remote_env(f"http://127.0.0.1:{free_port()}", tmp_path), repo)
    assert not (tmp_path / "local-must-not-exist.db").exists()


@pytest.mark.parametrize("token", ["cmdr_not-a-token", token_of("scraper"), None])
def test_a_refused_token_blocks_the_call(
    service: RunningService, repo: Path, tmp_path: Path, token: str | None
) -> None:
    """An unknown token (401), a token without the guard permission (403), or none: blocked."""
    assert_blocked(remote_env(service.url, tmp_path, token), repo)


def test_a_body_that_is_no_tool_call_is_422(service: RunningService) -> None:
    """The route reads the body as the CLI does and names the place that is wrong."""
    answer = service.client.post(
        "/v1/guard?format=claude-code", json={"cwd": 1}, headers=service.as_("claude")
    )
    assert answer.status_code == 422
    assert "request body: tool_name" in answer.json()["error"]
