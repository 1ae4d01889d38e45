"""Shared by the guard's end-to-end tests: run `commander` as the hooks run it, hook payloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def guard(
    env: dict[str, str], payload: dict[str, object] | None, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `commander guard ARGS` with the payload on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "guard", *args],
        input=json.dumps(payload) if payload is not None else "",
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def commander(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run another commander command."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def claude(command: str, cwd: Path) -> dict[str, object]:
    """A Claude Code PreToolUse payload for the Bash tool, as the hooks reference documents it."""
    return {
        "session_id": "3f1c9a7e",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "run it"},
        "tool_use_id": "toolu_01",
    }
