"""Invariants every policy-driven stage-1 reviewer keeps, checked with Hypothesis.

Scope and reversibility share the `assess(proposal, catalog, settings)` shape,
so one set of properties covers both: an AI agent is never judged more
leniently than a person, more changes never soften a verdict, and the order
of changes never matters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Action, Environment, Proposal, ResourceChange, Source, tier_rank
from reviewers import reversibility, scope

CATALOG = ResourceCatalog.load_default()
STANCES = ("approve", "concern", "block")
REVIEWERS = [
    pytest.param(scope.assess, scope.ScopeReviewer.load_default_settings(), id="scope"),
    pytest.param(
        reversibility.assess,
        reversibility.ReversibilityReviewer.load_default_settings(),
        id="reversibility",
    ),
]
TYPES = [
    "aws_iam_role", "aws_iam_policy", "aws_db_instance", "aws_s3_bucket", "aws_instance",
    "aws_kms_key", "aws_route53_zone", "aws_organizations_policy", "google_billing_budget",
    "google_sql_database_instance", "azurerm_key_vault_secret", "aws_cognito_user_pool",
    "ClusterRoleBinding", "NetworkPolicy", "PersistentVolumeClaim", "StatefulSet",
    "cloudflare_byo_ip_prefix", "cloudflare_record", "aws_s3_bucket_versioning",
    "local_file", "null_resource", "acme_widget",
]  # fmt: skip
STATES = [
    None,
    {"deletion_protection": True, "force_destroy": False},
    {"deletion_protection": False, "force_destroy": True, "skip_final_snapshot": True},
    {"skip_final_snapshot": False, "final_snapshot_identifier": "f", "deletion_window_in_days": 7},
]
changes_st = st.lists(
    st.builds(
        lambda t, a, i, b, af, o, r: ResourceChange(
            address=f"{t}.r{i}", type=t, action=a, before=b, after=af,
            replace_order=o, action_reason=r,
        ),
        st.sampled_from(TYPES),
        st.sampled_from(list(Action)),
        st.integers(0, 5),
        st.sampled_from(STATES),
        st.sampled_from(STATES),
        st.sampled_from([None, "create-before-destroy", "delete-before-create"]),
        st.sampled_from([None, "delete_because_no_resource_config"]),
    ),
    max_size=8,
)  # fmt: skip
env_st = st.sampled_from(list(Environment))
Assess = Callable[[Proposal, ResourceCatalog, Any], Any]


def proposal(source: Source, env: Environment, *changes: ResourceChange) -> Proposal:
    return Proposal(
        kind="terraform",
        source=source,
        actor="tester",
        environment=env,
        environment_name=env.value,
        changes=changes,
    )


@pytest.mark.parametrize(("assess", "config"), REVIEWERS)
@given(changes=changes_st, env=env_st)
@settings(max_examples=200, deadline=None)
def test_ai_agent_is_never_judged_more_leniently_than_a_person(
    assess: Assess, config: Any, changes: list[ResourceChange], env: Environment
) -> None:
    """For the same changes, an AI agent's tier, stance and hard denials are at least a human's."""
    ai = assess(proposal(Source.AI_AGENT, env, *changes), CATALOG, config)
    human = assess(proposal(Source.HUMAN, env, *changes), CATALOG, config)
    assert tier_rank(ai.risk_tier) >= tier_rank(human.risk_tier)
    assert STANCES.index(ai.stance) >= STANCES.index(human.stance)
    assert len(ai.hard_denials) >= len(human.hard_denials)


@pytest.mark.parametrize(("assess", "config"), REVIEWERS)
@given(changes=changes_st, extra=changes_st, env=env_st, source=st.sampled_from(list(Source)))
@settings(max_examples=200, deadline=None)
def test_adding_changes_never_lowers_the_tier_or_softens_the_stance(
    assess: Assess,
    config: Any,
    changes: list[ResourceChange],
    extra: list[ResourceChange],
    env: Environment,
    source: Source,
) -> None:
    """More changes can only keep or raise the tier and the stance."""
    base = assess(proposal(source, env, *changes), CATALOG, config)
    more = assess(proposal(source, env, *changes, *extra), CATALOG, config)
    assert tier_rank(more.risk_tier) >= tier_rank(base.risk_tier)
    assert STANCES.index(more.stance) >= STANCES.index(base.stance)


@pytest.mark.parametrize(("assess", "config"), REVIEWERS)
@given(changes=changes_st, env=env_st, seed=st.randoms())
@settings(max_examples=100, deadline=None)
def test_order_of_changes_never_changes_the_verdict(
    assess: Assess, config: Any, changes: list[ResourceChange], env: Environment, seed: Any
) -> None:
    """The verdict is deterministic: shuffling the changes gives the same verdict."""
    shuffled = list(changes)
    seed.shuffle(shuffled)
    assert assess(proposal(Source.AI_AGENT, env, *changes), CATALOG, config) == assess(
        proposal(Source.AI_AGENT, env, *shuffled), CATALOG, config
    )
