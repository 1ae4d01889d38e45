"""Categorising a diff's files by path and content (configs/diff-paths.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.adapters.base import AdapterOptions, Submission, load_proposal
from orchestrator.adapters.gitdiff_rules import glob_regex, load_diff_paths
from orchestrator.catalog import ResourceCatalog
from orchestrator.errors import ConfigError
from orchestrator.models import Action, Proposal, ResourceChange, Source, tier_rank
from orchestrator.yamlfile import parse_yaml

RULES = load_diff_paths(None)
SUBMISSION = Submission(source=Source.AI_AGENT, actor="coding-agent", environment="production")


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("README.md", "docs"),
        ("docs/guide/setup.md", "docs"),
        ("LICENSE", "docs"),
        ("tests/test_api.py", "tests"),
        ("web/src/__tests__/cart.test.ts", "tests"),
        ("pkg/store/store_test.go", "tests"),
        ("src/shop/cart.py", "app-code"),
        ("cmd/server/main.go", "app-code"),
        ("requirements.txt", "dependencies"),
        ("web/package-lock.json", "dependencies"),
        ("go.sum", "dependencies"),
        (".github/workflows/deploy.yml", "ci-cd"),
        (".gitlab-ci.yml", "ci-cd"),
        ("Jenkinsfile", "ci-cd"),
        ("infra/network.tf", "infra"),
        ("Dockerfile", "infra"),
        ("services/api/dockerfile", "infra"),
        ("charts/web/values.yaml", "infra"),
        ("deploy/k8s/web.yaml", "infra"),
        ("infra/iam/roles.tf", "iam-policy"),
        ("CODEOWNERS", "iam-policy"),
        ("policies/ai_devops_scope.rego", "iam-policy"),
        ("db/migrations/0001_init.sql", "migrations"),
        ("app/alembic/versions/3f2a_add_users.py", "migrations"),
        ("config/.env.production", "secrets"),
        ("certs/server.key", "secrets"),
        ("terraform.tfstate", "secrets"),
    ],
)
def test_path_rules_put_files_in_their_category(path: str, category: str) -> None:
    """The first matching path rule names the category; unmatched files are application code."""
    assert RULES.classify(path)[0] == category


@pytest.mark.parametrize(
    ("globs", "path", "matches"),
    [
        (("*.md",), "a/b/c.MD", True),
        (("docs/**",), "docs/x/y.txt", True),
        (("docs/**",), "src/docs/y.txt", False),
        (("**/migrations/**",), "migrations/1.sql", True),
        (("src/**/test_*.py",), "src/test_a.py", True),
        (("src/**/test_*.py",), "src/a/b/test_a.py", True),
        (("*.tf",), "main.tf.json", False),
        (("?.txt",), "a.txt", True),
        (("?.txt",), "ab.txt", False),
    ],
)
def test_globs_match_like_gitignore(globs: tuple[str, ...], path: str, matches: bool) -> None:
    """`*` stays in a segment, `**` crosses them, a bare name matches anywhere, case is ignored."""
    assert bool(glob_regex(globs).match(path)) is matches


def _diff(path: str, added: list[str], removed: list[str] | None = None) -> str:
    removed = removed or []
    body = "".join(f"-{line}\n" for line in removed) + "".join(f"+{line}\n" for line in added)
    return (
        f"diff --git a/{path} b/{path}\nindex 1..2 100644\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1,{len(removed)} +1,{len(added)} @@\n{body}"
    )


def _one(text: str) -> ResourceChange:
    (change,) = load_proposal(text.encode(), "c.diff", SUBMISSION).changes
    return change


def _signals(change: ResourceChange) -> set[str]:
    summary = change.after
    assert isinstance(summary, dict)
    signals = summary["signals"]
    assert isinstance(signals, list)
    return {s["id"] for s in signals if isinstance(s, dict) and isinstance(s["id"], str)}


@pytest.mark.parametrize(
    ("path", "added", "removed", "category", "signals"),
    [
        (
            "infra/storage.tf",
            ['      Action   = ["*"]'],
            ['      Action   = ["s3:GetObject"]'],
            "iam-policy",
            {"iam-wildcard-action"},
        ),
        (
            "policies/bucket.json",
            ['    "Action": "s3:*",', '    "Resource": "*"'],
            [],
            "iam-policy",
            {"iam-wildcard-action", "iam-wildcard-resource"},
        ),
        ("deploy/ops.yaml", ["  verbs: ['*']"], [], "iam-policy", {"rbac-wildcard"}),
        (
            "src/app/manifest.yaml",
            ["apiVersion: apps/v1", "kind: Deployment"],
            [],
            "infra",
            {"kubernetes-manifest"},
        ),
        (
            "src/app/settings.py",
            ['API_TOKEN = "tok_8f3a9c0d1e2b"'],
            [],
            "secrets",
            {"credential-added"},
        ),
        ("infra/db.tf", ["  password = var.db_password"], [], "infra", set()),
        (
            "src/app/cleanup.py",
            ['    cursor.execute("DROP TABLE sessions")'],
            [],
            "migrations",
            {"schema-change"},
        ),
        (
            ".github/workflows/deploy.yml",
            ["    environment: production"],
            ["    environment: staging"],
            "ci-cd",
            {"deploy-target-changed"},
        ),
        (
            "tests/test_cart.py",
            [],
            ["def test_total():", "    assert total([]) == 0"],
            "tests",
            {"test-removed"},
        ),
        (
            "tests/test_cart.py",
            ["def test_total_is_zero():"],
            ["def test_total():"],
            "tests",
            set(),
        ),
        ("docs/iam.md", ['Example: `Action = "*"` is never allowed.'], [], "docs", set()),
    ],
)
def test_content_rules_raise_the_category_and_record_signals(
    path: str, added: list[str], removed: list[str], category: str, signals: set[str]
) -> None:
    """IaC in a diff is read as what it does: an IAM hunk is IAM policy, a key is a secret."""
    change = _one(_diff(path, added, removed))
    assert (change.category, change.type) == (category, category)
    assert _signals(change) == signals


def test_credential_evidence_is_masked_everywhere() -> None:
    """The line that shows a credential is evidence, but the credential itself never is."""
    key = "AKIAIOSFODNN7EXAMPLE"
    proposal = load_proposal(
        _diff("src/app/aws.py", [f'ACCESS_KEY_ID = "{key}"']).encode(), "k.diff", SUBMISSION
    )
    (change,) = proposal.changes
    assert change.sensitive_paths == ("signals",)
    assert key not in str(proposal.document)
    assert key not in str(proposal.raw)


def test_renames_deletions_and_creations_map_to_actions() -> None:
    """A deleted file is a delete at its old path, a rename an update with its previous address."""
    text = (
        "diff --git a/old.md b/old.md\ndeleted file mode 100644\nindex 1..0\n"
        "--- a/old.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
        "diff --git a/src/a.py b/src/b.py\nsimilarity index 90%\nrename from src/a.py\n"
        "rename to src/b.py\n"
        "diff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0..1\n"
        "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hi\n"
    )
    proposal: Proposal = load_proposal(text.encode(), "r.diff", SUBMISSION)
    got = {c.address: (c.action, c.previous_address) for c in proposal.changes}
    assert got == {
        "old.md": (Action.DELETE, None),
        "src/b.py": (Action.UPDATE, "src/a.py"),
        "new.txt": (Action.CREATE, None),
    }


def test_a_file_touched_by_two_patches_is_one_change() -> None:
    """In a patch series, a path changed twice is one change with all of its lines."""
    one = _diff("README.md", ["a"])
    proposal = load_proposal((one + one).encode(), "s.diff", SUBMISSION)
    (change,) = proposal.changes
    assert isinstance(change.after, dict)
    assert change.after["added_lines"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "precedence: [docs]\ndefault: {category: app-code, kind: source}\n",
            "precedence: does not rank categories ['app-code']",
        ),
        (
            "precedence: [docs]\ndefault: {category: docs, kind: d}\n"
            "content:\n  - {id: x, description: d, pattern: '(', category: docs}\n",
            "not a regular expression",
        ),
        (
            "precedence: [docs]\ndefault: {category: docs, kind: d}\npaths:\n"
            "  - {category: docs, kind: d, globs: []}\n",
            "at least 1 item",
        ),
    ],
)
def test_a_broken_diff_paths_file_names_its_line(text: str, message: str) -> None:
    """A typo in diff-paths.yaml is a config error pointing at the file and line."""
    with pytest.raises(ConfigError, match=r"diff-paths\.yaml") as caught:
        load_diff_paths((parse_yaml(text, "diff-paths.yaml"), text, "diff-paths.yaml"))
    assert message in str(caught.value)


def test_configured_rules_replace_the_shipped_ones() -> None:
    """A team's own diff-paths.yaml decides: here every Markdown file is a pipeline file."""
    text = (
        "precedence: [ci-cd, app-code]\ndefault: {category: app-code, kind: source}\n"
        "paths:\n  - {category: ci-cd, kind: runbook, globs: ['*.md']}\n"
    )
    options = AdapterOptions(diff_paths=(parse_yaml(text, "t.yaml"), text, "t.yaml"))
    (change,) = load_proposal(
        _diff("README.md", ["x"]).encode(), "d.diff", SUBMISSION, options=options
    ).changes
    assert change.category == "ci-cd"


