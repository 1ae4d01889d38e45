"""Resolve the references in a plan's `configuration` to configured resources.

A reference is relative to its module. `var.v` is whatever the module's
caller passes as `v`; `module.m.out` is whatever output `out` of module `m`
refers to; `module.m` alone (or in depends_on) is every resource under `m`.
Resolution follows those hops, memoised, so the result is a set of `Target`s:
configured resources (with a literal instance key when the reference had
one) or whole module subtrees.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.adapters.base import (
    child_path,
    expect_list,
    expect_object,
    json_path,
    type_name,
)
from orchestrator.errors import InputError

ModulePath = tuple[str, ...]
Edge = tuple[str, frozenset["Target"], bool]  # kind, dependencies, pair instances by key
# An edge before resolution: kind, the references, the module they are relative to.
Pending = tuple[str, tuple[str, ...], ModulePath]
Where = tuple[str | int, ...]  # a JSON path as steps, see base.json_path

_KEY = r'\[(?:[0-9]+|"(?:[^"\\]|\\.)*")\]'
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_MODULE_REF = re.compile(rf"module\.({_NAME})(?:{_KEY})?(?:\.({_NAME}))?")
_RESOURCE_REF = re.compile(rf"((?:data\.)?{_NAME}\.{_NAME})({_KEY})?")
_VARIABLE_REF = re.compile(rf"var\.({_NAME})")
# First steps of references that never name a resource Terraform plans to change.
_NOT_RESOURCES = frozenset({
    "var", "module", "local", "path", "terraform", "self", "ephemeral", "action", "check",
    "run", "provider", "resource", "output", "list",
})  # fmt: skip
_REPEATERS = frozenset({"count", "each"})
# The parts of a resource block whose expressions can refer to other resources.
_REFERRING_PARTS = ("expressions", "count_expression", "for_each_expression", "provisioners")


@dataclass(frozen=True, slots=True)
class Target:
    """What a reference resolves to: a configured resource, or every resource under a module."""

    module: ModulePath
    resource: str | None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigResource:
    """One `resource`/`data` block and the edges it inherits from enclosing module calls."""

    module: ModulePath
    address: str
    body: dict[str, Any]
    depends_on: tuple[str, ...]
    inherited: tuple[Pending, ...]


class ConfigIndex:
    """The configuration's modules, resources and provider blocks, indexed once."""

    def __init__(self, configuration: dict[str, Any], origin: str) -> None:
        self._origin = origin
        self._modules: dict[ModulePath, dict[str, Any]] = {}
        self._memo: dict[tuple[str, ModulePath, str], frozenset[Target]] = {}
        self._shared: dict[Pending, Edge] = {}
        self.resources: list[ConfigResource] = []
        # Every module is indexed before anything is resolved: an output may be read
        # by a module call that comes before the module defining it.
        root = configuration.get("root_module")
        if root is not None:
            self._walk(root, (), ("configuration", "root_module"), ())
        self._providers = self._read_providers(configuration)

    def edges(self, resource: ConfigResource) -> Iterator[Edge]:
        """Each (kind, dependencies, paired) group this resource declares or inherits."""
        body, module = resource.body, resource.module
        for part in _REFERRING_PARTS:
            expression = body.get(part)
            if expression is None:
                continue  # most resources have no count, for_each or provisioners
            for refs in reference_lists(expression):
                yield "reference", *self.resolve(refs, module)
        if resource.depends_on:
            yield "depends_on", self.resolve(resource.depends_on, module)[0], False
        provider = body.get("provider_config_key")
        shared = list(resource.inherited)
        if isinstance(provider, str):
            shared += self._providers.get(provider, ())
        for pending in shared:
            # Inherited and provider edges repeat for every resource of a module.
            if pending not in self._shared:
                kind, shared_refs, scope = pending
                self._shared[pending] = (kind, *self.resolve(shared_refs, scope))
            yield self._shared[pending]

    def resolve(self, refs: Sequence[str], module: ModulePath) -> tuple[frozenset[Target], bool]:
        """Targets of one references list, and whether it indexes by count/each."""
        resources: dict[str, set[str | None]] = {}
        calls: dict[str, set[str | None]] = {}
        found: set[Target] = set()
        paired = False
        for ref in refs:
            head = ref.partition(".")[0]
            if head == "module" and (match := _MODULE_REF.match(ref)):
                calls.setdefault(match[1], set()).add(match[2])
            elif head == "var" and (match := _VARIABLE_REF.match(ref)):
                found |= self._input(module, match[1])
            elif head in _REPEATERS:
                paired = True
            elif head not in _NOT_RESOURCES and (match := _RESOURCE_REF.match(ref)):
                resources.setdefault(match[1], set()).add(match[2])
        # Terraform lists `x[0].id`, `x[0]` and `x` for one use of x[0]: the keyed form wins.
        for resource, keys in resources.items():
            for key in (keys - {None}) or {None}:
                found.add(Target(module, resource, key))
        for name, outputs in calls.items():
            child = (*module, name)
            named = {output for output in outputs if output is not None}
            if not named:
                found.add(Target(child, None))
            for output in named:
                found |= self._output(child, output)
        return frozenset(found), paired

    def _output(self, module: ModulePath, name: str) -> frozenset[Target]:
        body = self._modules.get(module)
        outputs = body.get("outputs") if body is not None else None
        if not isinstance(outputs, dict) or not isinstance(outputs.get(name), dict):
            # The module body or output is not in the plan: assume it exposes all of it.
            return frozenset({Target(module, None)})
        return self._memoised("output", module, name, outputs[name].get("expression"), module)

    def _input(self, module: ModulePath, name: str) -> frozenset[Target]:
        if not module:
            return frozenset()  # a root variable comes from outside the plan
        parent = module[:-1]
        calls = self._modules.get(parent, {}).get("module_calls")
        call = calls.get(module[-1]) if isinstance(calls, dict) else None
        expressions = call.get("expressions") if isinstance(call, dict) else None
        passed = expressions.get(name) if isinstance(expressions, dict) else None
        return self._memoised("input", module, name, passed, parent)

    def _memoised(
        self, kind: str, module: ModulePath, name: str, expression: object, scope: ModulePath
    ) -> frozenset[Target]:
        key = (kind, module, name)
        if key in self._memo:
            return self._memo[key]
        # Terraform rejects cycles, so only a crafted plan has one: it ends here, empty.
        self._memo[key] = frozenset()
        found: set[Target] = set()
        for refs in reference_lists(expression):
            found |= self.resolve(refs, scope)[0]
        self._memo[key] = frozenset(found)
        return self._memo[key]

    def _walk(
        self, value: object, module: ModulePath, where: Where, inherited: tuple[Pending, ...]
    ) -> None:
        # `where` is kept as steps, spelt out only for an error: a plan has thousands of modules.
        body = self._object(value, where)
        self._modules[module] = body
        if body.get("resources") is not None:
            resources = body["resources"]
            if not isinstance(resources, list):
                expect_list(resources, self._origin, json_path((*where, "resources")))
            for index, item in enumerate(resources):
                resource = self._object(item, (*where, "resources", index))
                address = resource.get("address")
                if not isinstance(address, str):
                    raise InputError(
                        self._origin,
                        f"expected a string, got {type_name(address)}",
                        where=json_path((*where, "resources", index, "address")),
                    )
                depends_on = resource.get("depends_on")
                if depends_on is not None:
                    depends_on = string_list(
                        depends_on,
                        self._origin,
                        json_path((*where, "resources", index, "depends_on")),
                    )
                self.resources.append(
                    ConfigResource(module, address, resource, tuple(depends_on or ()), inherited)
                )
        if body.get("module_calls") is None:
            return
        calls = self._object(body["module_calls"], (*where, "module_calls"))
        for name, item in calls.items():
            call = self._object(item, (*where, "module_calls", name))
            # A call's depends_on and count/for_each hold for everything inside it.
            edges = list(inherited)
            for part in ("count_expression", "for_each_expression"):
                for refs in reference_lists(call.get(part)):
                    edges.append(("reference", tuple(refs), module))
            if call.get("depends_on") is not None:
                place = json_path((*where, "module_calls", name, "depends_on"))
                depends_on = string_list(call["depends_on"], self._origin, place)
                edges.append(("depends_on", tuple(depends_on), module))
            if call.get("module") is not None:
                self._walk(
                    call["module"],
                    (*module, name),
                    (*where, "module_calls", name, "module"),
                    tuple(edges),
                )

    def _object(self, value: object, where: Where) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        return expect_object(value, self._origin, json_path(where))  # raises

    def _read_providers(self, configuration: dict[str, Any]) -> dict[str, list[Pending]]:
        # A provider configured from a resource's attributes (kubernetes from an EKS
        # cluster) makes every resource it manages depend on that resource.
        raw = configuration.get("provider_config")
        if raw is None:
            return {}
        providers = expect_object(raw, self._origin, "configuration.provider_config")
        found: dict[str, list[Pending]] = {}
        for key, item in providers.items():
            place = child_path("configuration.provider_config", key)
            provider = expect_object(item, self._origin, place)
            module_address = provider.get("module_address")
            text = module_address if isinstance(module_address, str) else ""
            module = tuple(re.findall(rf"module\.({_NAME})", text))
            found[key] = [
                ("reference", tuple(refs), module)
                for refs in reference_lists(provider.get("expressions"))
            ]
        return found


def reference_lists(node: object) -> list[list[str]]:
    """Every `references` list under a configuration expression, nested blocks included."""
    found: list[list[str]] = []
    _collect_references(node, found)
    return found


def _collect_references(node: object, found: list[list[str]]) -> None:
    # A list, not a generator: there is one walk per expression of every resource.
    if isinstance(node, dict):
        for key, child in node.items():
            if (
                key == "references"
                and isinstance(child, list)
                and all(isinstance(item, str) for item in child)
            ):
                found.append(child)
            elif isinstance(child, dict | list):
                _collect_references(child, found)
    elif isinstance(node, list):
        for child in node:
            if isinstance(child, dict | list):
                _collect_references(child, found)


def string_list(value: object, origin: str, where: str) -> list[str]:
    """A list of strings (such as depends_on), else fail naming the place."""
    items = expect_list(value, origin, where)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InputError(
                origin, f"expected a string, got {type_name(item)}", where=child_path(where, index)
            )
    return items
