"""The deployment files: the image, the compose file, the CI workflow — and what they run.

Docker does not run here, so the static tests read each file the way Docker,
Compose and GitHub Actions do (tests/deploy_support.py). The live tests run
what the image would run — its CMD and its HEALTHCHECK, parsed out of the
Dockerfile — as real processes, against a fresh PostgreSQL database like the
one compose.yaml gives the API, and the workflow's own submit and gate steps
against that service.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from orchestrator.store import HEAD_REVISION
from tests.databases import PG_SKIP, PG_URL, fresh_database
from tests.deploy_support import (
    DOCKER,
    REPO,
    WORKFLOW,
    assert_valid_bash,
    clean_env,
    cli,
    compose,
    dockerfile_stages,
    dockerignored,
    final_stage,
    free_port,
    healthcheck_command,
    image_command,
    local_command,
    new_token,
    run_step,
    serving,
    stop,
    tokens_file,
    wait_until_ready,
    workflow,
    workflow_scripts,
)

PLAN = REPO / "examples" / "iam-boundary" / "plan.json"
TOPOLOGY = REPO / "examples" / "iam-boundary" / "topology.yaml"
IMAGE_COMMAND = ["commander", "serve", "--host", "0.0.0.0", "--port", "8080"]  # noqa: S104
SERVICES = {"postgres", "ray-head", "ray-worker", "migrate", "api"}


# --- the image -------------------------------------------------------------------------------


def test_image_runs_as_a_fixed_non_root_uid() -> None:
    """The image's USER is a numeric uid other than 0, so runAsNonRoot can verify it."""
    users = final_stage("USER")
    assert users, "the final stage sets no USER: the service would run as root"
    user = users[-1].args.split(":")[0]
    assert user.isdigit(), f"USER {user} is a name: give a fixed uid"
    assert int(user) != 0


def test_image_command_is_commander_serve() -> None:
    """The image starts `commander serve` on 0.0.0.0:8080 directly, in exec form, and exposes it."""
    assert image_command() == IMAGE_COMMAND
    assert not final_stage("ENTRYPOINT"), "an ENTRYPOINT would prefix compose's other commands"
    assert any("8080" in e.args.split() for e in final_stage("EXPOSE"))


def test_healthcheck_asks_healthz_with_the_standard_library() -> None:
    """The HEALTHCHECK runs Python (the slim image has no curl) against /healthz on 8080."""
    command = healthcheck_command()
    assert command[0] == "python"
    assert "urllib.request" in command[-1]
    assert "127.0.0.1:8080/healthz" in command[-1]


def test_final_stage_installs_built_wheels_and_no_compilers() -> None:
    """Compilers stay in the builder; the image installs commander's wheel with every extra."""
    builder, final = dockerfile_stages()[0], dockerfile_stages()[-1]
    assert len(dockerfile_stages()) >= 2
    assert builder[0].args.endswith(" AS builder")
    assert final[0].args == "${PYTHON_IMAGE}"
    assert any("pip wheel" in i.args for i in builder if i.keyword == "RUN")
    final_runs = " ".join(i.args for i in final if i.keyword == "RUN")
    assert "build-essential" not in final_runs
    assert "gcc" not in final_runs
    assert "--no-index" in final_runs
    assert '"commander[service,postgres,ray]"' in final_runs
    assert not [i for i in final if i.keyword in ("COPY", "ADD")], "the image holds no source tree"


def test_no_secret_is_baked_into_the_image() -> None:
    """No ENV or ARG names a password, token or key, and no tokens file is copied in."""
    secretive = re.compile(r"PASSWORD|TOKEN|SECRET|API_KEY|DATABASE_URL", re.IGNORECASE)
    for stage in dockerfile_stages():
        for instruction in stage:
            if instruction.keyword in ("ENV", "ARG"):
                assert not secretive.search(instruction.args), instruction
            if instruction.keyword in ("COPY", "ADD"):
                assert "tokens" not in instruction.args, instruction


