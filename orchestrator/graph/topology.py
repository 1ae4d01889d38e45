"""The topology file of DESIGN.md: services, their criticality, what they own and need.

JSON is valid YAML, but a 100,000-service topology is tens of megabytes and
the JSON parser reads it about fifty times faster, so a file that looks like
JSON is tried as JSON first. Validation has two paths with one meaning: a
plain file (lists of strings, known keys, known criticalities) is read by
`plain_services` in one pass without building 100,000 pydantic models (0.09 s
against 0.14 s here, and less memory); anything else goes through the
`Topology` model, which accepts or rejects it and names the line of a
mistake. A property test holds the two paths to the same result.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from orchestrator.errors import ConfigError
from orchestrator.graph.build import RANK, Service, from_topology
from orchestrator.graph.topology_cache import cached
from orchestrator.models import Frozen, RiskTier, TopologyRef
from orchestrator.yamlfile import first_error_place, parse_yaml

_SERVICE_KEYS = frozenset({"criticality", "depends_on", "owns"})
_TOP_KEYS = frozenset({"services", "populations"})
_RANK_OF = {tier.value: rank for tier, rank in RANK.items()}

# Criticality outside production, per environment: (the rank of every service not
# named, or None for the blast-radius reviewer's floor of that environment; ranks by name).
Environments = dict[str, tuple[int | None, dict[str, int]]]
TopologyData = tuple[list[Service], dict[str, int], Environments]


class ServiceSpec(Frozen):
    """One service of the topology file."""

    criticality: RiskTier = RiskTier.MEDIUM
    depends_on: tuple[str, ...] = ()
    owns: tuple[str, ...] = ()


class EnvironmentCriticality(Frozen):
    """How critical the services are in one environment other than production."""

    default: RiskTier | None = None  # every service not named (None: the environment's floor)
    services: dict[str, RiskTier] = Field(default_factory=dict)


class Topology(Frozen):
    """The topology file.

    `services` and their criticality describe production. `populations`
    (optional) gives the size of a resource population by type or type glob,
    for changes whose plan carries no prior state. `environments` (optional)
    says how critical services are in staging or development; without it a
    change there is judged by that environment's own floor, not production's
    criticality.
    """

    services: dict[str, ServiceSpec] = Field(default_factory=dict)
    populations: dict[str, int] = Field(default_factory=dict)
    environments: dict[Literal["staging", "development"], EnvironmentCriticality] = Field(
        default_factory=dict
    )

    def environment_ranks(self) -> Environments:
        """`environments` as plain ranks (what the cache stores and the graph keeps)."""
        return {
            name: (
                None if spec.default is None else RANK[spec.default],
                {service: RANK[tier] for service, tier in spec.services.items()},
            )
            for name, spec in self.environments.items()
        }


def read_topology(path: Path, *, cache: Path | None = None) -> TopologyData:
    """The services, populations and environments of a topology file (YAML or JSON).

    With `cache` (a directory), a large file's result is kept there and reused
    while the file's content stays the same.
    """
    data, origin = topology_bytes(path), str(path)
    return cached(
        data,
        cache,
        "services",
        lambda: parse_topology(data, origin),
        encode=_encode,
        decode=_decode,
    )


def topology_bytes(path: Path) -> bytes:
    """The bytes of a topology file, or a ConfigError naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read topology: {exc}") from None


def parse_topology(data: bytes, origin: str) -> TopologyData:
    """The services, populations and per-environment criticality of a topology file's bytes."""
    try:
        # What read_text does: UTF-8, universal newlines (YAML errors name lines).
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(origin, f"cannot read topology: {exc}") from None
    parsed = _parse(text, origin)
    plain = plain_services(parsed)
    if plain is not None:
        return (*plain, {})
    try:
        topology = Topology.model_validate(parsed)
    except ValidationError as exc:
        message, where = first_error_place(exc, text)
        raise ConfigError(origin, message, where=where) from None
    return from_topology(topology), dict(topology.populations), topology.environment_ranks()


def _encode(value: TopologyData) -> object:
    return list(value[0]), dict(value[1]), dict(value[2])


def _decode(stored: Any) -> TopologyData | None:
    if type(stored) is not tuple or len(stored) != 3:
        return None
    services, populations, environments = stored
    if type(services) is list and type(populations) is dict and type(environments) is dict:
        return services, populations, environments
    return None


def plain_services(data: Any) -> tuple[list[Service], dict[str, int]] | None:
    """Read a topology made only of the plain shapes JSON and YAML produce; None otherwise.

    Whatever this accepts, `Topology` accepts with the same meaning; whatever
    else there is (a typo, a tuple, a number where a name belongs) is left to
    `Topology` to accept or to reject with its line.
    """
    if type(data) is not dict or not data.keys() <= _TOP_KEYS:
        return None
    raw, populations = data.get("services", {}), data.get("populations", {})
    if type(raw) is not dict or type(populations) is not dict:
        return None
    if not all(type(k) is str and type(v) is int for k, v in populations.items()):
        return None
    services: list[Service] = []
    append = services.append
    for name, spec in raw.items():
        if type(spec) is not dict or not spec.keys() <= _SERVICE_KEYS or type(name) is not str:
            return None
        crit = spec.get("criticality", "medium")
        rank = _RANK_OF.get(crit) if type(crit) is str else None
        depends_on, owns = spec.get("depends_on", []), spec.get("owns", [])
        if (
            rank is None
            or type(depends_on) is not list
            or type(owns) is not list
            or not all(type(d) is str for d in depends_on)
            or not all(type(o) is str for o in owns)
        ):
            return None
        append((name, rank, depends_on, owns))
    return services, populations


def _parse(text: str, origin: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # not JSON after all: YAML names the line of the mistake
    data = parse_yaml(text, origin)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(origin, "a topology file is a mapping with a 'services' key")
    return data


def topology_ref(topology: Path | None, catalog: Path | None = None) -> TopologyRef | None:
    """What a decision records of its topology: the path(s) and a digest of the bytes read.

    One file: its plain sha256 (what `sha256sum` prints). With a catalog: a
    sha256 over both files' digests. Files a catalog's Locations pull in are
    not covered; the catalog file itself is.
    """
    files = [(name, p) for name, p in (("topology", topology), ("catalog", catalog)) if p]
    if not files:
        return None
    digests = [(name, hashlib.sha256(topology_bytes(p)).hexdigest()) for name, p in files]
    if len(digests) == 1:
        digest = digests[0][1]
    else:
        digest = hashlib.sha256("".join(f"{n}\0{d}\0" for n, d in digests).encode()).hexdigest()
    return TopologyRef(path=" + ".join(str(p) for _, p in files), digest=f"sha256:{digest}")
