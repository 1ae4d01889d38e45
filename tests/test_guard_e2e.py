"""commander guard end to end, as real subprocesses: hook JSON in, the agent's answer out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.guard_support import claude, commander, guard


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private store and cache; a git working tree as the agent's directory."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    return {
        **os.environ,
        "COMMANDER_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "COMMANDER_CACHE_DIR": str(tmp_path / "cache"),
    }


def codex(command: str, cwd: Path) -> dict[str, object]:
    """A Codex CLI PreToolUse payload (codex-rs/hooks schema: turn_id, model, permission_mode)."""
    return {
        "session_id": "019a",
        "turn_id": "t1",
        "transcript_path": None,
        "cwd": str(cwd),
        "hook_event_name": "PreToolUse",
        "model": "gpt-5-codex",
        "permission_mode": "default",
        "tool_name": "Bash",
        "tool_input": {"command": command},
        "tool_use_id": "call_1",
    }


def gemini(command: str, cwd: Path) -> dict[str, object]:
    """A Gemini CLI BeforeTool payload for run_shell_command."""
    return {
        "session_id": "g-1",
        "transcript_path": "/tmp/g.json",
        "cwd": str(cwd),
        "hook_event_name": "BeforeTool",
        "timestamp": "2026-12-07T10:00:00Z",
        "tool_name": "run_shell_command",
        "tool_input": {"command": command},
    }


def test_claude_code_hook_denies_namespace_deletion(env: dict[str, str], tmp_path: Path) -> None:
    """A Claude Code Bash call deleting the prod namespace is answered deny and recorded."""
    done = guard(env, claude("kubectl delete ns prod", tmp_path / "repo"))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse"
    assert out["permissionDecision"] == "deny"
    assert "scope.ai-agent.data-deletion-production" in out["permissionDecisionReason"]
    decision_id = out["permissionDecisionReason"].split("decision ")[1].split("]")[0]
    shown = commander(env, "show", decision_id, "--output", "json")
    assert json.loads(shown.stdout)["outcome"] == "reject"


def test_claude_code_hook_allows_read_only_without_recording(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`git status` is allowed at once and leaves no decision in the store."""
    done = guard(env, claude("git status && kubectl get pods -A", tmp_path / "repo"))
    assert json.loads(done.stdout)["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert not (tmp_path / "store.db").exists()


def test_claude_code_write_to_workflow_is_reviewed_as_a_diff(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A Write tool call into .github/workflows is reviewed (a pipeline change escalates)."""
    payload = claude("", tmp_path / "repo") | {
        "tool_name": "Write",
        "tool_input": {
            "file_path": str(tmp_path / "repo/.github/workflows/deploy.yml"),
            "content": "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n",
        },
    }
    out = json.loads(guard(env, payload).stdout)["hookSpecificOutput"]
    assert out["permissionDecision"] == "ask"
    assert "ci-cd" in out["permissionDecisionReason"]


def test_codex_hook_denies_and_stays_silent_on_allow(env: dict[str, str], tmp_path: Path) -> None:
    """Codex honours only deny: a destroy is a deny JSON, a read-only call prints nothing."""
    denied = guard(env, codex("terraform destroy -auto-approve", tmp_path / "repo"))
    out = json.loads(denied.stdout)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    allowed = guard(env, codex("terraform plan", tmp_path / "repo"))
    assert (allowed.returncode, allowed.stdout) == (0, "")


def test_codex_escalation_is_a_deny_with_the_sign_off(env: dict[str, str], tmp_path: Path) -> None:
    """Codex fails open on ask, so an escalation is answered as deny naming who must sign."""
    done = guard(env, codex("terraform apply -auto-approve", tmp_path / "repo"))
    out = json.loads(done.stdout)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "command.unreviewed-apply" in out["permissionDecisionReason"]
    assert "must sign off" in out["permissionDecisionReason"]


def test_gemini_hook_answers_decision(env: dict[str, str], tmp_path: Path) -> None:
    """Gemini CLI BeforeTool: decision deny with a reason, decision allow for a read."""
    denied = json.loads(
        guard(env, gemini("aws s3 rm s3://bucket --recursive", tmp_path / "repo")).stdout
    )
    assert denied["decision"] == "deny"
    assert "reversibility.irreversible" in denied["reason"]
    allowed = json.loads(guard(env, gemini("ls -la", tmp_path / "repo")).stdout)
    assert allowed == {"decision": "allow"}


def test_generic_format_exit_codes(env: dict[str, str], tmp_path: Path) -> None:
    """The generic JSON answers with exit 0 allow, 3 ask, 4 deny."""
    base = {"actor": "ops-bot", "cwd": str(tmp_path / "repo"), "environment": "production"}
    assert guard(env, base | {"command": "git status"}).returncode == 0
    assert guard(env, base | {"argv": ["git", "push", "--force", "origin", "main"]}).returncode == 4
    assert guard(env, base | {"command": "frobnicate --all"}).returncode == 3


def test_bad_hook_input_blocks(env: dict[str, str]) -> None:
    """Unreadable input blocks the tool (exit 2, the reason on stderr), never allows it."""
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "guard", "--format", "claude-code"],
        input="{not json",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "blocked" in done.stderr
    assert done.stdout == ""


def test_wrapper_runs_only_on_approve(env: dict[str, str], tmp_path: Path) -> None:
    """`guard -- CMD` execs an approved command and never a rejected one or after an error."""
    repo = tmp_path / "repo"
    marker = repo / "ran"
    ok = guard(env, None, "--", "touch", str(marker), cwd=repo)
    assert ok.returncode == 0, ok.stderr
    assert marker.exists()
    marker.unlink()
    rejected = guard(
        env, None, "--", "sh", "-c", f"touch {marker} && kubectl delete ns prod", cwd=repo
    )
    assert rejected.returncode == 4
    assert not marker.exists()
    broken = guard(
        env | {"COMMANDER_CONFIG": str(tmp_path / "missing")},
        None,
        "--",
        "touch",
        str(marker),
        cwd=repo,
    )
    assert broken.returncode == 1
    assert not marker.exists()


def test_frozen_agent_is_denied(env: dict[str, str], tmp_path: Path) -> None:
    """After `commander freeze AGENT`, the agent's next changing call is denied at once."""
    frozen = commander(
        env, "freeze", "claude-code", "--reason", "deleting buckets", "--as", "alice"
    )
    assert frozen.returncode == 0, frozen.stderr
    out = json.loads(
        guard(
            env,
            claude("helm uninstall web -n dev", tmp_path / "repo"),
            "--environment",
            "development",
        ).stdout
    )["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "frozen" in out["permissionDecisionReason"]


def test_budget_stops_the_eleventh_delete_in_an_hour(env: dict[str, str], tmp_path: Path) -> None:
    """Ten deletes humans approved use the ai-agent budget; the eleventh is denied by it."""
    repo = tmp_path / "repo"
    for index in range(10):
        payload = {
            "actor": "cleanup-bot",
            "cwd": str(repo),
            "environment": "development",
            "command": f"terraform destroy -target=null_resource.n{index} -auto-approve",
        }
        answer = json.loads(guard(env, payload).stdout)
        assert answer["decision"] == "ask", answer
        signed = commander(
            env, "approve", answer["decision_id"], "--as", "alice", "--role", "senior-engineer"
        )
        assert signed.returncode == 0, signed.stderr
    payload = {
        "actor": "cleanup-bot",
        "cwd": str(repo),
        "environment": "development",
        "command": "terraform destroy -target=null_resource.n10 -auto-approve",
    }
    done = guard(env, payload)
    answer = json.loads(done.stdout)
    assert (done.returncode, answer["decision"]) == (4, "deny")
    assert "Action budget exceeded" in answer["reason"]


def test_retry_after_human_approval_is_allowed(env: dict[str, str], tmp_path: Path) -> None:
    """An escalated command a human approved is allowed when the agent runs it again."""
    payload = {
        "actor": "ops-bot",
        "cwd": str(tmp_path / "repo"),
        "environment": "production",
        "command": "kubectl scale deploy/web --replicas=0 -n prod",
    }
    first = json.loads(guard(env, payload).stdout)
    assert first["decision"] == "ask"
    for role in ("senior-engineer", "team-lead"):
        person = "alice" if role == "senior-engineer" else "bob"
        signed = commander(env, "approve", first["decision_id"], "--as", person, "--role", role)
        assert signed.returncode == 0, signed.stderr
    again = json.loads(guard(env, payload).stdout)
    assert again["decision"] == "allow"


def test_the_same_command_while_pending_is_one_escalation(
    env: dict[str, str], tmp_path: Path
) -> None:
    """An agent retrying an escalated command is asked again about the same decision; no second
    escalation is opened for the humans to answer."""
    payload = {
        "actor": "ops-bot",
        "cwd": str(tmp_path / "repo"),
        "environment": "production",
        "command": "kubectl rollout restart deploy/web -n prod",
    }
    first = json.loads(guard(env, payload).stdout)
    again = json.loads(guard(env, payload).stdout)
    assert (first["decision"], again["decision"]) == ("ask", "ask")
    assert again["decision_id"] == first["decision_id"]
    pending = json.loads(commander(env, "pending", "--output", "json").stdout)
    assert [p["decision_id"] for p in pending] == [first["decision_id"]]


def test_wrapper_keeps_the_commands_own_double_dash(env: dict[str, str], tmp_path: Path) -> None:
    """Only the separator after `guard` is dropped: `--` inside CMD reaches CMD unchanged."""
    repo = tmp_path / "repo"
    done = guard(
        env, None, "--", "sh", "-c", 'printf "%s\\n" "$@" > args', "sh", "--", "x", cwd=repo
    )
    assert done.returncode == 0, done.stderr
    assert (repo / "args").read_text().split() == ["--", "x"]


def test_every_interpreter_is_indexed() -> None:
    """Each program an interpreter module handles is found through the lazy index, and only
    those: a program missing from the index would fall through to the catalog's lists."""
    from orchestrator.adapters import (
        commands_cloud,
        commands_git,
        commands_host,
        commands_kube,
        commands_services,
        commands_terraform,
    )
    from orchestrator.adapters.commands_classify import _MODULES, interpreter

    modules = (
        commands_cloud,
        commands_git,
        commands_host,
        commands_kube,
        commands_services,
        commands_terraform,
    )
    handled = {name: fn for module in modules for name, fn in module.INTERPRETERS.items()}
    assert set(handled) == set(_MODULES)
    assert all(interpreter(name) is fn for name, fn in handled.items())


HEAVY = ("pydantic", "yaml", "sqlalchemy", "typer", "dataclasses", "pathlib", "argparse")


def test_read_only_answer_imports_nothing_heavy(env: dict[str, str], tmp_path: Path) -> None:
    """The read-only answer (once the catalog is compiled) loads no pydantic, YAML, SQLAlchemy,
    Typer, dataclasses, pathlib or argparse: what keeps it within its budget on every call."""
    payload = json.dumps(claude("git status && kubectl get pods -A", tmp_path / "repo"))
    probe = (
        "import io, sys\n"
        "from orchestrator.entry import main\n"
        "sys.argv = ['commander', 'guard']\n"
        f"sys.stdin = io.TextIOWrapper(io.BytesIO({payload.encode()!r}))\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    guard(env, claude("ls", tmp_path / "repo"))  # compiles the catalog into the cache
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
    )
    assert json.loads(done.stdout)["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_review_kind_command_judges_a_tool_call_as_the_guard_does(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`commander review --kind command` reads a hook payload from a file and decides as the
    guard decides the same call."""
    call = tmp_path / "call.json"
    call.write_text(json.dumps(claude("kubectl delete ns prod", tmp_path / "repo")))
    reviewed = commander(
        env, "review", str(call), "--kind", "command", "--actor", "claude-code",
        "--source", "ai-agent", "--environment", "production", "--output", "json",
    )  # fmt: skip
    assert reviewed.returncode == 4, reviewed.stderr
    decision = json.loads(reviewed.stdout)
    assert decision["outcome"] == "reject"
    assert "hard-denial:scope.ai-agent.data-deletion-production" in decision["rules_fired"]


def test_a_guard_decision_replays(env: dict[str, str], tmp_path: Path) -> None:
    """A recorded guard decision is re-judged by `commander replay` from its stored proposal."""
    done = guard(env, claude("terraform destroy -auto-approve", tmp_path / "repo"))
    reason = json.loads(done.stdout)["hookSpecificOutput"]["permissionDecisionReason"]
    decision_id = reason.split("decision ")[1].split("]")[0]
    replayed = commander(env, "replay", decision_id, "--output", "json")
    assert replayed.returncode == 0, replayed.stderr
    diff = json.loads(replayed.stdout)
    assert (diff["outcome_before"], diff["outcome_after"]) == ("reject", "reject")


def test_credentials_on_the_command_line_are_not_recorded(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A password in an environment assignment or a URL is masked in the stored proposal."""
    line = (
        "PGPASSWORD=hunter2 psql -c 'DROP TABLE users' prod && "
        "curl -X DELETE https://bot:s3cr3t-pw@api.example.com/v1/zones/1"
    )
    payload = {"actor": "ops-bot", "cwd": str(tmp_path / "repo"), "command": line}
    answer = json.loads(guard(env, payload).stdout)
    shown = commander(env, "show", answer["decision_id"], "--output", "json")
    assert shown.returncode == 0, shown.stderr
    from orchestrator.store import Store

    with Store.open(env["COMMANDER_DATABASE_URL"]) as store:
        recorded = store.get(answer["decision_id"]).proposal.model_dump_json()
    assert "DROP TABLE" in recorded or "psql" in recorded
    assert "hunter2" not in recorded
    assert "s3cr3t-pw" not in recorded
