"""`commander serve`, `migrate` and `token new` as real processes, and the tokens file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.errors import ConfigError
from orchestrator.service.auth import Authenticator, Permission, hash_token
from tests.cli_imports import modules_after, roots
from tests.service_support import IAM_PLAN

WEB_MODULES = ("fastapi", "starlette", "uvicorn", "prometheus_client", "httpx", "anyio", "jinja2")


def test_a_plain_review_never_imports_the_web_stack(cli_env: dict[str, str]) -> None:
    code, loaded, stderr = modules_after(["review", str(IAM_PLAN), "--output", "json"], cli_env)
    assert code == 3, stderr
    assert roots(loaded, WEB_MODULES) == []


def test_token_new_prints_a_token_and_an_entry_that_admits_it(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli(
        "token", "new", "alice", "--role", "approver", "--approves", "security,change-board"
    )
    assert result.code == 0, result.stderr
    token = result.stderr.splitlines()[-1]
    assert token.startswith("cmdr_")
    assert token not in result.stdout  # only its hash is in the entry
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(result.stdout, encoding="utf-8")
    principal = Authenticator.from_file(tokens).principal(token)
    assert principal is not None
    assert (principal.name, principal.approves) == ("alice", ("security", "change-board"))
    assert principal.may(Permission.SIGN)
    assert not principal.may(Permission.SUBMIT)


def test_token_new_refuses_an_unknown_role(run_cli: Any) -> None:
    result = run_cli("token", "new", "x", "--role", "superuser")
    assert result.code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "cmdr_" not in result.stderr  # no token is shown for an entry never made


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("principals: [{name: a, roles: [ci], token_sha256: abc}]", "token_sha256"),
        ("principals: [{name: a, roles: [root], token_sha256: '" + "0" * 64 + "'}]", "roles"),
        ("principals: []", "no principals"),
        (
            "principals:\n"
            f"  - {{name: a, roles: [ci], token_sha256: '{'0' * 64}'}}\n"
            f"  - {{name: b, roles: [ci], token_sha256: '{'0' * 64}'}}\n",
            "share one token",
        ),
        (
            f"principals: [{{name: a, roles: [ci], approves: [x], token_sha256: '{'0' * 64}'}}]",
            "approver role",
        ),
        ("principals: [", "invalid YAML"),
        ("principals: [{name: a, roles: [approver]}]", "token_sha256, github or both"),
        ("principals: [{name: a, roles: [approver], github: -bad-}]", "github"),
        (
            "principals:\n"
            "  - {name: a, roles: [approver], github: Alice}\n"
            "  - {name: b, roles: [approver], github: alice}\n",
            "share one GitHub login",
        ),
    ],
)
def test_a_bad_tokens_file_is_a_config_error_naming_it(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem) as caught:
        Authenticator.from_file(path)
    assert str(path) in str(caught.value)


def test_unknown_tokens_are_refused_and_hashes_are_what_the_file_keeps(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    entry = {"name": "ci", "roles": ["ci"], "token_sha256": hash_token("cmdr_right")}
    path.write_text(yaml.safe_dump({"principals": [entry]}), encoding="utf-8")
    auth = Authenticator.from_file(path)
    assert auth.principal("cmdr_right") is not None
    assert auth.principal("cmdr_wrong") is None
    assert auth.principal(hash_token("cmdr_right")) is None  # the hash is not a token


def test_a_github_login_finds_its_principal_in_any_case(tmp_path: Path) -> None:
    """A principal may have only a login: it signs in PR comments and has no bearer token."""
    path = tmp_path / "tokens.yaml"
    entry = {"name": "bob", "roles": ["approver"], "approves": ["security"], "github": "Bob-GH"}
    path.write_text(yaml.safe_dump({"principals": [entry]}), encoding="utf-8")
    auth = Authenticator.from_file(path)
    found = auth.github_principal("bob-gh")
    assert found is not None
    assert found.name == "bob"
    assert auth.github_principal("bob") is None


def test_serve_without_tokens_is_a_usage_error(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("serve", "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.code == 2
    assert "COMMANDER_TOKENS" in result.stderr
    assert result.stderr.count("\n") == 1


def test_serve_with_a_bad_tokens_file_fails_before_listening(run_cli: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("principals:\n  - name: a\n    roles: [ci]\n    token_sha256: 12\n")
    result = run_cli("serve", "--tokens", str(tokens), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.code == 1
    assert f"{tokens}: line 4" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1


def test_migrate_brings_a_new_store_to_head(run_cli: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = run_cli("migrate", "--db", db)
    again = run_cli("migrate", "--db", db)
    assert (first.code, again.code) == (0, 0), first.stderr
    assert "schema at revision" in first.stdout
    assert first.stdout == again.stdout


def test_token_new_with_a_lifetime_writes_an_expiry_the_file_keeps(
    run_cli: Any, tmp_path: Path
) -> None:
    """--expires 90d: the entry carries the time; the token works until then and not after."""
    result = run_cli("token", "new", "ci", "--role", "ci", "--expires", "90d")
    assert result.code == 0, result.stderr
    token = result.stderr.splitlines()[-1]
    expires = yaml.safe_load(result.stdout)["principals"][0]["expires"]
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(result.stdout, encoding="utf-8")
    auth = Authenticator.from_file(tokens)
    when = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
    assert timedelta(days=89) < when - datetime.now(UTC) <= timedelta(days=90)
    assert auth.principal(token, now=when - timedelta(seconds=1)) is not None
    assert auth.principal(token, now=when) is None


@pytest.mark.parametrize("given", ["2030-01-01", "2020-01-01T00:00:00Z", "soon"])
def test_token_new_refuses_an_expiry_without_zone_in_the_past_or_unreadable(
    run_cli: Any, given: str
) -> None:
    result = run_cli("token", "new", "ci", "--role", "ci", "--expires", given)
    assert result.code == 2
    assert "--expires" in result.stderr
    assert "cmdr_" not in result.stderr


@pytest.mark.parametrize(("given", "said"), [("0s", "longer than nothing"), ("soon", "duration")])
def test_serve_refuses_a_bad_ui_session_length(run_cli: Any, given: str, said: str) -> None:
    """`--ui-session` must be a positive duration; refused before anything is loaded."""
    done = run_cli("serve", "--ui-session", given)
    assert done.code == 2, done.stderr
    assert "--ui-session" in done.stderr
    assert said in done.stderr
