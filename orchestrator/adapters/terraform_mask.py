"""The sensitivity mirror of a whole plan document, for one masking walk.

A plan repeats its values in several places (resource_changes, planned_values,
prior_state, resource_drift, output_changes, variables, configuration), each
with its own way of saying what is sensitive. `plan_mirror` gathers all of
them into one sparse mirror of the document, so that `Masker.mask(plan,
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
        deferred = expect_list(plan["deferred_changes"], origin, "deferred_changes")
        mirror["deferred_changes"] = [
            {
                "resource_change": _change(
                    _entry(item, origin, f"deferred_changes[{i}]").get("resource_change"),
                    origin,
                    f"deferred_changes[{i}].resource_change",
                )
            }
            for i, item in enumerate(deferred)
        ]
    if plan.get("planned_values") is not None:
        mirror["planned_values"] = _state_values(plan["planned_values"], origin, "planned_values")
    prior = plan.get("prior_state")
    if prior is not None:
        prior = expect_object(prior, origin, "prior_state")
        if prior.get("values") is not None:
            mirror["prior_state"] = {
                "values": _state_values(prior["values"], origin, "prior_state.values")
            }
    if plan.get("output_changes") is not None:
        outputs = expect_object(plan["output_changes"], origin, "output_changes")
        mirror["output_changes"] = {
            name: _change_mirror(change, origin, child_path("output_changes", name))
            for name, change in outputs.items()
        }
    configuration = plan.get("configuration")
    if configuration is not None:
        configuration = expect_object(configuration, origin, "configuration")
        root = configuration.get("root_module")
        if root is not None:
            where = "configuration.root_module"
            module = _config_module(root, origin, where)
            mirror["configuration"] = {"root_module": module}
            mirror["variables"] = {name: {"value": True} for name in module.get("variables", {})}
    if plan.get("action_invocations") is not None:
        invocations = expect_list(plan["action_invocations"], origin, "action_invocations")
        mirror["action_invocations"] = [
            {
                "config_values": _entry(item, origin, f"action_invocations[{i}]").get(
                    "config_sensitive"
                )
            }
            for i, item in enumerate(invocations)
        ]
    return mirror


def _entry(value: object, origin: str, where: str) -> dict[str, Any]:
    return expect_object(value, origin, where)


def _changes(value: object, origin: str, where: str) -> list[Mirror]:
    return [
        _change(item, origin, f"{where}[{index}]")
        for index, item in enumerate(expect_list(value, origin, where))
    ]


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
        outputs = expect_object(values["outputs"], origin, f"{where}.outputs")
        mirror["outputs"] = {
            name: {
                "value": bool(
                    expect_object(output, origin, child_path(f"{where}.outputs", name)).get(
                        "sensitive"
                    )
                )
            }
            for name, output in outputs.items()
        }
    if values.get("root_module") is not None:
        mirror["root_module"] = _state_module(values["root_module"], origin, f"{where}.root_module")
    return mirror


def _state_module(value: object, origin: str, where: str) -> Mirror:
    module = expect_object(value, origin, where)
    mirror: Mirror = {}
    if module.get("resources") is not None:
        resources = expect_list(module["resources"], origin, f"{where}.resources")
        masks = []
        for index, resource in enumerate(resources):
            place = f"{where}.resources[{index}]"
            sensitive = expect_object(resource, origin, place).get("sensitive_values")
            check_mirror(sensitive, origin, f"{place}.sensitive_values")
            masks.append({"values": sensitive})
        mirror["resources"] = masks
    if module.get("child_modules") is not None:
        children = expect_list(module["child_modules"], origin, f"{where}.child_modules")
        mirror["child_modules"] = [
            _state_module(child, origin, f"{where}.child_modules[{index}]")
            for index, child in enumerate(children)
        ]
    return mirror


def _config_module(value: object, origin: str, where: str) -> Mirror:
    """Mask sensitive variable defaults, sensitive outputs and what calls pass to them."""
    module = expect_object(value, origin, where)
    mirror: Mirror = {}
    variables = _sensitive_variables(module, origin, where)
    if variables:
        mirror["variables"] = {name: {"default": True} for name in variables}
    if module.get("outputs") is not None:
        outputs = expect_object(module["outputs"], origin, f"{where}.outputs")
        sensitive = [
            name
            for name, output in outputs.items()
            if expect_object(output, origin, child_path(f"{where}.outputs", name)).get("sensitive")
        ]
        if sensitive:
            mirror["outputs"] = {
                name: {"expression": {"constant_value": True}} for name in sensitive
            }
    if module.get("module_calls") is not None:
        calls = expect_object(module["module_calls"], origin, f"{where}.module_calls")
        call_masks: Mirror = {}
        for name, item in calls.items():
            place = child_path(f"{where}.module_calls", name)
            call = expect_object(item, origin, place)
            if call.get("module") is None:
                continue
            child = _config_module(call["module"], origin, f"{place}.module")
            passed = _sensitive_variables(call["module"], origin, f"{place}.module")
            call_masks[name] = {
                "module": child,
                "expressions": {var: {"constant_value": True} for var in passed},
            }
        mirror["module_calls"] = call_masks
    return mirror


def _sensitive_variables(module: dict[str, Any], origin: str, where: str) -> list[str]:
    if module.get("variables") is None:
        return []
    variables = expect_object(module["variables"], origin, f"{where}.variables")
    return [
        name
        for name, variable in variables.items()
        if expect_object(variable, origin, child_path(f"{where}.variables", name)).get("sensitive")
    ]
