"""Ctrl-C during `commander review`: nothing recorded before the write, the decision's code after.

Real processes and real SIGINTs, sent while the review waits at a known
point (the COMMANDER_TEST_PAUSE hook of orchestrator/interrupts.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import _commander_command

PLAN = Path(__file__).resolve().parents[1] / "examples" / "iam-boundary"
ARGS = [
    "review",
    str(PLAN / "plan.json"),
    "--source",
    "ai-agent",
    "--actor",
    "refactor-bot",
    "--environment",
    "production",
    "--topology",
    str(PLAN / "topology.yaml"),
    "--output",
    "json",
]


def _interrupted_at(point: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the review, wait for it to reach `point`, send SIGINT; its code and output."""
    proc = subprocess.Popen(
        [*_commander_command(), *ARGS],
        env={**env, "COMMANDER_TEST_PAUSE": point},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line == f"commander: test pause at {point}\n", line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _recorded(run_cli: object) -> list[object]:
    listed = run_cli("audit", "query", "--output", "jsonl")  # type: ignore[operator]
    assert listed.code == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_sigint_before_recording_leaves_nothing(cli_env: dict[str, str], run_cli: object) -> None:
    """Interrupted before the write: exit 130, one line saying so, and the store holds nothing."""
    code, out, err = _interrupted_at("before-record", cli_env)
    assert code == 130, err
    assert out == ""
    assert err == "commander: interrupted; nothing recorded\n"
    assert _recorded(run_cli) == []


def test_sigint_after_recording_reports_the_decision(
    cli_env: dict[str, str], run_cli: object
) -> None:
    """Interrupted once recorded: the decision is printed and the exit code is its outcome's."""
    code, out, err = _interrupted_at("after-record", cli_env)
    decision = json.loads(out)
    assert decision["outcome"] == "escalate"
    assert code == 3, err
    assert err.endswith(
        f"commander: interrupted after decision {decision['decision_id']} was recorded; "
        "it is reported above\n"
    )
    assert [row["decision_id"] for row in _recorded(run_cli)] == [decision["decision_id"]]


def test_the_pause_hook_is_inert_outside_pytest(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Without pytest's marker in the environment the hook never pauses a real review."""
    env = {k: v for k, v in cli_env.items() if k != "PYTEST_CURRENT_TEST"}
    env["COMMANDER_TEST_PAUSE"] = "before-record"
    done = subprocess.run(
        [*_commander_command(), *ARGS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "test pause" not in done.stderr


pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="POSIX signals")
