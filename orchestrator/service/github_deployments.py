"""GitHub deployment protection rules: a deployment waits until its change's decision passes.

GitHub sends `deployment_protection_rule` (action `requested`) when a job
targets an environment whose protection rules include this service's
GitHub App, and waits for an answer on the event's `deployment_callback_url`
(`{"environment_name", "state": "approved"|"rejected", "comment"}`).

What is reviewed: the decision already recorded for the deployment's change
— each pull request the event lists (`OWNER/REPO#NUMBER`, as the workflow
submits), else the commit (`OWNER/REPO@SHA`). The deployment does not
submit a plan of its own: the plan was reviewed on the pull request. An
approve answers approved, a reject rejected; an escalation still pending
waits, and `DeploymentWatch` answers when it ends (approved-by-humans →
approved; denied, expired or cancelled → rejected), whichever path ended
it: the API, a PR comment or `commander approve` on another machine. No
decision at all is rejected (fail closed): submit the plan first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import CommanderError, UsageError
from orchestrator.service.github_auth import GitHubAuth, installation_of
from orchestrator.service.integrations import Integrations
from orchestrator.service.outbound import Unsent, call
from orchestrator.service.standing import Standing, latest_decision, standing
from orchestrator.store import Store
from orchestrator.store.deliveries import (
    DeliveryStatus,
    claim_delivery,
    finish_delivery,
    waiting_deliveries,
)

log = logging.getLogger("commander.service.github")
KIND = "deployment"


@dataclass(frozen=True)
class DeploymentRequest:
    """The parts of a deployment_protection_rule event an answer needs."""

    environment: str
    callback_url: str
    change_ids: tuple[str, ...]  # where to look for the decision, in order
    installation: int | None = None  # the GitHub App installation whose token answers


def deployment_request(payload: dict[str, Any]) -> DeploymentRequest | None:
    """The request in the event, or None when there is nothing to answer."""
    if payload.get("action") != "requested":
        return None
    repository = (payload.get("repository") or {}).get("full_name")
    url, environment = payload.get("deployment_callback_url"), payload.get("environment")
    if not (isinstance(repository, str) and isinstance(url, str) and isinstance(environment, str)):
        return None
    pulls = [pr.get("number") for pr in payload.get("pull_requests") or () if isinstance(pr, dict)]
    changes = [f"{repository}#{n}" for n in pulls if isinstance(n, int)]
    sha = payload.get("sha") or (payload.get("deployment") or {}).get("sha")
    if isinstance(sha, str) and sha:
        changes.append(f"{repository}@{sha}")
    return DeploymentRequest(environment, url, tuple(changes), installation_of(payload))


class Deployments:
    """Answers deployment protection rules from the store, now or when the gate settles."""

    def __init__(
        self, store: Store, integrations: Integrations, auth: GitHubAuth, now: Callable[[], str]
    ) -> None:
        self.store = store
        self.integrations = integrations
        self.auth = auth
        self.now = now

    def handle(self, delivery: str, request: DeploymentRequest) -> dict[str, Any]:
        """Answer at once when the decision has settled; else leave it waiting."""
        # The token goes only where GitHub's API is: never to an address a payload names.
        if not request.callback_url.startswith(self.integrations.github_api + "/"):
            raise UsageError(
                "deployment_callback_url is not on the configured GitHub API "
                f"({self.integrations.github_api}); set COMMANDER_GITHUB_API_URL"
            )
        delivery_id = f"github:{delivery}"
        earlier = claim_delivery(self.store, delivery_id, KIND, now=self.now())
        if earlier is not None:
            return {"replayed": True, "decision_id": earlier.decision_id}
        callback = {
            "url": request.callback_url,
            "environment": request.environment,
            "installation": request.installation,
        }
        decision_id = next(
            (hit for c in request.change_ids if (hit := latest_decision(self.store, c))), None
        )
        if decision_id is None:
            looked = ", ".join(request.change_ids) or "no pull request or commit"
            comment = f"commander has no decision for {looked}: submit the plan first"
            sent = self._answer(delivery_id, callback, "rejected", comment)
            return {"replayed": False, "state": "rejected", "answered": sent}
        found = standing(self.store, decision_id, now=self.now())
        if found.state == "pending":
            finish_delivery(
                self.store,
                delivery_id,
                status="waiting",
                now=self.now(),
                decision_id=decision_id,
                callback=callback,
            )
            return {"replayed": False, "decision_id": decision_id, "state": "waiting"}
        sent = self._settled(delivery_id, decision_id, callback, found)
        return {
            "replayed": False,
            "decision_id": decision_id,
            "state": found.state,
            "answered": sent,
        }

    def answer_settled(self) -> int:
        """Answer every waiting deployment whose escalation has ended; how many were answered."""
        answered = 0
        for waiting in waiting_deliveries(self.store, KIND):
            if waiting.decision_id is None or waiting.callback is None:
                continue
            found = standing(self.store, waiting.decision_id, now=self.now())
            if found.state != "pending":
                answered += self._settled(
                    waiting.delivery_id, waiting.decision_id, waiting.callback, found
                )
        return answered

    def _settled(
        self, delivery_id: str, decision_id: str, callback: dict[str, Any], found: Standing
    ) -> bool:
        state = "approved" if found.state == "passed" else "rejected"
        return self._answer(delivery_id, callback, state, found.summary, decision_id)

    def _answer(
        self,
        delivery_id: str,
        callback: dict[str, Any],
        state: str,
        comment: str,
        decision_id: str | None = None,
    ) -> bool:
        body = {"environment_name": callback["environment"], "state": state, "comment": comment}
        try:
            token = self.auth.token(callback.get("installation"))
            call("POST", callback["url"], token=token, body=body)
        except Unsent as exc:
            log.warning("could not answer deployment %s: %s", delivery_id, exc)
            # With a decision it waits, and the watch tries again; without, a redelivery does.
            status: DeliveryStatus = "waiting" if decision_id else "unanswered"
            finish_delivery(
                self.store,
                delivery_id,
                status=status,
                now=self.now(),
                decision_id=decision_id,
                callback=callback,
                answer=f"{state}: {comment}",
            )
            return False
        finish_delivery(
            self.store,
            delivery_id,
            status="answered",
            now=self.now(),
            decision_id=decision_id,
            callback=callback,
            answer=f"{state}: {comment}",
        )
        return True


class DeploymentWatch:
    """A thread that answers waiting deployments as their escalations end."""

    def __init__(self, deployments: Deployments, every: float) -> None:
        self._deployments = deployments
        self._every = every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deployment-watch", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def wake(self) -> None:
        """Look at once (a sign-off just happened here)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop, and wait for the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._deployments.answer_settled()
            except CommanderError as exc:  # the store is down: try again next time
                log.warning("deployment watch: %s", exc)
            self._wake.wait(self._every)
            self._wake.clear()
