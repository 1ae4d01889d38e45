"""Outputs CI systems read natively: JUnit XML, GitHub workflow annotations, folder SARIF.

The CLI runs as a real process. JUnit is validated against the Jenkins JUnit
schema (tests/data/junit.xsd); annotations are parsed line by line the way
the Actions runner reads workflow commands.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from jsonschema import Draft4Validator

from orchestrator.models import (
    Finding,
    RiskTier,
    SourceLocation,
)
from orchestrator.render import Reviewed, render, render_many
from orchestrator.render.github import command, escape_data, escape_property
from orchestrator.render.locations import Sources
from tests.conftest import REPO, _commander_command
from tests.test_source_locations import escalated, proposal_of

DATA = REPO / "tests" / "data"
MODULE = DATA / "terraform-module"
JUNIT = xmlschema.XMLSchema(str(DATA / "junit.xsd"))
SARIF = json.loads((DATA / "sarif-schema-2.1.0.json").read_text("utf-8"))
SQL = REPO / "tests" / "fixtures" / "sql" / "destructive.sql"
AGENT = ("--source", "ai-agent", "--actor", "bot", "--environment", "production")
# The runner's reading of a workflow command: ::level props::message
COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def run(tmp_path: Path, *args: str, cwd: Path = MODULE, env: dict[str, str] | None = None) -> Any:
    environment = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*_commander_command(), "review", *args, *AGENT, "--db", f"sqlite:///{tmp_path / 'a.db'}"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        check=False,
        timeout=180,
    )


def unescape(text: str) -> str:
    """Undo the toolkit's escaping, as the runner does."""
    for code, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, raw)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """One workflow command as the runner reads it: level, properties, message."""
    match = COMMAND.match(line)
    assert match is not None, line
    props = {}
    for part in (match.group(2) or "").split(","):
        if part:
            key, _, value = part.partition("=")
            props[key] = unescape(value)
    return match.group(1), props, unescape(match.group(3))


def folder(tmp_path: Path) -> Path:
    """A plan, a destructive migration and a file that is no input of any kind."""
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(MODULE / "plan.json", plans / "a-plan.json")
    shutil.copy(SQL, plans / "b-drop.sql")
    (plans / "c-broken.json").write_text("{not json", encoding="utf-8")
    return plans


# --- JUnit ---------------------------------------------------------------------


def test_junit_validates_and_counts_every_finding(tmp_path: Path) -> None:
    """One suite: the decision case and one case per finding; medium and worse fail."""
    done = run(tmp_path, "plan.json", "--output", "junit")
    assert done.returncode == 4, done.stderr
    JUNIT.validate(done.stdout)
    json_done = run(tmp_path, "plan.json", "--output", "json")
    decision = json.loads(json_done.stdout)
    findings = [
        f for v in decision["verdicts"] for f in v["findings"] if f["rule"] != "blast-radius.reach"
    ]
    suite = JUNIT.to_dict(done.stdout)["testsuite"][0]
    cases = suite["testcase"]
    assert len(cases) == 1 + len(findings)
    assert cases[0]["@name"] == "decision"
    assert cases[0]["failure"][0]["@type"] == "reject"
    assert int(suite["@tests"]) == len(cases)
    failing = [c for c in cases[1:] if "failure" in c]
    assert len(failing) == sum(1 for f in findings if f["severity"] != "low" or f["hard"])
    named = {c["@name"] for c in cases}
    assert "reversibility.protection-weakened (modules/bucket/main.tf:9)" in named


def test_junit_of_a_folder_has_a_suite_per_file_and_an_error_for_the_broken_one(
    tmp_path: Path,
) -> None:
    """A folder review is one report; the file that could not be reviewed is an error case."""
    done = run(tmp_path, str(folder(tmp_path)), "--output", "junit", cwd=tmp_path)
    assert done.returncode == 1
    JUNIT.validate(done.stdout)
    suites = JUNIT.to_dict(done.stdout)["testsuite"]
    assert [s["@name"] for s in suites] == [
        "plans/a-plan.json",
        "plans/b-drop.sql",
        "plans/c-broken.json",
    ]
    assert suites[2]["@errors"] == "1"
    assert "c-broken.json" in suites[2]["testcase"][0]["error"][0]["@message"]


def test_junit_shows_control_characters_escaped() -> None:
    """A hostile message with control characters still gives a report that parses, escaped."""
    finding = Finding(rule="r", message="bad\x00\x1b[31m\x07 text", severity=RiskTier.HIGH)
    text = render(
        "junit", escalated((finding,)), proposal_of("kubernetes", "plans/x.json"), color=False
    )
    JUNIT.validate(text)
    assert "bad\\x00\\x1b[31m\\x07 text" in text


