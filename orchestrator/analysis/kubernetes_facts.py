"""The typed result every Kubernetes analyser returns: a fact, its evidence, where it is written."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import JsonValue

from orchestrator.adapters.kubernetes_objects import as_list
from orchestrator.analysis.pod_security_types import FieldPath


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing an object grants or exposes: an id, its evidence, and the fields showing it."""

    id: str
    detail: JsonValue
    paths: tuple[FieldPath, ...]


def strings(value: object) -> list[str]:
    """The string items of a list (manifests may hold anything)."""
    return [v for v in as_list(value) if isinstance(v, str)]