def test_build_context_holds_what_the_wheel_needs_and_nothing_else() -> None:
    """Every path pyproject builds the wheel from is copied and not ignored; the rest is ignored."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= set(wheel["packages"]) | set(wheel["force-include"])
    copied = {
        source
        for i in dockerfile_stages()[0]
        if i.keyword == "COPY"
        for source in i.args.split()[:-1]
    }
    for path in needed:
        assert path in copied, f"the builder does not COPY {path}"
        assert not dockerignored(path), f".dockerignore drops {path}"
    for path in ("orchestrator/cli.py", "configs/commander.yaml", "reviewers/scope/__init__.py"):
        assert not dockerignored(path), path
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "tests/test_store.py",
        "tests/data/x.json",
        "orchestrator/__pycache__/cli.cpython-311.pyc",
        "docker/tokens.yaml",
        "audit.db",
        ".mypy_cache/x",
    ):
        assert dockerignored(path), f".dockerignore lets {path} into the build context"


# --- compose -------------------------------------------------------------------------------


def test_compose_declares_the_five_services_without_a_version_key() -> None:
    """postgres, ray-head, ray-worker, migrate and api; the compose spec has no `version:`."""
    spec = compose()
    assert "version" not in spec
    assert set(spec["services"]) == SERVICES


def test_compose_starts_in_dependency_order() -> None:
    """migrate waits for a healthy PostgreSQL; the API for migrate's success and the Ray head."""
    services = compose()["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["api"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert services["api"]["depends_on"]["ray-head"]["condition"] == "service_healthy"
    assert services["ray-worker"]["depends_on"]["ray-head"]["condition"] == "service_healthy"
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "healthcheck" in services["ray-head"]


def test_compose_runs_every_commander_service_from_the_repository_image() -> None:
    """The four commander services build docker/Dockerfile with the repository as context."""
    services = compose()["services"]
    for name in SERVICES - {"postgres"}:
        build = services[name]["build"]
        assert (DOCKER / build["context"]).resolve() == REPO, name
        assert build["dockerfile"] == "docker/Dockerfile", name
        assert services[name]["image"] == services["api"]["image"], name


def test_compose_wires_postgresql_ray_and_tokens_into_the_api() -> None:
    """The API serves with --executor ray, on the compose PostgreSQL, with read-only tokens."""
    spec = compose()
    services = spec["services"]
    api, postgres = services["api"], services["postgres"]["environment"]
    command = " ".join(api["command"])
    assert "commander serve --host 0.0.0.0 --port 8080 --executor ray" in command
    assert api["environment"]["COMMANDER_RAY_ADDRESS"] == "ray-head:6379"
    url = api["environment"]["COMMANDER_DATABASE_URL"]
    assert url == services["migrate"]["environment"]["COMMANDER_DATABASE_URL"]
    expected = (
        f"postgresql://{postgres['POSTGRES_USER']}:${{POSTGRES_PASSWORD}}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert url == expected
    source, target, mode = api["volumes"][0].split(":")
    assert (source, mode) == ("./tokens.yaml", "ro")
    assert api["environment"]["COMMANDER_TOKENS"] == target
    assert any(port.endswith(":8080") for port in api["ports"])
    assert services["migrate"]["command"] == ["commander", "migrate"]
    assert services["migrate"]["restart"] == "no", "a one-shot must not be restarted"
    assert "ray-head:6379" in services["ray-worker"]["command"][2]
    assert "--head" in services["ray-head"]["command"]
    (volume,) = services["postgres"]["volumes"]
    assert volume.split(":")[0] in spec["volumes"]


# --- the CI workflow -------------------------------------------------------------------------


def test_workflow_reviews_pull_requests_through_the_service() -> None:
    """On pull_request: plan, submit, comment, SARIF, and a gate on the outcome."""
    flow = workflow()
    assert "pull_request" in flow[True]
    assert flow["permissions"]["pull-requests"] == "write"
    assert flow["permissions"]["security-events"] == "write"
    (job,) = flow["jobs"].values()
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("hashicorp/setup-"))
    assert setup["with"]["terraform_wrapper"] is False
    scripts = "\n".join(workflow_scripts())
    for needed in (
        "terraform show -json",
        "$COMMANDER_URL/v1/reviews",
        "--data-binary",
        "Authorization: Bearer $COMMANDER_TOKEN",
        "$COMMANDER_URL/v1/decisions/$id?format=$format",
        "$COMMANDER_URL/v1/escalations",
        "change_id=$CHANGE_ID",
        "actor=$GITHUB_ACTOR",
        "source=$SOURCE",
        '"$MARKER"',
        "approved-by-humans",
    ):
        assert needed in scripts, needed
    assert job["env"]["CHANGE_ID"].endswith("#${{ github.event.pull_request.number }}")
    text = WORKFLOW.read_text()
    assert "secrets.COMMANDER_TOKEN" in text
    assert "${{ github.event.pull_request.title }}" not in scripts, "a PR title is not shell code"


def test_workflow_scripts_are_valid_bash() -> None:
    """Each `run:` script parses as bash once GitHub has substituted its expressions."""
    for script in workflow_scripts():
        assert_valid_bash(script)


def test_ci_guide_steps_parse_and_are_valid_bash() -> None:
    """docs/ci.md's steps and jobs are YAML whose scripts parse as bash."""
    guide = (REPO / "docs" / "ci.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", guide, flags=re.DOTALL)]
    steps = [step for block in blocks if isinstance(block, list) for step in block]
    jobs = [job for block in blocks if isinstance(block, dict) for job in block["jobs"].values()]
    steps += [step for job in jobs for step in job["steps"]]
    assert any(job.get("environment") for job in jobs)  # the deployment-protection example
    scripts = [step["run"] for step in steps if "run" in step]
    assert any("commander review" in script for script in scripts)
    for script in scripts:
        assert_valid_bash(script)


