"""The service dependency graph: the topology file, loaded into networkx.

Edges point the way damage travels: for `A depends_on B` the graph holds
B -> A, so everything a change to B can break is B's descendants. Reach is
computed with one multi-source breadth-first walk that remembers, for every
service it reaches, which changed service it came from — never one walk per
changed resource (see `DependencyGraph.reach`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import Field, ValidationError

from orchestrator.errors import ConfigError
from orchestrator.models import Frozen, RiskTier
from orchestrator.yamlfile import first_error_place, parse_yaml

# Only `*` and `?` are wildcards: brackets are literal, because Terraform
# addresses carry them (`aws_iam_role.x["k"]`, `aws_instance.web[0]`).
_WILDCARDS = "*?"


class ServiceSpec(Frozen):
    """One service of the topology file."""

    criticality: RiskTier = RiskTier.MEDIUM
    depends_on: tuple[str, ...] = ()
    owns: tuple[str, ...] = ()


class Topology(Frozen):
    """The topology file of DESIGN.md.

    `populations` (optional) gives the size of a resource population by type
    or address glob, for changes whose plan carries no prior state.
    """

    services: dict[str, ServiceSpec] = Field(default_factory=dict)
    populations: dict[str, int] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reached:
    """A service reached from a change: how far, from which changed service."""

    distance: int
    via: str


class OwnerIndex:
    """Finds the services owning an address without trying every glob.

    Exact addresses go in a dict; wildcard globs are bucketed by their
    literal prefix, so a lookup tries only the globs whose prefix the address
    starts with. `module.a.*` and `aws_iam_role.x[*]` are globs;
    `aws_iam_role.x["k"]` is an exact address.
    """

    def __init__(self, owns: Mapping[str, Iterable[str]]) -> None:
        self._exact: dict[str, list[str]] = {}
        self._by_prefix: dict[str, list[tuple[str, str]]] = {}
        for service, globs in owns.items():
            for glob in globs:
                cut = min((i for i, ch in enumerate(glob) if ch in _WILDCARDS), default=-1)
                if cut < 0:
                    self._exact.setdefault(glob, []).append(service)
                else:
                    pattern = glob.replace("[", "[[]")  # a literal bracket for fnmatch
                    self._by_prefix.setdefault(glob[:cut], []).append((pattern, service))
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix})

    def owners(self, address: str) -> set[str]:
        """Every service one of whose globs matches the address."""
        found = set(self._exact.get(address, ()))
        for length in self._prefix_lengths:
            if length > len(address):
                break
            for glob, service in self._by_prefix.get(address[:length], ()):
                if fnmatchcase(address, glob):
                    found.add(service)
        return found


class DependencyGraph:
    """Services, what they own and who depends on whom."""

    def __init__(self, topology: Topology, *, origin: str = "<topology>") -> None:
        self.origin = origin
        self.topology = topology
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        for name, spec in topology.services.items():
            self.graph.add_node(name, criticality=spec.criticality)
        for name, spec in topology.services.items():
            for dependency in spec.depends_on:
                if dependency not in self.graph:
                    # An undeclared dependency still carries the edge; it is
                    # medium until the topology says otherwise.
                    self.graph.add_node(dependency, criticality=RiskTier.MEDIUM)
                self.graph.add_edge(dependency, name, kind="depends_on", origin=origin)
        self.owner_index = OwnerIndex({n: s.owns for n, s in topology.services.items()})

    @classmethod
    def empty(cls) -> DependencyGraph:
        """A graph with no services: every change reaches only itself."""
        return cls(Topology(), origin="<none>")

    @classmethod
    def load(cls, path: Path) -> DependencyGraph:
        """Load a topology file (YAML, or JSON, which is valid YAML)."""
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(origin, f"cannot read topology: {exc}") from None
        data = _parse_topology_text(text, origin)
        try:
            topology = Topology.model_validate(data)
        except ValidationError as exc:
            message, where = first_error_place(exc, text)
            raise ConfigError(origin, message, where=where) from None
        return cls(topology, origin=origin)

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    def criticality(self, service: str) -> RiskTier:
        """A service's declared criticality (medium when undeclared)."""
        value = self.graph.nodes[service].get("criticality", RiskTier.MEDIUM)
        return RiskTier(value)

    def owners(self, address: str) -> set[str]:
        """The services that own a resource address."""
        return self.owner_index.owners(address)

    def reach(self, sources: Iterable[str]) -> dict[str, Reached]:
        """Every service reachable from the sources, each with its nearest source.

        One breadth-first walk seeded with all sources at once: O(V + E)
        however many sources there are. Sources themselves are at distance 0.
        """
        succ = self.graph._succ
        reached: dict[str, Reached] = {}
        queue: deque[str] = deque()
        for source in sorted(set(sources)):  # sorted: attribution must not depend on set order
            if source in succ and source not in reached:
                reached[source] = Reached(0, source)
                queue.append(source)
        while queue:
            node = queue.popleft()
            here = reached[node]
            for nxt in succ[node]:
                if nxt not in reached:
                    reached[nxt] = Reached(here.distance + 1, here.via)
                    queue.append(nxt)
        return reached

    def cycles(self, limit: int = 5) -> list[list[str]]:
        """Up to `limit` dependency cycles, for reporting; they never hang a walk."""
        found: list[list[str]] = []
        for cycle in nx.simple_cycles(self.graph):
            found.append(cycle)
            if len(found) >= limit:
                break
        return found


def _parse_topology_text(text: str, origin: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        # JSON is valid YAML but the JSON parser is ~50x faster on big files.
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    data = parse_yaml(text, origin)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(origin, "a topology file is a mapping with a 'services' key")
    return data
