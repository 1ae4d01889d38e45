"""Policy documents a plan holds outside its changes: data sources in prior state or planned values.

When a change's policy is known only after apply and no `read` change of the
plan explains it, the configuration still says which document it is built
from (`expressions.policy.references`), and a data source Terraform read
while planning sits in `prior_state` (or `planned_values`) with its
statements. Only consulted for such changes, so a plan without unknown
policies never walks its state here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

_MODULE_STEP: Final = re.compile(r'module\.([A-Za-z_][\w-]*)(\[(?:[0-9]+|"(?:[^"\\]|\\.)*")\])?\.')
_INDEX: Final = re.compile(r'\[(?:[0-9]+|"(?:[^"\\]|\\.)*")\]$')
DOCUMENT: Final = "data.aws_iam_policy_document."


def referenced_documents(raw: object, address: str, attribute: str) -> list[dict[str, Any]]:
    """The values of the policy-document data sources `address`'s `attribute` refers to."""
    if not isinstance(raw, dict):
        return []
    names, prefix, local = _split(address)
    wanted = {
        ref.removesuffix(".json")
        for ref in _references(raw.get("configuration"), names, local, attribute)
        if ref.startswith(DOCUMENT)
    }
    if not wanted:
        return []
    found = []
    for section in ("prior_state", "planned_values"):
        root = raw.get(section)
        values = root.get("values") if section == "prior_state" and isinstance(root, dict) else root
        module = values.get("root_module") if isinstance(values, dict) else None
        for resource in _state_resources(module):
            state_address = resource.get("address")
            if not isinstance(state_address, str) or not state_address.startswith(prefix):
                continue
            base = _INDEX.sub("", state_address[len(prefix) :])
            if base in wanted and isinstance(resource.get("values"), dict):
                found.append(resource["values"])
        if found:
            return found
    return found


def _split(address: str) -> tuple[list[str], str, str]:
    """(module names, the module instance prefix, the resource's address in its module)."""
    names: list[str] = []
    position = 0
    while step := _MODULE_STEP.match(address, position):
        names.append(step[1])
        position = step.end()
    return names, address[:position], _INDEX.sub("", address[position:])


def _references(configuration: object, names: list[str], local: str, attribute: str) -> list[str]:
    module = configuration.get("root_module") if isinstance(configuration, dict) else None
    for name in names:
        calls = module.get("module_calls") if isinstance(module, dict) else None
        call = calls.get(name) if isinstance(calls, dict) else None
        module = call.get("module") if isinstance(call, dict) else None
    resources = module.get("resources") if isinstance(module, dict) else None
    for resource in resources if isinstance(resources, list) else ():
        if isinstance(resource, dict) and resource.get("address") == local:
            expressions = resource.get("expressions")
            expression = expressions.get(attribute) if isinstance(expressions, dict) else None
            refs = expression.get("references") if isinstance(expression, dict) else None
            return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []
    return []


def _state_resources(module: object) -> Iterator[dict[str, Any]]:
    if not isinstance(module, dict):
        return
    for resource in module.get("resources") or ():
        if isinstance(resource, dict) and resource.get("mode") == "data":
            yield resource
    for child in module.get("child_modules") or ():
        yield from _state_resources(child)
