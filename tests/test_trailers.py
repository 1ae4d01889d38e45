"""Commit trailers: printed by `commander trailer`, carried by a real `git commit`, checked back.

Decisions go through the real review path and the real gate (approve/deny) into
a SQLite file; commits are made with real git in a temporary repository; the
CLI runs as a real process.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import UserError
from orchestrator.models import Decision
from orchestrator.store import Store
from orchestrator.store.governance import Identities, approve, deny, get_escalation
from orchestrator.trailers import (
    TrailerSet,
    claimed,
    escalation_for,
    parse_trailer_lines,
    trailers_for,
    verify_commit,
)
from tests.gate_support import wall
from tests.test_backtest import _noop_plan
from tests.test_replay import review


@dataclass(frozen=True)
class Recorded:
    """The decisions the trailer tests commit against."""

    db: str
    approved: Decision  # escalated, every role signed
    pending: Decision  # escalated, one role of three signed
    denied: Decision
    plain: Decision  # approved without humans


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """Four decisions in four final states, recorded once for the module."""
    folder = tmp_path_factory.mktemp("trailers")
    db = f"sqlite:///{folder / 'audit.db'}"
    approved, pending, denied = (review(db, actor=f"agent-{i}") for i in range(3))
    plain = review(db, _noop_plan(folder, "quiet"), actor="coding-agent")
    people = Identities()
    with Store.open(db) as store:
        for name, role in (
            ("Alice Doe", "senior-engineer"),
            ("Carol", "security"),
            ("Dan", "change-board"),
        ):
            approve(
                store,
                approved.decision_id,
                name=name,
                role=role,
                comment="ok",
                identities=people,
                now=wall(),
            )
        approve(
            store,
            pending.decision_id,
            name="Alice Doe",
            role="senior-engineer",
            identities=people,
            now=wall(),
        )
        deny(
            store,
            denied.decision_id,
            name="Erin",
            reason="no rollback plan",
            identities=people,
            now=wall(),
        )
    return Recorded(db=db, approved=approved, pending=pending, denied=denied, plain=plain)


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    """Run git in `repo` as a committer with a fixed identity; return its output."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, text=True, env=env,
        check=True,
    )  # fmt: skip
    return done.stdout


