"""Executors run reviewer calls: in-process (local) or on a Ray cluster (ray)."""

from orchestrator.executors.base import Executor, ReviewCall, guarded_review

__all__ = ["Executor", "ReviewCall", "guarded_review"]
