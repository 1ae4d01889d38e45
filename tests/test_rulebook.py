"""The rule registry: every rule commander can report has help, and the reference is current."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest
import yaml

from orchestrator.adapters.base import Submission, read_input
from orchestrator.commander import aggregate
from orchestrator.errors import CommanderError
from orchestrator.executors.local import LocalExecutor
from orchestrator.fanout import fan_out
from orchestrator.models import Source
from orchestrator.render.rules_doc import render_rules_doc
from orchestrator.review import ReviewRequest, adapt, prepare
from orchestrator.rulebook import RULES_URL, Rulebook, rulebook, sarif_name
from orchestrator.settings import resolve
from tests.conftest import REPO, corpus_root

CONFIGS = REPO / "configs"
INPUT_SUFFIXES = (".json", ".yaml", ".yml", ".diff", ".patch", ".sql")


def test_checked_in_reference_is_current() -> None:
    """docs/rules.md is what the registry generates: helpUri never links to a stale page."""
    checked_in = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert checked_in == render_rules_doc(), (
        "docs/rules.md is stale: run python -m orchestrator.render.rules_doc > docs/rules.md"
    )


def test_every_entry_has_a_distinct_anchor_and_a_pascal_case_name() -> None:
    """Each rule links to its own heading; SARIF's name is PascalCase and differs from the id."""
    book = rulebook()
    anchors = [e.anchor for e in book.entries]
    assert len(anchors) == len(set(anchors))
    headings = set(re.findall(r"^#+ (.+)$", render_rules_doc(), re.MULTILINE))
    for entry in book.entries:
        assert entry.help_uri.startswith(RULES_URL + "#")
        assert entry.summary.strip() == entry.summary
        if not entry.family:
            name = sarif_name(entry.id)
            assert re.fullmatch(r"(?:[A-Z][a-z0-9]*)+", name), name
            assert name != entry.id
            assert f"`{entry.id}`" in headings


@pytest.mark.parametrize(
    ("rule_id", "found", "strict"),
    [
        ("blast-radius.fan-out", "blast-radius.fan-out", True),
        ("scope.category.iam", "scope.category.*", True),
        ("scope.category.", None, False),  # a family needs its last part
        ("hard-denial:scope.ai-agent.account-iam", "hard-denial:*", True),
        ("budget-exceeded:deletes-per-1h", "budget-exceeded:*", True),
        ("tier-critical", "tier-*", True),
        ("rego.terraform.guardrails.deny", "rego.*", False),
        ("my-team.no-public-buckets", "*", False),
    ],
)
def test_lookup_by_exact_id_then_longest_family(
    rule_id: str, found: str | None, strict: bool
) -> None:
    """Exact ids win, then the longest family; catch-alls for the user's own rules only describe."""
    book = rulebook()
    if found is None:
        assert book.lookup(rule_id) is None
        return
    assert book.describe(rule_id).id == found
    assert (book.lookup(rule_id) is not None) == strict


def test_a_rule_listed_twice_is_an_error() -> None:
    """Two entries for one id would make the help depend on their order: refused, named."""
    entry = {"id": "x.y", "reviewer": "scope", "summary": "s", "description": "d", "fix": "f"}
    with pytest.raises(ValueError, match=r"rule 'x.y' is listed twice"):
        Rulebook.from_text(yaml.safe_dump([entry, entry]), "rules.yaml")


# --- every id the code and the shipped configuration can emit ----------------


def _literal_rule_ids() -> set[str]:
    """Rule ids written as literals: `rule="…"` arguments, FiredRule("…"), *_RULE constants."""
    found: set[str] = set()
    for path in [*(REPO / "reviewers").rglob("*.py"), *(REPO / "orchestrator").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                for kw in node.keywords:
                    if kw.arg == "rule" and isinstance(kw.value, ast.Constant):
                        found.add(kw.value.value)
                first = node.args[0] if node.args else None
                if name == "FiredRule" and isinstance(first, ast.Constant):
                    found.add(first.value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.endswith("_RULE"):
                        found.add(node.value.value)
    return {f for f in found if isinstance(f, str)}


def _configured_rule_ids() -> set[str]:
    """Ids whose last part comes from the shipped configuration or a closed set in code."""
    from typing import get_args

    from reviewers.reversibility.judge import Klass
    from reviewers.scope.kubernetes import FACTS

    scope = yaml.safe_load((CONFIGS / "reviewers" / "scope.yaml").read_text(encoding="utf-8"))
    diff = yaml.safe_load((CONFIGS / "diff-paths.yaml").read_text(encoding="utf-8"))
    ids = {f"scope.category.{c}" for c in scope["category_tiers"]}
    ids |= {f"scope.environment.{e}" for e in scope["environment_floor"]}
    ids |= {f"scope.{fact}" for fact in scope["content_tiers"]}
    ids |= {f"scope.kubernetes.{fact}" for fact in FACTS}
    ids |= {f"scope.diff.{rule['id']}" for rule in diff["content"]}
    ids |= {r["id"] for r in scope["rules"]}
    for path in (CONFIGS / "policies").glob("*.yaml"):
        ids |= {r["id"] for r in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]}
    ids |= {
        f"reversibility.{'protection-weakened' if k == 'weakened' else k}"
        for k in get_args(Klass)
        if k != "reversible"
    }
    # the commander's decision rules built from a finding, a tier or a budget
    ids |= {"hard-denial:x.y", "required-roles:x.y", "tier-high", "budget-exceeded:deletes-per-1h"}
    return ids


def test_every_rule_the_code_and_shipped_configs_name_has_an_entry() -> None:
    """A rule added in code or in a shipped config without a registry entry fails here."""
    ids = _literal_rule_ids() | _configured_rule_ids()
    assert "blast-radius.fan-out" in ids
    assert "actor-frozen" in ids
    missing = sorted(i for i in ids if rulebook().lookup(i) is None)
    assert missing == []


def _inputs() -> list[Path]:
    roots = [REPO / "examples", REPO / "tests" / "fixtures"]
    corpus = corpus_root()
    if corpus is not None:
        roots.append(corpus)
    return sorted(
        p for root in roots for p in root.rglob("*") if p.suffix.lower() in INPUT_SUFFIXES
    )


def test_every_rule_the_reviewers_emit_on_real_inputs_has_an_entry() -> None:
    """Reviewing examples, fixtures and corpus emits no finding or decision rule without help."""
    settings = resolve(db="sqlite:///:memory:")
    setup = prepare(settings)
    seen: set[str] = set()
    for path in _inputs():
        for source, environment in ((Source.AI_AGENT, "production"), (Source.HUMAN, "staging")):
            submission = Submission(source=source, actor="a", environment=environment)
            request = ReviewRequest(path=str(path), submission=submission, settings=settings)
            try:
                data, origin = read_input(str(path), max_bytes=50_000_000)
                proposal = adapt(setup.config, request, data, origin)
            except CommanderError:  # invalid inputs are other tests' subject
                continue
            verdicts = asyncio.run(
                fan_out(
                    proposal,
                    setup.reviewers,
                    setup.context,
                    LocalExecutor(),
                    setup.config.commander.timeout_for,
                )
            )
            seen.update(f.rule for v in verdicts for f in v.findings)
            decision = aggregate(
                proposal,
                verdicts,
                setup.config.commander,
                decision_id="d",
                created_at="t",
                policy_version="p",
            )
            seen.update(decision.rules_fired)
    assert len(seen) > 20  # the inputs really were reviewed
    missing = sorted(i for i in seen if rulebook().lookup(i) is None)
    assert missing == []
