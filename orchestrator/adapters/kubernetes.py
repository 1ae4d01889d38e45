"""Kubernetes manifests (YAML, multi-document, `List`s, JSON) as Proposals.

The steps, in order:

1. load every object safely (`kubernetes_load`: aliases bounded, Lists unwrapped);
2. give each its identity: `<namespace>/<Kind>/<name>`, or `<Kind>/<name>` for
   cluster-scoped kinds; a namespaced object without a namespace is in `default`;
3. read the relations the objects declare (`kubernetes_relations`);
4. mask Secret data, secret-named environment values and credential-looking
   strings, then build one ResourceChange per object.

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
from orchestrator.errors import InputError
from orchestrator.models import Action, Proposal, ResourceChange, canonical_environment

_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
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
    raws = load_objects(text, origin, document)
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

    masker = Masker(sensitive_keys or DEFAULT_SENSITIVE_KEYS)
    bodies = [_reviewed(obj.body) for obj in placed]
    mirror = [_mirror(body, masker) for body in bodies]
    secrets: set[str] = set()
    collect_marked_strings(bodies, mirror, secrets)
    paths: list[Path] = []
    masked = Masker(sensitive_keys or DEFAULT_SENSITIVE_KEYS, secrets=secrets).mask_in_place(
        bodies, mirror, paths=paths
    )
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
        )
        for index, (obj, body) in enumerate(zip(placed, masked, strict=True))
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
    """A sensitivity mirror: Secret data and secret-named env values are masked whole."""
    mirror: dict[str, Any] = {}
    if body.get("kind") == "Secret":
        mirror.update({"data": True, "stringData": True})
        # kubectl keeps a copy of the whole object, data included, in this annotation.
        _mark(mirror, ("metadata", "annotations", _LAST_APPLIED))
    for path in _secret_env_values(body, (), masker):
        _mark(mirror, path)
    return mirror


def _secret_env_values(node: object, path: Path, masker: Masker) -> list[Path]:
    found: list[Path] = []
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "env" and isinstance(child, list):
                for index, entry in enumerate(child):
                    name = entry.get("name") if isinstance(entry, dict) else None
                    if isinstance(name, str) and "value" in entry and masker.is_sensitive_key(name):
                        found.append((*path, key, index, "value"))
            elif isinstance(child, dict | list):
                found.extend(_secret_env_values(child, (*path, key), masker))
    elif isinstance(node, list):
        for index, child in enumerate(node):
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
