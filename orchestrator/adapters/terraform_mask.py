"""The sensitivity mirror of a whole plan document, for one masking walk.

A plan repeats its values in several places (resource_changes, planned_values,
prior_state, resource_drift, output_changes, variables, configuration), each
with its own way of saying what is sensitive. `plan_mirror` gathers all of
them into one sparse mirror of the document, so that `Masker.mask_in_place(plan,
mirror)` masks every copy and `collect_marked_strings` finds every value to
sweep for elsewhere.
"""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.base import child_path, expect_list, expect_object
from orchestrator.adapters.terraform_changes import check_mirror

Mirror = dict[str, Any]


def plan_mirror(plan: dict[str, Any], origin: str) -> Mirror:
    """Mirror every sensitivity marker in the plan, checking the shapes it reads."""
    mirror: Mirror = {}
    for section in ("resource_changes", "resource_drift"):
        if plan.get(section) is not None:
            mirror[section] = _changes(plan[section], origin, section)
    if plan.get("deferred_changes") is not None:
        mirror["deferred_changes"] = [
            {
                "resource_change": _change(
                    item.get("resource_change"), origin, f"{where}.resource_change"
                )
            }
            for item, where in _objects(plan["deferred_changes"], origin, "deferred_changes")
        ]
    if plan.get("planned_values") is not None:
        mirror["planned_values"] = _state_values(plan["planned_values"], origin, "planned_values")
    prior = plan.get("prior_state")
    if prior is not None and expect_object(prior, origin, "prior_state").get("values") is not None:
        values = _state_values(prior["values"], origin, "prior_state.values")
        mirror["prior_state"] = {"values": values}
    if plan.get("output_changes") is not None:
        mirror["output_changes"] = {
            name: _change_mirror(change, origin, child_path("output_changes", name))
            for name, change in _members(plan["output_changes"], origin, "output_changes")
        }
    configuration = plan.get("configuration")
    if configuration is not None:
        root = expect_object(configuration, origin, "configuration").get("root_module")
        if root is not None:
            module = _config_module(root, origin, "configuration.root_module")
            mirror["configuration"] = {"root_module": module}
            # The plan's `variables` are the root module's: sensitive if declared so.
            mirror["variables"] = {name: {"value": True} for name in module.get("variables", {})}
    if plan.get("action_invocations") is not None:
        mirror["action_invocations"] = [
            {"config_values": item.get("config_sensitive")}
            for item, _ in _objects(plan["action_invocations"], origin, "action_invocations")
        ]
    return mirror


def _objects(value: object, origin: str, where: str) -> list[tuple[dict[str, Any], str]]:
    """The objects of a list, each with its JSON path."""
    return [
        (expect_object(item, origin, f"{where}[{index}]"), f"{where}[{index}]")
        for index, item in enumerate(expect_list(value, origin, where))
    ]


def _changes(value: object, origin: str, where: str) -> list[Mirror]:
    return [_change(item, origin, place) for item, place in _objects(value, origin, where)]


def _change(value: object, origin: str, where: str) -> Mirror:
    entry = expect_object(value, origin, where)
    return {"change": _change_mirror(entry.get("change"), origin, f"{where}.change")}


def _change_mirror(value: object, origin: str, where: str) -> Mirror:
    change = expect_object(value, origin, where)
    before, after = change.get("before_sensitive"), change.get("after_sensitive")
    check_mirror(before, origin, f"{where}.before_sensitive")
    check_mirror(after, origin, f"{where}.after_sensitive")
    return {"before": before, "after": after}


def _state_values(value: object, origin: str, where: str) -> Mirror:
    values = expect_object(value, origin, where)
    mirror: Mirror = {}
    if values.get("outputs") is not None:
        mirror["outputs"] = {
            name: {"value": bool(output.get("sensitive"))}
            for name, output in _members(values["outputs"], origin, f"{where}.outputs")
        }
    if values.get("root_module") is not None:
        mirror["root_module"] = _state_module(values["root_module"], origin, f"{where}.root_module")
    return mirror


def _state_module(value: object, origin: str, where: str) -> Mirror:
    module = expect_object(value, origin, where)
    mirror: Mirror = {}
    if module.get("resources") is not None:
        mirror["resources"] = []
        for resource, place in _objects(module["resources"], origin, f"{where}.resources"):
            sensitive = resource.get("sensitive_values")
            check_mirror(sensitive, origin, f"{place}.sensitive_values")
            mirror["resources"].append({"values": sensitive})
    if module.get("child_modules") is not None:
        mirror["child_modules"] = [
            _state_module(child, origin, place)
            for child, place in _objects(module["child_modules"], origin, f"{where}.child_modules")
        ]
    return mirror


def _config_module(value: object, origin: str, where: str) -> Mirror:
    """Mask sensitive variable defaults, sensitive outputs and what calls pass to them."""
    module = expect_object(value, origin, where)
    mirror: Mirror = {}
    if variables := _sensitive(module, "variables", origin, where):
        mirror["variables"] = {name: {"default": True} for name in variables}
    if outputs := _sensitive(module, "outputs", origin, where):
        mirror["outputs"] = {name: {"expression": {"constant_value": True}} for name in outputs}
    if module.get("module_calls") is not None:
        mirror["module_calls"] = {}
        for name, call in _members(module["module_calls"], origin, f"{where}.module_calls"):
            if call.get("module") is None:
                continue
            place = f"{child_path(f'{where}.module_calls', name)}.module"
            body = expect_object(call["module"], origin, place)
            passed = _sensitive(body, "variables", origin, place)
            mirror["module_calls"][name] = {
                "module": _config_module(body, origin, place),
                "expressions": {variable: {"constant_value": True} for variable in passed},
            }
    return mirror


def _sensitive(module: dict[str, Any], section: str, origin: str, where: str) -> list[str]:
    """Names of the variables or outputs a module declares `sensitive = true`."""
    if module.get(section) is None:
        return []
    members = _members(module[section], origin, f"{where}.{section}")
    return [name for name, member in members if member.get("sensitive")]


def _members(value: object, origin: str, where: str) -> list[tuple[str, dict[str, Any]]]:
    """The members of an object whose values must be objects, checked."""
    return [
        (name, expect_object(member, origin, child_path(where, name)))
        for name, member in expect_object(value, origin, where).items()
    ]
