"""Edges a plan's own configuration declares between the resources it changes.

`configuration` names things relative to their module and without instance
keys (`aws_iam_role.x`, `module.m.out`, `var.v`); `resource_changes` names
instances (`module.m["a"].aws_iam_role.x[0]`). `plan_relations` resolves each
reference through module outputs and inputs to configured resources, then
expands those to the instances the plan changes: one Relation per
(dependency, dependent) instance pair, with `source` the dependency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from orchestrator.adapters.base import expect_object
from orchestrator.adapters.terraform_config import ConfigIndex, ModulePath, Target
from orchestrator.models import Relation

_KEY = r'\[(?:[0-9]+|"(?:[^"\\]|\\.)*")\]'
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_MODULE_STEP = re.compile(rf"module\.({_NAME})({_KEY})?\.")
_RESOURCE = re.compile(rf"((?:data\.)?{_NAME}\.{_NAME})({_KEY})?")


@dataclass(frozen=True, slots=True)
class Instance:
    """One changed resource instance, split the way references need it."""

    address: str
    module_keys: tuple[str, ...]  # the instance key of each module call on the way, "" if none
    key: str  # the resource's own instance key, "" if none


Group = dict[str, list[Instance]]  # instance key -> instances


def plan_relations(
    configuration: object, addresses: list[str], origin: str
) -> tuple[Relation, ...]:
    """Relations between changed resources, from `configuration` references and depends_on."""
    if configuration is None:
        return ()
    config = ConfigIndex(expect_object(configuration, origin, "configuration"), origin)
    return _Linker(config, addresses).relations()


def parse_instance(address: str) -> tuple[ModulePath, str, Instance] | None:
    """Split `module.a["k"].aws_x.y[0]` into ((a,), aws_x.y, its keys); None if unrecognised."""
    names: list[str] = []
    keys: list[str] = []
    position = 0
    while step := _MODULE_STEP.match(address, position):
        names.append(step[1])
        keys.append(step[2] or "")
        position = step.end()
    resource = _RESOURCE.fullmatch(address, position)
    if resource is None:
        return None
    return tuple(names), resource[1], Instance(address, tuple(keys), resource[2] or "")


class _Dependents(NamedTuple):
    """The changed instances of one configured resource, the dependent side of its edges."""

    module: ModulePath
    instances: list[Instance]
    keys: dict[tuple[str, ...], frozenset[str]]  # module keys -> own instance keys


class _Linker:
    """Expands configuration-level edges to instance pairs, with indexes built once."""

    def __init__(self, config: ConfigIndex, addresses: list[str]) -> None:
        self._config = config
        self._instances: dict[tuple[ModulePath, str], list[Instance]] = {}
        for address in dict.fromkeys(addresses):
            parsed = parse_instance(address)
            if parsed is not None:
                module, resource, instance = parsed
                self._instances.setdefault((module, resource), []).append(instance)
        # module path -> the resources at or below it, for `module.m` references.
        self._below: dict[ModulePath, list[tuple[ModulePath, str]]] = {}
        for module, resource in self._instances:
            for depth in range(len(module) + 1):
                self._below.setdefault(module[:depth], []).append((module, resource))
        self._groups: dict[tuple[Target, int], dict[tuple[str, ...], Group]] = {}
        self._edges: set[tuple[str, str, str]] = set()

    def relations(self) -> tuple[Relation, ...]:
        """Every edge, deduplicated and sorted."""
        for resource in self._config.resources:
            instances = self._instances.get((resource.module, resource.address))
            if not instances:
                continue
            keys: dict[tuple[str, ...], set[str]] = {}
            for instance in instances:
                keys.setdefault(instance.module_keys, set()).add(instance.key)
            dependents = _Dependents(
                resource.module, instances, {k: frozenset(v) for k, v in keys.items()}
            )
            for kind, targets, paired in self._config.edges(resource):
                for target in targets:
                    self._link(dependents, target, kind, paired)
        return tuple(
            Relation(source=source, target=target, kind=kind)
            for source, target, kind in sorted(self._edges)
        )

    def _link(self, dependents: _Dependents, target: Target, kind: str, paired: bool) -> None:
        # Instances of one module call only see their own module instance: compare the
        # module keys the two addresses share, and nothing past that.
        shared = _common_length(dependents.module, target.module)
        groups = self._grouped(target, shared)
        one_to_one: dict[tuple[str, ...], bool] = {}
        edges = self._edges
        for dependent in dependents.instances:
            group = groups.get(dependent.module_keys[:shared])
            if not group:
                continue
            # `x[count.index]` / `x[each.key]` over the same keys pairs instances one to one.
            pairs = one_to_one.get(dependent.module_keys)
            if pairs is None:
                pairs = (
                    paired
                    and target.resource is not None
                    and group.keys() == dependents.keys[dependent.module_keys]
                )
                one_to_one[dependent.module_keys] = pairs
            if pairs and dependent.key:
                sources: Iterable[Instance] = group.get(dependent.key, ())
            else:
                sources = (source for members in group.values() for source in members)
            for source in sources:
                if source.address != dependent.address:
                    edges.add((source.address, dependent.address, kind))

    def _grouped(self, target: Target, shared: int) -> dict[tuple[str, ...], Group]:
        cached = self._groups.get((target, shared))
        if cached is not None:
            return cached
        if target.resource is not None:
            found = [(target.module, target.resource)]
        else:
            found = self._below.get(target.module, [])
        grouped: dict[tuple[str, ...], Group] = {}
        for located in found:
            for instance in self._instances.get(located, ()):
                if target.key is None or instance.key == target.key:
                    group = grouped.setdefault(instance.module_keys[:shared], {})
                    group.setdefault(instance.key, []).append(instance)
        self._groups[(target, shared)] = grouped
        return grouped


def _common_length(left: ModulePath, right: ModulePath) -> int:
    length = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        length += 1
    return length
