"""Rollout findings for the blast-radius reviewer: changes that hit every replica at once.

The CrowdStrike pattern: an update strategy that takes down everything at
once (Recreate, maxUnavailable 100%, a DaemonSet without a staged rollout).
Filled in with the Kubernetes adapter; called by reviewers/blast_radius.py.
"""

from __future__ import annotations

from orchestrator.models import Finding, Proposal


def rollout_findings(proposal: Proposal) -> list[Finding]:
    """Findings for workloads whose rollout is not staged."""
    return []
