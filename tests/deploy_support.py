"""Reading the deployment files as their tools do, and running what the image runs.

Docker does not run here: Dockerfile instructions, .dockerignore patterns and
YAML are read the way Docker, Compose and GitHub Actions read them, and the
image's CMD and HEALTHCHECK run as real processes with their address swapped
for a free local port. Used by tests/test_deploy_files.py.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"
WORKFLOW = REPO / "docs" / "github-actions" / "commander-review.yml"


# --- reading the files as their tools do ---------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case) and the rest of its line."""

    keyword: str
    args: str


def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's build stages in order, each its instructions from FROM on."""
    logical: list[str] = []
    pending = ""
    for line in (DOCKER / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):  # comments may sit inside a continuation
            continue
        pending += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            logical.append(pending)
            pending = ""
    stages: list[list[Instruction]] = []
    for text in logical:
        keyword, _, args = text.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def final_stage(keyword: str) -> list[Instruction]:
    """The final stage's instructions with `keyword`: the ones the shipped image keeps."""
    return [i for i in dockerfile_stages()[-1] if i.keyword == keyword]


def exec_form(args: str) -> list[str]:
    """A CMD/ENTRYPOINT in exec (JSON) form; shell form would put /bin/sh between Docker and us."""
    parsed = json.loads(args)
    assert isinstance(parsed, list), f"not exec form: {args}"
    return [str(part) for part in parsed]


def image_command() -> list[str]:
    """The command the image runs: its one CMD."""
    (cmd,) = final_stage("CMD")
    return exec_form(cmd.args)


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's command, without its options."""
    (check,) = final_stage("HEALTHCHECK")
    _, _, command = check.args.partition("CMD ")
    return exec_form(command)


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (the last match decides)."""
    ignored = False
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        keep = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        # "**/" matches no folder too; a folder's pattern matches everything below it
        patterns = {pattern, pattern.removeprefix("**/")}
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, pat) for p in prefixes for pat in patterns):
            ignored = not keep
    return ignored


def compose() -> dict[str, Any]:
    """docker/compose.yaml as Compose reads it (merge keys resolved)."""
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def workflow() -> dict[Any, Any]:
    """The example workflow; YAML 1.1 reads the key `on` as True, as PyYAML does here."""
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def workflow_scripts() -> list[str]:
    """Every `run:` script of the workflow, in order."""
    return [
        step["run"] for job in workflow()["jobs"].values() for step in job["steps"] if "run" in step
    ]


def assert_valid_bash(script: str) -> None:
    """`script` parses as bash once GitHub has substituted its ${{ }} expressions."""
    plain = re.sub(r"\$\{\{[^}]*\}\}", "x", script)
    parsed = subprocess.run(
        ["bash", "-n"], input=plain, capture_output=True, text=True, check=False
    )
    assert parsed.returncode == 0, parsed.stderr


# --- running what the image runs ------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def commander_executable() -> str:
    """The installed `commander` script beside this interpreter (or on PATH)."""
    found = shutil.which("commander", path=str(Path(sys.executable).parent)) or shutil.which(
        "commander"
    )
    assert found, "commander is not installed"
    return found


def local_command(port: int) -> list[str]:
    """The image's CMD, run here: our commander, on 127.0.0.1 and a free port."""
    command = image_command()
    command[0] = commander_executable()
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without inherited COMMANDER_* settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    return env | {"NO_COLOR": "1"} | settings


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `commander` and capture what it said."""
    return subprocess.run(
        [commander_executable(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def new_token(name: str, *options: str) -> tuple[str, dict[str, Any]]:
    """`commander token new NAME OPTIONS`: the bearer token it printed, and its principal entry."""
    made = cli("token", "new", name, *options, env=clean_env())
    assert made.returncode == 0, made.stderr
    printed = yaml.safe_load(made.stdout)
    # the whole tokens file, or only its list of principals
    (principal,) = printed["principals"] if isinstance(printed, dict) else printed
    assert principal["name"] == name
    # the token is the one word printed whose sha256 is the entry's digest
    words = re.findall(r"[A-Za-z0-9_\-.~+/=]{16,}", made.stdout + made.stderr)
    digest = principal["token_sha256"]
    token = next((w for w in words if hashlib.sha256(w.encode()).hexdigest() == digest), None)
    assert token, f"no printed token hashes to {digest}: {made.stdout}"
    return token, principal


def tokens_file(folder: Path, *principals: dict[str, Any]) -> Path:
    """A tokens file of these principals, as the service reads it."""
    path = folder / "tokens.yaml"
    path.write_text(yaml.safe_dump({"principals": list(principals)}))
    return path


@contextmanager
def serving(
    command: list[str], env: dict[str, str], logs: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the server; on the way out, make sure it is gone (SIGKILL if a test left it up)."""
    with (logs / "serve.out").open("wb") as out, (logs / "serve.err").open("wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def wait_until_ready(process: subprocess.Popen[bytes], base: str, logs: Path) -> None:
    """Poll /readyz until 200; fail with the server's stderr if it dies or takes too long."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited {process.returncode}: {(logs / 'serve.err').read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"/readyz never answered 200: {(logs / 'serve.err').read_text()}")


def stop(process: subprocess.Popen[bytes], logs: Path) -> str:
    """SIGTERM, as `docker stop` sends: a graceful shutdown. Returns everything it logged."""
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    logged = (logs / "serve.out").read_text() + (logs / "serve.err").read_text()
    # uvicorn re-raises the signal once it has shut down, so "killed by SIGTERM" is a clean
    # exit too (Docker shows 143); the finished lifespan shutdown is what proves it was graceful.
    assert code in (0, -signal.SIGTERM), f"serve exited {code} on SIGTERM: {logged}"
    assert "shutdown complete" in logged.lower(), logged
    assert "Traceback" not in logged, logged
    return logged


def run_step(
    step_id: str, runner: Path, settings: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """One workflow step's script as `shell: bash` runs it, in `runner`, with its env as given."""
    (job,) = workflow()["jobs"].values()
    script = next(step["run"] for step in job["steps"] if step.get("id") == step_id)
    env = clean_env(RUNNER_TEMP=str(runner), GITHUB_OUTPUT=str(runner / "output"), **settings)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=runner,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
