"""The README says what the code does: generated tables are fresh, runnable examples run.

A fenced ```sh block preceded by `<!-- runnable: exit=N expect="TEXT" -->`
is run with bash from the repository root, with `commander` on PATH, a
fresh SQLite store and no inherited COMMANDER_* settings; it must exit N and
print a line containing TEXT.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.render.readme_tables import README, SECTIONS, render_readme

ROOT = README.parent
_RUNNABLE = re.compile(
    r'<!-- runnable: exit=(?P<code>\d+) expect="(?P<expect>[^"]+)" -->\n```sh\n(?P<body>.*?)```',
    flags=re.DOTALL,
)


def _blocks() -> list[tuple[int, str, str]]:
    text = README.read_text(encoding="utf-8")
    return [(int(m["code"]), m["expect"], m["body"]) for m in _RUNNABLE.finditer(text)]


def test_the_generated_tables_are_fresh() -> None:
    """README's exit codes, review options and command list are what the code generates.

    Stale? Run `python -m orchestrator.render.readme_tables`.
    """
    text = README.read_text(encoding="utf-8")
    for name in SECTIONS:
        assert f"<!-- generated:{name} -->" in text
    assert render_readme(text) == text


def test_the_exit_code_table_lists_every_code_the_cli_uses() -> None:
    """Every EXIT_ constant, and 130 for Ctrl-C before recording, is in the README."""
    text = README.read_text(encoding="utf-8")
    for code in (0, 1, 2, 3, 4, 130):
        assert f"\n| {code} | " in text


def test_the_quick_start_is_two_commands_and_its_review_is_the_runnable_one() -> None:
    """Quick start: install-and-review, install-and-test; the review is a block the suite runs.

    The first command's review (after its install) is exactly a runnable
    block's, so the suite checks what a newcomer types first.
    """
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in quick.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    install, _, review = commands[0].partition(" && .venv/bin/commander ")
    assert install.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert f"commander {review}\n" in [b for _, _, b in _blocks()]
    assert commands[1].endswith("python -m pytest -n auto")


@pytest.mark.parametrize(("code", "expect", "body"), _blocks(), ids=lambda v: str(v)[:40])
def test_each_runnable_readme_block_runs(tmp_path: Path, code: int, expect: str, body: str) -> None:
    """The block exits as the README says and prints the key line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    env["COMMANDER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'audit.db'}"
    env["NO_COLOR"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", body],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert any(expect in line for line in done.stdout.splitlines()), done.stdout


def test_the_why_of_a_migration_names_its_unreadable_statements(
    run_cli: Any, tmp_path: Path
) -> None:
    """Not "the plan is incomplete": the text output names the statement and its line."""
    sql = tmp_path / "m.sql"
    sql.write_text("CREATE TABLE a (id bigint);\nALTER TABLE t ADD CONSTRAINT c CHECK ();\n")
    result = run_cli("review", str(sql), "--kind", "sql", "--actor", "a", "--output", "json")
    assert result.code == 3, result.stderr
    why = __import__("json").loads(result.stdout)["rationale"][0]
    assert why.startswith(
        "The migration holds statements that cannot be read (statement 2 (line 2) cannot be "
        "parsed as postgres: "
    )
    assert "plan is incomplete" not in why
