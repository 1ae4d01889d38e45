"""A service with a small story in its record, for the web view's tests (HTTP and browser).

One IAM boundary change by an AI agent (escalated, critical, with dissent:
reversibility approves against the majority), signed by alice and bob and
still waiting for the change board; a plan holding a database password;
a no-op plan approved on its own; and an incident linked to the IAM change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from orchestrator.store.incidents import link_incident
from orchestrator.testing import plan_document, prior_resource, resource_change
from tests.service_support import IAM_PLAN, RunningService, running_service, token_of

SECRET = "hunter2-Zq9vX7-never-show-me"
INCIDENT = "INC-2041"


@dataclass(frozen=True)
class Story:
    """The running service and the ids of what it recorded."""

    service: RunningService
    iam: str
    secret: str
    noop: str


def secret_plan() -> bytes:
    """A database whose password changes: the value is masked before anything is stored."""
    before = {"identifier": "orders", "password": "old-" + SECRET}
    after = {"identifier": "orders", "password": SECRET}
    address = "aws_db_instance.orders"
    doc = plan_document(
        [resource_change(address, ["update"], before=before, after=after)],
        prior=[prior_resource(address, before)],
    )
    return json.dumps(doc).encode()


def noop_plan() -> bytes:
    """A plan that changes nothing."""
    values = {"bucket": "logs"}
    address = "aws_s3_bucket.logs"
    doc = plan_document(
        [resource_change(address, ["no-op"], before=values, after=values)],
        prior=[prior_resource(address, values)],
    )
    return json.dumps(doc).encode()


@contextmanager
def story(database_url: str, folder: Path) -> Iterator[Story]:
    """Start the service and record the story in it."""
    with running_service(database_url, folder) as service:
        agent = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json"}
        iam = service.submit(IAM_PLAN.read_bytes(), **agent).json()["decision_id"]
        for who, role in (("alice", "senior-engineer"), ("bob", "security")):
            signed = service.client.post(
                f"/v1/escalations/{iam}/approve",
                json={"role": role, "comment": "checked"},
                headers=service.as_(who),
            )
            assert signed.status_code == 200, signed.text
        secret = service.submit(
            secret_plan(), actor="dba-bot", source="automation", name="db.json"
        ).json()["decision_id"]
        noop = service.submit(noop_plan(), actor="alice", name="logs.json").json()["decision_id"]
        link_incident(service.state.store, INCIDENT, iam, linked_by="root", note="lost admin")
        yield Story(service, iam, secret, noop)


def log_in(client: httpx.Client, name: str = "alice") -> httpx.Response:
    """Log in through the form as `name`; the client keeps the session cookie."""
    client.get("/ui/login")
    csrf = client.cookies.get("commander_csrf", path="/ui/login")
    return client.post("/ui/login", data={"token": token_of(name), "csrf": csrf, "next": "/ui/"})
