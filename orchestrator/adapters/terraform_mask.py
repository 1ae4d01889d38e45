"""The sensitivity mirror of a whole plan document, for one masking walk.

A plan repeats its values in several places (resource_changes, planned_values,
prior_state, resource_drift, output_changes, variables, configuration), each
with its own way of saying what is sensitive. `plan_mirror` gathers all of
them into one sparse mirror of the document, so that `Masker.mask_in_place(plan,
mirror)` masks every copy and `collect_marked_strings` finds every value to
sweep for elsewhere.

A plan holds tens of thousands of resources, so the JSON path of each place
read is kept as a tuple of steps (`Where`) and spelt out (`json_path`) only for an error.
For the same reason the mirror holds only what marks something: a resource
whose mirrors are all empty or false (nearly every one) has no entry, so the
masking walk takes the plain path over it, which masks the same.
"""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.base import expect_list, expect_object, json_path
from orchestrator.adapters.terraform_changes import check_mirror, is_mirror

Mirror = dict[str, Any]
Where = tuple[str | int, ...]


def plan_mirror(plan: dict[str, Any], origin: str) -> Mirror:
    """Mirror every sensitivity marker in the plan, checking the shapes it reads."""
    mirror: Mirror = {}
    for section in ("resource_changes", "resource_drift"):
        if plan.get(section) is not None:
            _put(mirror, section, _changes(plan[section], origin, (section,)))
    if plan.get("deferred_changes") is not None:
        where: Where = ("deferred_changes",)
        deferred = [
            _keyed(
                "resource_change",
                _change(item.get("resource_change"), origin, (*where, index, "resource_change")),
            )
            for index, item in enumerate(_objects(plan["deferred_changes"], origin, where))
        ]
        _put(mirror, "deferred_changes", _sparse(deferred))
    if plan.get("planned_values") is not None:
        planned = _state_values(plan["planned_values"], origin, ("planned_values",))
        _put(mirror, "planned_values", planned)
    prior = plan.get("prior_state")
    if prior is not None and expect_object(prior, origin, "prior_state").get("values") is not None:
        values = _state_values(prior["values"], origin, ("prior_state", "values"))
        _put(mirror, "prior_state", _keyed("values", values))
    if plan.get("output_changes") is not None:
        where = ("output_changes",)
        outputs = {
            name: _change_mirror(change, origin, (*where, name))
            for name, change in _members(plan["output_changes"], origin, where)
        }
        _put(mirror, "output_changes", {k: v for k, v in outputs.items() if v is not None})
    configuration = plan.get("configuration")
    if configuration is not None:
        root = expect_object(configuration, origin, "configuration").get("root_module")
        if root is not None:
            module = _config_module(root, origin, ("configuration", "root_module"))
            _put(mirror, "configuration", _keyed("root_module", module))
            # The plan's `variables` are the root module's: sensitive if declared so.
            variables = {name: {"value": True} for name in module.get("variables", {})}
            _put(mirror, "variables", variables)
    if plan.get("action_invocations") is not None:
        invocations = [
            _keyed("config_values", _marking(item.get("config_sensitive")))
            for item in _objects(plan["action_invocations"], origin, ("action_invocations",))
        ]
        _put(mirror, "action_invocations", _sparse(invocations))
    return mirror


def marks_anything(mirror: object) -> bool:
    """Whether a mirror has a truthy leaf: only then does it mask more than the plain walk."""
    if isinstance(mirror, dict):
        return any(marks_anything(child) for child in mirror.values())
    if isinstance(mirror, list):
        return any(marks_anything(child) for child in mirror)
    return bool(mirror)


def _marking(mirror: object) -> object:
    """The mirror if it marks something, else None (see the module docstring)."""
    return mirror if mirror and marks_anything(mirror) else None


def _keyed(key: str, mirror: object) -> Mirror | None:
    """`{key: mirror}`, or None when the mirror marks nothing."""
    return None if mirror is None or mirror == {} else {key: mirror}


def _sparse(mirrors: list[Any]) -> list[Any] | None:
    """A list of item mirrors, or None when none of them marks anything."""
    return mirrors if any(m is not None for m in mirrors) else None


def _put(mirror: Mirror, key: str, value: object) -> None:
    """Add a section's mirror unless it marks nothing."""
    if value is not None and value != {}:
        mirror[key] = value


def _object(value: object, origin: str, where: Where) -> dict[str, Any]:
    """`value` if it is an object, else fail naming its place."""
    if isinstance(value, dict):
        return value
    return expect_object(value, origin, json_path(where))  # raises


