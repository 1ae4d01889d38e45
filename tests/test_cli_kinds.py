"""End to end through the real `commander` process: diffs, SQL migrations and manifests.

Every input here is a fixture written from a realistic case (tests/fixtures/diff,
sql, kubernetes; the diffs were made with real git) or a real manifest of the
shared corpus. The exit code, the decision JSON and the findings must agree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission
from orchestrator.models import Source
from orchestrator.render import render
from orchestrator.review import ReviewRequest, run_review
from orchestrator.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
DIFF, SQL, K8S = FIXTURES / "diff", FIXTURES / "sql", FIXTURES / "kubernetes"
EXIT = {"approve": 0, "escalate": 3, "reject": 4}


def review(
    run_cli: Any, path: Path | str, *args: str, stdin: bytes | None = None
) -> dict[str, Any]:
    result = run_cli("review", str(path), "--output", "json", *args, stdin=stdin)
    assert result.code in EXIT.values(), result.stderr
    decision: dict[str, Any] = json.loads(result.stdout)
    assert result.code == EXIT[decision["outcome"]], "exit code and JSON outcome disagree"
    return decision


def rules(decision: dict[str, Any], reviewer: str | None = None) -> set[str]:
    return {
        f["rule"]
        for v in decision["verdicts"]
        if reviewer in (None, v["reviewer"])
        for f in v["findings"]
    }


def finding(decision: dict[str, Any], rule: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        f for v in decision["verdicts"] for f in v["findings"] if f["rule"] == rule
    )
    return found


def roles(decision: dict[str, Any]) -> set[str]:
    return {a["role"] for a in decision["required_approvals"]}


AGENT = ("--source", "ai-agent", "--environment", "production")


def test_docs_only_diff_from_an_ai_agent_is_approved_as_low(run_cli: Any) -> None:
    """The documentation bot fixing two typos in production is approved, low, no human."""
    decision = review(
        run_cli,
        DIFF / "docs-only.diff",
        *AGENT,
        "--actor",
        "docs-bot",
        "--intent",
        "fix typos in the docs",
    )
    assert (decision["outcome"], decision["risk_tier"]) == ("approve", "low")
    assert decision["required_approvals"] == []
    assert all(v["stance"] == "approve" for v in decision["verdicts"])


def test_format_patch_mailbox_is_reviewed_with_its_subject_as_intent(run_cli: Any) -> None:
    """`git format-patch` output is a diff; without --intent its subject is the stated intent."""
    result = run_cli("review", str(DIFF / "docs-only.patch"), *AGENT, "--actor", "docs-bot")
    assert result.code == 0, result.stderr
    assert "intent    Fix typos in the README and the operations guide" in result.stdout
    assert "diff from ai-agent 'docs-bot' to production" in result.stdout


def test_tests_only_diff_from_an_ai_agent_is_approved_as_low(run_cli: Any, tmp_path: Path) -> None:
    """An AI agent registered to write tests in production adding one test is approved, low."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "agents.yaml").write_text(
        "unknown_actors: ai-agent\nenforcement: soft-mandatory\nactors:\n"
        "  test-writer:\n    kind: ai-agent\n    purposes: [tests]\n"
        "    environments: [production]\n",
        encoding="utf-8",
    )
    decision = review(
        run_cli,
        DIFF / "tests-only.diff",
        *AGENT,
        "--actor",
        "test-writer",
        "--config",
        str(config),
        "--intent",
        "add a test for free items",
    )
    assert (decision["outcome"], decision["risk_tier"]) == ("approve", "low")
    assert rules(decision, "scope") == {"scope.category.tests"}


def test_dependency_bump_is_medium_and_approved_without_objection(run_cli: Any) -> None:
    """The dependency bot's pinned-version bump is a medium change nobody objects to."""
    decision = review(
        run_cli,
        DIFF / "dependency-bump.diff",
        "--source",
        "automation",
        "--actor",
        "dependabot",
        "--intent",
        "Bump requests and uvicorn",
    )
    assert (decision["outcome"], decision["risk_tier"]) == ("approve", "medium")
    assert "scope.category.dependencies" in rules(decision, "scope")


