"""Read Kubernetes manifests safely: multi-document YAML or JSON, aliases bounded, Lists unwrapped.

Only the safe loader is used (no Python tags). Aliases are what a "billion
laughs" document is made of: nine anchors of ten aliases each expand to a
billion nodes although the file is a few hundred bytes. The composed node
graph is measured, aliases expanded, before anything is constructed, and a
document that grows past `_EXPANSION_BUDGET` is refused.

YAML input also gives each object its lines, and the line of each field a
`locate` callback names (what reviewers will point at): looked up in the
document's node graph while it is at hand, so no node outlives its document.
JSON input has no lines.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from orchestrator.adapters.base import load_json, looks_like_json, type_name
from orchestrator.adapters.masking import Path, format_path
from orchestrator.errors import InputError
from orchestrator.models import SourceLocation

# Expanded nodes a document may hold beyond what its text spells out; real manifests
# reuse an anchor a few times, an alias bomb multiplies it by orders of magnitude.
_EXPANSION_BUDGET: Final = 200_000
_EXPANSION_FACTOR: Final = 10


@dataclass(frozen=True, slots=True)
class RawObject:
    """One object of the input, where it was found, and its lines when the input has them."""

    body: dict[str, Any]
    where: str
    location: SourceLocation | None = None
    # dotted path of a field (masking.format_path) -> the line it is written on
    lines: dict[str, int] = field(default_factory=dict)


Locate = Callable[[dict[str, Any]], Iterable[Path]]
# The same field paths recur in every workload of a manifest: render each once.
_dotted = lru_cache(maxsize=4096)(format_path)


def load_objects(
    text: str, origin: str, document: object = None, *, locate: Locate | None = None
) -> list[RawObject]:
    """Every object in the input, `List`s unwrapped, in input order.

    `locate` names the fields of an object whose lines are wanted.
    """
    objects: list[RawObject] = []
    if document is None and looks_like_json(text):
        document = load_json(text, origin)
    if document is not None:
        items = document if isinstance(document, list) else [document]
        for index, doc in enumerate(items):
            where = f"[{index}]" if isinstance(document, list) else "(top level)"
            if doc is not None:
                _unwrap(doc, None, where, origin, objects, inherited=None)
    else:
        _yaml_documents(text, origin, objects, locate)
    if not objects:
        raise InputError(origin, "no Kubernetes object in the input")
    return objects


def _unwrap(
    doc: object,
    node: Any,
    where: str,
    origin: str,
    sink: list[RawObject],
    *,
    inherited: tuple[str, str] | None,
    locate: Locate | None = None,
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
        item_nodes = _child(node, "items")
        for index, item in enumerate(items):
            item_node = _child(item_nodes, index)
            place = f"{where} items[{index}]"
            _unwrap(item, item_node, place, origin, sink, inherited=typed, locate=locate)
        return
    if node is None:  # JSON, or an item the nodes do not show
        sink.append(RawObject(body, where))
        return
    # Lines counted here are valid by construction: skip validation, a manifest has thousands.
    location = SourceLocation.model_construct(
        line=node.start_mark.line + 1, end_line=_last_line(node)
    )
    lines: dict[str, int] = {}
    # Several controls point at one container: look each path up once.
    for path in dict.fromkeys(locate(body)) if locate is not None else ():
        line = _line_of(node, path)
        if line is not None:
            lines[_dotted(path)] = line
    sink.append(RawObject(body, where, location, lines))


def _pair(node: Any, key: str) -> tuple[Any, Any] | None:
    """The (key node, value node) of a mapping's key, the last one when it is repeated."""
    import yaml  # noqa: PLC0415

    found = None
    for name, value in node.value:
        if isinstance(name, yaml.ScalarNode) and name.value == key:
            found = name, value
    return found


def _child(node: Any, step: str | int) -> Any:
    """The node under a mapping key or at a sequence index, or None."""
    import yaml  # noqa: PLC0415

    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        pair = _pair(node, step)
        return pair[1] if pair is not None else None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def _line_of(node: Any, path: Path) -> int | None:
    """The line of a field: its key's line, or its item's; as deep as the nodes go.

    A path that leaves the written nodes (a merge key, an alias) ends at the last field found.
    """
    import yaml  # noqa: PLC0415

    line = None
    for step in path:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            pair = _pair(node, step)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        else:
            node = _child(node, step)
            if node is None:
                break
            line = node.start_mark.line + 1
    return line


def _last_line(node: Any) -> int:
    """The last line a node's text is on (its end mark stands after it)."""
    start: int = node.start_mark.line + 1
    end: int = node.end_mark.line + (1 if node.end_mark.column else 0)
    return max(start, end)


def _yaml_documents(text: str, origin: str, sink: list[RawObject], locate: Locate | None) -> None:
    import yaml  # noqa: PLC0415 - only manifests pay for the YAML parser

    from orchestrator.yamlfile import yaml_error  # noqa: PLC0415
    from orchestrator.yamlloader import Loader  # noqa: PLC0415

    loader = Loader(text)
    documents = 0
    # Without an anchor there can be no alias, so nothing can expand.
    anchored = "&" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            documents += 1
            where = f"document {documents} (line {node.start_mark.line + 1})"
            if anchored:
                _check_expansion(node, origin, where)
            doc = to_json(loader.construct_document(node))
            if doc is not None:  # an empty document between two `---`
                _unwrap(doc, node, where, origin, sink, inherited=None, locate=locate)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, origin, InputError) from None
    except RecursionError:
        raise InputError(origin, "the manifest is nested too deeply to review") from None
    finally:
        loader.dispose()


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
    # Exact types first, and string leaves without a call: most of a manifest is strings.
    kind = type(value)
    if kind is dict:
        return {
            (k if type(k) is str else _key(k)): (v if type(v) is str else to_json(v))
            for k, v in value.items()
        }
    if kind is list:
        return [v if type(v) is str else to_json(v) for v in value]
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
