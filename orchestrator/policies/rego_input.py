"""The input a Rego policy sees: what conftest would give it, plus who proposes the change.

A Terraform plan is one input: the whole (masked) plan JSON. Kubernetes
manifests are evaluated object by object, as conftest does. A diff or SQL
text is under `input.document`. Every input also carries `input.commander`
(source, actor, intent, environment) and `input.change_source`
(`ai_agent`, `automation`, `human`), the field widely published AI-agent
policies test.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.models import Proposal, Source


def policy_inputs(proposal: Proposal, *, source: Source) -> list[dict[str, Any]]:
    """The inputs conftest would evaluate: one per Kubernetes object, else the one document."""
    raw = proposal.raw
    if isinstance(raw, list) and proposal.kind == "kubernetes":
        return [policy_input(proposal, source=source, document=item) for item in raw]
    return [policy_input(proposal, source=source)]


def policy_input(proposal: Proposal, *, source: Source, document: Any = None) -> dict[str, Any]:
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
    return found


def escaped(value: Any) -> Any:
    """The document with every string in the escaped form rego-cpp keeps strings in.

    rego-cpp holds a string as its JSON-escaped text (that is how literals from
    a policy are kept) but regopy's `Input` hands strings over raw: a Terraform
    address such as `x["k"]` would then compare unlike the same text in a
    policy, and come back as invalid JSON. Escaping here keeps both consistent.
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if isinstance(value, dict):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escaped(v) for v in value]
    return value
