"""Git commit trailers that carry a decision, and the check of a commit against the store.

`commander trailer ID` prints, in the `Key: value` form `git interpret-trailers`
parses::

    Change-Review-Id: 0196f3c2-…
    Change-Review-Decision: approved-by-humans
    Change-Review-Risk-Tier: high
    Change-Review-Digest: sha256:…
    Approved-by: Alice Doe <senior-engineer>

one `Approved-by: NAME <ROLE>` per signer, in signing order. The decision is
the final state: `approve` (no human needed) or `approved-by-humans`; other
states (escalate while pending, reject, denied, expired, cancelled) get no
trailers. `verify-commit` reads a commit's trailers with git and checks each
against the store: a commit can only claim what the audit record says.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import UserError
from orchestrator.models import Decision, Frozen

if TYPE_CHECKING:
    from orchestrator.store import Store
    from orchestrator.store.governance import Escalation

ID_KEY = "Change-Review-Id"
DECISION_KEY = "Change-Review-Decision"
TIER_KEY = "Change-Review-Risk-Tier"
DIGEST_KEY = "Change-Review-Digest"
APPROVED_BY_KEY = "Approved-by"
SINGLE_KEYS = (ID_KEY, DECISION_KEY, TIER_KEY, DIGEST_KEY)
APPROVED_STATES = frozenset({"approve", "approved-by-humans"})
_SIGNER = re.compile(r"(?P<name>[^<>\n]*[^<>\s])\s+<(?P<role>[^<>\s]+)>")
_GIT_TIMEOUT_SECONDS = 30


class Signer(Frozen):
    """One person who signed the decision off, in one role."""

    name: str
    role: str

    def trailer_value(self) -> str:
        """`NAME <ROLE>`, the value of one Approved-by trailer."""
        return f"{self.name} <{self.role}>"


class TrailerSet(Frozen):
    """What a commit claims about the review of its change."""

    decision_id: str
    decision: str
    risk_tier: str
    digest: str
    approved_by: tuple[Signer, ...] = ()

    def lines(self) -> list[str]:
        """The trailer lines, in the documented order."""
        return [
            f"{ID_KEY}: {self.decision_id}",
            f"{DECISION_KEY}: {self.decision}",
            f"{TIER_KEY}: {self.risk_tier}",
            f"{DIGEST_KEY}: {self.digest}",
            *(f"{APPROVED_BY_KEY}: {s.trailer_value()}" for s in self.approved_by),
        ]


def final_state(decision: Decision, escalation: Escalation | None) -> str:
    """Where the decision ended: its outcome, or for an escalation what humans made of it."""
    if decision.outcome != "escalate" or escalation is None or escalation.status == "pending":
        return decision.outcome
    return escalation.status


def signers(escalation: Escalation | None) -> tuple[Signer, ...]:
    """Who signed an escalation off, in signing order."""
    if escalation is None:
        return ()
    return tuple(Signer(name=a.name, role=a.role) for a in escalation.approvals)


def trailers_for(decision: Decision, escalation: Escalation | None) -> TrailerSet:
    """The trailers of an approved decision; refuses one that was not approved."""
    state = final_state(decision, escalation)
    if state not in APPROVED_STATES:
        raise UserError(
            f"decision {decision.decision_id} is {state}, not approved: "
            "a commit cannot carry it as a review"
        )
    signed = signers(escalation) if state == "approved-by-humans" else ()
    for signer in signed:
        if _SIGNER.fullmatch(signer.trailer_value()) is None:
            raise UserError(
                f"approver name {signer.name!r} cannot be written as a trailer "
                "(it holds '<', '>' or a line break)"
            )
    return TrailerSet(
        decision_id=decision.decision_id,
        decision=state,
        risk_tier=decision.risk_tier.value,
        digest=decision.proposal_digest,
        approved_by=signed,
    )


def parse_trailer_lines(lines: Iterable[str]) -> list[tuple[str, str]]:
    """`Key: value` lines, as `git interpret-trailers --parse` prints them, as pairs."""
    pairs = []
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def claimed(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """The review trailers of a commit by key (case as git treats it: ignored), and problems."""
    found: dict[str, list[str]] = {}
    canonical = {k.lower(): k for k in (*SINGLE_KEYS, APPROVED_BY_KEY)}
    for key, value in pairs:
        name = canonical.get(key.lower())
        if name is not None:
            found.setdefault(name, []).append(value)
    problems = []
    for key in SINGLE_KEYS:
        values = found.get(key, [])
        if not values:
            problems.append(f"no {key} trailer")
        elif len(values) > 1:
            problems.append(f"{len(values)} {key} trailers; a commit carries one review")
    return found, problems


def check(
    found: dict[str, list[str]], decision: Decision | None, escalation: Escalation | None
) -> list[str]:
    """Every way the commit's claims differ from the recorded decision (none: verified)."""
    ident = found[ID_KEY][0]
    if decision is None:
        return [f"decision {ident} is not in the audit store: forged, or from another store"]
    problems = []
    state = final_state(decision, escalation)
    expected = {
        DECISION_KEY: state,
        TIER_KEY: decision.risk_tier.value,
        DIGEST_KEY: decision.proposal_digest,
    }
    for key, value in expected.items():
        if found[key][0] != value:
            problems.append(f"{key} says {found[key][0]!r}, the store says {value!r}")
    if state not in APPROVED_STATES:
        problems.append(f"decision {ident} is {state}, not approved")
    signed = signers(escalation) if state == "approved-by-humans" else ()
    recorded = Counter(_spaced(s.trailer_value()) for s in signed)
    claims = Counter(_spaced(v) for v in found.get(APPROVED_BY_KEY, []))
    problems += [f"Approved-by {v!r} is not an approval in the store" for v in claims - recorded]
    problems += [f"approval by {v!r} is missing from the trailers" for v in recorded - claims]
    return problems


