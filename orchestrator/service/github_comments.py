"""Sign-off from a pull-request comment: `/commander approve --role R`, `/commander deny reason: …`.

Which escalation: the one of the change's latest submission, where the
change is the pull request, `OWNER/REPO#NUMBER` (the `change_id` the
GitHub Actions workflow submits with; docs/ci.md). Only the latest
submission can be signed anyway (an older plan is stale), so a comment
never needs to name a decision id.

Who: the comment's author, by GitHub login, mapped to a principal of the
tokens file (`github: LOGIN`). The principal must hold the approver role
and list the gate role in `approves`, exactly as for `POST
/v1/escalations/{id}/approve`; the gate's own rules (no self-approval, no
stale plan, gate.approvers) then apply through the same store functions.

The answer is a reply on the pull request. Each delivery acts once: a
redelivery finds its row and, unless the reply could not be sent the first
time, does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import CommanderError, StoreError
from orchestrator.service.auth import Permission, Principal, refuse_own_change
from orchestrator.service.comment_commands import USAGE, Approve, Command, Deny, parse_comment
from orchestrator.service.github_auth import installation_of
from orchestrator.service.outbound import Unsent, call
from orchestrator.service.standing import latest_decision
from orchestrator.service.state import ServiceState
from orchestrator.store import governance
from orchestrator.store.deliveries import claim_delivery, finish_delivery, release_delivery

log = logging.getLogger("commander.service.github")


@dataclass(frozen=True)
class PullComment:
    """The parts of an issue_comment event a sign-off needs."""

    repository: str  # OWNER/REPO
    number: int
    login: str
    author: str  # who opened the pull request
    url: str
    command: Command
    installation: int | None = None  # the GitHub App installation that sent it

    @property
    def change_id(self) -> str:
        """The change this pull request is, as the workflow submits it (or one project's)."""
        pull = f"{self.repository}#{self.number}"
        project = getattr(self.command, "project", None)
        return pull if project is None else f"{pull}:{project}"


def pull_comment(payload: dict[str, Any]) -> PullComment | None:
    """The sign-off command in a new PR comment by a person, or None to ignore the event."""
    issue, comment = payload.get("issue") or {}, payload.get("comment") or {}
    user = comment.get("user") or {}
    if payload.get("action") != "created" or "pull_request" not in issue:
        return None
    # Bots (this service's own replies among them) sign nothing.
    if user.get("type") == "Bot" or not isinstance(comment.get("body"), str):
        return None
    command = parse_comment(comment["body"])
    repository = (payload.get("repository") or {}).get("full_name")
    number = issue.get("number")
    if command is None or not isinstance(repository, str) or not isinstance(number, int):
        return None
    return PullComment(
        repository=repository,
        number=number,
        login=str(user.get("login", "")),
        author=str((issue.get("user") or {}).get("login", "")),
        url=str(comment.get("html_url", "")),
        command=command,
        installation=installation_of(payload),
    )


def handle_comment(state: ServiceState, delivery: str, found: PullComment) -> dict[str, Any]:
    """Act on the command once per delivery and reply on the pull request."""
    delivery_id = f"github:{delivery}"
    earlier = claim_delivery(state.store, delivery_id, "issue_comment", now=state.now())
    if earlier is not None:
        if earlier.status == "unanswered" and earlier.answer is not None:
            _reply(state, delivery_id, found, earlier.answer)
        return {"replayed": True, "decision_id": earlier.decision_id}
    try:
        decision_id, text = _act(state, found)
    except StoreError:
        release_delivery(state.store, delivery_id)  # nothing was done: a redelivery may retry
        raise
    finish_delivery(
        state.store, delivery_id, status="received", now=state.now(), decision_id=decision_id
    )
    sent = _reply(state, delivery_id, found, text)
    return {"replayed": False, "decision_id": decision_id, "reply": text, "replied": sent}


def _act(state: ServiceState, found: PullComment) -> tuple[str | None, str]:
    """Sign or deny as the login's principal; the reply's text either way."""
    who = f"@{found.login}"
    command = found.command
    if not isinstance(command, Approve | Deny):
        return None, f"{who}: {command.problem}. {USAGE}"
    principal = state.auth.github_principal(found.login)
    if principal is None or not principal.may(Permission.SIGN):
        return None, (
            f"{who} is not an approver for commander: an admin adds `github: {found.login}` "
            "to an approver in the service's tokens file"
        )
    decision_id = latest_decision(state.store, found.change_id)
    if decision_id is None:
        return None, (
            f"{who}: commander has no decision for {found.change_id} to sign "
            "(a change submitted per project is signed with `--project NAME`)"
        )
    try:
        if isinstance(command, Approve):
            return decision_id, _approve(state, principal, decision_id, command, found)
        done = governance.deny(
            state.store,
            decision_id,
            name=principal.name,
            reason=command.reason,
            identities=state.identities,
            now=state.now(),
        )
    except StoreError:
        raise
    except CommanderError as refused:
        return decision_id, f"{who}: refused for `{decision_id[:13]}`: {refused}"
    return done.decision_id, f"{who} ({principal.name}) denied `{decision_id[:13]}`: " + (
        command.reason
    )


def _approve(
    state: ServiceState,
    principal: Principal,
    decision_id: str,
    command: Approve,
    found: PullComment,
) -> str:
    who = f"@{found.login}"
    listed = {role.casefold(): role for role in principal.approves}
    role = listed.get(command.role.casefold())
    if role is None:
        roles = ", ".join(principal.approves) or "no gate roles"
        return f"{who} may not sign as {command.role!r}; the tokens file lists {roles}"
    esc = governance.find_escalation(state.store, decision_id, now=state.now())
    refuse_own_change(principal, esc.actor, esc.submitter, found.author)
    comment = " ".join(part for part in (command.comment, f"(GitHub: {found.url})") if part)
    result = governance.approve(
        state.store,
        decision_id,
        name=principal.name,
        role=role,
        comment=comment,
        identities=state.identities,
        now=state.now(),
    )
    short = decision_id[:13]
    if result.completed:
        return f"{who} ({principal.name}) signed `{short}` as {role}: approved-by-humans"
    missing = ", ".join(result.escalation.missing_roles)
    return f"{who} ({principal.name}) signed `{short}` as {role}; still missing: {missing}"


def _reply(state: ServiceState, delivery_id: str, found: PullComment, text: str) -> bool:
    """Post `text` on the pull request; record it as answered, or as owed when it failed."""
    api = state.integrations.github_api
    url = f"{api}/repos/{found.repository}/issues/{found.number}/comments"
    body = f"**commander**: {text}"
    try:
        token = state.github_auth.token(found.installation)
        call("POST", url, token=token, body={"body": body})
    except Unsent as exc:
        log.warning("could not reply on %s: %s", found.change_id, exc)
        finish_delivery(state.store, delivery_id, status="unanswered", now=state.now(), answer=text)
        return False
    finish_delivery(state.store, delivery_id, status="answered", now=state.now(), answer=text)
    return True
