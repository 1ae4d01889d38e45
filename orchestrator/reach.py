"""The blast-radius reviewer's summary: the one typed reader every other part uses.

The blast-radius reviewer records what a change reaches in its summary
finding (`blast-radius.reach`): the figures the decision's `blast_radius`
block carries, and the shortest-path tree the pictures draw. The commander,
the contrarian and the renderers read it here, typed, and never pick at
another reviewer's evidence by key. The reader is lenient on purpose:
decisions recorded by older versions (edges without a kind) or edited by
hand read with what is well formed, the rest counted as omitted, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import JsonValue

from orchestrator.models import BlastRadius, Proposal, Verdict

REVIEWER = "blast-radius"
SUMMARY_RULE = "blast-radius.reach"


@dataclass(frozen=True)
class ReachSummary:
    """What one change reaches, as the blast-radius reviewer recorded it."""

    score: int = 0
    changed_resources: int = 0
    affected_services: tuple[str, ...] = ()
    affected_services_total: int = 0  # every service reached, listed or not
    fleet_fraction: float = 0.0
    edges: tuple[tuple[str, str, str], ...] = ()  # (source, target, kind) to draw
    edges_omitted: int = 0  # left out by the reviewer, or not well formed
    resources: frozenset[str] = frozenset()  # which drawn nodes are resources
    criticality: Mapping[str, str] = field(default_factory=dict)  # dependent -> its tier
    choke_points: Mapping[str, int] = field(default_factory=dict)  # node -> services behind it
    cycles: tuple[tuple[str, ...], ...] = ()

    def blast_radius(self) -> BlastRadius:
        """The decision's `blast_radius` block."""
        return BlastRadius(
            score=min(100, max(0, self.score)),
            changed_resources=self.changed_resources,
            affected_services=self.affected_services,
            fleet_fraction=min(1.0, max(0.0, self.fleet_fraction)),
        )


def reach_summary(verdicts: Iterable[Verdict]) -> ReachSummary | None:
    """The summary of the blast-radius verdict that did not fail, if there is one."""
    for verdict in verdicts:
        if verdict.reviewer != REVIEWER or verdict.error is not None:
            continue
        for finding in verdict.findings:
            if finding.rule == SUMMARY_RULE:
                return read_summary(finding.evidence)
    return None


def blast_radius_of(proposal: Proposal, verdicts: Iterable[Verdict]) -> BlastRadius:
    """The decision's blast-radius block: the summary's figures, or the bare change count."""
    summary = reach_summary(verdicts)
    if summary is None:
        return BlastRadius(changed_resources=len(proposal.effective_changes))
    return summary.blast_radius()


def read_summary(evidence: Mapping[str, JsonValue]) -> ReachSummary:
    """A summary finding's evidence, typed; malformed parts are left out or counted omitted."""
    omitted = _int(evidence.get("edges_omitted"))
    edges: list[tuple[str, str, str]] = []
    for item in _list(evidence.get("edges")):
        if isinstance(item, list) and len(item) in (2, 3) and all(isinstance(e, str) for e in item):
            edges.append((str(item[0]), str(item[1]), str(item[2]) if len(item) == 3 else ""))
        else:
            omitted += 1
    return ReachSummary(
        score=_int(evidence.get("score")),
        changed_resources=_int(evidence.get("changed_resources")),
        affected_services=tuple(_strings(evidence.get("affected_services"))),
        affected_services_total=_int(evidence.get("affected_services_total")),
        fleet_fraction=_float(evidence.get("fleet_fraction")),
        edges=tuple(edges),
        edges_omitted=omitted,
        resources=frozenset(_strings(evidence.get("resources"))),
        criticality=_criticality(evidence.get("dependents")),
        choke_points=_chokes(evidence.get("choke_points")),
        cycles=tuple(tuple(_strings(c)) for c in _list(evidence.get("cycles"))),
    )


def _int(value: JsonValue | None) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _float(value: JsonValue | None) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _list(value: JsonValue | None) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _strings(value: JsonValue | None) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]


def _criticality(dependents: JsonValue | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, info in (dependents if isinstance(dependents, dict) else {}).items():
        crit = info.get("criticality") if isinstance(info, dict) else None
        if isinstance(crit, str):
            found[name] = crit
    return found


def _chokes(value: JsonValue | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in _list(value):
        if isinstance(item, dict):
            node, services = item.get("node"), item.get("services")
            if isinstance(node, str) and isinstance(services, int):
                found[node] = services
    return found
