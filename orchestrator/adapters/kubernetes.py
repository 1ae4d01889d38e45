"""Kubernetes manifests (YAML, multi-document, `List`s, JSON) as Proposals.

The steps, in order:

1. load every object safely (`kubernetes_load`: aliases bounded, Lists unwrapped);
2. give each its identity: `<namespace>/<Kind>/<name>`, or `<Kind>/<name>` for
   cluster-scoped kinds; a namespaced object without a namespace is in `default`;
3. read the relations the objects declare (`kubernetes_relations`);
4. mask Secret data, secret-named environment values, ConfigMap entries
   named like a password, and credential-looking strings, then build one
   ResourceChange per object.

YAML input gives each change its lines: the object's, and those of the
fields the reviewers will point at (the Pod Security, RBAC and exposure
analysers' paths, and the credentials masked in ConfigMaps and env values).

A manifest is an apply: it creates each object or updates it, and which one
depends on a cluster the manifest does not show. The change is read as an
UPDATE, the conservative choice: an update can break what already runs, a
create cannot, so no reviewer judges an update more leniently than a create.
With `--delete` (AdapterOptions.delete) the input lists objects to delete, as
`kubectl delete -f` reads it, and every change is a DELETE.
"""

from __future__ import annotations

from typing import Any, Final

from orchestrator.adapters.base import AdapterOptions, Submission, type_name
from orchestrator.adapters.kubernetes_load import RawObject, load_objects
from orchestrator.adapters.kubernetes_objects import (
    DEFAULT_NAMESPACE,
    Placed,
    address,
    as_dict,
    as_list,
    cluster_scoped_kinds,
)
from orchestrator.adapters.kubernetes_relations import manifest_relations
from orchestrator.adapters.masking import (
    DEFAULT_SENSITIVE_KEYS,
    Masker,
    Path,
    collect_marked_strings,
    format_path,
)
from orchestrator.analysis.kubernetes import located_paths
from orchestrator.analysis.pod_security_types import pod_of
from orchestrator.errors import InputError
from orchestrator.models import Action, Proposal, ResourceChange, canonical_environment

_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
# A ConfigMap key holding one of these words anywhere holds a password (`db_password_plain`);
# the masker's own rule, a word at the end of the key, covers tokens and keys.
_PASSWORD_WORDS: Final = ("password", "passwd", "passphrase", "credential")
# Written by the API server, never by an author: left out of what is reviewed.
_SERVER_FIELDS: Final = ("managedFields", "resourceVersion", "uid", "generation", "selfLink")


def parse_manifests(
    text: str,
    origin: str,
    submission: Submission,
    *,
    document: object = None,
    sensitive_keys: tuple[str, ...] | None = None,
    options: AdapterOptions | None = None,
) -> Proposal:
    """Build the Proposal of applying (or, with options.delete, deleting) some manifests."""
    keys = sensitive_keys or DEFAULT_SENSITIVE_KEYS
    finder = Masker(keys)

    def locate(body: dict[str, Any]) -> list[Path]:
        return [*located_paths(body), *_credentials(body, finder)]

    raws = load_objects(text, origin, document, locate=locate)
    scoped = cluster_scoped_kinds([r.body for r in raws])
    placed = [_place(raw, scoped, origin) for raw in raws]
    seen: dict[str, str] = {}
    for raw, obj in zip(raws, placed, strict=True):
        if obj.address in seen:
            raise InputError(
                origin,
                f"{obj.address} is declared twice (also in {seen[obj.address]})",
                where=raw.where,
            )
        seen[obj.address] = raw.where
    relations = manifest_relations(placed, scoped)

    bodies = [_reviewed(obj.body) for obj in placed]
    mirror = [_mirror(body, finder) for body in bodies]
    secrets: set[str] = set()
    collect_marked_strings(bodies, mirror, secrets)
    paths: list[Path] = []
    masked = Masker(keys, secrets=secrets).mask_in_place(bodies, mirror, paths=paths)
    by_object: list[set[str]] = [set() for _ in placed]
    for path in paths:
        if path and isinstance(path[0], int):
            by_object[path[0]].add(format_path(path[1:]))

    delete = options is not None and options.delete
    changes = tuple(
        ResourceChange(
            address=obj.address,
            type=obj.kind,
            action=Action.DELETE if delete else Action.UPDATE,
            name=obj.name,
            provider=obj.body.get("apiVersion"),
            raw_actions=("delete",) if delete else ("apply",),
            before=body if delete else None,
            after=None if delete else body,
            sensitive_paths=tuple(sorted(by_object[index])),
            namespace=obj.namespace,
            location=raw.location,
            field_lines=raw.lines,
        )
        for index, (raw, obj, body) in enumerate(zip(raws, placed, masked, strict=True))
    )
    return Proposal(
        kind="kubernetes",
        source=submission.source,
        actor=submission.actor,
        intent=submission.intent,
        environment=canonical_environment(submission.environment),
        environment_name=submission.environment or "production",
        changes=changes,
        relations=relations,
        input_name=origin,
        raw=masked,
    )


