"""Microsoft's SARIF Multitool finds nothing wrong with commander's SARIF, GitHub's rules included.

The Multitool is the npm package `@microsoft/sarif-multitool` (a self-contained
.NET build): `npm install -g @microsoft/sarif-multitool` puts `sarif-multitool`
on PATH, or `COMMANDER_SARIF_MULTITOOL` names the executable. Without it this
test skips and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, _commander_command

MODULE = REPO / "tests" / "data" / "terraform-module"
TOOL = os.environ.get("COMMANDER_SARIF_MULTITOOL") or shutil.which("sarif-multitool")
pytestmark = pytest.mark.skipif(
    TOOL is None,
    reason="SARIF Multitool not found: npm install -g @microsoft/sarif-multitool "
    "(or set COMMANDER_SARIF_MULTITOOL)",
)


def sarif_of(tmp_path: Path, target: Path, cwd: Path) -> Path:
    done = subprocess.run(
        [
            *_commander_command(), "review", str(target), "--source", "ai-agent", "--actor",
            "bot", "--environment", "production", "--output", "sarif",
            "--db", f"sqlite:///{tmp_path / 'audit.db'}",
        ],
        capture_output=True, text=True, cwd=cwd, check=False, timeout=180,
    )  # fmt: skip
    assert done.returncode in (1, 3, 4), done.stderr
    path = tmp_path / f"{target.name}.sarif"
    path.write_text(done.stdout, encoding="utf-8")
    return path


@pytest.mark.parametrize("kinds", ["Sarif", "Gh"], ids=["sarif-rules", "github-rules"])
def test_multitool_reports_nothing(tmp_path: Path, kinds: str) -> None:
    """The plan of the test module and a folder (a plan, a migration, a manifest) validate clean."""
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(MODULE / "plan.json", plans / "a.json")
    shutil.copy(REPO / "tests" / "fixtures" / "sql" / "destructive.sql", plans / "b.sql")
    manifests = sorted((REPO / "tests" / "fixtures" / "kubernetes").glob("*.yaml"))
    shutil.copy(manifests[0], plans / "c.yaml")
    for log in (sarif_of(tmp_path, Path("plan.json"), MODULE), sarif_of(tmp_path, plans, tmp_path)):
        out = tmp_path / f"{log.stem}.{kinds}.validation.sarif"
        done = subprocess.run(
            [str(TOOL), "validate", "--rule-kind", kinds, "-o", str(out), str(log)],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        results = [r for run in json.loads(out.read_text("utf-8"))["runs"] for r in run["results"]]
        assert [(r["ruleId"], r["message"]) for r in results] == []
