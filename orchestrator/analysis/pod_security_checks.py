"""The checks of the Pod Security Standards, one function per control, in the standard's order.

Each check reads a `Pod` and yields a `Violation` per offending field. A
field the restricted level forbids but the baseline already forbids is
reported once, at the baseline (an added NET_ADMIN is a baseline
violation, an added CHOWN a restricted one), as Pod Security Admission's
restricted checks override their baseline twins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from orchestrator.adapters.kubernetes_objects import as_dict, as_list
from orchestrator.analysis.pod_security_types import Control, FieldPath, Level, Pod, Violation

B, R = Level.BASELINE, Level.RESTRICTED
CONTROLS: Final = {
    c.key: c
    for c in (
        Control("host-process", B, "HostProcess", "Windows HostProcess containers must not run"),
        Control("host-namespaces", B, "Host Namespaces", "hostNetwork, hostPID and hostIPC "
                "must be unset or false"),
        Control("privileged", B, "Privileged Containers", "containers must not be privileged"),
        Control("capabilities", B, "Capabilities", "containers may add only the default "
                "capabilities (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, "
                "NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT)"),
        Control("host-path", B, "HostPath Volumes", "hostPath volumes are forbidden"),
        Control("host-ports", B, "Host Ports", "containers must not bind host ports"),
        Control("host-probes", B, "Host Probes / Lifecycle Hooks", "probes and lifecycle "
                "hooks must not name a host"),
        Control("apparmor", B, "AppArmor", "the AppArmor profile may only be RuntimeDefault "
                "or Localhost"),
        Control("selinux", B, "SELinux", "the SELinux type may only be a container type, and "
                "user and role must be unset"),
        Control("proc-mount", B, "/proc Mount Type", "procMount must be Default"),
        Control("seccomp", B, "Seccomp", "the seccomp profile must not be Unconfined"),
        Control("sysctls", B, "Sysctls", "only the safe, namespaced sysctls may be set"),
        Control("volume-types", R, "Volume Types", "volumes may only be configMap, csi, "
                "downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or "
                "secret"),
        Control("privilege-escalation", R, "Privilege Escalation", "containers must set "
                "allowPrivilegeEscalation: false"),
        Control("run-as-non-root", R, "Running as Non-root", "runAsNonRoot must be true"),
        Control("run-as-user", R, "Running as Non-root user", "runAsUser must not be 0"),
        Control("seccomp", R, "Seccomp", "a RuntimeDefault or Localhost seccomp profile must "
                "be set"),
        Control("capabilities", R, "Capabilities", 'containers must drop "ALL" and may add '
                "only NET_BIND_SERVICE"),
    )
}  # fmt: skip

DEFAULT_CAPABILITIES: Final = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})  # fmt: skip
# Capabilities that are a known way onto the node: mounts and cgroups, kernel modules, raw I/O,
# reading any file by handle (the "shocker" escape).
ESCAPE_CAPABILITIES: Final = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH"}
)
# Namespaced sysctls isolated from other pods (the admission check's list at its latest version).
SAFE_SYSCTLS: Final = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
})  # fmt: skip
RESTRICTED_VOLUMES_ALLOWED: Final = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
})  # fmt: skip
SELINUX_TYPES: Final = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
# What the baseline lets a container add and the restricted level does not.
_RESTRICTED_EXTRA: Final = DEFAULT_CAPABILITIES - {"NET_BIND_SERVICE"}
SECURE_PROFILES: Final = frozenset({"RuntimeDefault", "Localhost"})
RUNTIME_SOCKETS: Final = ("docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock")
_APPARMOR_ANNOTATION: Final = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_POD_ANNOTATION: Final = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_ANNOTATION: Final = "container.seccomp.security.alpha.kubernetes.io/"
_PROBES: Final = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS: Final = ("postStart", "preStop")

Check = Callable[[Pod], Iterator[Violation]]


def _among(value: object, allowed: frozenset[str]) -> bool:
    # A malformed manifest may hold a list or a mapping where a name belongs.
    return isinstance(value, str) and value in allowed


def capability(value: object) -> str:
    """A capability name as runtimes compare it: upper case (`all` is ALL)."""
    return str(value).strip().upper()


def _escapes(names: list[str]) -> bool:
    # CRI-O accepts `CAP_SYS_ADMIN` for SYS_ADMIN; the allowed list is matched without that help.
    return not ESCAPE_CAPABILITIES.isdisjoint(n.removeprefix("CAP_") for n in names)


def _violation(
    key: str,
    where: tuple[str | None, str | None],
    path: FieldPath,
    detail: str,
    *,
    escape: bool = False,
) -> Violation:
    return Violation(CONTROLS[key], where[0], where[1], path, detail, escape)


def host_process(pod: Pod) -> Iterator[Violation]:
    for name, field, path, context in pod.settings:
        if as_dict(context.get("windowsOptions")).get("hostProcess") is True:
            at = (*path, "windowsOptions", "hostProcess")
            yield _violation(
                "baseline.host-process", (name, field), at, "runs as a Windows HostProcess"
            )


def host_namespaces(pod: Pod) -> Iterator[Violation]:
    for namespace in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(namespace) is True:
            at = (*pod.spec_path, namespace)
            yield _violation("baseline.host-namespaces", (None, None), at, f"{namespace}: true")


def privileged(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        if c.context.get("privileged") is True:
            at = (*c.path, "securityContext", "privileged")
            where = (c.name, c.list_name)
            yield _violation("baseline.privileged", where, at, "privileged: true", escape=True)


def capabilities_baseline(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        added = as_list(as_dict(c.context.get("capabilities")).get("add"))
        extra = [(i, capability(cap)) for i, cap in enumerate(added)]
        extra = [(i, cap) for i, cap in extra if cap not in DEFAULT_CAPABILITIES]
        if extra:
            at = (*c.path, "securityContext", "capabilities", "add", extra[0][0])
            names = sorted({cap for _, cap in extra})
            yield _violation(
                "baseline.capabilities",
                (c.name, c.list_name),
                at,
                f"adds {', '.join(names)}",
                escape=_escapes(names),
            )


def host_path(pod: Pod) -> Iterator[Violation]:
    for index, volume in enumerate(as_list(pod.spec.get("volumes"))):
        vol = as_dict(volume)
        if "hostPath" in vol:
            node_path = str(as_dict(vol.get("hostPath")).get("path"))
            at = (*pod.spec_path, "volumes", index, "hostPath")
            yield _violation(
                "baseline.host-path",
                (None, None),
                at,
                f"volume {vol.get('name')} mounts the node's {node_path}",
                escape=node_path.rstrip("/").endswith(RUNTIME_SOCKETS),
            )


def host_ports(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        for index, port in enumerate(as_list(c.body.get("ports"))):
            bound = as_dict(port).get("hostPort")
            if bound not in (None, 0, "0", ""):
                at = (*c.path, "ports", index, "hostPort")
                where = (c.name, c.list_name)
                yield _violation("baseline.host-ports", where, at, f"binds host port {bound}")


def host_probes(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        lifecycle = as_dict(c.body.get("lifecycle"))
        handlers: list[tuple[FieldPath, object]] = [
            ((p,), c.body[p]) for p in _PROBES if p in c.body
        ]
        handlers += [(("lifecycle", h), lifecycle[h]) for h in _HOOKS if h in lifecycle]
        for where, handler in handlers:
            for action, target in as_dict(handler).items():
                host = target.get("host") if isinstance(target, dict) else None
                if host and action in ("httpGet", "tcpSocket"):
                    at = (*c.path, *where, action, "host")
                    yield _violation(
                        "baseline.host-probes",
                        (c.name, c.list_name),
                        at,
                        f"{'.'.join(map(str, where))} {action} reaches host {host}",
                    )


def apparmor(pod: Pod) -> Iterator[Violation]:
    for key, value in as_dict(pod.metadata.get("annotations")).items():
        if key.startswith(_APPARMOR_ANNOTATION):
            profile = str(value)
            if profile not in ("", "runtime/default") and not profile.startswith("localhost/"):
                at = (*pod.metadata_path, "annotations", key)
                where = (key.removeprefix(_APPARMOR_ANNOTATION), None)
                yield _violation("baseline.apparmor", where, at, f"AppArmor profile {profile}")
    for name, field, path, context in pod.settings:
        kind = as_dict(context.get("appArmorProfile")).get("type")
        if "appArmorProfile" in context and not _among(kind, SECURE_PROFILES):
            at = (*path, "appArmorProfile", "type")
            yield _violation("baseline.apparmor", (name, field), at, f"AppArmor profile {kind}")


def selinux(pod: Pod) -> Iterator[Violation]:
    for name, field, path, context in pod.settings:
        if "seLinuxOptions" not in context:
            continue
        options = as_dict(context.get("seLinuxOptions"))
        wrong = (
            [] if _among(options.get("type", ""), SELINUX_TYPES) else [f"type {options['type']}"]
        )
        wrong += [f"{part} {options[part]}" for part in ("user", "role") if options.get(part)]
        if wrong:
            at = (*path, "seLinuxOptions")
            yield _violation("baseline.selinux", (name, field), at, f"sets {', '.join(wrong)}")


def proc_mount(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        mount = c.context.get("procMount")
        if mount not in (None, "Default"):
            at = (*c.path, "securityContext", "procMount")
            detail = f"procMount: {mount}{_in_user_namespace(pod)}"
            yield _violation("baseline.proc-mount", (c.name, c.list_name), at, detail)


def _in_user_namespace(pod: Pod) -> str:
    # Pod Security Admission 1.35 relaxes procMount, runAsNonRoot and runAsUser for
    # `hostUsers: false`. Not here: an API server without user-namespace support drops the
    # field and runs the pod with the node's users, and the manifest cannot show which it is.
    if not pod.user_namespace:
        return ""
    return " (hostUsers: false, which only a node with user-namespace support honours)"


def seccomp_baseline(pod: Pod) -> Iterator[Violation]:
    for key, value in as_dict(pod.metadata.get("annotations")).items():
        if key == _SECCOMP_POD_ANNOTATION or key.startswith(_SECCOMP_ANNOTATION):
            profile = str(value)
            if profile not in ("runtime/default", "docker/default") and not profile.startswith(
                "localhost/"
            ):
                at = (*pod.metadata_path, "annotations", key)
                pod_wide = key == _SECCOMP_POD_ANNOTATION
                where = (None if pod_wide else key.removeprefix(_SECCOMP_ANNOTATION), None)
                yield _violation("baseline.seccomp", where, at, f"seccomp profile {profile}")
    for name, field, path, context in pod.settings:
        if "seccompProfile" in context:
            kind = as_dict(context.get("seccompProfile")).get("type")
            if not _among(kind, SECURE_PROFILES):
                at = (*path, "seccompProfile", "type")
                yield _violation("baseline.seccomp", (name, field), at, f"seccomp profile {kind}")


def sysctls(pod: Pod) -> Iterator[Violation]:
    path = (*pod.spec_path, "securityContext", "sysctls")
    for index, entry in enumerate(as_list(pod.context.get("sysctls"))):
        name, value = str(as_dict(entry).get("name")), str(as_dict(entry).get("value", ""))
        injected = [c for c in "+=" if c in value]
        if injected:
            yield _violation(
                "baseline.sysctls",
                (None, None),
                (*path, index, "value"),
                f"sysctl {name} value {value!r} holds {' and '.join(injected)}: the cr8escape "
                "injection (CVE-2022-0811) sets other kernel parameters through it",
                escape=True,
            )
        if name not in SAFE_SYSCTLS:
            at = (*path, index, "name")
            yield _violation(
                "baseline.sysctls", (None, None), at, f"sysctl {name} is not in the safe set"
            )


def volume_types(pod: Pod) -> Iterator[Violation]:
    for index, volume in enumerate(as_list(pod.spec.get("volumes"))):
        vol = as_dict(volume)
        # A volume naming no source is an emptyDir (the API server's default).
        sources = sorted(set(vol) - {"name"})
        wrong = [s for s in sources if s not in RESTRICTED_VOLUMES_ALLOWED and s != "hostPath"]
        if wrong:
            at = (*pod.spec_path, "volumes", index, wrong[0])
            detail = f"volume {vol.get('name')} is of type {', '.join(wrong)}"
            yield _violation("restricted.volume-types", (None, None), at, detail)


def privilege_escalation(pod: Pod) -> Iterator[Violation]:
    if pod.windows:
        return
    for c in pod.containers:
        context = c.context
        if context.get("allowPrivilegeEscalation") is not False:
            explicit = "allowPrivilegeEscalation" in context
            at = (*c.path, "securityContext", "allowPrivilegeEscalation") if explicit else c.path
            detail = (
                f"allowPrivilegeEscalation: {context['allowPrivilegeEscalation']}"
                if explicit
                else "does not set allowPrivilegeEscalation: false"
            )
            where = (c.name, c.list_name)
            yield _violation("restricted.privilege-escalation", where, at, detail)


def run_as_non_root(pod: Pod) -> Iterator[Violation]:
    note = _in_user_namespace(pod)
    pod_value = pod.context.get("runAsNonRoot")
    if pod_value is False:
        at = (*pod.spec_path, "securityContext", "runAsNonRoot")
        detail = f"runAsNonRoot: false{note}"
        yield _violation("restricted.run-as-non-root", (None, None), at, detail)
    for c in pod.containers:
        context = c.context
        where = (c.name, c.list_name)
        if context.get("runAsNonRoot") is False:
            at = (*c.path, "securityContext", "runAsNonRoot")
            yield _violation("restricted.run-as-non-root", where, at, f"runAsNonRoot: false{note}")
        elif "runAsNonRoot" not in context and pod_value is not True:
            detail = f"sets runAsNonRoot neither here nor for the pod{note}"
            yield _violation("restricted.run-as-non-root", where, c.path, detail)


def run_as_user(pod: Pod) -> Iterator[Violation]:
    for name, field, path, context in pod.settings:
        user = context.get("runAsUser")
        if isinstance(user, int) and not isinstance(user, bool) and user == 0:
            at = (*path, "runAsUser")
            detail = f"runAsUser: 0 (root){_in_user_namespace(pod)}"
            yield _violation("restricted.run-as-user", (name, field), at, detail)


def seccomp_restricted(pod: Pod) -> Iterator[Violation]:
    # An explicit bad profile is the baseline's; here only a profile that is not set at all.
    if pod.windows or "seccompProfile" in pod.context:
        return
    for c in pod.containers:
        if "seccompProfile" not in c.context:
            detail = "sets a seccomp profile neither here nor for the pod"
            yield _violation("restricted.seccomp", (c.name, c.list_name), c.path, detail)


def capabilities_restricted(pod: Pod) -> Iterator[Violation]:
    if pod.windows:
        return
    for c in pod.containers:
        caps = as_dict(c.context.get("capabilities"))
        if not any(capability(cap) == "ALL" for cap in as_list(caps.get("drop"))):
            at = (*c.path, "securityContext", "capabilities") if caps else c.path
            where = (c.name, c.list_name)
            yield _violation("restricted.capabilities", where, at, 'does not drop "ALL"')
        added = caps.get("add")
        extra = [
            (i, n)
            for i, cap in enumerate(as_list(added))
            if (n := capability(cap)) in _RESTRICTED_EXTRA
        ]
        if extra:
            at = (*c.path, "securityContext", "capabilities", "add", extra[0][0])
            names = ", ".join(sorted({n for _, n in extra}))
            where = (c.name, c.list_name)
            yield _violation("restricted.capabilities", where, at, f"adds {names}")


CHECKS: Final[tuple[Check, ...]] = (
    host_process,
    host_namespaces,
    privileged,
    capabilities_baseline,
    host_path,
    host_ports,
    host_probes,
    apparmor,
    selinux,
    proc_mount,
    seccomp_baseline,
    sysctls,
    volume_types,
    privilege_escalation,
    run_as_non_root,
    run_as_user,
    seccomp_restricted,
    capabilities_restricted,
)
