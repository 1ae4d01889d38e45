"""Every real plan in the shared corpus is reviewed end to end without error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.adapters.base import Submission
from orchestrator.models import Source
from orchestrator.render import render
from orchestrator.review import ReviewRequest, run_review
from orchestrator.settings import Settings
from tests.conftest import corpus_files

PLANS = corpus_files("terraform-plan", "*.json")
SECRETS = ("AKIAIOSFODNN7EXAMAAA",)


@pytest.mark.corpus
@pytest.mark.skipif(not PLANS, reason="corpus not found: set COMMANDER_CORPUS_DIR")
@pytest.mark.parametrize("plan", PLANS, ids=[p.name for p in PLANS])
@pytest.mark.parametrize("source", [Source.AI_AGENT, Source.HUMAN])
def test_corpus_plan_is_reviewed(plan: Path, source: Source, tmp_path: Path) -> None:
    """A real plan gets a recorded decision; an unjudgeable one is not approved; no secret leaks."""
    result = run_review(
        ReviewRequest(
            path=str(plan),
            submission=Submission(source=source, actor="corpus", environment="production"),
            settings=Settings(
                database_url=f"sqlite:///{tmp_path / 'audit.db'}", config_dir=None, topology=None
            ),
        )
    )
    decision = result.decision
    assert decision.outcome in {"approve", "escalate", "reject"}
    assert all(v.error is None for v in decision.verdicts), [v.error for v in decision.verdicts]
    if not result.proposal.status.judgeable:
        assert decision.outcome != "approve"
    if result.proposal.effective_changes:
        assert decision.risk_tier != "low"  # production changes are never low
    printed = json.dumps(decision.to_json_dict()) + render(
        "markdown", decision, result.proposal, color=False
    )
    for secret in SECRETS:
        assert secret not in printed
