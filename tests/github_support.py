"""A service wired to a fake GitHub, and signed deliveries to it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.service.integrations import Integrations
from tests.databases import DIALECTS, fresh_database
from tests.platform_fakes import FakePlatform, fake_platform, github_signature
from tests.service_support import RunningService, running_service

SECRET = "webhook-secret-for-tests"
GITHUB_TOKEN = "ghs_test-installation-token"
REPO = "acme/infra"
PR = 7
CHANGE_ID = f"{REPO}#{PR}"
# An agent's submission for the pull request's change, as both webhook test modules send it.
AGENT = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json", "change_id": CHANGE_ID}
REPLIES = f"/repos/{REPO}/issues/{PR}/comments"


@dataclass
class GitHubRig:
    """The service, the fake GitHub it talks to, and a way to deliver events."""

    service: RunningService
    github: FakePlatform

    def deliver(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        delivery: str | None = None,
        secret: str | None = SECRET,
        body: bytes | None = None,
    ) -> httpx.Response:
        """POST an event as GitHub does: signed with `secret` (None: unsigned)."""
        raw = body if body is not None else json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        if secret is not None:
            headers["X-Hub-Signature-256"] = github_signature(secret, raw)
        return self.service.client.post("/v1/github/webhook", content=raw, headers=headers)


@contextmanager
def github_rig(db_url: str, folder: Path, **settings: Any) -> Iterator[GitHubRig]:
    """A service with GitHub integration pointed at a loopback fake GitHub API."""
    with fake_platform() as github:
        integrations = Integrations(
            **{
                "github_secret": SECRET,
                "github_token": GITHUB_TOKEN,
                "github_api": github.url,
                "watch_seconds": 0.1,
            }
            | settings
        )
        with running_service(db_url, folder, integrations=integrations) as service:
            yield GitHubRig(service, github)


def comment_event(body: str, login: str, *, number: int = PR, **changes: Any) -> dict[str, Any]:
    """An issue_comment `created` event on a pull request, as GitHub sends it (the parts used)."""
    event: dict[str, Any] = {
        "action": "created",
        "issue": {
            "number": number,
            "user": {"login": "octo-author", "type": "User"},  # who opened the pull request
            "pull_request": {"url": f"https://api.github.com/repos/{REPO}/pulls/{number}"},
        },
        "comment": {
            "id": 1001,
            "body": body,
            "html_url": f"https://github.com/{REPO}/pull/{number}#issuecomment-1001",
            "user": {"login": login, "type": "User"},
        },
        "repository": {"full_name": REPO},
        "sender": {"login": login, "type": "User"},
    }
    return event | changes


CALLBACK = f"/repos/{REPO}/actions/runs/4242/deployment_protection_rule"


def deployment_event(
    github_url: str, *, prs: tuple[int, ...] = (PR,), sha: str = "a" * 40
) -> dict[str, Any]:
    """A deployment_protection_rule `requested` event, as GitHub sends it (the parts used)."""
    return {
        "action": "requested",
        "environment": "production",
        "event": "pull_request",
        "sha": sha,
        "ref": "refs/heads/feature",
        "deployment_callback_url": f"{github_url}{CALLBACK}",
        "deployment": {"id": 1, "sha": sha, "ref": "feature", "environment": "production"},
        "pull_requests": [{"number": n} for n in prs],
        "repository": {"full_name": REPO},
        "installation": {"id": 5},
        "sender": {"login": "deployer", "type": "User"},
    }


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store on each dialect."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[GitHubRig]:
    """The service with GitHub's webhook secret, in front of a fake GitHub API."""
    with github_rig(db_url, tmp_path) as running:
        yield running
