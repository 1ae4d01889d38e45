"""Fixtures shared by the whole suite: the corpus, PostgreSQL, the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# The GitHub rig's fixtures (`db_url` on each dialect, `rig`), for the webhook test modules;
# a module's own `db_url` takes precedence.
pytest_plugins = ["tests.github_support"]

REPO = Path(__file__).resolve().parents[1]
PG_ENV = "COMMANDER_TEST_POSTGRES_URL"
CORPUS_ENV = "COMMANDER_CORPUS_DIR"


def corpus_root() -> Path | None:
    """The shared corpus of real inputs: $COMMANDER_CORPUS_DIR or ../shared/corpus."""
    configured = os.environ.get(CORPUS_ENV)
    root = Path(configured) if configured else REPO.parent / "shared" / "corpus"
    return root if root.is_dir() else None


def corpus_files(kind: str, *patterns: str) -> list[Path]:
    """Corpus files of one kind (a sub-folder), sorted; empty when absent."""
    root = corpus_root()
    if root is None or not (root / kind).is_dir():
        return []
    found: set[Path] = set()
    for pattern in patterns or ("*",):
        found.update((root / kind).glob(pattern))
    return sorted(found)


@pytest.fixture
def corpus_dir() -> Path:
    """The corpus root; skips with the reason when it is not there."""
    root = corpus_root()
    if root is None:
        pytest.skip(f"corpus not found: set {CORPUS_ENV} or check out shared/ beside the repo")
    return root


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test server's URL; skips with the reason when none is named."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"set {PG_ENV} to run this test on PostgreSQL")
    return url


@dataclass(frozen=True)
class CliResult:
    """What a real `commander` process did."""

    code: int
    stdout: str
    stderr: str


def _commander_command() -> list[str]:
    script = Path(sys.executable).parent / "commander"
    if script.exists():
        return [str(script)]
    found = shutil.which("commander")
    return [found] if found else [sys.executable, "-m", "orchestrator"]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment with a private SQLite store and no inherited COMMANDER_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    env["COMMANDER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'audit.db'}"
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> object:
    """Run the installed `commander` as a subprocess."""

    def run(*args: str, stdin: str | bytes | None = None, timeout: float = 120) -> CliResult:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [*_commander_command(), *args],
            input=data,
            capture_output=True,
            env=cli_env,
            timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    return run