def test_readme_typo_intent_hiding_a_deploy_and_an_iam_change_escalates(run_cli: Any) -> None:
    """'Fix a typo in the README' that also retargets the deploy workflow to production and
    widens an IAM action to "*" escalates, with both facts as evidence."""
    decision = review(
        run_cli,
        DIFF / "intent-mismatch.diff",
        *AGENT,
        "--actor",
        "docs-bot",
        "--intent",
        "fix a typo in the README",
    )
    assert decision["outcome"] == "escalate"
    assert decision["risk_tier"] == "critical"
    effect = finding(decision, "contrarian.intent-effect")
    unexpected = effect["evidence"]["unexpected"]
    assert effect["evidence"]["intent_categories"] == {"docs": ["readme", "typo"]}
    assert unexpected["ci-cd"]["resources"] == [".github/workflows/deploy.yml"]
    assert unexpected["ci-cd"]["signals"]["deploy-target-changed"]["line"]["text"] == (
        "environment: production"
    )
    assert unexpected["iam-policy"]["resources"] == ["infra/iam/shop.tf"]
    assert "iam.wildcard-action" in unexpected["iam-policy"]["signals"]
    # read structurally: every action, but on one bucket's objects, not on every resource
    iam = finding(decision, "scope.iam.wildcard-action")
    assert (iam["severity"], iam["resources"]) == ("high", ["infra/iam/shop.tf"])
    assert iam["locations"] == [{"path": "infra/iam/shop.tf", "line": 7, "end_line": None}]
    assert {"senior-engineer", "security", "change-board"} <= roles(decision)


def test_deploy_workflow_change_escalates_as_high(run_cli: Any) -> None:
    """Moving the deploy trigger to another branch is a pipeline change: high, humans sign."""
    decision = review(
        run_cli,
        DIFF / "deploy-workflow.diff",
        "--source",
        "human",
        "--actor",
        "alice",
        "--intent",
        "deploy from main",
    )
    assert (decision["outcome"], decision["risk_tier"]) == ("escalate", "high")
    target = finding(decision, "scope.diff.deploy-target-changed")
    lines = target["evidence"]["details"][".github/workflows/deploy.yml"]["lines"]
    assert {(line["side"], line["text"]) for line in lines} == {
        ("removed", "branches: [release]"),
        ("added", "branches: [main]"),
    }


def test_removed_test_and_deleted_file_are_findings(run_cli: Any) -> None:
    """Deleting a test is an objection; the deleted file and the rename are recorded too."""
    decision = review(run_cli, DIFF / "removed-test.diff", "--source", "human", "--actor", "alice")
    assert decision["outcome"] == "escalate"
    removed = finding(decision, "scope.diff.test-removed")
    assert removed["resources"] == ["tests/test_cart.py"]
    deleted = finding(decision, "reversibility.file-deleted")
    assert (deleted["resources"], deleted["severity"]) == (["docs/legacy.md"], "low")


def test_added_credential_is_critical_and_never_printed(run_cli: Any, tmp_path: Path) -> None:
    """A hard-coded key is a critical secrets finding; no output format shows the key."""
    decision = review(run_cli, DIFF / "credential.diff", "--source", "human", "--actor", "alice")
    assert (decision["outcome"], decision["risk_tier"]) == ("escalate", "critical")
    assert finding(decision, "scope.diff.credential-added")["resources"] == ["src/shop/config.py"]
    assert "reversibility.costly" in rules(decision)  # rotate it: a revert keeps it in history
    result = run_review(
        ReviewRequest(
            path=str(DIFF / "credential.diff"),
            submission=Submission(source=Source.HUMAN, actor="alice"),
            settings=Settings(
                database_url=f"sqlite:///{tmp_path / 'a.db'}", config_dir=None, topology=None
            ),
        )
    )
    printed = json.dumps(decision) + json.dumps(result.proposal.raw)
    for output in ("text", "markdown", "sarif"):
        printed += render(output, result.decision, result.proposal, color=False)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "correct-horse-battery-staple"):
        assert secret not in printed


def test_destructive_migration_from_an_ai_agent_is_rejected(run_cli: Any) -> None:
    """DROP TABLE, DROP COLUMN, DELETE without WHERE, TRUNCATE by an AI agent: rejected;
    by a person: escalated to the change board."""
    agent = review(run_cli, SQL / "destructive.sql", *AGENT, "--actor", "coding-agent")
    assert (agent["outcome"], agent["risk_tier"]) == ("reject", "critical")
    assert "hard-denial:reversibility.irreversible" in agent["rules_fired"]
    human = review(run_cli, SQL / "destructive.sql", "--source", "human", "--actor", "alice")
    assert (human["outcome"], human["risk_tier"]) == ("escalate", "critical")
    assert {"security", "change-board"} <= roles(human)