def test_the_schema_really_checks() -> None:
    """A report missing a suite's required counts is refused by the schema."""
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        JUNIT.validate('<testsuites><testsuite name="x" tests="1"/></testsuites>')


# --- GitHub annotations -----------------------------------------------------------


def test_github_annotations_line_by_line(tmp_path: Path) -> None:
    """One annotation per finding on its file and line, level from severity, then the outcome."""
    summary = tmp_path / "summary.md"
    done = run(
        tmp_path, "plan.json", "--output", "github", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert done.returncode == 4, done.stderr
    sarif = json.loads(run(tmp_path, "plan.json", "--output", "sarif").stdout)["runs"][0]
    lines = done.stdout.splitlines()
    assert len(lines) == len(sarif["results"]) + 1
    levels = {"error": "error", "warning": "warning", "note": "notice"}
    for line, result in zip(lines, sarif["results"], strict=False):
        level, props, message = parse(line)
        physical = result["locations"][0]["physicalLocation"]
        assert level == levels[result["level"]]
        assert props["file"] == physical["artifactLocation"]["uri"]
        assert props["line"] == str(physical["region"]["startLine"])
        assert props["endLine"] == str(physical["region"]["endLine"])
        assert props["title"].startswith(result["ruleId"] + " (")
        assert message.startswith(result["message"]["text"].split(" (resources:")[0])
        assert "\nFix: " in message
    level, props, message = parse(lines[-1])
    assert (level, props["title"], props["file"]) == ("error", "commander: reject", "plan.json")
    assert summary.read_text(encoding="utf-8").startswith("## commander: **REJECT**")


def test_github_summary_is_only_written_in_a_workflow(tmp_path: Path) -> None:
    """Without GITHUB_STEP_SUMMARY no file is written; the annotations still are."""
    done = run(tmp_path, "plan.json", "--output", "github")
    assert done.returncode == 4
    assert done.stdout.startswith("::")
    assert list(tmp_path.glob("*.md")) == []


@pytest.mark.parametrize(
    "hostile",
    [
        "100% sure",
        "line one\nline two\r\nthree",
        "::error file=evil.tf::injected",
        "a, b: c",
        "%0A is not a newline",
    ],
)
def test_annotations_escape_what_would_end_them(hostile: str) -> None:
    """No text can break an annotation's line or add a property: the runner reads it back intact."""
    line = command("warning", hostile, file=f"src/{hostile}.tf", line=3, title=hostile)
    assert "\n" not in line
    assert "\r" not in line
    level, props, message = parse(line)
    assert (level, message, props["title"], props["file"]) == (
        "warning",
        hostile,
        hostile,
        f"src/{hostile}.tf",
    )
    assert escape_data(hostile).count("::") <= hostile.count("::")
    assert ":" not in escape_property(hostile)


def test_a_finding_without_a_file_line_has_no_line_property() -> None:
    """Input from standard input has no file: the annotation carries no file or line."""
    finding = Finding(rule="r", message="m", resources=("x",), locations=(SourceLocation(line=4),))
    text = render("github", escalated((finding,)), proposal_of("kubernetes", "-"), color=False)
    _, props, _ = parse(text.splitlines()[0])
    assert "file" not in props
    assert props["line"] == "4"


# --- SARIF of a folder ---------------------------------------------------------------


def test_sarif_of_a_folder_is_one_run_with_every_result(tmp_path: Path) -> None:
    """`--output sarif` on a folder: one valid run, the results of each file, the failure noted."""
    done = run(tmp_path, str(folder(tmp_path)), "--output", "sarif", cwd=tmp_path)
    assert done.returncode == 1
    log = json.loads(done.stdout)
    assert Draft4Validator(SARIF).is_valid(log)
    (run_,) = log["runs"]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run_["results"]
    }
    assert uris == {"plans/a-plan.json", "plans/b-drop.sql"}
    assert len(run_["properties"]["decisions"]) == 2
    notes = run_["invocations"][0]["toolExecutionNotifications"]
    assert any("c-broken.json" in n["message"]["text"] for n in notes)


def test_github_annotations_of_a_folder(tmp_path: Path) -> None:
    """A folder's annotations: each file's findings and outcome, an error for the broken file."""
    done = run(tmp_path, str(folder(tmp_path)), "--output", "github", cwd=tmp_path)
    assert done.returncode == 1
    parsed = [parse(line) for line in done.stdout.splitlines()]
    outcomes = [p for p in parsed if p[1].get("title", "").startswith("commander: ")]
    assert [p[1]["title"] for p in outcomes] == [
        "commander: reject",
        "commander: reject",
        "commander: plans/c-broken.json",
    ]


def test_render_many_refuses_a_one_decision_format() -> None:
    """Markdown describes one decision; asking it for many is a programming error, said plainly."""
    with pytest.raises(ValueError, match="shows one decision"):
        render_many("markdown", [Reviewed("x")], sources=Sources())
