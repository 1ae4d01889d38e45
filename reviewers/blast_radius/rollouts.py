"""Rollout findings for the blast-radius reviewer: changes that hit everything at once.

The CrowdStrike pattern: a change that reaches every host before anyone can
see it fail. For applied Kubernetes workloads, an update strategy that takes
down all replicas or nodes together:

* Deployment `strategy.type: Recreate` (every pod stops before any new one starts);
* `maxUnavailable` covering every replica: `100%`, or a count of at least
  `replicas` (Deployment, StatefulSet);
* a DaemonSet whose `maxUnavailable` covers half of the nodes or more: it is
  not staged, the new version reaches most nodes at once (all of them at 100%).

For SQL, the same shape is a statement that stalls every reader or writer of
a table at once: the lock hazards the SQL analysis found (an index built
without CONCURRENTLY, a table rewrite, SET NOT NULL's scan, a constraint
validated in place; orchestrator/analysis/sql_hazards.py), never on a table
the migration itself creates. Called by blast_radius.py.
"""

from __future__ import annotations

import math
import re
from typing import Final

from pydantic import JsonValue

from orchestrator.adapters.kubernetes_objects import as_dict
from orchestrator.models import Action, Finding, Proposal, ResourceChange, RiskTier

_PERCENT: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
# A DaemonSet taking down this share of its nodes at once is not a staged rollout.
_DAEMONSET_UNSTAGED: Final = 0.5


def rollout_findings(proposal: Proposal) -> list[Finding]:
    """Findings for workloads whose rollout is not staged and SQL that stalls a whole table."""
    if proposal.kind == "kubernetes":
        hits = {c.address: d for c in proposal.effective_changes if (d := _unstaged(c))}
        return [_rollout_finding(hits)] if hits else []
    if proposal.kind == "sql":
        return _lock_findings(proposal)
    return []


def _unstaged(change: ResourceChange) -> dict[str, JsonValue] | None:
    """Evidence that an applied workload's update takes everything down together, or None."""
    obj = change.after
    if change.action is not Action.UPDATE or not isinstance(obj, dict):
        return None
    spec = as_dict(obj.get("spec"))
    kind = change.type
    if kind == "Deployment":
        strategy = as_dict(spec.get("strategy"))
        if strategy.get("type") == "Recreate":
            return {"kind": kind, "strategy": "Recreate", "share_at_once": 1.0}
        rolling = as_dict(strategy.get("rollingUpdate"))
    elif kind == "StatefulSet":
        strategy = as_dict(spec.get("updateStrategy"))
        rolling = as_dict(strategy.get("rollingUpdate"))
    elif kind == "DaemonSet":
        strategy = as_dict(spec.get("updateStrategy"))
        if strategy.get("type") == "OnDelete":
            return None  # pods change only when someone deletes them
        share = _share(as_dict(strategy.get("rollingUpdate")).get("maxUnavailable"), None)
        if share is None or share < _DAEMONSET_UNSTAGED:
            return None
        return {
            "kind": kind,
            "strategy": "RollingUpdate",
            "maxUnavailable": as_dict(strategy.get("rollingUpdate")).get("maxUnavailable"),
            "share_at_once": round(share, 4),
            "scope": "every node" if share >= 1 else "most nodes",
        }
    else:
        return None
    replicas = spec.get("replicas", 1)
    count = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    share = _share(rolling.get("maxUnavailable"), count)
    if share is None or share < 1 or count < 1:
        return None
    return {
        "kind": kind,
        "strategy": "RollingUpdate",
        "maxUnavailable": rolling.get("maxUnavailable"),
        "replicas": count,
        "share_at_once": 1.0,
    }


def _share(value: object, replicas: int | None) -> float | None:
    """The share of replicas (or nodes) `maxUnavailable` lets go at once; None when unknown."""
    if isinstance(value, str) and (match := _PERCENT.match(value)):
        percent = float(match[1]) / 100
        if replicas is None:
            return percent
        return math.floor(replicas * percent) / replicas if replicas else None
    if isinstance(value, int) and not isinstance(value, bool) and replicas:
        return min(1.0, value / replicas)
    return None


def _rollout_finding(hits: dict[str, dict[str, JsonValue]]) -> Finding:
    daemonsets = [a for a, d in hits.items() if d.get("kind") == "DaemonSet"]
    every_node = [a for a in daemonsets if hits[a].get("scope") == "every node"]
    total = len(hits)
    return Finding(
        rule="blast-radius.rollout-all-at-once",
        message=f"{total} workload{'s' * (total != 1)} roll{'s' * (total == 1)} out to every "
        "replica or node at once, not in stages: a bad version takes all of them down together "
        "(the CrowdStrike pattern)",
        resources=tuple(sorted(hits)[:50]),
        evidence={"workloads": {a: hits[a] for a in sorted(hits)[:50]}, "count": total},
        # a DaemonSet reaching every node is the fleet-wide case; others lose one service
        severity=RiskTier.CRITICAL if every_node else RiskTier.HIGH,
    )


def _lock_findings(proposal: Proposal) -> list[Finding]:
    """The lock hazards the SQL analysis attached to the changes (tables created here exempt)."""
    found: dict[str, dict[str, JsonValue]] = {}
    for change in proposal.effective_changes:
        facts = change.after if isinstance(change.after, dict) else {}
        listed = facts.get("hazards")
        for hazard in listed if isinstance(listed, list) else ():
            if not isinstance(hazard, dict) or hazard.get("group") != "lock":
                continue
            if hazard.get("until_postgres") is not None or hazard.get("assumes_tool_transaction"):
                continue  # depends on the server or the migration tool: the scope reviewer judges
            key = f"{hazard.get('table')} {hazard.get('line')} {hazard.get('hazard')}"
            found[key] = {
                "table": hazard.get("table"),
                "operation": facts.get("operation"),
                "why": hazard.get("message"),
                "lock": hazard.get("lock"),
                "statement": hazard.get("statement"),
                "line": hazard.get("line"),
            }
    if not found:
        return []
    tables = sorted({str(d["table"]) for d in found.values()})
    return [
        Finding(
            rule="blast-radius.table-lock",
            message=f"{len(found)} statement{'s' * (len(found) != 1)} stall every query on "
            f"{len(tables)} table{'s' * (len(tables) != 1)} at once: "
            + "; ".join(sorted({str(d["why"]) for d in found.values()})[:3]),
            resources=tuple(tables[:50]),
            evidence={"operations": [found[k] for k in sorted(found)[:50]]},
            severity=RiskTier.HIGH,
        )
    ]