def test_safe_additive_migration_is_not_rejected(run_cli: Any) -> None:
    """A new table, a nullable column and a concurrent index: critical (a schema migration)
    but reversible and lock-free, so even an AI agent's goes to humans, not to the bin."""
    decision = review(run_cli, SQL / "additive.sql", *AGENT, "--actor", "coding-agent")
    assert (decision["outcome"], decision["risk_tier"]) == ("escalate", "critical")
    assert not rules(decision, "reversibility")
    assert "blast-radius.table-lock" not in rules(decision)


def test_locking_migration_names_the_table_lock(run_cli: Any) -> None:
    """A plain CREATE INDEX and a type change stall the orders table: a blast-radius finding."""
    decision = review(run_cli, SQL / "locking.sql", "--source", "human", "--actor", "alice")
    assert finding(decision, "blast-radius.table-lock")["resources"] == ["shop.orders"]


@pytest.mark.corpus
def test_corpus_cluster_admin_bindings_and_privileged_daemonset(
    run_cli: Any, corpus_dir: Path
) -> None:
    """Real manifests: cluster-admin bindings and a privileged host DaemonSet are critical."""
    root = corpus_dir / "kubernetes"
    bindings = review(
        run_cli,
        root / "kyverno__policies__cluster-admin-bindings-bad.yaml",
        "--source",
        "human",
        "--actor",
        "alice",
    )
    assert (bindings["outcome"], bindings["risk_tier"]) == ("escalate", "critical")
    assert set(finding(bindings, "scope.kubernetes.rbac-cluster-admin")["resources"]) == {
        "ClusterRoleBinding/badcrb01",
        "ClusterRoleBinding/badcrb02",
    }
    daemonset = review(
        run_cli,
        root / "controlplaneio__kubesec__privileged-daemonset.yml",
        *AGENT,
        "--actor",
        "coding-agent",
    )
    assert daemonset["outcome"] != "approve"
    assert {
        "scope.kubernetes.pss.baseline.privileged",
        "scope.kubernetes.pss.baseline.host-namespaces",
        "scope.kubernetes.pss.baseline.host-path",
    } <= rules(daemonset)
    netpol = review(
        run_cli,
        root / "kyverno__policies__netpol-empty-podselector.yaml",
        "--source",
        "human",
        "--actor",
        "alice",
        "--environment",
        "staging",
    )
    selects_all = finding(netpol, "scope.kubernetes.netpol-selects-all")
    assert "empty filter selects everything" in selects_all["message"]


def test_unstaged_daemonset_rollout_is_the_crowdstrike_pattern(run_cli: Any) -> None:
    """A node agent rolled out to every node at once is a critical blast-radius finding."""
    decision = review(
        run_cli, K8S / "unstaged-rollouts.yaml", "--source", "automation", "--actor", "release-bot"
    )
    rollout = finding(decision, "blast-radius.rollout-all-at-once")
    assert rollout["severity"] == "critical"
    assert "security/DaemonSet/sensor-agent" in rollout["resources"]
    assert decision["outcome"] == "escalate"


@pytest.mark.corpus
def test_delete_flag_reviews_a_namespace_deletion(run_cli: Any, corpus_dir: Path) -> None:
    """`--delete` of a Namespace by an AI agent is irreversible data loss: rejected."""
    path = (
        corpus_dir
        / "kubernetes"
        / "prometheus-operator__kube-prometheus__monitoring-namespace.yaml"
    )
    decision = review(run_cli, path, *AGENT, "--actor", "coding-agent", "--delete")
    assert decision["outcome"] == "reject"
    assert "reversibility.irreversible" in rules(decision)


BAD_INPUT = [
    ("yaml-bomb", K8S / "yaml-bomb.yaml", "YAML aliases expand 38 nodes to 490,329,074"),
    ("no-kind", K8S / "no-kind.yaml", "document 2 (line 7): no kind"),
    ("non-utf8-diff", DIFF / "latin1.diff", "not valid UTF-8 text at byte offset 21"),
    ("unreadable-sql", SQL / "unreadable.sql", "no SQL statement can be reviewed"),
]


