"""The audit store: every decision and audit event, in a verifiable hash chain."""

from __future__ import annotations

from orchestrator.errors import AmbiguousDecisionId, DecisionNotFound
from orchestrator.store.chain import ChainEntry, ChainReport
from orchestrator.store.migrate import HEAD_REVISION, database_url, redact
from orchestrator.store.store import (
    DecisionSummary,
    Store,
    StoredDecision,
)

__all__ = [
    "HEAD_REVISION",
    "AmbiguousDecisionId",
    "ChainEntry",
    "ChainReport",
    "DecisionNotFound",
    "DecisionSummary",
    "Store",
    "StoredDecision",
    "database_url",
    "redact",
]
