"""The platforms' secrets from the environment, their signature schemes, and the comment
parser's invariants (Hypothesis).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.errors import UsageError
from orchestrator.service.comment_commands import PREFIX, parse_comment
from orchestrator.service.integrations import (
    GITHUB_API,
    github_signature_ok,
    integrations_from_env,
    run_task_signature_ok,
)


def test_secrets_come_from_variables_or_their_files(tmp_path: Path) -> None:
    """A variable wins; else the file its _FILE variable names, stripped; unset: off."""
    key = tmp_path / "run-task.key"
    key.write_text("from-a-file\n", encoding="utf-8")
    found = integrations_from_env(
        {
            "COMMANDER_GITHUB_WEBHOOK_SECRET": "s3cret",
            "COMMANDER_RUN_TASK_HMAC_KEY_FILE": str(key),
            "COMMANDER_GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        }
    )
    assert found.github_secret == "s3cret"
    assert found.run_task_key == "from-a-file"
    assert found.github_api == "https://ghe.example.com/api/v3"
    assert found.github_token is None
    assert integrations_from_env({}).github_api == GITHUB_API


@pytest.mark.parametrize("content", [None, ""])
def test_an_unreadable_or_empty_secret_file_is_a_usage_error(
    tmp_path: Path, content: str | None
) -> None:
    """Fail at start-up, naming the variable and the file, rather than run without the secret."""
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match="COMMANDER_GITHUB_WEBHOOK_SECRET_FILE") as caught:
        integrations_from_env({"COMMANDER_GITHUB_WEBHOOK_SECRET_FILE": str(path)})
    assert str(path) in str(caught.value)


@given(secret=st.text(min_size=1), body=st.binary(), other=st.binary())
def test_a_signature_holds_for_its_body_only(secret: str, body: bytes, other: bytes) -> None:
    """Both schemes accept the platform's signature of the body and nothing signed otherwise."""
    sha256 = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    sha512 = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    assert github_signature_ok(secret, body, f"sha256={sha256}")
    assert run_task_signature_ok(secret, body, sha512)
    assert not github_signature_ok(secret, body, sha256)  # the prefix is part of the scheme
    if other != body:
        assert not github_signature_ok(secret, other, f"sha256={sha256}")
        assert not run_task_signature_ok(secret, other, sha512)


@given(st.text())
def test_any_comment_parses_without_raising(body: str) -> None:
    """Whatever people write, the parser answers (a command or None); it never raises."""
    parse_comment(body)


@given(st.lists(st.text().filter(lambda line: not line.strip().startswith(PREFIX))))
def test_a_comment_without_a_commander_line_is_talk(lines: list[str]) -> None:
    """Only a line that starts with /commander is a command."""
    body = "\n".join(lines)
    if not any(line.strip().startswith(PREFIX) for line in body.replace("\r\n", "\n").split("\n")):
        assert parse_comment(body) is None
