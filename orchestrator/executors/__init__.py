"""Executors run reviewer calls: in-process (local) or on a Ray cluster (ray)."""

from __future__ import annotations

from orchestrator.errors import UsageError, UserError
from orchestrator.executors.base import Executor, ReviewCall, guarded_review

__all__ = ["Executor", "ReviewCall", "guarded_review", "make_executor", "ray_missing"]


def ray_missing(exc: ImportError) -> UserError:
    """The error for `--executor ray` when the Ray extra is not installed."""
    return UserError(f"--executor ray needs Ray ({exc}): pip install 'commander[ray]'")


def make_executor(name: str, address: str | None = None) -> Executor:
    """The executor `--executor NAME` names; Ray is imported only when asked for.

    `address` (a Ray cluster, or "auto") matters only to ray, which joins the
    cluster here so an unreachable one fails the review before anything runs.
    """
    if name == "local":
        from orchestrator.executors.local import LocalExecutor  # noqa: PLC0415

        return LocalExecutor()
    if name == "ray":
        try:
            from orchestrator.executors.ray import RayExecutor  # noqa: PLC0415 - optional extra
        except ImportError as exc:
            raise ray_missing(exc) from exc
        return RayExecutor.connect(address)
    raise UsageError(f"unknown executor {name!r}: use local or ray")