def _place(raw: RawObject, cluster_scoped: frozenset[str], origin: str) -> Placed:
    body, where = raw.body, raw.where
    kind = body["kind"]
    version = body.get("apiVersion")
    if not isinstance(version, str) or not version:
        raise InputError(origin, f"{kind} has no apiVersion", where=where)
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        got = "nothing" if metadata is None else type_name(metadata)
        raise InputError(
            origin, f"{kind}: expected metadata to be an object, got {got}", where=where
        )
    name = _scalar(metadata.get("name"))
    if name is None:
        generated = _scalar(metadata.get("generateName"))
        if generated is None:
            raise InputError(origin, f"{kind} has no metadata.name", where=where)
        name = generated + "*"  # the server appends a random suffix
    namespace: str | None = None
    if kind not in cluster_scoped:
        namespace = _scalar(metadata.get("namespace")) or DEFAULT_NAMESPACE
    return Placed(address(kind, name, namespace), kind, name, namespace, body)


def _scalar(value: object) -> str | None:
    # YAML reads `name: 1` as a number; Kubernetes would name the object "1".
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _reviewed(body: dict[str, Any]) -> dict[str, Any]:
    """The object as an apply sends it: no status, no server-written metadata."""
    reviewed = {k: v for k, v in body.items() if k != "status"}
    metadata = as_dict(body.get("metadata"))
    reviewed["metadata"] = {k: v for k, v in metadata.items() if k not in _SERVER_FIELDS}
    return reviewed


def _mirror(body: dict[str, Any], masker: Masker) -> dict[str, Any]:
    """A sensitivity mirror: Secret data, secret-named env values and ConfigMap entries."""
    mirror: dict[str, Any] = {}
    if body.get("kind") == "Secret":
        mirror.update({"data": True, "stringData": True})
        # kubectl keeps a copy of the whole object, data included, in this annotation.
        _mark(mirror, ("metadata", "annotations", _LAST_APPLIED))
    for path in _secret_env_values(body, (), masker):
        _mark(mirror, path)
    for path in _configmap_passwords(body, masker):
        _mark(mirror, path)
    return mirror


def _credentials(body: dict[str, Any], masker: Masker) -> list[Path]:
    """Where a credential sits in plain text outside a Secret (to learn its line)."""
    found: list[Path] = []
    pod = pod_of(body)
    for container in pod.containers if pod is not None else ():
        for index, entry in enumerate(as_list(container.body.get("env"))):
            name = as_dict(entry).get("name")
            if isinstance(name, str) and "value" in entry and masker.is_sensitive_key(name):
                found.append((*container.path, "env", index, "value"))
    if body.get("kind") == "ConfigMap":
        found.extend(_configmap_passwords(body, masker))
        data = as_dict(body.get("data"))
        found.extend(
            ("data", key)
            for key, value in data.items()
            if isinstance(value, str) and masker.scrub(value) is not value
        )
    return found


def _configmap_passwords(body: dict[str, Any], masker: Masker) -> list[Path]:
    """ConfigMap entries whose key names a secret, unless the value only points at one."""
    if body.get("kind") != "ConfigMap":
        return []
    found: list[Path] = []
    for field in ("data", "binaryData"):
        for key, value in as_dict(body.get(field)).items():
            if not isinstance(value, str) or not value.strip():
                continue
            named = masker.is_sensitive_key(key)
            if not named and any(word in key.lower() for word in _PASSWORD_WORDS):
                # a file path, an environment or template reference, a number: not the secret
                named = not value.startswith(("/", "$", "{{")) and not _setting(value)
            if named:
                found.append((field, key))
    return found


def _setting(value: str) -> bool:
    """A number or a boolean: a setting about a password (`password_min_length: 8`)."""
    return value.strip().isdigit() or value.strip().lower() in ("true", "false")


def _secret_env_values(node: object, path: Path, masker: Masker) -> list[Path]:
    """Secret-named `env` values anywhere in an object (custom resources carry pods too)."""
    found: list[Path] = []
    if isinstance(node, dict):
        for key, child in node.items():
            kind = type(child)
            if key == "env" and kind is list:
                for index, entry in enumerate(child):
                    name = entry.get("name") if isinstance(entry, dict) else None
                    if isinstance(name, str) and "value" in entry and masker.is_sensitive_key(name):
                        found.append((*path, key, index, "value"))
            elif kind is dict or kind is list:
                found.extend(_secret_env_values(child, (*path, key), masker))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            kind = type(child)
            if kind is dict or kind is list:  # a scalar holds no env
                found.extend(_secret_env_values(child, (*path, index), masker))
    return found


def _mark(mirror: dict[str, Any], path: Path) -> None:
    """Set a truthy leaf at `path` in a mirror, creating dicts and (padded) lists on the way."""
    node: Any = mirror
    for step, following in zip(path, (*path[1:], None), strict=True):
        leaf: Any = True if following is None else [] if isinstance(following, int) else {}
        if isinstance(node, list) and isinstance(step, int):
            node.extend([None] * (step + 1 - len(node)))
            if following is None or not isinstance(node[step], dict | list):
                node[step] = leaf
            node = node[step]
        elif isinstance(node, dict):
            if following is None or not isinstance(node.get(step), dict | list):
                node[step] = leaf
            node = node[step]
