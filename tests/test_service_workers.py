"""Several workers and a cap on submissions in progress: `serve --workers`, `--max-concurrent`."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import _commander_command
from tests.service_support import running_service, token_of, write_tokens

PLAN = json.dumps({"format_version": "1.2", "resource_changes": []}).encode()


def test_over_the_cap_is_503_with_retry_after(tmp_path: Path) -> None:
    """With every slot taken, a submission is turned away at once; a freed slot admits it."""
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    with running_service(db, tmp_path, max_concurrent=2) as service:
        admission = service.state.admission
        assert admission.enter()
        assert admission.enter()
        turned_away = service.submit(PLAN)
        assert turned_away.status_code == 503
        assert turned_away.headers["Retry-After"] == "1"
        assert "2 submissions are in progress" in turned_away.json()["error"]
        admission.leave()
        assert service.submit(PLAN).status_code == 201
        admission.leave()
        # Every slot the route took came back: both can be taken again.
        assert admission.enter()
        assert admission.enter()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_starts_several_workers_that_each_judge(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`serve --workers 2` runs two worker processes; submissions are judged and recorded."""
    port = _free_port()
    tokens = write_tokens(tmp_path / "tokens.yaml")
    command = [*_commander_command(), "serve", "--workers", "2", "--port", str(port)]
    command += ["--tokens", str(tokens)]
    proc = subprocess.Popen(command, env=cli_env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token_of('ci-bot')}"}
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.2)
        answers: list[Any] = [
            httpx.post(
                f"{url}/v1/reviews",
                content=PLAN,
                headers=headers,
                params={"name": f"p{i}.json", "change_id": f"change-{i}"},
            )
            for i in range(4)
        ]
        assert [a.status_code for a in answers] == [201] * 4
        assert len({a.json()["decision_id"] for a in answers}) == 4
        # uvicorn's supervisor spawns each worker as a multiprocessing child.
        workers = [c for c in _children(proc.pid) if "spawn_main" in _cmdline(c)]
        assert len(workers) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_a_checkpoint_schedule_needs_one_worker(run_cli: Any, tmp_path: Path) -> None:
    """Each worker would write its own checkpoints: the combination is a usage error."""
    tokens = write_tokens(tmp_path / "tokens.yaml")
    result = run_cli(
        "serve", "--workers", "2", "--tokens", str(tokens),
        "--checkpoint-every", "1h", "--checkpoint-dir", str(tmp_path),
    )  # fmt: skip
    assert result.code == 2
    assert "--checkpoint-every needs --workers 1" in result.stderr
    assert result.stderr.count("\n") == 1
