"""A Backstage software catalog as a source of the service graph.

Many teams already keep who depends on whom in Backstage `catalog-info.yaml`
files. Components, Resources, APIs and Systems become nodes of the dependency
graph, and their relations its edges, each read in the direction of impact
(an edge a → b: a change to a can break b):

    dependsOn            the dependency → the entity
    dependencyOf         the entity → the dependent
    providesApis         the provider → the API   (so an API's consumers are
    consumesApis         the API → the consumer    reached from its provider)
    subcomponentOf       the part → the whole
    system               the member → the System

`spec.owner` (a Group or User) is the team told about a change. Backstage
has no field for criticality or for the infrastructure addresses an entity
owns, so commander reads two annotations::

    metadata:
      annotations:
        commander.dev/criticality: critical          # low | medium | high | critical
        commander.dev/owns: "module.checkout.*, prod/Deployment/checkout"

Without `commander.dev/owns`, the naming convention in configs/commander.yaml
(`backstage.owns`, globs with {name}, {namespace} and {kind}) says what an
entity owns, e.g. `module.{name}.*`.

A Component or Resource in the `default` namespace is the service of the same
name in the topology file (`checkout`); others are `namespace/name`. APIs and
Systems are named as Backstage refers to them (`api:payments`,
`system:shop`). `Location` entities pull in the local files they target; URL
targets are skipped (a review reads no network). Other kinds (Group, User,
Domain, Template, ...) are not nodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import ConfigError
from orchestrator.models import RiskTier
from orchestrator.yamlfile import parse_yaml_all
from orchestrator.yamlloader import Loader

CRITICALITY = "commander.dev/criticality"
OWNS = "commander.dev/owns"
# Service-like kinds keep the bare names the topology file uses; the others carry their kind.
_SERVICE_KINDS = frozenset({"component", "resource"})
_NODE_KINDS = _SERVICE_KINDS | {"api", "system"}
_REF = re.compile(r"^(?:(?P<kind>[A-Za-z][\w-]*):)?(?:(?P<ns>[\w.-]+)/)?(?P<name>[\w.-]+)$")
_MAX_FILES = 1000


@dataclass(frozen=True, slots=True)
class Entity:
    """One Component, Resource, API or System, reduced to what the dependency graph needs."""

    name: str
    kind: str
    criticality: RiskTier | None
    owns: tuple[str, ...]
    depends_on: tuple[str, ...]
    dependency_of: tuple[str, ...]
    origin: str
    provides_apis: tuple[str, ...] = ()
    consumes_apis: tuple[str, ...] = ()
    part_of: tuple[str, ...] = ()  # subcomponentOf: the whole this is part of
    system: str | None = None
    owner: str | None = None  # the owning Group or User, as a full entity ref


def load_catalog(path: Path, *, owns_by_name: tuple[str, ...] = ()) -> list[Entity]:
    """Every graphed entity of a catalog file and the local files it locates.

    `owns_by_name` are the globs (with {name}, {namespace}, {kind}) an entity
    without a `commander.dev/owns` annotation owns.
    """
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
        found, located = _read_file(current, owns_by_name)
        entities.extend(found)
        pending.extend(located)
    return entities


def node_name(namespace: str, name: str, kind: str = "component") -> str:
    """The graph node of an entity: bare in `default`, `namespace/name` elsewhere;
    APIs and Systems with their kind in front (`api:payments`, `system:ns/shop`)."""
    bare = name if namespace == "default" else f"{namespace}/{name}"
    return bare if kind in _SERVICE_KINDS else f"{kind}:{bare}"


def _read_file(path: Path, owns_by_name: tuple[str, ...]) -> tuple[list[Entity], list[Path]]:
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(origin, f"cannot read catalog: {exc}") from None
    documents = parse_yaml_all(text, origin)
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
            entities.append(_entity(reader, doc, kind, owns_by_name))
    return entities, located


def _entity(
    reader: _Reader, doc: dict[str, Any], kind: str, owns_by_name: tuple[str, ...]
) -> Entity:
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
    owns = annotations.get(OWNS)
    if owns is not None and not isinstance(owns, str):
        raise reader.error(("metadata", "annotations", OWNS), "expected a string of globs")
    if owns is None:
        # no annotation: the configured naming convention says what the entity owns
        globs = tuple(
            p.format(name=name, namespace=namespace, kind=kind.capitalize()) for p in owns_by_name
        )
    else:
        globs = tuple(g for g in re.split(r"[\s,]+", owns) if g)
    system = reader.refs(spec, "system", namespace, "system", single=True)
    return Entity(
        name=node_name(namespace, name, kind),
        kind=kind,
        criticality=RiskTier(crit) if crit is not None else None,
        owns=globs,
        depends_on=reader.refs(spec, "dependsOn", namespace),
        dependency_of=reader.refs(spec, "dependencyOf", namespace),
        origin=reader.origin,
        provides_apis=reader.refs(spec, "providesApis", namespace, "api"),
        consumes_apis=reader.refs(spec, "consumesApis", namespace, "api"),
        part_of=reader.refs(spec, "subcomponentOf", namespace, single=True),
        system=system[0] if system else None,
        owner=reader.owner(spec, namespace),
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

    def refs(
        self,
        spec: dict[str, Any],
        key: str,
        namespace: str,
        default_kind: str = "component",
        *,
        single: bool = False,
    ) -> tuple[str, ...]:
        """The graph nodes a relation field names (one reference when `single`)."""
        value = spec.get(key, None if single else [])
        if single:
            if value is None:
                return ()
            if not isinstance(value, str):
                raise self.error(("spec", key), "expected an entity reference")
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(("spec", key), "expected a list of entity references")
        names = []
        for ref in value:
            match = _REF.match(ref.strip())
            if match is None:
                raise self.error(("spec", key), f"not an entity reference: {ref!r}")
            kind = (match["kind"] or default_kind).lower()
            if kind in _NODE_KINDS:
                names.append(node_name(match["ns"] or namespace, match["name"], kind))
        return tuple(names)

    def owner(self, spec: dict[str, Any], namespace: str) -> str | None:
        """`spec.owner` as a full reference (`group:default/team-payments`)."""
        value = spec.get("owner")
        if value is None:
            return None
        match = _REF.match(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise self.error(("spec", "owner"), f"not an entity reference: {value!r}")
        kind = (match["kind"] or "group").lower()
        return f"{kind}:{match['ns'] or namespace}/{match['name']}"

    def error(self, path: tuple[str, ...], message: str) -> ConfigError:
        dotted = ".".join(path) or "(top level)"
        line = _line(self._text, self._number, path)
        where = f"document {self._number + 1}" + (f", line {line}" if line else "")
        return ConfigError(self.origin, f"{dotted}: {message}", where=where)


def _line(text: str, number: int, path: tuple[str, ...]) -> int | None:
    """The line of the key at `path` in document `number`, or of its nearest parent."""
    try:
        nodes = list(yaml.compose_all(text, Loader=Loader))
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
