"""The edges a set of manifests declares: what breaks which workload when it changes.

`Relation(source, target, kind)` reads "a change to source can break target":

    selects   Service -> workloads whose pod labels its selector matches
    isolates  NetworkPolicy -> workloads its podSelector matches (empty: all of them)
    config    ConfigMap / Secret -> workloads that read it (env, envFrom, volumes,
              projected volumes, image pull secrets)
    mounts    PersistentVolumeClaim -> workloads that mount it
    identity  ServiceAccount -> workloads that run as it
    grants    RoleBinding / ClusterRoleBinding -> the ServiceAccounts it binds
    binds     Role / ClusterRole -> the bindings that refer to it
    routes    Service -> Ingresses that send traffic to it
    owns      owner -> owned, from metadata.ownerReferences

Selectors only match within one namespace, and only objects in the input:
what runs in the cluster but is not in the input is unknown here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator.adapters.kubernetes_objects import (
    DEFAULT_NAMESPACE,
    Placed,
    address,
    as_dict,
    as_list,
    containers,
    label_selector_matches,
    pod_template,
)
from orchestrator.models import Relation


def manifest_relations(
    objects: list[Placed], cluster_scoped: frozenset[str]
) -> tuple[Relation, ...]:
    """Every relation the objects declare, sorted and without duplicates."""
    workloads: dict[str | None, list[tuple[Placed, dict[str, Any]]]] = {}
    found: set[tuple[str, str, str]] = set()
    for obj in objects:
        template = pod_template(obj.body)
        if template is not None:
            labels, spec = template
            workloads.setdefault(obj.namespace, []).append((obj, labels))
            for kind, name, relation in _references(spec):
                found.add((address(kind, name, obj.namespace), obj.address, relation))
        found.update(_owners(obj, cluster_scoped))
    # (namespace, label, value) -> workloads carrying it: a Service's selector is a plain
    # label map, so its matches are the intersection of a few sets, not a scan of every pod.
    index: dict[tuple[str | None, str, object], set[str]] = {}
    for namespace, placed in workloads.items():
        for workload, labels in placed:
            for label, value in labels.items():
                index.setdefault((namespace, label, _hashable(value)), set()).add(workload.address)
    for obj in objects:
        spec = as_dict(obj.body.get("spec"))
        here = workloads.get(obj.namespace, [])
        if obj.kind == "Service":
            selector = as_dict(spec.get("selector"))
            found.update((obj.address, t, "selects") for t in _selected(selector, index, obj))
        elif obj.kind == "NetworkPolicy" and "podSelector" in spec:
            found.update(
                (obj.address, w.address, "isolates")
                for w, labels in here
                if label_selector_matches(spec["podSelector"], labels)
            )
        elif obj.kind in ("RoleBinding", "ClusterRoleBinding"):
            found.update(_binding(obj))
        elif obj.kind == "Ingress":
            found.update(
                (address("Service", name, obj.namespace), obj.address, "routes")
                for name in _backends(spec)
            )
    return tuple(Relation(source=s, target=t, kind=k) for s, t, k in sorted(found))


def _selected(
    selector: dict[str, Any], index: dict[tuple[str | None, str, object], set[str]], obj: Placed
) -> set[str]:
    """Workloads in the Service's namespace whose labels hold every selector pair."""
    if not selector:
        return set()  # a Service without a selector manages no endpoints
    sets = [index.get((obj.namespace, k, _hashable(v)), set()) for k, v in selector.items()]
    return set.intersection(*sets)


def _hashable(value: object) -> object:
    return value if isinstance(value, str | int | float | bool) or value is None else repr(value)


def _references(spec: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(Kind, name, relation) of every object a pod spec reads."""
    for volume in as_list(spec.get("volumes")):
        vol = as_dict(volume)
        yield from _named("ConfigMap", as_dict(vol.get("configMap")).get("name"), "config")
        yield from _named("Secret", as_dict(vol.get("secret")).get("secretName"), "config")
        claim = as_dict(vol.get("persistentVolumeClaim")).get("claimName")
        yield from _named("PersistentVolumeClaim", claim, "mounts")
        for source in as_list(as_dict(vol.get("projected")).get("sources")):
            src = as_dict(source)
            yield from _named("ConfigMap", as_dict(src.get("configMap")).get("name"), "config")
            yield from _named("Secret", as_dict(src.get("secret")).get("name"), "config")
    for _, container in containers(spec):
        for env in as_list(container.get("env")):
            ref = as_dict(as_dict(env).get("valueFrom"))
            config_map = as_dict(ref.get("configMapKeyRef")).get("name")
            yield from _named("ConfigMap", config_map, "config")
            yield from _named("Secret", as_dict(ref.get("secretKeyRef")).get("name"), "config")
        for source in as_list(container.get("envFrom")):
            src = as_dict(source)
            yield from _named("ConfigMap", as_dict(src.get("configMapRef")).get("name"), "config")
            yield from _named("Secret", as_dict(src.get("secretRef")).get("name"), "config")
    for pull in as_list(spec.get("imagePullSecrets")):
        yield from _named("Secret", as_dict(pull).get("name"), "config")
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    yield from _named("ServiceAccount", account, "identity")


def _named(kind: str, name: object, relation: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(name, str) and name:
        yield kind, name, relation


def _owners(obj: Placed, cluster_scoped: frozenset[str]) -> Iterator[tuple[str, str, str]]:
    for ref in as_list(as_dict(obj.body.get("metadata")).get("ownerReferences")):
        owner = as_dict(ref)
        kind, name = owner.get("kind"), owner.get("name")
        if isinstance(kind, str) and isinstance(name, str):
            namespace = None if kind in cluster_scoped else obj.namespace
            yield address(kind, name, namespace), obj.address, "owns"


def _binding(obj: Placed) -> Iterator[tuple[str, str, str]]:
    role = as_dict(obj.body.get("roleRef"))
    kind, name = role.get("kind"), role.get("name")
    if kind in ("Role", "ClusterRole") and isinstance(name, str):
        yield address(kind, name, obj.namespace if kind == "Role" else None), obj.address, "binds"
    for subject in as_list(obj.body.get("subjects")):
        sub = as_dict(subject)
        if sub.get("kind") == "ServiceAccount" and isinstance(sub.get("name"), str):
            namespace = sub.get("namespace") or obj.namespace or DEFAULT_NAMESPACE
            yield obj.address, address("ServiceAccount", sub["name"], namespace), "grants"


def _backends(spec: dict[str, Any]) -> Iterator[str]:
    backends = [as_dict(spec.get("defaultBackend"))]
    for rule in as_list(spec.get("rules")):
        for path in as_list(as_dict(as_dict(rule).get("http")).get("paths")):
            backends.append(as_dict(as_dict(path).get("backend")))
    for backend in backends:
        name = as_dict(backend.get("service")).get("name") or backend.get("serviceName")
        if isinstance(name, str) and name:
            yield name
