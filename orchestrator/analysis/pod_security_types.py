"""The vocabulary of the Pod Security Standards: levels, controls, violations, the pod read.

`pod_security` is the entry point; the checks are in `pod_security_checks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, NamedTuple

from orchestrator.adapters.kubernetes_objects import as_dict, as_list

FieldPath = tuple[str | int, ...]

# Pod-bearing kinds and where each keeps its pod: (metadata path, spec path).
_TEMPLATE: Final = (("spec", "template", "metadata"), ("spec", "template", "spec"))
POD_PATHS: Final[dict[str, tuple[FieldPath, FieldPath]]] = {
    "Pod": (("metadata",), ("spec",)),
    "PodTemplate": (("template", "metadata"), ("template", "spec")),
    "Deployment": _TEMPLATE,
    "StatefulSet": _TEMPLATE,
    "DaemonSet": _TEMPLATE,
    "ReplicaSet": _TEMPLATE,
    "ReplicationController": _TEMPLATE,
    "Job": _TEMPLATE,
    "CronJob": (
        ("spec", "jobTemplate", "spec", "template", "metadata"),
        ("spec", "jobTemplate", "spec", "template", "spec"),
    ),
}
CONTAINER_LISTS: Final = ("initContainers", "containers", "ephemeralContainers")


class Level(StrEnum):
    """The Pod Security Standards' levels, least to most restrictive."""

    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        """0 for privileged, 2 for restricted: a higher level forbids more."""
        return _RANKS[self]


_RANKS: Final = {Level.PRIVILEGED: 0, Level.BASELINE: 1, Level.RESTRICTED: 2}


@dataclass(frozen=True, slots=True)
class Control:
    """One control of the standard: the level it belongs to, its name, what it requires."""

    id: str
    level: Level
    title: str
    requirement: str

    @property
    def key(self) -> str:
        """`<level>.<id>`: Capabilities and Seccomp are controls at both levels."""
        return f"{self.level.value}.{self.id}"


@dataclass(frozen=True, slots=True)
class Violation:
    """One field of one pod that breaks one control."""

    control: Control
    container: str | None  # None: the pod as a whole
    container_list: str | None  # containers, initContainers or ephemeralContainers
    path: FieldPath
    detail: str
    escape: bool = False


class Container(NamedTuple):
    """One container of a pod, with what every check reads of it."""

    list_name: str  # containers, initContainers or ephemeralContainers
    path: FieldPath
    body: dict[str, Any]
    context: dict[str, Any]  # its securityContext (empty when absent)
    name: str


class Setting(NamedTuple):
    """A securityContext that may set a field for the pod or for one container."""

    container: str | None  # None: the pod's own
    list_name: str | None
    path: FieldPath  # of the securityContext
    context: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod as the checks read it, read once: its parts, with their paths in the object."""

    metadata: dict[str, Any]
    spec: dict[str, Any]
    metadata_path: FieldPath
    spec_path: FieldPath
    context: dict[str, Any]  # the pod-level securityContext
    containers: tuple[Container, ...]  # init, regular and ephemeral containers
    settings: tuple[Setting, ...]  # the pod's securityContext, then each container's
    windows: bool  # `spec.os.name: windows`: exempt from the Linux-only restricted controls
    user_namespace: bool  # `hostUsers: false`


def pod_of(obj: Mapping[str, Any]) -> Pod | None:
    """The pod an object runs or templates, or None for objects that bear no pods."""
    paths = POD_PATHS.get(str(obj.get("kind")))
    if paths is None:
        return None
    meta_path, spec_path = paths
    spec = _at(obj, spec_path)
    if not spec:
        return None
    containers = tuple(
        Container(
            field,
            (*spec_path, field, index),
            item,
            as_dict(item.get("securityContext")),
            str(item.get("name") or "(unnamed)"),
        )
        for field in CONTAINER_LISTS
        for index, item in enumerate(as_list(spec.get(field)))
        if isinstance(item, dict)
    )
    context = as_dict(spec.get("securityContext"))
    own = Setting(None, None, (*spec_path, "securityContext"), context)
    settings = (
        own,
        *(
            Setting(c.name, c.list_name, (*c.path, "securityContext"), c.context)
            for c in containers
        ),
    )
    return Pod(
        metadata=as_dict(_at(obj, meta_path)),
        spec=spec,
        metadata_path=meta_path,
        spec_path=spec_path,
        context=context,
        containers=containers,
        settings=settings,
        windows=as_dict(spec.get("os")).get("name") == "windows",
        user_namespace=spec.get("hostUsers") is False,
    )


def _at(obj: Mapping[str, Any], path: FieldPath) -> dict[str, Any]:
    node: Any = obj
    for step in path:
        node = as_dict(node).get(str(step))
    return as_dict(node)
