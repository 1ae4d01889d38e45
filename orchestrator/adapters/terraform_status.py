"""What a plan says about itself: how complete it is, and how many resources exist."""

from __future__ import annotations

from collections import Counter
from typing import Any

from orchestrator.adapters.base import expect_list, expect_object, optional_bool, optional_str
from orchestrator.adapters.terraform_changes import ChangeHeader
from orchestrator.models import PlanStatus

_FAILED_CHECKS = {"fail": "failed", "error": "errored"}


def plan_status(plan: dict[str, Any], origin: str) -> PlanStatus:
    """Completeness flags and the notes a reviewer should read before trusting the plan."""
    notes: list[str] = []
    deferred = _list(plan, "deferred_changes", origin)
    deferred_actions = _list(plan, "deferred_action_invocations", origin)
    if deferred:
        reasons = Counter(
            str(expect_object(item, origin, f"deferred_changes[{index}]").get("reason", "unknown"))
            for index, item in enumerate(deferred)
        )
        listed = ", ".join(
            reason if count == 1 else f"{reason} ×{count}"
            for reason, count in sorted(reasons.items())
        )
        notes.append(
            f"{_count(len(deferred), 'resource change')} deferred to a later plan ({listed})"
        )
    if deferred_actions:
        notes.append(f"{_count(len(deferred_actions), 'action invocation')} deferred")
    drift = _list(plan, "resource_drift", origin)
    if drift:
        notes.append(f"{_count(len(drift), 'resource')} drifted outside Terraform")
    invocations = _list(plan, "action_invocations", origin)
    if invocations:
        notes.append(
            f"plan has action_invocations: {_count(len(invocations), 'action')} "
            "will run on apply, outside this review"
        )
    notes.extend(_failed_checks(plan, origin))
    return PlanStatus(
        complete=optional_bool(plan.get("complete"), origin, "complete", default=True),
        errored=optional_bool(plan.get("errored"), origin, "errored", default=False),
        deferred_changes=len(deferred) + len(deferred_actions),
        notes=tuple(notes),
    )


def populations(plan: dict[str, Any], headers: list[ChangeHeader], origin: str) -> dict[str, int]:
    """Per resource type, how many managed resources exist before the change.

    Only a plan with a prior state knows: without one the sizes are unknown,
    and the mapping is empty rather than a guess from the changes themselves
    (deleting 1 instance of a fleet nobody counted is not 1 of 1).
    """
    in_state: dict[str, set[str]] = {}
    prior = plan.get("prior_state")
    values = prior.get("values") if isinstance(prior, dict) else None
    if not isinstance(values, dict) or values.get("root_module") is None:
        return {}
    _count_state(values["root_module"], origin, "prior_state.values.root_module", in_state)
    changed: dict[str, set[str]] = {}
    for header in headers:
        # Everything but a plain create touches an object that exists already.
        if header.mode == "managed" and header.raw_actions != ("create",):
            changed.setdefault(header.type, set()).add(header.address)
    return {
        kind: max(len(in_state.get(kind, ())), len(changed.get(kind, ())))
        for kind in sorted(in_state.keys() | changed.keys())
    }


def _count_state(value: object, origin: str, where: str, found: dict[str, set[str]]) -> None:
    module = expect_object(value, origin, where)
    for index, item in enumerate(_list(module, "resources", origin, where)):
        place = f"{where}.resources[{index}]"
        resource = expect_object(item, origin, place)
        mode = optional_str(resource.get("mode"), origin, f"{place}.mode") or "managed"
        kind = optional_str(resource.get("type"), origin, f"{place}.type")
        address = optional_str(resource.get("address"), origin, f"{place}.address")
        # A deposed object is a leftover of the same resource, not another one.
        if mode == "managed" and kind and address and resource.get("deposed_key") is None:
            found.setdefault(kind, set()).add(address)
    for index, child in enumerate(_list(module, "child_modules", origin, where)):
        _count_state(child, origin, f"{where}.child_modules[{index}]", found)


def _failed_checks(plan: dict[str, Any], origin: str) -> list[str]:
    notes = []
    for index, item in enumerate(_list(plan, "checks", origin)):
        place = f"checks[{index}]"
        check = expect_object(item, origin, place)
        status = optional_str(check.get("status"), origin, f"{place}.status")
        if status in _FAILED_CHECKS:
            address = check.get("address")
            shown = address.get("to_display") if isinstance(address, dict) else None
            notes.append(f"check {_FAILED_CHECKS[status]}: {shown or place}")
    return notes


def _list(container: dict[str, Any], key: str, origin: str, where: str = "") -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    return expect_list(value, origin, f"{where}.{key}" if where else key)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
