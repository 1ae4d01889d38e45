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

import json
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from orchestrator.errors import ConfigError
from orchestrator.graph.build import RANK, Service, from_topology
from orchestrator.graph.topology_cache import cached
from orchestrator.models import Frozen, RiskTier
from orchestrator.yamlfile import first_error_place, parse_yaml

_SERVICE_KEYS = frozenset({"criticality", "depends_on", "owns"})
_TOP_KEYS = frozenset({"services", "populations"})
_RANK_OF = {tier.value: rank for tier, rank in RANK.items()}


class ServiceSpec(Frozen):
    """One service of the topology file."""

    criticality: RiskTier = RiskTier.MEDIUM
    depends_on: tuple[str, ...] = ()
    owns: tuple[str, ...] = ()


class Topology(Frozen):
    """The topology file.

    `populations` (optional) gives the size of a resource population by type
    or type glob, for changes whose plan carries no prior state.
    """

    services: dict[str, ServiceSpec] = Field(default_factory=dict)
    populations: dict[str, int] = Field(default_factory=dict)


def read_topology(path: Path, *, cache: Path | None = None) -> tuple[list[Service], dict[str, int]]:
    """The services and populations of a topology file (YAML, or JSON, which is valid YAML).

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


def parse_topology(data: bytes, origin: str) -> tuple[list[Service], dict[str, int]]:
    """The services and populations of a topology file's bytes."""
    try:
        # What read_text does: UTF-8, universal newlines (YAML errors name lines).
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(origin, f"cannot read topology: {exc}") from None
    parsed = _parse(text, origin)
    plain = plain_services(parsed)
    if plain is not None:
        return plain
    try:
        topology = Topology.model_validate(parsed)
    except ValidationError as exc:
        message, where = first_error_place(exc, text)
        raise ConfigError(origin, message, where=where) from None
    return from_topology(topology), dict(topology.populations)


def _encode(value: tuple[list[Service], dict[str, int]]) -> object:
    return list(value[0]), dict(value[1])


def _decode(stored: Any) -> tuple[list[Service], dict[str, int]] | None:
    if type(stored) is not tuple or len(stored) != 2:
        return None
    services, populations = stored
    return (services, populations) if type(services) is list and type(populations) is dict else None


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