class CommitCheck(Frozen):
    """What verify-commit found: the commit, the decision it names, and every problem."""

    commit: str
    decision_id: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every claim of the commit is backed by the store."""
        return not self.problems


def verify_commit(store: Store, rev: str, repo: Path) -> CommitCheck:
    """Read commit `rev`'s trailers with git and check each against the store."""
    from orchestrator.store import DecisionNotFound  # noqa: PLC0415 - SQLAlchemy only here

    commit, pairs = commit_trailers(rev, repo)
    found, problems = claimed(pairs)
    ids = found.get(ID_KEY, [])
    ident = ids[0] if ids else None
    if not problems and ident is not None:
        try:
            decision: Decision | None = store.get(ident).decision
        except DecisionNotFound:
            decision = None
        problems = check(found, decision, _escalation_of(store, decision))
    return CommitCheck(commit=commit, decision_id=ident, problems=tuple(problems))


def escalation_for(store: Store, decision: Decision) -> Escalation | None:
    """The escalation of an escalated decision, as its chain events vouch (None for any other)."""
    from orchestrator.store.vouch import vouched_escalation  # noqa: PLC0415 - SQLAlchemy

    if decision.outcome != "escalate":
        return None
    return vouched_escalation(store, decision.decision_id)


def _escalation_of(store: Store, decision: Decision | None) -> Escalation | None:
    return None if decision is None else escalation_for(store, decision)


def _spaced(value: str) -> str:
    """Runs of white space as one space: git may refold a long trailer."""
    return " ".join(value.split())


def commit_trailers(rev: str, repo: Path) -> tuple[str, list[tuple[str, str]]]:
    """The full hash of commit `rev` in `repo` and its trailers, as git parses them."""
    if not rev or rev.startswith("-"):
        raise UserError(f"not a revision: {rev!r}")
    # Asked first so that a typo is "no commit", not git's usage text for an ambiguous argument.
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", what=rev)
    except UserError as exc:
        if "not a git repository" in str(exc) or "cannot run git" in str(exc):
            raise
        raise UserError(f"no commit {rev!r} in {repo}") from None
    message = _git(repo, "log", "-1", "--format=%H%n%B", "--end-of-options", rev, what=rev)
    commit, _, body = message.partition("\n")
    parsed = _git(repo, "interpret-trailers", "--parse", what=rev, stdin=body)
    return commit.strip(), parse_trailer_lines(parsed.splitlines())


def _git(repo: Path, *args: str, what: str, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed git argv; the revision is after --end-of-options
            ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, as the user runs it
            input=stdin,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"cannot run git in {repo}: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        # git's own reason is its `fatal:` line; what follows it is usage advice.
        fatal = [line.removeprefix("fatal: ") for line in lines if line.startswith("fatal: ")]
        reason = (fatal or lines or ["git failed"])[0]
        if "not a git repository" in reason:
            raise UserError(f"{repo} is not a git repository (verify-commit --repo names one)")
        raise UserError(f"git cannot read commit {what!r} in {repo}: {reason}")
    return done.stdout
