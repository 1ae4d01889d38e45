"""A Backstage software catalog as a source of the service graph.

Many teams already keep who depends on whom in Backstage `catalog-info.yaml`
files. Components and Resources become services of the dependency graph;
`spec.dependsOn` and `spec.dependencyOf` become its edges. Backstage has no
field for criticality or for the infrastructure addresses an entity owns, so
commander reads two annotations::

    metadata:
      annotations:
        commander.dev/criticality: critical          # low | medium | high | critical
        commander.dev/owns: "module.checkout.*, prod/Deployment/checkout"

An entity in the `default` namespace is the service of the same name in the
topology file (`checkout`); others are `namespace/name`. `Location` entities
pull in the local files they target; URL targets are skipped (a review reads
no network). Other kinds (System, API, Group, ...) are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import ConfigError
from orchestrator.models import RiskTier

CRITICALITY = "commander.dev/criticality"
OWNS = "commander.dev/owns"
_NODE_KINDS = frozenset({"component", "resource"})
_REF = re.compile(r"^(?:(?P<kind>[A-Za-z][\w-]*):)?(?:(?P<ns>[\w.-]+)/)?(?P<name>[\w.-]+)$")
_MAX_FILES = 1000
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Entity:
    """One Component or Resource, reduced to what the dependency graph needs."""

    name: str
    kind: str
    criticality: RiskTier | None
    owns: tuple[str, ...]
    depends_on: tuple[str, ...]
    dependency_of: tuple[str, ...]
    origin: str


def load_catalog(path: Path) -> list[Entity]:
    """Every Component and Resource of a catalog file and the local files it locates."""
    entities: list[Entity] = []
    seen: set[Path] = set()
    pending = [path]
    while pending:
        current = pending.pop(0)
        resolved = current.resolve()
        if resolved in seen:
            continue  # a Location loop is read once
        seen.add(resolved)
        if len(seen) > _MAX_FILES:
            raise ConfigError(str(path), f"the catalog locates more than {_MAX_FILES} files")
        found, located = _read_file(current)
        entities.extend(found)
        pending.extend(located)
    return entities


def node_name(namespace: str, name: str) -> str:
    """The graph node of a Backstage entity: bare in `default`, `namespace/name` elsewhere."""
    return name if namespace == "default" else f"{namespace}/{name}"


def _read_file(path: Path) -> tuple[list[Entity], list[Path]]:
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(origin, f"cannot read catalog: {exc}") from None
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(origin, f"invalid YAML: {problem}", where=where) from None
    entities: list[Entity] = []
    located: list[Path] = []
    for number, doc in enumerate(documents):
        if doc is None:
            continue
        reader = _Reader(origin, text, number)
        if not isinstance(doc, dict):
            raise reader.error((), "a catalog document is a mapping with kind and metadata")
        kind = str(doc.get("kind", "")).lower()
        if kind == "location":
            located.extend(_targets(reader, doc, path.parent))
        elif kind in _NODE_KINDS:
            entities.append(_entity(reader, doc, kind))
    return entities, located


def _entity(reader: _Reader, doc: dict[str, Any], kind: str) -> Entity:
    metadata = reader.mapping(doc, ("metadata",))
    spec = reader.mapping(doc, ("spec",))
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise reader.error(("metadata", "name"), "every entity needs a metadata.name")
    namespace = metadata.get("namespace") or "default"
    if not isinstance(namespace, str):
        raise reader.error(("metadata", "namespace"), "expected a string")
    annotations = reader.mapping(metadata, ("metadata", "annotations"))
    crit = annotations.get(CRITICALITY)
    if crit is not None and crit not in {t.value for t in RiskTier}:
        raise reader.error(
            ("metadata", "annotations", CRITICALITY),
            f"expected low, medium, high or critical, got {crit!r}",
        )
    owns = annotations.get(OWNS, "")
    if not isinstance(owns, str):
        raise reader.error(("metadata", "annotations", OWNS), "expected a string of globs")
    return Entity(
        name=node_name(namespace, name),
        kind=kind,
        criticality=RiskTier(crit) if crit is not None else None,
        owns=tuple(g for g in re.split(r"[\s,]+", owns) if g),
        depends_on=reader.refs(spec, "dependsOn", namespace),
        dependency_of=reader.refs(spec, "dependencyOf", namespace),
        origin=reader.origin,
    )


def _targets(reader: _Reader, doc: dict[str, Any], folder: Path) -> list[Path]:
    spec = reader.mapping(doc, ("spec",))
    if str(spec.get("type", "file")) != "file":
        return []  # url locations would need the network
    raw = spec.get("targets", [])
    targets = [
        *([spec["target"]] if "target" in spec else []),
        *(raw if isinstance(raw, list) else [raw]),
    ]
    found: list[Path] = []
    for target in targets:
        if not isinstance(target, str) or "://" in target:
            continue
        if any(ch in target for ch in "*?["):
            found.extend(sorted(folder.glob(target)))
        else:
            found.append(folder / target)
    return found


class _Reader:
    """Reads one document, naming the file, the document and the line on a mistake."""

    def __init__(self, origin: str, text: str, number: int) -> None:
        self.origin = origin
        self._text = text
        self._number = number

    def mapping(self, parent: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        value = parent.get(path[-1])
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(path, "expected a mapping")
        return value

    def refs(self, spec: dict[str, Any], key: str, namespace: str) -> tuple[str, ...]:
        value = spec.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(("spec", key), "expected a list of entity references")
        names = []
        for ref in value:
            match = _REF.match(ref.strip())
            if match is None:
                raise self.error(("spec", key), f"not an entity reference: {ref!r}")
            if (match["kind"] or "component").lower() in _NODE_KINDS:
                names.append(node_name(match["ns"] or namespace, match["name"]))
        return tuple(names)

    def error(self, path: tuple[str, ...], message: str) -> ConfigError:
        dotted = ".".join(path) or "(top level)"
        line = _line(self._text, self._number, path)
        where = f"document {self._number + 1}" + (f", line {line}" if line else "")
        return ConfigError(self.origin, f"{dotted}: {message}", where=where)


def _line(text: str, number: int, path: tuple[str, ...]) -> int | None:
    """The line of the key at `path` in document `number`, or of its nearest parent."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError:
        return None
    if number >= len(nodes) or nodes[number] is None:
        return None
    node = nodes[number]
    line = node.start_mark.line + 1
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if k.value == part), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line
