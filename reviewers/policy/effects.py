"""What a policy asks for, and how its enforcement level turns that into a finding.

Every source of policy — a native YAML rule, a Rego package, the agent
registry — yields `Ask`s. One table decides what each becomes:

| enforcement    | deny                      | require-approval           | warn    |
|----------------|---------------------------|----------------------------|---------|
| hard-mandatory | block, hard (reject)      | concern, tier/roles        | finding |
| soft-mandatory | block, not hard (escalate)| concern, tier/roles        | finding |
| advisory       | finding: "would reject"   | finding: "would escalate"  | finding |

An advisory ask never moves the stance or the tier: it reports what it would
have decided, so a new rule can run in shadow mode first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue

from orchestrator.models import Finding, RiskTier, Stance
from orchestrator.policies.rules import Effect, Enforcement
from reviewers.shared import capped

_WOULD: dict[Effect, str] = {"deny": "reject", "require-approval": "escalate", "warn": "warn"}
_VERB: dict[Effect, str] = {"deny": "deny", "require-approval": "require approval", "warn": "warn"}


@dataclass(frozen=True, kw_only=True)
class Ask:
    """One thing a policy asks of this proposal, with the evidence for it."""

    rule: str
    effect: Effect
    enforcement: Enforcement
    message: str
    tier: RiskTier | None = None
    roles: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    evidence: dict[str, JsonValue] = field(default_factory=dict)

    @property
    def deciding(self) -> bool:
        """Whether the ask moves the verdict (advisory asks and warnings never do)."""
        return self.enforcement != "advisory" and self.effect != "warn"

    @property
    def stance(self) -> Stance:
        """The stance this ask asks the verdict to take at least."""
        if not self.deciding:
            return "approve"
        return "block" if self.effect == "deny" else "concern"

    @property
    def raised_tier(self) -> RiskTier | None:
        """The tier this ask raises the verdict to (a deny is critical unless told)."""
        if not self.deciding:
            return None
        if self.effect == "deny":
            return self.tier or RiskTier.CRITICAL
        return self.tier

    def finding(self) -> Finding:
        """The finding that reports this ask, with the figures and what it decides."""
        resources, total = capped(self.resources)
        evidence: dict[str, JsonValue] = {
            **self.evidence,
            "effect": self.effect,
            "enforcement": self.enforcement,
        }
        if total:
            evidence["resource_count"] = total
        if self.tier is not None:
            evidence["tier"] = self.tier.value
        roles: list[JsonValue] = [*self.roles]
        if self.enforcement == "advisory":
            evidence["would_outcome"] = _WOULD[self.effect]
            if roles:
                evidence["would_roles"] = roles
            return Finding(
                rule=self.rule,
                message=f"advisory, would {_VERB[self.effect]}: {self.message}",
                resources=resources,
                evidence=evidence,
                severity=RiskTier.LOW,
            )
        if roles and self.effect == "require-approval":
            # the commander adds these roles to the escalation's required approvals
            evidence["required_roles"] = roles
        return Finding(
            rule=self.rule,
            message=self.message,
            resources=resources,
            evidence=evidence,
            severity=self.raised_tier
            or self.tier
            or (RiskTier.MEDIUM if self.deciding else RiskTier.LOW),
            hard=self.effect == "deny" and self.enforcement == "hard-mandatory",
        )