# --- what the image runs, for real ----------------------------------------------------------


def test_healthcheck_fails_until_the_service_answers_then_passes(tmp_path: Path) -> None:
    """The image's HEALTHCHECK, run as written, fails with nothing listening and passes once up."""
    port = free_port()
    check = healthcheck_command()
    check[0] = sys.executable
    check[-1] = check[-1].replace("127.0.0.1:8080", f"127.0.0.1:{port}")

    def healthy() -> bool:
        return subprocess.run(check, capture_output=True, timeout=30, check=False).returncode == 0

    assert not healthy(), "the check passed with nothing listening: Docker would never notice"
    _, principal = new_token("github-ci", "--role", "ci")
    tokens = tokens_file(tmp_path, principal)
    env = clean_env(
        COMMANDER_DATABASE_URL=f"sqlite:///{tmp_path / 'audit.db'}", COMMANDER_TOKENS=str(tokens)
    )
    with serving(local_command(port), env, tmp_path) as process:
        deadline = time.monotonic() + 60
        while not healthy():
            assert process.poll() is None, (tmp_path / "serve.err").read_text()
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.2)
        stop(process, tmp_path)
    assert not healthy()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_image_command_reviews_a_plan_on_postgresql(tmp_path: Path) -> None:
    """migrate, then the image's CMD on a fresh PostgreSQL: ready, a CI review, a clean stop."""
    with fresh_database("postgresql", tmp_path) as url:
        env = clean_env(COMMANDER_DATABASE_URL=url)
        for _ in range(2):  # compose runs migrate on every `up`: it must be idempotent
            migrated = cli("migrate", "--db", url, env=env)
            assert migrated.returncode == 0, migrated.stderr
            assert HEAD_REVISION in migrated.stdout

        token, principal = new_token("github-ci", "--role", "ci")
        tokens = tokens_file(tmp_path, principal)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve_env = env | {"COMMANDER_TOKENS": str(tokens), "COMMANDER_TOPOLOGY": str(TOPOLOGY)}
        params = {
            "actor": "refactor-bot",
            "source": "ai-agent",
            "intent": "tidy the permission boundary",
            "environment": "production",
            "kind": "auto",
            "name": "plan.json",
            "change_id": "infra#42",
        }
        bearer = {"Authorization": f"Bearer {token}"}
        with serving(local_command(port), serve_env, tmp_path) as process:
            wait_until_ready(process, base, tmp_path)
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200

            refused = httpx.post(
                f"{base}/v1/reviews", params=params, content=PLAN.read_bytes(), timeout=60
            )
            assert refused.status_code == 401, refused.text

            posted = httpx.post(
                f"{base}/v1/reviews",
                params=params,
                content=PLAN.read_bytes(),
                headers=bearer,
                timeout=60,
            )
            assert posted.status_code == 201, posted.text
            decision = posted.json()
            assert decision["schema"] == "commander.decision/v1"
            # an AI agent changing the boundary 47 services depend on (README's quick start)
            assert decision["outcome"] == "escalate"
            assert decision["risk_tier"] in ("high", "critical")
            assert decision["required_approvals"]
            assert posted.headers["X-Commander-Outcome"] == "escalate"
            assert posted.headers["Location"] == f"/v1/decisions/{decision['decision_id']}"

            again = httpx.post(
                f"{base}/v1/reviews",
                params=params,
                content=PLAN.read_bytes(),
                headers=bearer,
                timeout=60,
            )
            assert again.status_code == 200, again.text
            assert again.json()["decision_id"] == decision["decision_id"]
            logged = stop(process, tmp_path)
        assert token not in logged, "the server logged a bearer token"

        # the API recorded it in the PostgreSQL the CLI reads: one store for the team
        shown = cli("show", decision["decision_id"], "--output", "json", "--db", url, env=env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["proposal_digest"] == decision["proposal_digest"]


# --- the workflow's own steps, run against the service ---------------------------------------


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="the workflow's steps use curl and jq"
)
def test_workflow_steps_gate_on_the_services_decision(tmp_path: Path) -> None:
    """The workflow's own steps on a real service: signed off passes; waiting, deny, reject fail."""
    ci_token, ci = new_token("github-ci", "--role", "ci")
    admin_token, admin = new_token("oncall", "--role", "admin")
    signers = {
        role: new_token(f"{role}-signer", "--role", "approver", "--approves", role)
        for role in ("senior-engineer", "team-lead", "security", "change-board")
    }
    tokens = tokens_file(tmp_path, ci, admin, *(principal for _, principal in signers.values()))
    runner = tmp_path / "runner"
    runner.mkdir()
    shutil.copy(PLAN, runner / "plan.json")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve_env = clean_env(
        COMMANDER_DATABASE_URL=f"sqlite:///{tmp_path / 'audit.db'}",
        COMMANDER_TOKENS=str(tokens),
        COMMANDER_TOPOLOGY=str(TOPOLOGY),
    )
    step_env = {
        "COMMANDER_URL": base,
        "COMMANDER_TOKEN": ci_token,
        "SOURCE": "ai-agent",
        "ENVIRONMENT": "production",
        "INTENT": "tidy the permission boundary; $(touch pwned) & #1",
        "WAIT_MINUTES": "0",  # one look at the escalation, then the deadline has passed
    }

    def submit(actor: str) -> dict[str, str]:
        (runner / "output").unlink(missing_ok=True)
        change = {"GITHUB_ACTOR": actor, "CHANGE_ID": f"acme/infra#{actor}"}
        done = run_step("review", runner, step_env | change)
        assert done.returncode == 0, done.stdout + done.stderr
        return dict(line.split("=", 1) for line in (runner / "output").read_text().splitlines())

    def gate(submitted: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return run_step(
            "gate", runner, step_env | {"ID": submitted["id"], "OUTCOME": submitted["outcome"]}
        )

    def act(path: str, token: str, body: dict[str, Any]) -> None:
        answer = httpx.post(
            f"{base}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.is_success, answer.text

    with serving(local_command(port), serve_env, tmp_path) as process:
        wait_until_ready(process, base, tmp_path)
        escalated = submit("refactor-bot")
        assert escalated["outcome"] == "escalate"
        assert "ESCALATE" in (runner / "decision.markdown").read_text()
        assert json.loads((runner / "decision.sarif").read_text())["version"] == "2.1.0"
        assert not (runner / "pwned").exists()

        waited = gate(escalated)
        assert waited.returncode == 1, waited.stdout
        assert "nobody signed" in waited.stdout

        decision = json.loads((runner / "decision.json").read_text())
        for required in decision["required_approvals"]:
            token, _ = signers[required["role"]]
            act(f"/v1/escalations/{escalated['id']}/approve", token, {"role": required["role"]})
        assert submit("refactor-bot") == escalated, "a re-run must find the same decision"
        signed = gate(escalated)
        assert signed.returncode == 0, signed.stdout + signed.stderr
        assert "approved-by-humans" in signed.stdout

        other = submit("cleanup-bot")
        assert other["outcome"] == "escalate"
        act(f"/v1/escalations/{other['id']}/deny", signers["security"][0], {"reason": "no"})
        denied = gate(other)
        assert denied.returncode == 1
        assert "ended denied" in denied.stdout

        act("/v1/freezes", admin_token, {"actor": "rogue-bot", "reason": "deleting buckets"})
        rejected = submit("rogue-bot")
        assert rejected["outcome"] == "reject"
        assert gate(rejected).returncode == 1
        stop(process, tmp_path)