DIFFS = sorted(
    p for p in (Path(__file__).parent / "fixtures" / "diff").iterdir() if p.name != "latin1.diff"
)


@pytest.mark.parametrize("path", DIFFS, ids=[p.name for p in DIFFS])
def test_an_ai_agent_diff_is_never_judged_more_leniently_than_a_persons(path: Path) -> None:
    """For every diff fixture and environment, an AI agent's scope and reversibility verdicts
    are at least as strict as a person's: the diff floor does not depend on who proposes."""
    from reviewers import reversibility, scope

    catalog = ResourceCatalog.load_default()
    order = ("approve", "concern", "block")
    for environment in ("production", "staging", "dev"):
        verdicts = {}
        for source in (Source.AI_AGENT, Source.HUMAN):
            submission = Submission(source=source, actor="x", environment=environment)
            proposal = load_proposal(path.read_bytes(), path.name, submission)
            verdicts[source] = (
                scope.assess(proposal, catalog, scope.ScopeReviewer.load_default_settings()),
                reversibility.assess(
                    proposal, catalog, reversibility.ReversibilityReviewer.load_default_settings()
                ),
            )
        for agent, human in zip(verdicts[Source.AI_AGENT], verdicts[Source.HUMAN], strict=True):
            assert order.index(agent.stance) >= order.index(human.stance)
            assert tier_rank(agent.risk_tier) >= tier_rank(human.risk_tier)