@pytest.fixture
def commit(tmp_path: Path) -> Callable[[str], Path]:
    """Commit a message to a fresh repository; return the repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")

    def make(message: str) -> Path:
        (repo / "main.tf").write_text(message, encoding="utf-8")
        git(repo, "add", "main.tf")
        git(repo, "commit", "-q", "-F", "-", stdin=message)
        return repo

    return make


def message(trailers: str) -> str:
    """A commit message with a subject, a body, then the trailer block."""
    return f"Tighten the permission boundary\n\nAs reviewed; see the trailers.\n\n{trailers}"


def trailer_text(run_cli: Any, db: str, decision: Decision) -> str:
    """What `commander trailer` prints for a decision."""
    result = run_cli("trailer", decision.decision_id[:13], "--db", db)
    assert result.code == 0, result.stderr
    return result.stdout


def test_trailers_round_trip_through_a_real_commit(
    recorded: Recorded, run_cli: Any, commit: Callable[[str], Path]
) -> None:
    """git parses every printed trailer back unchanged, and verify-commit accepts the commit."""
    printed = trailer_text(run_cli, recorded.db, recorded.approved)
    repo = commit(message(printed))

    body = git(repo, "log", "-1", "--format=%B")
    parsed = git(repo, "interpret-trailers", "--parse", stdin=body)
    signers = git(repo, "log", "-1", "--format=%(trailers:key=Approved-by,valueonly)")
    verified = run_cli("verify-commit", "HEAD", "--repo", str(repo), "--db", recorded.db)

    assert parsed.splitlines() == printed.splitlines()
    assert printed.splitlines() == [
        f"Change-Review-Id: {recorded.approved.decision_id}",
        "Change-Review-Decision: approved-by-humans",
        "Change-Review-Risk-Tier: critical",
        f"Change-Review-Digest: {recorded.approved.proposal_digest}",
        "Approved-by: Alice Doe <senior-engineer>",
        "Approved-by: Carol <security>",
        "Approved-by: Dan <change-board>",
    ]
    assert signers.split("\n")[:3] == [
        "Alice Doe <senior-engineer>",
        "Carol <security>",
        "Dan <change-board>",
    ]
    assert verified.code == 0, verified.stdout + verified.stderr
    assert f"verified against decision {recorded.approved.decision_id}" in verified.stdout


def test_a_change_approved_without_humans_has_no_signers(
    recorded: Recorded, run_cli: Any, commit: Callable[[str], Path]
) -> None:
    """An approve decision carries its four trailers and verifies; claiming a signer fails."""
    printed = trailer_text(run_cli, recorded.db, recorded.plain)
    assert "Change-Review-Decision: approve\n" in printed
    assert "Approved-by" not in printed
    repo = commit(message(printed))
    assert run_cli("verify-commit", "HEAD", "--repo", str(repo), "--db", recorded.db).code == 0

    commit(message(printed + "Approved-by: Alice Doe <senior-engineer>\n"))
    forged = run_cli("verify-commit", "HEAD", "--repo", str(repo), "--db", recorded.db)
    assert forged.code == 1
    assert "'Alice Doe <senior-engineer>' is not an approval in the store" in forged.stdout


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


FORGERIES: list[tuple[str, Callable[[str, Recorded], str], str]] = [
    (
        "unknown decision",
        lambda t, r: _replace(t, r.approved.decision_id, "01a1fcb9-0000-7000-8000-000000000000"),
        "is not in the audit store: forged, or from another store",
    ),
    (
        "digest of another plan",
        lambda t, r: _replace(t, r.approved.proposal_digest, "sha256:" + "ab" * 32),
        "Change-Review-Digest says 'sha256:abab",
    ),
    (
        "tier lowered",
        lambda t, r: _replace(t, "Risk-Tier: critical", "Risk-Tier: low"),
        "Change-Review-Risk-Tier says 'low', the store says 'critical'",
    ),
    (
        "extra signer",
        lambda t, r: t + "Approved-by: Mallory <team-lead>\n",
        "Approved-by 'Mallory <team-lead>' is not an approval in the store",
    ),
    (
        "signer dropped",
        lambda t, r: _replace(t, "Approved-by: Carol <security>\n", ""),
        "approval by 'Carol <security>' is missing from the trailers",
    ),
    (
        "role swapped",
        lambda t, r: _replace(t, "Carol <security>", "Carol <change-board>"),
        "Approved-by 'Carol <change-board>' is not an approval in the store",
    ),
    (
        "pending decision claimed as approved",
        lambda t, r: _replace(
            _replace(t, r.approved.decision_id, r.pending.decision_id),
            r.approved.proposal_digest,
            r.pending.proposal_digest,
        ),
        "is escalate, not approved",
    ),
    (
        "denied decision claimed as approved",
        lambda t, r: _replace(
            _replace(t, r.approved.decision_id, r.denied.decision_id),
            r.approved.proposal_digest,
            r.denied.proposal_digest,
        ),
        "Change-Review-Decision says 'approved-by-humans', the store says 'denied'",
    ),
    (
        "two decisions",
        lambda t, r: t + f"Change-Review-Id: {r.plain.decision_id}\n",
        "2 Change-Review-Id trailers; a commit carries one review",
    ),
    ("no trailers", lambda t, r: "", "no Change-Review-Id trailer"),
]


@pytest.mark.parametrize(("case", "forge", "problem"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_forged_trailers_fail_verification(
    recorded: Recorded,
    commit: Callable[[str], Path],
    case: str,
    forge: Callable[[str, Recorded], str],
    problem: str,
) -> None:
    """Any claim the store does not back fails the check of the commit, which says which."""
    with Store.open(recorded.db) as store:
        approved = recorded.approved
        genuine = trailers_for(approved, escalation_for(store, approved)).lines()
        repo = commit(message(forge("\n".join(genuine) + "\n", recorded)))
        found = verify_commit(store, "HEAD", repo)

    assert not found.ok, case
    assert any(problem in p for p in found.problems), found.problems


@pytest.mark.parametrize("state", ["pending", "denied"])
def test_no_trailers_for_a_decision_that_was_not_approved(
    recorded: Recorded, run_cli: Any, state: str
) -> None:
    """`commander trailer` refuses decisions humans have not signed off."""
    decision: Decision = getattr(recorded, state)
    result = run_cli("trailer", decision.decision_id, "--db", recorded.db)
    assert result.code == 1
    expected = "escalate" if state == "pending" else "denied"
    assert f"is {expected}, not approved" in result.stderr


def test_verify_commit_on_a_revision_git_does_not_know(
    recorded: Recorded, run_cli: Any, commit: Callable[[str], Path]
) -> None:
    """An unknown revision is a one-line error naming it, exit 1."""
    repo = commit("first\n")
    result = run_cli("verify-commit", "no-such-branch", "--repo", str(repo), "--db", recorded.db)
    assert result.code == 1
    assert result.stderr == f"commander: error: no commit 'no-such-branch' in {repo}\n"
    assert "Traceback" not in result.stderr


def test_signer_names_that_would_break_the_format_are_refused(recorded: Recorded) -> None:
    """A name with angle brackets cannot be written as `NAME <ROLE>`, so no trailer is printed."""
    with Store.open(recorded.db) as store:
        escalation = get_escalation(store, recorded.approved.decision_id)
    assert escalation is not None
    odd = escalation.approvals[0].model_copy(update={"name": "Eve <admin>"})
    broken = escalation.model_copy(update={"approvals": (odd, *escalation.approvals[1:])})
    with pytest.raises(UserError, match="cannot be written as a trailer"):
        trailers_for(recorded.approved, broken)


def test_trailer_keys_are_matched_as_git_matches_them() -> None:
    """Keys are case-insensitive and values keep their inner text."""
    pairs = parse_trailer_lines(
        ["change-review-id: x", "CHANGE-REVIEW-DECISION: approve", "Not a trailer", "Other: y"]
    )
    found, problems = claimed(pairs)
    assert found["Change-Review-Id"] == ["x"]
    assert found["Change-Review-Decision"] == ["approve"]
    assert problems == ["no Change-Review-Risk-Tier trailer", "no Change-Review-Digest trailer"]
    assert (
        TrailerSet(decision_id="x", decision="approve", risk_tier="low", digest="d").lines()[0]
        == "Change-Review-Id: x"
    )