@pytest.mark.parametrize(
    ("path", "message"), [b[1:] for b in BAD_INPUT], ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_fails_with_one_line_and_records_nothing(
    run_cli: Any, cli_env: dict[str, str], path: Path, message: str
) -> None:
    """Alias bombs, manifests without kind, non-UTF-8 diffs and unreadable SQL exit 1 with one
    line naming the file and the place; nothing is printed to stdout, nothing is approved."""
    result = run_cli("review", str(path), *AGENT, "--actor", "coding-agent")
    assert result.code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("commander: error: ")
    assert str(path) in lines[0]
    assert message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("path", "note"),
    [
        (DIFF / "binary.patch", "binary content cannot be reviewed: docs/logo.png"),
        (DIFF / "binary-summary.diff", "binary content cannot be reviewed: docs/logo.png"),
        (SQL / "syntax-error.sql", "statement 3 (line 4) cannot be parsed as postgres"),
    ],
    ids=["git-binary-patch", "binary-files-differ", "sql-syntax-error"],
)
def test_content_nobody_can_read_is_never_approved(run_cli: Any, path: Path, note: str) -> None:
    """A binary patch or a statement the parser cannot read leaves the input incomplete:
    escalated with the reason as evidence, even for an actor allowed to change docs."""
    decision = review(run_cli, path, *AGENT, "--actor", "docs-bot")
    assert decision["outcome"] == "escalate"
    assert "plan-not-judgeable" in decision["rules_fired"]
    assert note in " ".join(
        decision["rationale"]
        + [
            n
            for v in decision["verdicts"]
            for f in v["findings"]
            for n in f["evidence"].get("notes", [])
        ]
    )


KINDS = [
    ("diff", DIFF / "docs-only.diff"),
    ("diff", DIFF / "docs-only.patch"),
    ("sql", SQL / "additive.sql"),
    ("sql", SQL / "mysql.sql"),
    ("kubernetes", K8S / "configmap-fanout.yaml"),
    ("kubernetes", K8S / "list.json"),
]


@pytest.mark.parametrize(("kind", "path"), KINDS, ids=[p.name for _, p in KINDS])
def test_kind_is_detected_from_content_not_the_file_name(
    run_cli: Any, tmp_path: Path, kind: str, path: Path
) -> None:
    """Saved under a misleading name, each input is still read as what its content is."""
    disguised = tmp_path / "input.tf"
    shutil.copyfile(path, disguised)
    result = run_cli("review", str(disguised), "--source", "human", "--actor", "alice")
    assert result.code in EXIT.values(), result.stderr
    assert f"proposal  {kind} from human 'alice'" in result.stdout


@pytest.mark.parametrize(("kind", "path"), KINDS[::2], ids=[k for k, _ in KINDS[::2]])
def test_dash_reads_each_kind_from_standard_input(run_cli: Any, kind: str, path: Path) -> None:
    """`commander review -` takes a diff, a migration or a manifest on standard input."""
    result = run_cli(
        "review", "-", "--source", "human", "--actor", "alice", stdin=path.read_bytes()
    )
    assert result.code in EXIT.values(), result.stderr
    assert f"proposal  {kind} from human 'alice'" in result.stdout


def test_usage_errors_for_kinds(run_cli: Any) -> None:
    """--delete on a diff is wrong usage (exit 2); --kind sql on a manifest is an input error."""
    wrong = run_cli("review", str(DIFF / "docs-only.diff"), "--delete")
    assert wrong.code == 2
    assert "--delete applies to Kubernetes manifests" in wrong.stderr
    mismatch = run_cli("review", str(K8S / "list.json"), "--kind", "sql")
    assert mismatch.code == 1
    assert "no SQL statement" in mismatch.stderr


def test_a_terraform_review_never_imports_the_other_parsers(tmp_path: Path) -> None:
    """The plan path stays fast: neither sqlglot nor the manifest, diff or SQL adapters load."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format_version": "1.2", "resource_changes": []}))
    code = (
        "import sys\n"
        "from orchestrator.adapters.base import Submission, load_proposal, AdapterOptions\n"
        "from orchestrator.models import Source\n"
        f"load_proposal(open({str(plan)!r}, 'rb').read(), 'p', "
        "Submission(source=Source.HUMAN, actor='a'), options=AdapterOptions())\n"
        "heavy = [m for m in sys.modules if m.startswith('sqlglot') or m.startswith("
        "('orchestrator.adapters.kubernetes', 'orchestrator.adapters.gitdiff', "
        "'orchestrator.adapters.sql'))]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
