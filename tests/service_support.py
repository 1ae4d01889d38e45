"""A real commander service for tests: uvicorn on a loopback port, on SQLite or PostgreSQL.

The app is built exactly as `commander serve` builds it; uvicorn runs it in
a thread of the test process, so a test can reach into the app's state (to
add a misbehaving reviewer) while every request still crosses a real socket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from fastapi import FastAPI

from orchestrator.service.app import create_app
from orchestrator.service.auth import hash_token
from orchestrator.service.state import ServiceOptions, ServiceState
from orchestrator.settings import Settings

REPO = Path(__file__).resolve().parent.parent
IAM_PLAN = REPO / "examples" / "iam-boundary" / "plan.json"
IAM_TOPOLOGY = REPO / "examples" / "iam-boundary" / "topology.yaml"

# name: (roles, gate roles they approve in)
PRINCIPALS: dict[str, tuple[list[str], list[str]]] = {
    "ci-bot": (["ci"], []),
    "alice": (["approver"], ["senior-engineer", "security", "change-board"]),
    "bob": (["approver"], ["security"]),
    "carol": (["approver"], ["change-board"]),
    "root": (["admin"], []),
    "scraper": (["metrics"], []),
    "claude": (["agent"], []),  # an agent's token: the guard route and nothing else
    # submits and approves: the gate must still stop her approving her own submission
    "dana": (["ci", "approver"], ["security"]),
    # an approver's token listing no gate role: signs nothing, and so denies nothing
    "erin": (["approver"], []),
}

# Approvers' GitHub logins (the `github:` field): PR comments sign as the principal.
GITHUB_LOGINS = {"alice": "alice-gh", "bob": "bob-gh", "carol": "carol-gh", "root": "root-gh"}


def token_of(name: str) -> str:
    """Each principal's token: fixed per name, so failures are easy to read."""
    return f"cmdr_test-token-of-{name}"


@dataclass
class RunningService:
    """A service on a loopback port, and a client for it."""

    url: str
    app: FastAPI
    state: ServiceState
    client: httpx.Client

    def as_(self, name: str | None) -> dict[str, str]:
        """Headers authenticating as `name` (None: no token)."""
        return {} if name is None else {"Authorization": f"Bearer {token_of(name)}"}

    def submit(self, body: bytes, who: str = "ci-bot", **params: Any) -> httpx.Response:
        """POST a body to /v1/reviews as `who`."""
        return self.client.post("/v1/reviews", content=body, params=params, headers=self.as_(who))


def write_tokens(path: Path) -> Path:
    """A tokens file for PRINCIPALS, holding only hashes."""
    entries = []
    for name, (roles, approves) in PRINCIPALS.items():
        entry: dict[str, Any] = {
            "name": name,
            "roles": roles,
            "token_sha256": hash_token(token_of(name)),
        }
        if approves:
            entry["approves"] = approves
        if name in GITHUB_LOGINS:
            entry["github"] = GITHUB_LOGINS[name]
        entries.append(entry)
    path.write_text(yaml.safe_dump({"principals": entries}), encoding="utf-8")
    return path


@contextmanager
def running_service(
    database_url: str,
    folder: Path,
    *,
    config_dir: Path | None = None,
    max_body_bytes: int | None = None,
    ray_address: str | None = None,
    tokens: Path | None = None,
    **options: Any,
) -> Iterator[RunningService]:
    """Start the service on a free loopback port (on Ray when given its address); stop it after.

    `tokens` is a tokens file of the test's own (default: PRINCIPALS'); `options` are further
    ServiceOptions (a checkpoint key and schedule).
    """
    settings = Settings(
        database_url=database_url,
        config_dir=config_dir,
        topology=IAM_TOPOLOGY,
        ray_address=ray_address,
    )
    options = ServiceOptions(
        settings=settings,
        tokens=tokens or write_tokens(folder / "tokens.yaml"),
        executor="local" if ray_address is None else "ray",
        max_body_bytes=max_body_bytes,
        **options,
    )
    app = create_app(options)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="commander-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            yield RunningService(url=url, app=app, state=app.state.commander, client=client)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
