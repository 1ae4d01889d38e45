"""The input a Rego policy sees: the shapes policies are already written against.

A Terraform plan is one input, conftest's: the whole (masked) plan JSON. The
same plan is also under the keys other tools pass it by, when a policy reads
them: `input.tfplan` with `input.tfrun` (Scalr and other TACOs) and
`input.plan` with `input.run` (HCP Terraform). Kubernetes manifests are
evaluated object by object, as conftest does; a diff or SQL text is under
`input.document`. Every input carries `input.commander` (source, actor,
intent, environment) and `input.change_source` (`ai_agent`, `automation`,
`human`), the field widely published AI-agent policies test.

The aliases are added only for policies that mention them: the engine copies
the input once per key, and a 10,000-change plan is not to be copied for
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def policy_inputs(
    proposal: Proposal, *, source: Source, aliases: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The inputs conftest would evaluate: one per Kubernetes object, else the one document."""
    raw = proposal.raw
    if isinstance(raw, list) and proposal.kind == "kubernetes":
        return [policy_input(proposal, source=source, document=item) for item in raw]
    return [policy_input(proposal, source=source, aliases=aliases)]


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
    if proposal.kind == "terraform" and isinstance(raw, dict):
        run = run_facts(proposal, source)
        shapes = {
            "tfplan": raw,
            "plan": raw,
            "tfrun": {**run, "created_by": {"username": proposal.actor}},
            "run": {**run, "created_by": proposal.actor},
        }
        for key in sorted(aliases):
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
