"""A large generated plan reads, masks, digests and reaches exactly as it always has.

The fast paths for 10,000-change plans (models that share the masked values,
the digest, the graph walks) must not change a byte of what a review records.
This plan has what makes that hard: secrets under sensitive keys and in
credential-looking strings, plan sensitivity marks (whole values and parts),
marked values repeated elsewhere (the sweep), unknown values, non-ASCII and
line-separator text, modules with references, deletes of stateful types, and
a topology with hubs. The fingerprints below were taken from the code before
any of those fast paths existed; a change to one of them is a change to the
record, and needs a reason, not a new fingerprint.

Speed is measured in bench/review_bench.py, not asserted here.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.adapters.terraform_changes import TRUSTED_DEPTH
from orchestrator.catalog import ResourceCatalog
from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import Topology
from orchestrator.models import Proposal, ResourceChange, Source
from orchestrator.reviewer import ReviewContext
from orchestrator.testing import (
    ModuleConfiguration,
    plan_document,
    prior_resource,
    resource_change,
)
from reviewers.blast_radius import BlastRadiusSettings, assess

TYPES = [
    "aws_instance",
    "aws_db_instance",
    "aws_iam_role_policy",
    "aws_s3_bucket",
    "aws_lambda_function",
    "aws_sqs_queue",
    "aws_route53_record",
    "aws_ecs_service",
]
SHARED = "aws_iam_policy.shared_boundary"
SUBMISSION = Submission(source=Source.AI_AGENT, actor="agent-7", environment="production")


def large_plan(n: int, services: int, seed: int = 3) -> dict[str, Any]:
    """A plan of n changes across modules, with references, secrets and sensitivity marks."""
    rng = random.Random(seed)  # noqa: S311 - a fixed seed for a reproducible plan
    changes = [resource_change(SHARED, ["update"], before={"v": 1}, after={"v": 2})]
    prior = [prior_resource(SHARED, {"v": 1})]
    configuration = ModuleConfiguration(SHARED)
    for i in range(1, n):
        rtype = TYPES[i % len(TYPES)]
        module = f"svc{rng.randrange(services)}"
        address = f"module.{module}.{rtype}.r{i}"
        before: dict[str, Any] = {"name": f"r{i}", "tags": {"team": "platform"}, "size": i % 7}
        if i % 13 == 0:  # marked sensitive whole below: its strings are swept everywhere
            before["tags"] = {"team": f"quiet-team-{i}"}
        roll = rng.random()
        if roll < 0.7:
            actions, after = ["update"], {**before, "size": before["size"] + 1}
        elif roll < 0.85:
            actions, after = ["create"], dict(before)
        elif roll < 0.95:
            actions, after = ["no-op"], dict(before)
        else:
            actions, after = ["delete", "create"], dict(before)
        extra = _secrets(i, before, after, creates=actions == ["create"])
        changes.append(
            resource_change(
                address,
                actions,
                before=None if actions == ["create"] else before,
                after=after,
                **extra,
            )
        )
        if actions != ["create"]:
            prior.append(prior_resource(address, before))
        configuration.add(module, rtype, f"r{i}", rng)
    doc = plan_document(changes, prior=prior)
    doc["prior_state"]["values"]["root_module"]["resources"][3]["values"]["x"] = "supersecretvalue0"
    doc["variables"] = {"v": {"value": "supersecretvalue0"}}
    shared = {"address": SHARED, "mode": "managed", "type": "aws_iam_policy", "name": "shared"}
    doc["configuration"] = {
        "root_module": {
            "resources": [shared],
            "module_calls": configuration.module_calls(),
            "variables": {"v": {"sensitive": True}},
        }
    }
    return doc


def _secrets(i: int, before: dict[str, Any], after: dict[str, Any], *, creates: bool) -> Any:
    """Secrets in change i's values, and the marks of its `change` object (returned)."""
    marks: dict[str, Any] = {}
    if i % 7 == 0:
        after["password"] = f"hunter{i:04d}"
        after["nested"] = {
            "db_token": "tok" + "x" * 8,
            "url": "postgres://app:pw123456@db.internal/app",
            "list": ["AKIAABCDEFGHIJKLMNOP", 1, None, 2.5, True, {"k": "v"}],
        }
    if i % 11 == 0:
        after["conn"] = f"supersecretvalue{i}"
        after["tags"] = {"team": f"sealed-team-{i}"}
        marks["after_sensitive"] = {"conn": True, "tags": {"team": True}}
    if i % 13 == 0 and not creates:
        marks["before_sensitive"] = True
        marks["after_unknown"] = {"size": True, "x": [False, True]}
    if i % 17 == 0:
        before["echo"] = f"supersecretvalue{i - i % 11}"
        before["k\u00e9y"] = "caf\u00e9 \u2028 \U0001f600"
        before["deep"] = {"a": [[[{"b": "private_key = 'abcdefghij'"}]]]}
    return marks


