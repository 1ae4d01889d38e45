"""User-facing errors are one line in our words naming the field, file or line (issue 16, item 7).

A table of commands run as real processes: each gives its exit code and
exactly this first line of stderr, never a pydantic URL, git's usage text
or sqlglot's class names.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.models import Finding, RiskTier, Source, Verdict
from orchestrator.store import Store
from orchestrator.yamlfile import parse_yaml
from tests.test_commander import REJECT_AI_CRITICAL, decide, proposal

CASES: dict[str, tuple[list[str], int, str]] = {
    "token-role": (
        ["token", "new", "x", "--role", "superuser"],
        2,
        "--role: 'superuser' is not a role; one of ci, approver, admin, metrics, agent",
    ),
    "token-approves": (
        ["token", "new", "x", "--role", "ci", "--approves", "security"],
        2,
        "--approves: `approves` is only for principals with the approver role",
    ),
    "verify-commit-typo": (
        ["verify-commit", "nosuchrev", "--repo", "{repo}"],
        1,
        "no commit 'nosuchrev' in {repo}",
    ),
    "verify-commit-no-repo": (
        ["verify-commit", "HEAD", "--repo", "{tmp}"],
        1,
        "{tmp} is not a git repository (verify-commit --repo names one)",
    ),
    "partial-commander-yaml": (
        ["review", "{plan}", "--config", "{cfg}"],
        1,
        "{cfg}/commander.yaml: line 1: missing required field: version; "
        "tiers: no policy for tier(s) low, medium, high, critical",
    ),
    "sql-internals": (
        ["review", "--kind", "sql", "{sql}"],
        1,
        "{sql}: no SQL statement can be reviewed: statement 1 (line 1) cannot be parsed as "
        "postgres: incomplete statement: a required part is missing (line 1, column 39)",
    ),
    "elevate-bogus-category": (
        [
            "elevate",
            "alice",
            "--categories",
            "bogus",
            "--until",
            "1h",
            "--as",
            "bob",
            "--reason",
            "r",
        ],
        2,
        "--categories: 'bogus' is not a category of this policy (known: account-iam, ",
    ),
    "db-plain-path-missing": (
        ["pending", "--db", "{tmp}/none.db"],
        1,
        "no store at {tmp}/none.db: check --db or COMMANDER_DATABASE_URL "
        "(`commander review` or `commander migrate` creates one)",
    ),
    "db-bad-port": (
        ["pending", "--db", "postgresql://u:secret@h:port/db"],
        1,
        "the audit database URL postgresql://… does not parse: use sqlite:///PATH or "
        "postgresql://USER@HOST[:PORT]/DB (--db or COMMANDER_DATABASE_URL)",
    ),
}


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    """The files the table's commands name: a git repository, a partial config, bad SQL."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    # Two fields missing: one must not hide the other.
    (cfg / "commander.yaml").write_text("tiers: {}\n", encoding="utf-8")
    sql = tmp_path / "bad.sql"
    sql.write_text("ALTER TABLE t ADD CONSTRAINT c CHECK ();\n", encoding="utf-8")
    plan = Path(__file__).resolve().parents[1] / "examples" / "iam-boundary" / "plan.json"
    # The store run_cli points at exists: verify-commit's git errors come after it is opened.
    Store.open(f"sqlite:///{tmp_path / 'audit.db'}").close()
    return {
        "repo": str(repo),
        "cfg": str(cfg),
        "sql": str(sql),
        "tmp": str(tmp_path),
        "plan": str(plan),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_error_is_one_line_in_our_words(
    run_cli: Any, places: dict[str, str], case: str
) -> None:
    """The command exits with its code and exactly this one line, naming what to fix."""
    args, code, first = CASES[case]
    result = run_cli(*(a.format(**places) for a in args))
    assert result.code == code, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.splitlines()[0]
    assert line.startswith("commander: error: " + first.format(**places)), line
    for internal in ("pydantic", "sqlglot", "<class", "usage:", "git <command>", ":secret@"):
        assert internal not in line


def test_a_partial_commander_yaml_names_every_missing_field(tmp_path: Path) -> None:
    """ "version: Field required (and 1 more)" hid the second field: both are named now."""
    from orchestrator.config import load_config

    (tmp_path / "commander.yaml").write_text("max_input_bytes: 10\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"line 1: missing required fields: version, tiers$"):
        load_config(tmp_path)
    assert parse_yaml("a: 1\n", "x") == {"a": 1}


def test_serve_without_its_extra_exits_1_like_other_missing_extras(tmp_path: Path) -> None:
    """No uvicorn: exit 1 (a missing extra, as for Ray or psycopg), not 2 (usage)."""
    code = (
        "import sys; sys.modules['uvicorn'] = None; "
        "sys.argv = ['commander', 'serve', '--tokens', 't.yaml']; "
        "from orchestrator.entry import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        "commander: error: serve needs the service extra (uvicorn missing): "
        "pip install 'commander[service]'\n"
    )


def test_a_rejection_never_asks_for_sign_off() -> None:
    """REJECT is final: its why-list keeps what was found but drops requests for sign-off."""
    policy_ask = Finding(
        rule="policy.require-approval",
        message="IAM in production",
        evidence={"required_roles": ["security"]},
    )
    verdicts = [
        Verdict(
            reviewer="scope",
            stance="concern",
            risk_tier=RiskTier.CRITICAL,
            confidence=1.0,
            findings=(policy_ask,),
            rationale="critical",
        )
    ]
    decision = decide(verdicts, prop=proposal(Source.AI_AGENT), policy=REJECT_AI_CRITICAL)
    assert decision.outcome == "reject"
    assert decision.rationale[0] == "Critical changes from AI agents are rejected by policy."
    assert "scope (policy.require-approval): IAM in production" in decision.rationale
    assert not [line for line in decision.rationale if "sign-off" in line or "sign off" in line]
    assert "tier-critical" in decision.rules_fired  # still recorded as having fired


@pytest.mark.parametrize(
    ("count", "touches"), [(1, "1 change touches iam"), (2, "2 changes touch iam")]
)
def test_counts_agree_with_their_verbs(count: int, touches: str) -> None:
    """ "1 change touch iam" read wrong: one change touches, two touch."""
    from orchestrator.catalog import ResourceCatalog
    from orchestrator.models import Action, Environment, Proposal, ResourceChange
    from reviewers.scope.findings import Hits, category_finding

    changes = tuple(
        ResourceChange(address=f"aws_iam_role.r{i}", type="aws_iam_role", action="update")
        for i in range(count)
    )
    prop = Proposal(
        kind="terraform",
        source=Source.HUMAN,
        actor="a",
        intent="",
        environment=Environment.PRODUCTION,
        environment_name="production",
        changes=changes,
    )
    hits = Hits()
    hits.add("aws_iam_role", Action.UPDATE, ["iam"], [c.address for c in changes])
    found = category_finding("iam", RiskTier.HIGH, hits, prop, ResourceCatalog.load_default())
    assert found.message.startswith(touches + ":")


@pytest.mark.parametrize(
    "raised",
    [
        ValueError("Required keyword: 'this' missing for <class 'sqlglot.expressions.core.Paren'>"),
        ValueError("Expecting ). sqlglot.errors.ParseError at 1:2"),
    ],
)
def test_sqlglot_internals_never_reach_the_message(raised: Exception) -> None:
    """An error without sqlglot's structured list is reworded too, not shown with class names."""
    from orchestrator.analysis.sql_read import parse_error

    assert parse_error(raised) == "incomplete statement: a required part is missing"
