"""The Pod Security Standards as scope findings: one per control broken, with its lines.

Each namespace is held to a level (`pod_security` in
configs/reviewers/scope.yaml): `default_level` unless `namespaces` names
another, as the Pod Security Admission label `pod-security.kubernetes.io/
enforce` would; a Namespace in the same input may raise its level with that
label, never lower it (a Namespace that lowers it is a finding of its own).
Violations above a namespace's level are not findings but an exemption,
recorded in the decision; an AI agent gets no exemption.

A baseline violation is at least `high` in every environment and an
objection, so it escalates everywhere; a known escape onto the node
(privileged, SYS_ADMIN, the runtime socket, cr8escape) is `escape`
(critical). A restricted-only violation is a `medium` finding that informs,
but does not object on its own: most workloads miss a hardening field or two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field, JsonValue, model_validator

from orchestrator.models import (
    Finding,
    Frozen,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
    tier_rank,
)
from reviewers.scope.kubernetes import dotted, lines, sorted_locations
from reviewers.shared import capped

if TYPE_CHECKING:
    from orchestrator.analysis.pod_security import Level, Violation

# The levels of the standard, as configs/ and the enforce label spell them.
LevelName = Literal["privileged", "baseline", "restricted"]
# Applied objects with their bodies: what the standard is judged on.
Applied = list[tuple[ResourceChange, dict[str, JsonValue]]]

_LIST_NAMES: Final = {
    "containers": "container",
    "initContainers": "init container",
    "ephemeralContainers": "ephemeral container",
}


class PodSecuritySettings(Frozen):
    """`pod_security` in configs/reviewers/scope.yaml."""

    baseline: RiskTier = RiskTier.HIGH
    restricted: RiskTier = RiskTier.MEDIUM
    escape: RiskTier = RiskTier.CRITICAL
    default_level: LevelName = "restricted"
    namespaces: dict[str, LevelName] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _never_below_high(self) -> PodSecuritySettings:
        if tier_rank(self.baseline) < tier_rank(RiskTier.HIGH):
            raise ValueError("pod_security.baseline: a baseline violation is at least high")
        if tier_rank(self.escape) < tier_rank(self.baseline):
            raise ValueError("pod_security.escape: an escape is at least the baseline tier")
        if self.default_level == "privileged":
            raise ValueError(
                "pod_security.default_level: privileged would exempt every namespace; "
                "name the namespaces to exempt under `namespaces`"
            )
        return self

    def tier(self, violations: list[Violation]) -> RiskTier:
        """The tier of a finding: escape, baseline or restricted."""
        if any(v.escape for v in violations):
            return self.escape
        baseline = violations[0].control.level.value == "baseline"
        return self.baseline if baseline else self.restricted


@dataclass
class PodSecurityResult:
    """The findings, and whether any is an objection (a baseline violation)."""

    findings: list[Finding] = field(default_factory=list)
    objects: bool = False


@dataclass
class _Broken:
    """One control's violations across the proposal."""

    details: dict[str, list[JsonValue]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    # what the message shows: the first violation, its object and its line
    first: tuple[str, int | None] = ("", None)


def pod_security_findings(proposal: Proposal, settings: PodSecuritySettings) -> PodSecurityResult:
    """One finding per control broken, the exemptions granted, and lowered namespaces."""
    result = PodSecurityResult()
    if proposal.kind != "kubernetes":
        return result
    # Only Kubernetes reviews pay for the analysers' import.
    from orchestrator.analysis.pod_security import (  # noqa: PLC0415
        POD_PATHS,
        namespace_level,
        pod_violations,
    )

    applied: Applied = [
        (c, c.after) for c in proposal.effective_changes if isinstance(c.after, dict)
    ]
    namespaces = [(c, body) for c, body in applied if c.type == "Namespace"]
    raised = {c.name: lv for c, body in namespaces if (lv := namespace_level(body)) and c.name}
    agent = proposal.source is Source.AI_AGENT
    broken: dict[str, _Broken] = {}
    exempt: dict[str, JsonValue] = {}
    levels: dict[str, tuple[Level, str]] = {}
    for change, body in applied:
        found = pod_violations(body) if change.type in POD_PATHS else None
        if not found:
            continue
        namespace = change.namespace or ""
        if namespace not in levels:
            levels[namespace] = _level(namespace, settings, raised)
        level, by = levels[namespace]
        over = {v.control.key for v in found if v.control.level.rank > level.rank}
        if over:
            exempt[change.address] = {
                "namespace": namespace,
                "level": level.value,
                "by": by,
                "controls": list[JsonValue](sorted(over)),
                "applied": not agent,
            }
        for violation in found:
            if violation.control.key in over and not agent:
                continue
            _add(broken.setdefault(violation.control.key, _Broken()), change, violation)
    result.findings = [_finding(k, b, proposal, settings) for k, b in broken.items()]
    result.objects = any(key.startswith("baseline.") for key in broken)
    if exempt:
        result.findings.append(_exemption(exempt, proposal))
    for finding in _lowered(namespaces, settings):
        result.findings.append(finding)
        # down to privileged, admission lets through what the baseline forbids
        result.objects = result.objects or finding.evidence["down_to"] == "privileged"
    result.findings.sort(key=lambda f: (-tier_rank(f.severity), f.rule))
    return result


def _add(entry: _Broken, change: ResourceChange, violation: Violation) -> None:
    where = lines(change, [dotted(violation.path)])
    line = where[0] if where else None
    entry.violations.append(violation)
    entry.lines.extend(where)
    if not entry.violations[1:]:
        entry.first = (change.address, line)
    shown: dict[str, JsonValue] = {"detail": violation.detail, "line": line}
    if violation.container is not None:
        shown["container"] = violation.container
    if violation.container_list not in (None, "containers"):
        shown["list"] = violation.container_list  # an init or ephemeral container
    entry.details.setdefault(change.address, []).append(shown)


def _who(violation: Violation) -> str:
    if violation.container is None:
        return "the pod"
    noun = _LIST_NAMES.get(violation.container_list or "", "container")
    return f'{noun} "{violation.container}"'


def _finding(
    key: str, entry: _Broken, proposal: Proposal, settings: PodSecuritySettings
) -> Finding:
    violation = entry.violations[0]
    control = violation.control
    resources, total = capped(entry.details)
    address, line = entry.first
    at = f" (line {line})" if line is not None else ""
    more = len(entry.violations) - 1
    also = f"; {more} more violation{'s' * (more != 1)}" if more else ""
    evidence: dict[str, JsonValue] = {
        "control": control.title,
        "level": control.level.value,
        "requirement": control.requirement,
        "resource_count": total,
        "details": {a: entry.details[a] for a in resources},
        "environment": proposal.environment.value,
        "source": proposal.source.value,
    }
    return Finding(
        rule=f"scope.kubernetes.pss.{key}",
        message=f"{total} object{'s break' if total != 1 else ' breaks'} the "
        f"{control.level.value} Pod Security Standard, control {control.title}: {address} "
        f"{_who(violation)} {violation.detail}{at}{also}",
        resources=resources,
        evidence=evidence,
        severity=settings.tier(entry.violations),
        locations=sorted_locations(entry.lines),
    )


def _exemption(exempt: dict[str, JsonValue], proposal: Proposal) -> Finding:
    resources, total = capped(exempt)
    agent = proposal.source is Source.AI_AGENT
    head = f"{total} object{'s' * (total != 1)} in namespaces held to a lower Pod Security level"
    tail = (
        ": not applied, an AI agent gets no exemption; every control was judged"
        if agent
        else ": the controls above that level were not judged (an exemption)"
    )
    return Finding(
        rule="scope.kubernetes.pss.exempt",
        message=head + tail,
        resources=resources,
        evidence={
            "exemptions": {a: exempt[a] for a in resources},
            "resource_count": total,
            "source": proposal.source.value,
        },
        severity=RiskTier.LOW,
    )


def _configured(namespace: str, settings: PodSecuritySettings) -> tuple[Level, str]:
    from orchestrator.analysis.pod_security import Level  # noqa: PLC0415

    if namespace in settings.namespaces:
        return Level(settings.namespaces[namespace]), f"pod_security.namespaces.{namespace}"
    return Level(settings.default_level), "pod_security.default_level"


def _level(
    namespace: str, settings: PodSecuritySettings, raised: dict[str, Level]
) -> tuple[Level, str]:
    """The level a namespace is held to, and what set it: the configuration, or a stricter label."""
    level, by = _configured(namespace, settings)
    label = raised.get(namespace)
    if label is not None and label.rank > level.rank:
        return label, "the Namespace's enforce label in this input"
    return level, by


def _lowered(applied: Applied, settings: PodSecuritySettings) -> list[Finding]:
    """Namespaces of the input whose enforce label is below the level they are held to."""
    from orchestrator.analysis.pod_security import (  # noqa: PLC0415
        ENFORCE_LABEL,
        ENFORCE_PATH,
        Level,
        namespace_level,
    )

    lowered: dict[str, JsonValue] = {}
    worst = Level.RESTRICTED
    written: list[int] = []
    for change, body in applied:
        label = namespace_level(body)
        if label is None or change.name is None:
            continue
        level, by = _configured(change.name, settings)
        if label.rank < level.rank:
            lowered[change.address] = {"label": label.value, "held_to": level.value, "by": by}
            worst = min(worst, label, key=lambda lv: lv.rank)
            written.extend(lines(change, [dotted(ENFORCE_PATH)]))
    if not lowered:
        return []
    resources, total = capped(lowered)
    tier = settings.baseline if worst is Level.PRIVILEGED else settings.restricted
    return [
        Finding(
            rule="scope.kubernetes.pss.namespace-lowered",
            message=f"{total} Namespace{'s' * (total != 1)} set {ENFORCE_LABEL} below the level "
            f"the configuration holds them to (down to {worst.value}): Pod Security Admission "
            "will admit pods there that the standard forbids",
            resources=resources,
            evidence={
                "namespaces": {a: lowered[a] for a in resources},
                "resource_count": total,
                "down_to": worst.value,
            },
            severity=tier,
            locations=sorted_locations(written),
        )
    ]
