"""Policies: native YAML rules and Rego modules from `configs/policies/`.

`bundle` loads and validates them, `matcher` applies the YAML rules to a
proposal, `rego` evaluates the Rego modules as conftest would. The policy
reviewer (`reviewers/policy/`) turns what they find into a verdict.
"""

from __future__ import annotations

from orchestrator.policies.bundle import PolicyBundle
from orchestrator.policies.rego_bundle import RegoModule
from orchestrator.policies.rules import Bounds, Match, PolicyFile, PolicyRule, RegoPackageSettings

__all__ = [
    "Bounds",
    "Match",
    "PolicyBundle",
    "PolicyFile",
    "PolicyRule",
    "RegoModule",
    "RegoPackageSettings",
]
