"""Fail closed at the process boundary: bad input exits 1 with one line, records nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orchestrator.testing import plan_document, resource_change

REPO = Path(__file__).resolve().parents[1]


def _decision_rows(cli_env: dict[str, str]) -> int:
    path = cli_env["COMMANDER_DATABASE_URL"].removeprefix("sqlite:///")
    if not Path(path).exists():
        return 0
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        if "decisions" not in tables:
            return 0
        return int(db.execute("select count(*) from decisions").fetchone()[0])


def _good_plan() -> dict[str, Any]:
    return plan_document([resource_change("aws_s3_bucket.logs", ["create"], after={"bucket": "x"})])


BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("truncated.json", json.dumps(_good_plan()).encode()[:-40], "invalid JSON"),
    ("not-a-plan.json", b'{"foo": 1}', "not a Terraform plan"),
    ("list.json", b"[1, 2, 3]", "not a Terraform plan"),
    ("future.json", json.dumps({**_good_plan(), "format_version": "2.0"}).encode(), "2.0"),
    ("empty.json", b"", "empty"),
    (
        "unknown-action.json",
        json.dumps(
            plan_document([resource_change("aws_s3_bucket.logs", ["explode"], after={})])
        ).encode(),
        "explode",
    ),
    (
        "actions-not-list.json",
        json.dumps(
            plan_document([resource_change("aws_s3_bucket.logs", "create", after={})])  # type: ignore[arg-type]
        ).encode(),
        "actions",
    ),
    ("binary.bin", bytes(range(256)) * 4, ""),
]


@pytest.mark.parametrize(("name", "content", "needle"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_1_with_one_line_naming_the_file(
    run_cli: Any, cli_env: dict[str, str], tmp_path: Path, name: str, content: bytes, needle: str
) -> None:
    """Malformed input is a one-line error naming the file; never exit 0, nothing recorded."""
    path = tmp_path / name
    path.write_bytes(content)
    result = run_cli("review", str(path), "--output", "json", "--source", "ai-agent")
    assert result.code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]
    assert needle in lines[0]
    assert "Traceback" not in result.stderr
    assert _decision_rows(cli_env) == 0


def test_input_over_the_configured_size_limit_is_refused(
    run_cli: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A file over max_input_bytes is refused before it is parsed."""
    config = tmp_path / "config"
    config.mkdir()
    shipped = (REPO / "configs" / "commander.yaml").read_text(encoding="utf-8")
    (config / "commander.yaml").write_text(
        shipped.replace("max_input_bytes: 1073741824", "max_input_bytes: 100"), encoding="utf-8"
    )
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_good_plan()), encoding="utf-8")
    result = run_cli("review", str(plan), "--config", str(config))
    assert result.code == 1
    assert "limit" in result.stderr
    assert "plan.json" in result.stderr
    assert _decision_rows(cli_env) == 0


def test_missing_file_and_unknown_option(run_cli: Any, tmp_path: Path) -> None:
    """A missing file exits 1; an unknown flag or value is a usage error, exit 2."""
    missing = run_cli("review", str(tmp_path / "nope.json"))
    assert missing.code == 1
    assert "nope.json" in missing.stderr
    assert run_cli("review", "x.json", "--bogus").code == 2
    assert run_cli("review", "x.json", "--source", "robot").code == 2


def test_unreachable_store_fails_closed(
    run_cli: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """When the decision cannot be recorded, nothing is approved: exit 1, one line."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_good_plan()), encoding="utf-8")
    result = run_cli(
        "review",
        str(plan),
        "--db",
        "postgresql://postgres@127.0.0.1:1/nowhere",
        "--environment",
        "dev",
    )
    assert result.code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_utf16_plan_from_windows_is_read(run_cli: Any, corpus_dir: Path) -> None:
    """A plan saved by PowerShell as UTF-16 with a BOM is reviewed, not rejected."""
    plan = corpus_dir / "terraform-plan" / "bridgecrewio__checkov__tfplan-win-utf16.json"
    result = run_cli("review", str(plan), "--output", "json")
    assert result.code in {0, 3, 4}, result.stderr
    assert json.loads(result.stdout)["blast_radius"]["changed_resources"] == 1
