"""The Pod Security Standards, control by control: a failing and a passing pod for each.

The cases are modelled on the standard's own tables and on Pod Security
Admission's check tests: each row is one pod spec (and, where a control reads
them, its annotations) with the control it must break, or must not.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.analysis.kubernetes import located_paths, object_facts
from orchestrator.analysis.pod_security import CONTROLS, ENFORCE_LABEL, pod_violations
from orchestrator.analysis.pod_security_checks import SAFE_SYSCTLS
from orchestrator.analysis.pod_security_types import CONTAINER_LISTS

IMAGE = "registry.example/app:1"


def ctr(name: str = "app", **security: Any) -> dict[str, Any]:
    """A container, with a securityContext when one is given."""
    body: dict[str, Any] = {"name": name, "image": IMAGE}
    if security:
        body["securityContext"] = security
    return body


def pod(*containers: dict[str, Any], annotations: dict[str, str] | None = None, **spec: Any):
    """A Pod of these containers (one plain container when none) and pod-level fields."""
    metadata: dict[str, Any] = {"name": "p"}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": list(containers) or [ctr()], **spec},
    }


HARDENED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
SA = "container.apparmor.security.beta.kubernetes.io/app"
SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"


def sysctl(name: str, value: str = "1") -> dict[str, Any]:
    return {"sysctls": [{"name": name, "value": value}]}


def vol(**source: Any) -> list[dict[str, Any]]:
    return [{"name": "v", **source}]


# (control key, the pod, whether it breaks the control, why)
# fmt: off
TABLE: list[tuple[str, dict[str, Any], bool, str]] = [
    ("baseline.host-process", pod(ctr(windowsOptions={"hostProcess": True})), True, "container"),
    ("baseline.host-process", pod(securityContext={"windowsOptions": {"hostProcess": True}}),
     True, "pod"),
    ("baseline.host-process", pod(ctr(windowsOptions={"hostProcess": False})), False, "false"),
    ("baseline.host-namespaces", pod(hostNetwork=True), True, "hostNetwork"),
    ("baseline.host-namespaces", pod(hostPID=True), True, "hostPID"),
    ("baseline.host-namespaces", pod(hostIPC=True), True, "hostIPC"),
    ("baseline.host-namespaces", pod(hostNetwork=False, hostPID=False), False, "false"),
    ("baseline.privileged", pod(ctr(privileged=True)), True, "container"),
    ("baseline.privileged", pod(initContainers=[ctr("init", privileged=True)]), True, "init"),
    ("baseline.privileged", pod(ephemeralContainers=[ctr("debug", privileged=True)]), True,
     "ephemeral"),
    ("baseline.privileged", pod(ctr(privileged=False)), False, "false"),
    ("baseline.capabilities", pod(ctr(capabilities={"add": ["NET_ADMIN"]})), True, "NET_ADMIN"),
    ("baseline.capabilities", pod(ctr(capabilities={"add": ["NET_RAW"]})), True, "NET_RAW"),
    ("baseline.capabilities", pod(ctr(capabilities={"add": ["all"]})), True, "all is ALL"),
    ("baseline.capabilities", pod(ctr(capabilities={"add": ["CAP_CHOWN"]})), True,
     "a CAP_ name is not on the default list"),
    ("baseline.capabilities", pod(ctr(capabilities={"add": ["CHOWN", "kill", "SYS_CHROOT"]})),
     False, "the default set, any case"),
    ("baseline.host-path", pod(volumes=vol(hostPath={"path": "/var/log"})), True, "hostPath"),
    ("baseline.host-path", pod(volumes=vol(emptyDir={})), False, "emptyDir"),
    ("baseline.host-ports", pod({**ctr(), "ports": [{"containerPort": 80, "hostPort": 80}]}),
     True, "hostPort"),
    ("baseline.host-ports", pod({**ctr(), "ports": [{"containerPort": 80, "hostPort": 0}]}),
     False, "hostPort 0"),
    ("baseline.host-ports", pod({**ctr(), "ports": [{"containerPort": 80}]}), False,
     "no hostPort"),
    ("baseline.host-probes",
     pod({**ctr(), "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}), True,
     "probe host"),
    ("baseline.host-probes",
     pod({**ctr(), "lifecycle": {"preStop": {"tcpSocket": {"host": "db", "port": 5432}}}}),
     True, "lifecycle host"),
    ("baseline.host-probes", pod({**ctr(), "readinessProbe": {"httpGet": {"port": 80}}}), False,
     "probe without host"),
    ("baseline.apparmor", pod(annotations={SA: "unconfined"}), True, "annotation"),
    ("baseline.apparmor", pod(ctr(appArmorProfile={"type": "Unconfined"})), True, "field"),
    ("baseline.apparmor", pod(securityContext={"appArmorProfile": {"type": "Unconfined"}}), True,
     "pod field"),
    ("baseline.apparmor", pod(annotations={SA: "localhost/mine"}), False, "localhost"),
    ("baseline.apparmor", pod(ctr(appArmorProfile={"type": "RuntimeDefault"})), False,
     "RuntimeDefault"),
    ("baseline.selinux", pod(ctr(seLinuxOptions={"type": "spc_t"})), True, "type"),
    ("baseline.selinux", pod(securityContext={"seLinuxOptions": {"user": "system_u"}}), True,
     "user"),
    ("baseline.selinux", pod(ctr(seLinuxOptions={"role": "sysadm_r"})), True, "role"),
    ("baseline.selinux", pod(ctr(seLinuxOptions={"type": "container_t", "level": "s0:c1"})),
     False, "container_t and a level"),
    ("baseline.selinux", pod(ctr(seLinuxOptions={"type": "container_engine_t"})), False,
     "container_engine_t"),
    ("baseline.proc-mount", pod(ctr(procMount="Unmasked")), True, "Unmasked"),
    ("baseline.proc-mount", pod(ctr(procMount="Unmasked"), hostUsers=False), True,
     "a user namespace the API server may drop"),
    ("baseline.proc-mount", pod(ctr(procMount="Default")), False, "Default"),
    ("baseline.seccomp", pod(securityContext={"seccompProfile": {"type": "Unconfined"}}), True,
     "pod"),
    ("baseline.seccomp", pod(ctr(seccompProfile={"type": "Unconfined"})), True, "container"),
    ("baseline.seccomp", pod(annotations={SECCOMP_POD: "unconfined"}), True, "annotation"),
    ("baseline.seccomp", pod(ctr(seccompProfile={"type": "Localhost"})), False, "Localhost"),
    ("baseline.seccomp", pod(annotations={SECCOMP_POD: "runtime/default"}), False,
     "annotation runtime/default"),
    ("baseline.sysctls", pod(securityContext=sysctl("net.core.somaxconn")), True, "unsafe"),
    ("baseline.sysctls", pod(securityContext=sysctl("kernel.shm_rmid_forced", "1+kernel.x=1")),
     True, "cr8escape in a safe sysctl's value"),
    ("baseline.sysctls", pod(securityContext=sysctl("net.ipv4.tcp_keepalive_time", "60")), False,
     "safe"),
    ("restricted.volume-types", pod(volumes=vol(nfs={"server": "n", "path": "/"})), True, "nfs"),
    ("restricted.volume-types", pod(volumes=vol(gitRepo={"repository": "r"})), True, "gitRepo"),
    ("restricted.volume-types", pod(volumes=[{"name": "a", "configMap": {"name": "c"}},
                                             {"name": "b", "persistentVolumeClaim": {}},
                                             {"name": "c", "ephemeral": {}},
                                             {"name": "d"}]), False,
     "core types, and a bare name is an emptyDir"),
    ("restricted.volume-types", pod(volumes=vol(hostPath={"path": "/"})), False,
     "hostPath is the baseline's"),
    ("restricted.privilege-escalation", pod(ctr()), True, "unset"),
    ("restricted.privilege-escalation", pod(ctr(allowPrivilegeEscalation=True)), True, "true"),
    ("restricted.privilege-escalation", pod(ctr(allowPrivilegeEscalation=False)), False,
     "false"),
    ("restricted.privilege-escalation", pod(ctr(), os={"name": "windows"}), False,
     "a Windows pod"),
    ("restricted.run-as-non-root", pod(ctr()), True, "unset"),
    ("restricted.run-as-non-root", pod(ctr(runAsNonRoot=False),
                                       securityContext={"runAsNonRoot": True}), True,
     "a container overriding the pod"),
    ("restricted.run-as-non-root", pod(ctr(), securityContext={"runAsNonRoot": True}), False,
     "the pod's"),
    ("restricted.run-as-non-root", pod(ctr(runAsNonRoot=True)), False, "the container's"),
    ("restricted.run-as-user", pod(securityContext={"runAsUser": 0}), True, "pod root"),
    ("restricted.run-as-user", pod(ctr(runAsUser=0)), True, "container root"),
    ("restricted.run-as-user", pod(ctr(runAsUser=1000)), False, "non-root"),
    ("restricted.seccomp", pod(ctr()), True, "unset"),
    ("restricted.seccomp", pod(securityContext={"seccompProfile": {"type": "RuntimeDefault"}}),
     False, "the pod's"),
    ("restricted.seccomp", pod(ctr(seccompProfile={"type": "Localhost"})), False,
     "the container's"),
    ("restricted.capabilities", pod(ctr()), True, "no drop"),
    ("restricted.capabilities", pod(ctr(capabilities={"drop": ["ALL"], "add": ["CHOWN"]})), True,
     "adds more than NET_BIND_SERVICE"),
    ("restricted.capabilities", pod(ctr(capabilities={"drop": ["all"],
                                                      "add": ["NET_BIND_SERVICE"]})), False,
     "drops all, adds NET_BIND_SERVICE"),
]
# fmt: on


@pytest.mark.parametrize(
    ("key", "obj", "breaks", "why"), TABLE, ids=[f"{r[0]}-{r[3]}" for r in TABLE]
)
def test_each_control_has_a_failing_and_a_passing_pod(
    key: str, obj: dict[str, Any], breaks: bool, why: str
) -> None:
    """Each row breaks exactly the control it names, or does not break it."""
    keys = {v.control.key for v in pod_violations(obj)}
    assert (key in keys) is breaks, (why, sorted(keys))


def test_the_table_covers_every_control_both_ways() -> None:
    """Every baseline and restricted control has a failing and a passing row above."""
    assert {(key, breaks) for key, _, breaks, _ in TABLE} == {
        (key, breaks) for key in CONTROLS for breaks in (True, False)
    }


def test_a_hardened_pod_breaks_nothing() -> None:
    """A pod with the restricted standard's settings passes every control."""
    assert pod_violations(pod(ctr(**HARDENED))) == []


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [
        ("Pod", ("spec",)),
        ("PodTemplate", ("template", "spec")),
        ("Deployment", ("spec", "template", "spec")),
        ("StatefulSet", ("spec", "template", "spec")),
        ("DaemonSet", ("spec", "template", "spec")),
        ("ReplicaSet", ("spec", "template", "spec")),
        ("ReplicationController", ("spec", "template", "spec")),
        ("Job", ("spec", "template", "spec")),
        ("CronJob", ("spec", "jobTemplate", "spec", "template", "spec")),
    ],
)
def test_every_pod_bearing_kind_is_judged(kind: str, prefix: tuple[str, ...]) -> None:
    """A privileged init container is found in every kind that runs or templates a pod,
    at the path of its field in that kind."""
    spec = {"initContainers": [ctr("init", privileged=True)], "containers": [ctr(**HARDENED)]}
    body: dict[str, Any] = spec
    for step in reversed(prefix):
        body = {step: body}
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "w"}, **body}
    (found,) = [v for v in pod_violations(obj) if v.control.key == "baseline.privileged"]
    assert (found.container, found.container_list) == ("init", "initContainers")
    assert found.path == (*prefix, "initContainers", 0, "securityContext", "privileged")
    assert found.escape


