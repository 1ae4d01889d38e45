"""Read Kubernetes manifests safely: multi-document YAML or JSON, aliases bounded, Lists unwrapped.

Only the safe loader is used (no Python tags). Aliases are what a "billion
laughs" document is made of: nine anchors of ten aliases each expand to a
billion nodes although the file is a few hundred bytes. The composed node
graph is measured, aliases expanded, before anything is constructed, and a
document that grows past `_EXPANSION_BUDGET` is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Final

from orchestrator.adapters.base import load_json, looks_like_json, type_name
from orchestrator.errors import InputError

# Expanded nodes a document may hold beyond what its text spells out; real manifests
# reuse an anchor a few times, an alias bomb multiplies it by orders of magnitude.
_EXPANSION_BUDGET: Final = 200_000
_EXPANSION_FACTOR: Final = 10


@dataclass(frozen=True, slots=True)
class RawObject:
    """One object of the input and where it was found, for error messages."""

    body: dict[str, Any]
    where: str


def load_objects(text: str, origin: str, document: object = None) -> list[RawObject]:
    """Every object in the input, `List`s unwrapped, in input order."""
    if document is None and looks_like_json(text):
        document = load_json(text, origin)
    if document is not None:
        if isinstance(document, list):
            found = [(f"[{index}]", item) for index, item in enumerate(document)]
        else:
            found = [("(top level)", document)]
    else:
        found = _yaml_documents(text, origin)
    objects: list[RawObject] = []
    for where, doc in found:
        if doc is None:
            continue  # an empty document between two `---`
        _unwrap(doc, where, origin, objects, inherited=None)
    if not objects:
        raise InputError(origin, "no Kubernetes object in the input")
    return objects


def _unwrap(
    doc: object,
    where: str,
    origin: str,
    sink: list[RawObject],
    *,
    inherited: tuple[str, str] | None,
) -> None:
    if not isinstance(doc, dict):
        raise InputError(origin, f"expected a Kubernetes object, got {type_name(doc)}", where=where)
    body = dict(doc)
    if inherited is not None:
        # Items of a typed list (RoleList) may leave out what the list already says.
        body.setdefault("kind", inherited[0])
        body.setdefault("apiVersion", inherited[1])
    kind = body.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(origin, "no kind: every Kubernetes object needs one", where=where)
    if kind.endswith("List") and "items" in body:
        items = body["items"]
        if items is None:
            return
        if not isinstance(items, list):
            raise InputError(
                origin, f"expected a list, got {type_name(items)}", where=f"{where} items"
            )
        item_kind = kind.removesuffix("List")
        version = body.get("apiVersion")
        typed = (item_kind, version) if item_kind and isinstance(version, str) else None
        for index, item in enumerate(items):
            _unwrap(item, f"{where} items[{index}]", origin, sink, inherited=typed)
        return
    sink.append(RawObject(body, where))


def _yaml_documents(text: str, origin: str) -> list[tuple[str, Any]]:
    import yaml  # noqa: PLC0415 - only manifests pay for the YAML parser

    loader_class: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    found: list[tuple[str, Any]] = []
    # Without an anchor there can be no alias, so nothing can expand.
    anchored = "&" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            where = f"document {len(found) + 1} (line {node.start_mark.line + 1})"
            if anchored:
                _check_expansion(node, origin, where)
            found.append((where, to_json(loader.construct_document(node))))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(origin, f"invalid YAML: {problem}", where=place) from None
    except RecursionError:
        raise InputError(origin, "the manifest is nested too deeply to review") from None
    finally:
        loader.dispose()
    return found


def _check_expansion(root: Any, origin: str, where: str) -> None:
    """Refuse a document whose aliases expand far beyond its own size (or loop)."""
    import yaml  # noqa: PLC0415

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[Any] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise InputError(
                origin, "a YAML alias refers to itself (a recursive document)", where=where
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    total, unique = sizes[id(root)], len(sizes)
    if total > _EXPANSION_BUDGET and total > _EXPANSION_FACTOR * unique:
        raise InputError(
            origin,
            f"YAML aliases expand {unique:,} nodes to {total:,} (an alias bomb?); refusing it",
            where=where,
        )


def to_json(value: Any) -> Any:
    """Turn what the YAML safe loader builds into JSON values, as Kubernetes reads them."""
    if isinstance(value, dict):
        return {_key(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted((to_json(v) for v in value), key=str)
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    return str(to_json(key))
