"""The input a Rego policy sees: the shapes policies are already written against.

A Terraform plan is one input, conftest's: the whole (masked) plan JSON. The
same plan is also under the keys other tools pass it by, when a policy reads
them: `input.tfplan` with `input.tfrun` (Scalr and other TACOs) and
`input.plan` with `input.run` (HCP Terraform). Kubernetes manifests are
evaluated object by object, as conftest does; a diff or SQL text is under
`input.document`. Every input carries `input.commander` (source, actor,
intent, environment) and `input.change_source` (`ai_agent`, `automation`,
`human`), the field widely published AI-agent policies test.

The plan is never copied for these keys: the engine sees `input.tfplan` as
a view of the input itself (`with input.tfplan as input`), so a
10,000-change plan is converted once. The run facts are added only for
policies that read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator.models import Action, Proposal, Source

# A policy reads an alias when it names input.<key> (or imports it).
_ALIASES = {
    key: re.compile(rf"\binput\s*(?:\.\s*{key}\b|\[\s*\"{key}\"\s*\])")
    for key in ("tfplan", "tfrun", "plan", "run")
}


def aliases_read(texts: Iterable[str]) -> frozenset[str]:
    """The input aliases (tfplan, tfrun, plan, run) any of the policy texts reads."""
    joined = "\n".join(texts)
    return frozenset(key for key, pattern in _ALIASES.items() if pattern.search(joined))


# The keys under which TACOs pass the plan itself.
PLAN_KEYS = frozenset({"tfplan", "plan"})


@dataclass(frozen=True, kw_only=True)
class PolicyInput:
    """One input document, and the keys under which the engine shows it to itself (views)."""

    document: dict[str, Any]
    views: tuple[str, ...] = ()


def policy_inputs(
    proposal: Proposal, *, source: Source, aliases: frozenset[str] = frozenset()
) -> list[PolicyInput]:
    """The inputs conftest would evaluate: one per Kubernetes object, else the one document."""
    raw = proposal.raw
    if isinstance(raw, list) and proposal.kind == "kubernetes":
        return [
            PolicyInput(document=policy_input(proposal, source=source, document=item))
            for item in raw
        ]
    document = policy_input(proposal, source=source, aliases=aliases)
    views: tuple[str, ...] = ()
    if proposal.kind == "terraform" and isinstance(raw, dict):
        views = tuple(sorted(k for k in aliases & PLAN_KEYS if k not in raw))
    return [PolicyInput(document=document, views=views)]


def policy_input(
    proposal: Proposal,
    *,
    source: Source,
    document: Any = None,
    aliases: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The conftest-shaped input: the plan document plus who proposes it and where.

    A document that is not an object (a diff, SQL text) is under `input.document`.
    """
    raw = proposal.raw if document is None else document
    found: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {"document": raw}
    found["commander"] = {
        "source": source.value,
        "declared_source": proposal.source.value,
        "actor": proposal.actor,
        "intent": proposal.intent,
        "environment": proposal.environment.value,
        "environment_name": proposal.environment_name,
        "kind": proposal.kind,
    }
    found["change_source"] = source.value.replace("-", "_")
    if proposal.kind == "terraform" and isinstance(raw, dict) and aliases - PLAN_KEYS:
        run = run_facts(proposal, source)
        shapes = {
            "tfrun": {**run, "created_by": {"username": proposal.actor}},
            "run": {**run, "created_by": proposal.actor},
        }
        for key in sorted(aliases - PLAN_KEYS):
            found.setdefault(key, shapes[key])  # a plan's own key of that name wins
    return found


def run_facts(proposal: Proposal, source: Source) -> dict[str, Any]:
    """What commander knows of the run a TACO would describe: message, destroy, where."""
    effective = [c for c in proposal.changes if not c.is_inert]
    return {
        "message": proposal.intent,
        "is_destroy": bool(effective) and all(c.action == Action.DELETE for c in effective),
        "source": source.value,
        "environment": {"name": proposal.environment_name or proposal.environment.value},
        "workspace": {"environment": proposal.environment.value},
    }
