"""The Pod Security Standards (baseline and restricted), read from one pod-bearing object.

The controls, fields and allowed values are those of the published standard
as Pod Security Admission checks them at its latest version
(k8s.io/pod-security-admission `policy/check_*.go`), on every pod-bearing
kind (Pod, PodTemplate, Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob) and in containers, initContainers and
ephemeralContainers alike. A Windows pod (`spec.os.name: windows`) is exempt
from the Linux-only restricted controls, as the admission check exempts it.

Four readings go further than the admission check, each on the strict side:
capability names are compared as runtimes read them (case does not matter,
so `add: ["all"]` is ALL); a sysctl value holding `+` or `=` is the
cr8escape injection (CVE-2022-0811) whatever the sysctl's name; the seccomp
annotations older clusters still honour are read like the fields; and a pod
asking for a user namespace (`hostUsers: false`) is judged like any other,
although Pod Security Admission 1.35 relaxes procMount, runAsNonRoot and
runAsUser for it: an API server without user-namespace support drops the
field and runs the pod with the node's users, which a manifest cannot show.

`pod_violations(obj)` returns every violation with its control, the
container, the path of the field in the object (for its file line) and
whether it is a known way out of the container onto the node (`escape`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from orchestrator.analysis.pod_security_checks import CHECKS, CONTROLS
from orchestrator.analysis.pod_security_types import (
    POD_PATHS,
    Control,
    FieldPath,
    Level,
    Pod,
    Violation,
    pod_of,
)

__all__ = [
    "CONTROLS",
    "ENFORCE_LABEL",
    "POD_PATHS",
    "Control",
    "FieldPath",
    "Level",
    "Pod",
    "Violation",
    "namespace_level",
    "pod_violations",
]

# The Pod Security Admission label that sets the level a namespace enforces.
ENFORCE_LABEL: Final = "pod-security.kubernetes.io/enforce"
ENFORCE_PATH: Final = ("metadata", "labels", ENFORCE_LABEL)


def pod_violations(obj: Mapping[str, Any]) -> list[Violation]:
    """Every violation of the baseline and restricted standards in one object, in check order."""
    pod = pod_of(obj)
    if pod is None:
        return []
    return [violation for check in CHECKS for violation in check(pod)]


def namespace_level(obj: Mapping[str, Any]) -> Level | None:
    """The level a Namespace enforces by its label, when it names a valid one."""
    if obj.get("kind") != "Namespace":
        return None
    metadata = obj.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    value = labels.get(ENFORCE_LABEL) if isinstance(labels, dict) else None
    return Level(value) if isinstance(value, str) and value in _LEVELS else None


_LEVELS: Final = frozenset(level.value for level in Level)