def test_objects_without_pods_have_no_violations() -> None:
    """A Service or a ConfigMap bears no pod."""
    assert pod_violations({"kind": "Service", "spec": {"hostNetwork": True}}) == []


@pytest.mark.parametrize(
    ("obj", "escape"),
    [
        (pod(ctr(privileged=True)), True),
        (pod(ctr(capabilities={"add": ["SYS_ADMIN"]})), True),
        (pod(ctr(capabilities={"add": ["CAP_SYS_ADMIN"]})), True),
        (pod(volumes=vol(hostPath={"path": "/run/containerd/containerd.sock"})), True),
        (pod(securityContext=sysctl("kernel.shm_rmid_forced", "0+kernel.core_pattern=|/x")), True),
        (pod(ctr(capabilities={"add": ["NET_ADMIN"]})), False),
        (pod(volumes=vol(hostPath={"path": "/var/log"})), False),
        (pod(hostNetwork=True), False),
    ],
)
def test_known_escapes_onto_the_node_are_marked(obj: dict[str, Any], escape: bool) -> None:
    """Privileged, SYS_ADMIN, the runtime socket and cr8escape are escapes; the rest not."""
    assert any(v.escape for v in pod_violations(obj)) is escape


def test_the_safe_sysctls_are_the_admission_checks_latest() -> None:
    """The safe set is Pod Security Admission's at its latest version (14 names)."""
    assert len(SAFE_SYSCTLS) == 14
    assert {"net.ipv4.tcp_rmem", "net.ipv4.tcp_notsent_lowat"} <= SAFE_SYSCTLS


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from([
    "securityContext", "capabilities", "add", "drop", "privileged", "ports", "hostPort",
    "seLinuxOptions", "type", "seccompProfile", "appArmorProfile", "windowsOptions",
    "hostProcess", "procMount", "sysctls", "name", "value", "volumes", "hostPath", "path",
    "livenessProbe", "lifecycle", "httpGet", "host", "runAsUser", "runAsNonRoot",
])  # fmt: skip
SHAPED = st.recursive(
    JSON,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    spec=st.dictionaries(FIELDS | st.sampled_from(CONTAINER_LISTS), SHAPED, max_size=5),
    containers=st.lists(st.dictionaries(FIELDS, SHAPED, max_size=5), max_size=3),
    annotations=st.dictionaries(st.text(max_size=60) | st.just(ENFORCE_LABEL), JSON, max_size=3),
)
def test_malformed_pods_never_crash_the_analysers(
    spec: dict[str, Any], containers: list[dict[str, Any]], annotations: dict[str, Any]
) -> None:
    """Whatever a manifest holds where a field belongs (a list for a name, a map for a
    port), the analysers answer with violations and paths, never an exception: the adapter
    runs them while loading, and a crash there would be no decision at all."""
    for kind in ("Pod", "Namespace", "ClusterRole", "RoleBinding", "Service", "Ingress"):
        obj = {
            "kind": kind,
            "metadata": {"annotations": annotations, "labels": annotations},
            "spec": {**spec, "containers": containers},
            "rules": containers,
            "subjects": containers,
            "roleRef": spec,
        }
        for violation in pod_violations(obj):
            assert violation.path[0] == "spec"
        located_paths(obj)
        list(object_facts(kind, obj, "ns"))


@pytest.mark.parametrize(
    ("obj", "key"),
    [
        (pod(ctr(seccompProfile={"type": ["RuntimeDefault"]})), "baseline.seccomp"),
        (pod(ctr(appArmorProfile={"type": {"name": "x"}})), "baseline.apparmor"),
        (pod(securityContext={"seLinuxOptions": {"type": ["spc_t"]}}), "baseline.selinux"),
    ],
)
def test_a_malformed_value_where_a_name_belongs_is_a_violation(
    obj: dict[str, Any], key: str
) -> None:
    """A list or a map where a profile name belongs is not an allowed value (and no crash)."""
    assert key in {v.control.key for v in pod_violations(obj)}
