"""Helpers for testing commander and reviewer plugins, shipped with the package.

Plan builders write the exact shape `terraform show -json` writes, so tests
exercise the real adapter; fake reviewers misbehave on purpose so the
fail-closed paths can be proven.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from typing import Any

from orchestrator.models import Proposal, RiskTier, Stance, Verdict
from orchestrator.reviewer import ReviewContext

_INDEX = re.compile(r"\[(\"(?P<key>[^\"]*)\"|(?P<num>\d+))\]$")


def resource_change(
    address: str,
    actions: list[str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    action_reason: str | None = None,
    provider: str = "registry.terraform.io/hashicorp/aws",
    **change_extra: Any,
) -> dict[str, Any]:
    """One `resource_changes[]` entry, as Terraform writes it."""
    parts = re.sub(r"\[[^\]]*\]$", "", address).split(".")
    module = ".".join(parts[:-2]) or None
    rtype, name = parts[-2], parts[-1]
    entry: dict[str, Any] = {
        "address": address,
        "mode": "data" if rtype == "data" else "managed",
        "type": rtype,
        "name": name,
        "provider_name": provider,
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": {},
            "before_sensitive": {} if before is not None else False,
            "after_sensitive": {} if after is not None else False,
            **change_extra,
        },
    }
    if module:
        entry["module_address"] = module
    match = _INDEX.search(address)
    if match:
        entry["index"] = (
            match.group("key") if match.group("key") is not None else int(match.group("num"))
        )
    if action_reason:
        entry["action_reason"] = action_reason
    return entry


def prior_resource(address: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """One `prior_state.values.root_module.resources[]` entry."""
    rtype, name = re.sub(r"\[[^\]]*\]$", "", address).split(".")[-2:]
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": values or {},
        "sensitive_values": {},
    }


def plan_document(
    resource_changes: list[dict[str, Any]],
    *,
    prior: list[dict[str, Any]] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A whole plan document (format 1.2, Terraform 1.9)."""
    doc: dict[str, Any] = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {}},
        "resource_changes": resource_changes,
        "configuration": {"root_module": {}},
        "timestamp": "2026-11-20T10:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    if prior is not None:
        doc["prior_state"] = {
            "format_version": "1.0",
            "terraform_version": "1.9.8",
            "values": {"root_module": {"resources": prior}},
        }
    doc.update(top)
    return doc


class StaticReviewer:
    """A reviewer that always returns the same stance."""

    stage = 1

    def __init__(
        self, name: str, stance: Stance = "approve", tier: RiskTier = RiskTier.LOW
    ) -> None:
        self.name = name
        self._stance: Stance = stance
        self._tier = tier

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Return the configured verdict."""
        return Verdict(
            reviewer=self.name, stance=self._stance, risk_tier=self._tier, confidence=1.0
        )


class CrashingReviewer:
    """A reviewer that raises."""

    stage = 1

    def __init__(self, name: str = "crashing") -> None:
        self.name = name

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Raise, as a buggy plugin would."""
        raise RuntimeError("boom")


class SlowReviewer:
    """A reviewer that takes too long, awaiting or burning CPU."""

    stage = 1

    def __init__(self, name: str = "slow", seconds: float = 60.0, *, busy: bool = False) -> None:
        self.name = name
        self._seconds = seconds
        self._busy = busy

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Sleep (or spin) past any sensible timeout, then approve."""
        if self._busy:
            end = time.monotonic() + self._seconds
            while time.monotonic() < end:
                pass
        else:
            await asyncio.sleep(self._seconds)
        return Verdict(reviewer=self.name, stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


class WrongTypeReviewer:
    """A reviewer that returns something that is not a Verdict."""

    stage = 1

    def __init__(self, name: str = "wrong-type") -> None:
        self.name = name

    async def review(self, proposal: Proposal, context: ReviewContext) -> Any:
        """Return a dict that looks like an approval."""
        return {"stance": "approve"}


class ModuleConfiguration:
    """The `configuration` section of a generated plan whose changes sit in service modules.

    Each resource reads the one configured before it in its module; one module
    in ten (by `rng`) also reads a shared policy through a module input: the
    47-services pattern, for the large-plan test and bench/review_bench.py alike.
    """

    def __init__(self, shared: str) -> None:
        self.shared = shared
        self.modules: dict[str, list[dict[str, Any]]] = {}
        self.readers: set[str] = set()

    def add(self, module: str, rtype: str, name: str, rng: random.Random) -> None:
        """Configure `rtype.name` in `module`, reading its predecessor there."""
        siblings = self.modules.setdefault(module, [])
        refs = [f"{siblings[-1]['type']}.{siblings[-1]['name']}"] if siblings else []
        if rng.random() < 0.1:
            self.readers.add(module)
            refs.append("var.policy_arn")
        siblings.append(
            {
                "address": f"{rtype}.{name}",
                "mode": "managed",
                "type": rtype,
                "name": name,
                "expressions": {"name": {"references": refs}},
            }
        )

    def module_calls(self) -> dict[str, Any]:
        """One module call per module, its readers passed the shared policy."""
        reads = {"policy_arn": {"references": [f"{self.shared}.arn", self.shared]}}
        return {
            name: {
                "source": "./modules/service",
                "expressions": reads if name in self.readers else {},
                "module": {"resources": resources, "variables": {"policy_arn": {}}},
            }
            for name, resources in self.modules.items()
        }
