"""The sign-off commands a pull-request comment can carry.

    /commander approve --role security  looked at the bucket policy
    /commander deny reason: opens the admin port to the internet
    /commander approve --role security --project network   (one Atlantis project's plan)

The first line that starts with `/commander` is the command; a comment
without one is ordinary talk and is ignored. For an approval, whatever
follows the role (and the comment's other lines) is the signature's
comment; for a denial, the text after `reason:` (required) is the reason.
`--project NAME` picks the change `OWNER/REPO#N:NAME` instead of the pull
request's own (Atlantis submits one per project when a PR has several).
Anything else after `/commander` is answered with the usage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "/commander"
USAGE = (
    "usage: `/commander approve --role ROLE [--project NAME] [comment]` or "
    "`/commander deny [--project NAME] reason: WHY` "
    "(ROLE: one of the escalation's required roles your login may sign in)"
)
_OPTION = r"--(?:role|project)(?:\s+|=)\S+"
_APPROVE = re.compile(rf"^approve(?P<options>(?:\s+{_OPTION})+)\s*(?P<rest>.*)$", re.DOTALL)
_DENY = re.compile(
    r"^deny(?:\s+--project(?:\s+|=)(?P<project>\S+))?\s+reason:\s*(?P<reason>.*)$",
    re.DOTALL | re.IGNORECASE,
)


@dataclass(frozen=True)
class Approve:
    """Sign in one role."""

    role: str
    comment: str
    project: str | None = None


@dataclass(frozen=True)
class Deny:
    """End the escalation."""

    reason: str
    project: str | None = None


@dataclass(frozen=True)
class Unclear:
    """A `/commander` line that is neither: why, for the reply."""

    problem: str


Command = Approve | Deny | Unclear


def parse_comment(body: str) -> Command | None:
    """The command in a comment's body, or None when it holds none."""
    lines = body.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped != PREFIX and not stripped.startswith(PREFIX + " "):
            continue
        words = stripped[len(PREFIX) :].strip()
        after = "\n".join(lines[index + 1 :])
        return _command(words, after)
    return None


def _command(words: str, after: str) -> Command:
    if match := _APPROVE.match(words):
        options = re.findall(r"--(role|project)(?:\s+|=)(\S+)", match["options"])
        given = dict(options)
        if len(given) != len(options):
            return Unclear("give --role and --project once each")
        if "role" not in given:
            return Unclear("an approval names its role: `/commander approve --role ROLE`")
        comment = "\n".join(part for part in (match["rest"].strip(), after.strip()) if part)
        return Approve(role=given["role"], comment=comment, project=given.get("project"))
    if match := _DENY.match(words):
        reason = "\n".join(part for part in (match["reason"].strip(), after.strip()) if part)
        if not reason:
            return Unclear("a denial needs a reason: `/commander deny reason: WHY`")
        return Deny(reason=reason, project=match["project"])
    verb = words.split(maxsplit=1)[0] if words else ""
    if verb == "approve":
        return Unclear("an approval names its role: `/commander approve --role ROLE`")
    if verb == "deny":
        return Unclear("a denial needs a reason: `/commander deny reason: WHY`")
    return Unclear(f"unknown command {verb or '(none)'!r}")