def _objects(value: object, origin: str, where: Where) -> list[dict[str, Any]]:
    """The items of a list, each checked to be an object."""
    items = expect_list(value, origin, json_path(where)) if type(value) is not list else value
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            _object(item, origin, (*where, index))  # raises
    return items


def _changes(value: object, origin: str, where: Where) -> list[Mirror | None] | None:
    return _sparse(
        [
            _change(item, origin, (*where, index))
            for index, item in enumerate(_objects(value, origin, where))
        ]
    )


def _change(value: object, origin: str, where: Where) -> Mirror | None:
    entry = _object(value, origin, where)
    return _keyed("change", _change_mirror(entry.get("change"), origin, (*where, "change")))


def _change_mirror(value: object, origin: str, where: Where) -> Mirror | None:
    change = _object(value, origin, where)
    before, after = change.get("before_sensitive"), change.get("after_sensitive")
    if not is_mirror(before):
        check_mirror(before, origin, json_path((*where, "before_sensitive")))
    if not is_mirror(after):
        check_mirror(after, origin, json_path((*where, "after_sensitive")))
    before, after = _marking(before), _marking(after)
    if before is None and after is None:
        return None
    return {"before": before, "after": after}


def _state_values(value: object, origin: str, where: Where) -> Mirror:
    values = _object(value, origin, where)
    mirror: Mirror = {}
    if values.get("outputs") is not None:
        outputs = {
            name: {"value": True}
            for name, output in _members(values["outputs"], origin, (*where, "outputs"))
            if output.get("sensitive")
        }
        _put(mirror, "outputs", outputs)
    if values.get("root_module") is not None:
        module = _state_module(values["root_module"], origin, (*where, "root_module"))
        _put(mirror, "root_module", module)
    return mirror


def _state_module(value: object, origin: str, where: Where) -> Mirror:
    module = _object(value, origin, where)
    mirror: Mirror = {}
    if module.get("resources") is not None:
        listed = (*where, "resources")
        resources = _objects(module["resources"], origin, listed)
        for index, resource in enumerate(resources):
            sensitive = resource.get("sensitive_values")
            if not is_mirror(sensitive):
                check_mirror(sensitive, origin, json_path((*listed, index, "sensitive_values")))
        marked = [_keyed("values", _marking(r.get("sensitive_values"))) for r in resources]
        _put(mirror, "resources", _sparse(marked))
    if module.get("child_modules") is not None:
        listed = (*where, "child_modules")
        children = [
            _state_module(child, origin, (*listed, index)) or None
            for index, child in enumerate(_objects(module["child_modules"], origin, listed))
        ]
        _put(mirror, "child_modules", _sparse(children))
    return mirror


def _config_module(value: object, origin: str, where: Where) -> Mirror:
    """Mask sensitive variable defaults, sensitive outputs and what calls pass to them."""
    module = _object(value, origin, where)
    mirror: Mirror = {}
    if variables := _sensitive(module, "variables", origin, where):
        mirror["variables"] = {name: {"default": True} for name in variables}
    if outputs := _sensitive(module, "outputs", origin, where):
        mirror["outputs"] = {name: {"expression": {"constant_value": True}} for name in outputs}
    if module.get("module_calls") is not None:
        calls: Mirror = {}
        listed = (*where, "module_calls")
        for name, call in _members(module["module_calls"], origin, listed):
            if call.get("module") is None:
                continue
            inner = (*listed, name, "module")
            body = _object(call["module"], origin, inner)
            passed = _sensitive(body, "variables", origin, inner)
            child = _config_module(body, origin, inner)
            if child or passed:
                calls[name] = {
                    "module": child,
                    "expressions": {variable: {"constant_value": True} for variable in passed},
                }
        _put(mirror, "module_calls", calls)
    return mirror


def _sensitive(module: dict[str, Any], section: str, origin: str, where: Where) -> list[str]:
    """Names of the variables or outputs a module declares `sensitive = true`."""
    if module.get(section) is None:
        return []
    members = _members(module[section], origin, (*where, section))
    return [name for name, member in members if member.get("sensitive")]


def _members(value: object, origin: str, where: Where) -> list[tuple[str, dict[str, Any]]]:
    """The members of an object whose values must be objects, checked."""
    members = _object(value, origin, where)
    for name, member in members.items():
        if not isinstance(member, dict):
            _object(member, origin, (*where, name))  # raises
    return list(members.items())
