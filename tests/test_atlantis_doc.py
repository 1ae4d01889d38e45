"""docs/atlantis.md is true: its YAML parses into an Atlantis repo config, its steps use only
real routes, query parameters, CLI options and comment commands, and its commander step, run by
`sh` exactly as written, gates on a real service's decision.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from orchestrator.cli import complete_app
from orchestrator.service.app import build_app
from orchestrator.service.comment_commands import Approve, Deny, parse_comment
from tests.databases import fresh_database
from tests.service_support import IAM_PLAN, REPO, running_service, token_of
from tests.test_github_deployments import noop_plan

DOC = (REPO / "docs" / "atlantis.md").read_text(encoding="utf-8")
BUILT_IN_STEPS = {"init", "plan", "show", "policy_check", "apply", "version", "import", "state_rm"}


def repo_config() -> dict[str, Any]:
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.DOTALL)
    config: dict[str, Any] = yaml.safe_load(block)
    return config


def run_scripts() -> list[str]:
    workflow = repo_config()["workflows"]["commander"]
    return [
        step["run"]
        for stage in workflow.values()
        for step in stage["steps"]
        if isinstance(step, dict)
    ]


def commander_step() -> str:
    (step,) = {s for s in run_scripts() if "/v1/reviews" in s}  # one step, reused by its anchor
    return step


def test_the_repo_config_is_a_commander_workflow_with_a_policy_check() -> None:
    """Plan, a policy check that is commander's step, and an apply that asks again first."""
    config = repo_config()
    assert config["repos"][0]["workflow"] == "commander"
    workflow = config["workflows"]["commander"]
    assert set(workflow) == {"plan", "policy_check", "apply"}
    for stage in workflow.values():
        for step in stage["steps"]:
            if isinstance(step, dict):
                assert set(step) == {"run"}, step
            else:
                assert step in BUILT_IN_STEPS, step
    check = workflow["policy_check"]["steps"]
    assert check[0] == "show"
    assert check[1]["run"] == commander_step()
    apply = workflow["apply"]["steps"]
    assert apply[1]["run"] == commander_step()  # the YAML anchor: the same script
    assert apply[-1] == "apply"
    assert config["policies"]["owners"]["users"] == []  # nobody overrides commander


def test_every_script_is_valid_posix_sh() -> None:
    """Atlantis runs `run:` steps with sh -c."""
    for script in run_scripts():
        done = subprocess.run(
            ["sh", "-n", "-c", script], check=False, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr


def test_the_step_uses_only_real_routes_and_query_parameters() -> None:
    paths = build_app().openapi()["paths"]
    submit = {p["name"] for p in paths["/v1/reviews"]["post"]["parameters"]}
    script = commander_step()
    used = set(re.findall(r'--url-query "(\w+)=', script))
    assert used
    assert used <= submit, used - submit
    assert "/v1/decisions/{decision_id}/wait" in paths
    wait = {p["name"] for p in paths["/v1/decisions/{decision_id}/wait"]["get"]["parameters"]}
    assert "timeout" in wait
    for route in re.findall(r"\$COMMANDER_URL(/v1/[\w/$]+)", script):
        template = re.sub(r"\$\w+", "{decision_id}", route)
        assert template in paths, route


def _options(command: Any) -> set[str]:
    return {name for param in command.params for name in getattr(param, "opts", ())}


def test_every_commander_command_in_the_page_uses_real_options() -> None:
    commands: dict[str, Any] = typer.main.get_command(complete_app()).commands  # type: ignore[attr-defined]
    lines = [
        line
        for block in re.findall(r"```sh\n(.*?)```", DOC, flags=re.DOTALL)
        for line in block.splitlines()
        if line.startswith("commander ")
    ]
    assert len(lines) >= 3
    for line in lines:
        words = shlex.split(line)
        command = commands[words[1]]
        flags = {w for w in words[2:] if w.startswith("--")}
        assert flags <= _options(command), (line, flags - _options(command))


def test_every_comment_command_in_the_page_parses() -> None:
    """The `/commander …` examples are what the webhook understands."""
    examples = re.findall(r"`(/commander [^`]+)`", DOC)
    assert len(examples) >= 2
    for example in examples:
        if "ROLE" in example:
            continue  # the usage line
        assert isinstance(parse_comment(example), Approve | Deny), example


@pytest.mark.skipif(shutil.which("curl") is None, reason="the step uses curl")
def test_the_step_as_written_gates_on_the_service(tmp_path: Path) -> None:
    """Approve passes; escalate fails until signed off, then the same plan passes; frozen fails."""
    script = commander_step()
    with fresh_database("sqlite", tmp_path) as url, running_service(url, tmp_path) as service:

        def step(plan: bytes, author: str, pr: int) -> subprocess.CompletedProcess[str]:
            showfile = tmp_path / f"show-{pr}.json"
            showfile.write_bytes(plan)
            env = {
                "PATH": os.environ["PATH"],
                "COMMANDER_URL": service.url,
                "COMMANDER_TOKEN": token_of("ci-bot"),
                "COMMANDER_SOURCE": "ai-agent",
                "SHOWFILE": str(showfile),
                "PLANFILE": str(tmp_path / "default.tfplan"),
                "PULL_AUTHOR": author,
                "PULL_URL": f"https://github.com/acme/infra/pull/{pr}",
                "BASE_REPO_OWNER": "acme",
                "BASE_REPO_NAME": "infra",
                "PULL_NUM": str(pr),
                "TMPDIR": str(tmp_path),
            }
            return subprocess.run(
                ["sh", "-c", script],
                check=False,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        approved = step(noop_plan(), "agent-7", 1)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert "passed" in approved.stdout

        escalated = step(IAM_PLAN.read_bytes(), "agent-7", 2)
        assert escalated.returncode == 1
        assert "waits for sign-off" in escalated.stdout
        assert "ESCALATE" in escalated.stdout  # the decision's Markdown, for Atlantis's comment
        ident = service.client.get("/v1/escalations", headers=service.as_("alice")).json()[0][
            "decision_id"
        ]
        for who, role in (
            ("alice", "senior-engineer"),
            ("bob", "security"),
            ("carol", "change-board"),
        ):
            service.client.post(
                f"/v1/escalations/{ident}/approve", json={"role": role}, headers=service.as_(who)
            )
        replanned = step(IAM_PLAN.read_bytes(), "agent-7", 2)
        assert replanned.returncode == 0, replanned.stdout + replanned.stderr
        assert f"{ident} passed" in replanned.stdout

        service.client.post(
            "/v1/freezes",
            json={"actor": "rogue-bot", "reason": "incident"},
            headers=service.as_("root"),
        )
        frozen = step(noop_plan(), "rogue-bot", 3)
        assert frozen.returncode == 1
        assert "did not pass (failed)" in frozen.stdout