def topology(m: int, seed: int = 11) -> DependencyGraph:
    """M services: a few critical hubs many lean on, then a sparse random web."""
    rng = random.Random(seed)  # noqa: S311 - a fixed seed for a reproducible topology
    tiers = ["low"] * 30 + ["medium"] * 50 + ["high"] * 15 + ["critical"] * 5
    services: dict[str, Any] = {}
    for i in range(m):
        deps: set[str] = set()
        if i >= 5:
            deps.update(f"svc{rng.randrange(5, i)}" for _ in range(2) if i > 5)
            if rng.random() < 0.2:
                deps.add(f"svc{rng.randrange(5)}")
        services[f"svc{i}"] = {
            "criticality": "critical" if i < 5 else rng.choice(tiers),
            "depends_on": sorted(deps),
            "owns": [f"module.svc{i}.*"] + ([SHARED] if i == 0 else []),
        }
    return DependencyGraph(Topology.model_validate({"services": services}))


def sha(text: str) -> str:
    """A short hash of text, lone surrogates included."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def fingerprint(proposal: Proposal, graph: DependencyGraph) -> dict[str, str]:
    """What a review records of a proposal, hashed: digest, canonical form, masked input, reach."""
    verdict = assess(proposal, ReviewContext(graph=graph, catalog=CATALOG), BlastRadiusSettings())
    return {
        "digest": proposal.digest(),
        "canonical": sha(proposal.canonical_json),
        "raw": sha(json.dumps(proposal.raw, ensure_ascii=False)),
        "changes": sha(repr([c.model_dump() for c in proposal.changes])),
        "relations": sha(repr(proposal.relations)),
        "blast-radius": sha(verdict.model_dump_json()),
    }


CATALOG = ResourceCatalog.load_default()
# Taken from the code before the fast paths (see the module docstring).
EXPECTED = {
    "digest": "sha256:83a3b2dd659d7b97bbe235c8a9289904b6f44f70e1b6c2d62867e87d1edd5bca",
    "canonical": "8951f1126d0845f6",
    "raw": "c5c7d44959c1b20d",
    "changes": "a886a279cd0c8b9a",
    "relations": "17330c179d31ce77",
    "blast-radius": "fb0cf19e4b422c62",
}


@pytest.fixture(scope="module")
def graph() -> DependencyGraph:
    return topology(3000)


@pytest.mark.parametrize("indent", [None, 1])
def test_large_plan_is_recorded_as_before(indent: int | None, graph: DependencyGraph) -> None:
    """Digest, canonical JSON, masked input, changes, relations and reach: all as before."""
    data = json.dumps(large_plan(1500, 3000), indent=indent, ensure_ascii=indent is None).encode()
    proposal = load_proposal(data, "plan.json", SUBMISSION)
    assert fingerprint(proposal, graph) == EXPECTED


def test_models_that_share_the_masked_values_equal_validated_ones() -> None:
    """Changes built without validation are the models the constructor builds."""
    proposal = load_proposal(json.dumps(large_plan(300, 50)).encode(), "plan.json", SUBMISSION)
    raw: Any = proposal.raw
    raw_changes = raw["resource_changes"]
    for position, change in enumerate(proposal.changes):
        validated = ResourceChange(**{k: getattr(change, k) for k in change.model_fields_set})
        assert validated == change
        assert validated.model_dump(mode="json") == change.model_dump(mode="json")
        assert change.model_fields_set == validated.model_fields_set
        # shared, not copied: the masked document holds the very same values
        assert change.after is raw_changes[position]["change"]["after"]


@pytest.mark.parametrize("depth", [TRUSTED_DEPTH - 10, TRUSTED_DEPTH + 10, 253])
def test_values_deep_but_storable_are_still_reviewed(depth: int) -> None:
    """Past the trusted depth the models are validated again, and values pydantic stores pass."""
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    doc = plan_document([resource_change("aws_s3_bucket.b", ["create"], after={"v": value})])
    proposal = load_proposal(json.dumps(doc).encode(), "plan.json", SUBMISSION)
    assert proposal.changes[0].after == {"v": value}
    assert proposal.digest().startswith("sha256:")
