"""`commander policy test` and `commander policy eval` through the real CLI.

CI runs the project's own fixtures (configs/policies/tests) and a user folder
(examples/rego-policies: a policy, its `opa test` suite, data and fixtures)
the way a user's pipeline would; failures, errors and empty folders exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "rego-policies"


def test_the_projects_own_policy_fixtures_pass(run_cli: Any) -> None:
    """With no folder, the config's policies folder: every shipped fixture passes, exit 0."""
    result = run_cli("policy", "test")
    assert result.code == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith("passed, 0 failed, 0 errors, 0 skipped"), last
    assert "PASS  an AI agent deleting twelve production queues is rejected outright" in (
        result.stdout
    )


def test_a_user_folder_runs_its_rego_suite_and_fixtures(run_cli: Any) -> None:
    """`opa test`-style suites (with data.json) and YAML fixtures, one line each, exit 0."""
    result = run_cli("policy", "test", str(EXAMPLE))
    assert result.code == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].endswith("5 passed, 0 failed, 0 errors, 0 skipped")
    assert any(
        line.startswith("PASS  data.terraform.guardrails.test_retired_types_come_from_data")
        for line in lines
    )
    assert any("escalated by the guardrails" in line for line in lines)


BROKEN_TEST = """package p
import rego.v1
deny contains "x" if input.x == 1
test_passes if deny["x"] with input as {"x": 1}
test_fails if count(deny) == 1 with input as {"x": 2}
test_errs if 1 / 0 == 1
todo_test_later if false
"""

FAILING_FIXTURE = """name: expects a rejection that never comes
source: human
actor: alice
environment: development
input: {format_version: "1.2", complete: true, resource_changes: []}
expect: {outcome: reject, findings: [rego.p.deny]}
"""


def test_failures_and_errors_are_reported_one_by_one_and_exit_1(
    run_cli: Any, tmp_path: Path
) -> None:
    """A failing test, an erroring test, a skipped one and a failing fixture: named, exit 1."""
    (tmp_path / "p.rego").write_text(
        BROKEN_TEST.split("test_passes", maxsplit=1)[0], encoding="utf-8"
    )
    (tmp_path / "p_test.rego").write_text(
        "package p\nimport rego.v1\ntest_passes" + BROKEN_TEST.split("test_passes")[1],
        encoding="utf-8",
    )
    (tmp_path / "empty_test.yaml").write_text(FAILING_FIXTURE, encoding="utf-8")
    result = run_cli("policy", "test", str(tmp_path), "--output", "json")
    assert result.code == 1, result.stderr
    reports = {r["name"]: r for r in json.loads(result.stdout)}
    assert reports["data.p.test_passes"]["status"] == "pass"
    assert reports["data.p.test_fails"]["status"] == "fail"
    assert reports["data.p.test_fails"]["detail"] == "data.p.test_fails is undefined"
    assert reports["data.p.test_errs"]["status"] == "error"
    assert "divide by zero" in reports["data.p.test_errs"]["detail"]
    assert reports["data.p.todo_test_later"]["status"] == "skip"
    fixture = reports["expects a rejection that never comes"]
    assert fixture["status"] == "fail"
    assert fixture["detail"].startswith("outcome approve, expected reject")
    assert "no finding rego.p.deny" in fixture["detail"]


def test_a_folder_without_tests_is_a_failure(run_cli: Any, tmp_path: Path) -> None:
    """CI that tests nothing must not pass: exit 1 and say so."""
    (tmp_path / "p.rego").write_text('package p\ndeny contains "x" if false\n', encoding="utf-8")
    result = run_cli("policy", "test", str(tmp_path))
    assert result.code == 1
    assert "no *_test.rego or *_test.yaml tests" in result.stderr


def test_a_fixture_with_a_typo_is_an_error_naming_the_line(run_cli: Any, tmp_path: Path) -> None:
    """A misspelt key in a fixture is reported at its line, never ignored."""
    (tmp_path / "x_test.yaml").write_text(
        FAILING_FIXTURE.replace("expect:", "expcet:"), encoding="utf-8"
    )
    result = run_cli("policy", "test", str(tmp_path))
    assert result.code == 1
    assert f"ERROR x_test.yaml ({tmp_path / 'x_test.yaml'}): " in result.stdout
    assert "line 6: expcet: unknown key (did you mean 'expect'?)" in result.stdout


def test_eval_shows_what_each_rule_is_for_an_input(run_cli: Any) -> None:
    """Every rule of the file, its value on the review's input shape, and where it is."""
    result = run_cli(
        "policy", "eval", str(EXAMPLE / "guardrails.rego"),
        "--input", str(EXAMPLE / "plans" / "iam.json"),
        "--source", "ai-agent", "--actor", "coding-agent", "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    rows = {r["rule"]: r for r in json.loads(result.stdout)}
    assert rows["data.terraform.guardrails.deny"]["value"] == [
        "AI agents may not change IAM: 'aws_iam_role.deployer'"
    ]
    assert rows["data.terraform.guardrails.warn"]["value"] == []
    assert rows["data.terraform.guardrails.deny"]["where"].endswith("guardrails.rego: line 8")


def test_eval_of_a_policy_that_cannot_compile_exits_1(run_cli: Any, tmp_path: Path) -> None:
    """An unsupported built-in is named with its file and line; exit 1."""
    policy = tmp_path / "net.rego"
    policy.write_text(
        'package n\nimport rego.v1\ndeny contains "open" if net.cidr_intersects("0.0.0.0/0", '
        "input.cidr)\n",
        encoding="utf-8",
    )
    plan = EXAMPLE / "plans" / "iam.json"
    result = run_cli("policy", "eval", str(policy), "--input", str(plan))
    assert result.code == 1
    assert f"{policy}: line 3: rego compile error: unsupported built-in" in result.stderr
