"""Read `resource_changes[]` entries of a plan into ResourceChange models.

`read_change` checks the shape and meaning of one entry before anything is
masked; `build_change` turns the checked header plus the masked values into
the model. The split lets the adapter mask the whole document in one walk.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from pydantic import ValidationError

from orchestrator.adapters.base import expect_list, expect_object, optional_str, type_name
from orchestrator.adapters.masking import true_paths
from orchestrator.errors import InputError
from orchestrator.models import Action, ReplaceOrder, ResourceChange, unvalidated

# Every `actions` list Terraform and OpenTofu emit (terraform/internal/command/jsonplan
# actionString); anything else fails closed rather than being guessed at.
ACTIONS: Final[dict[tuple[str, ...], tuple[Action, ReplaceOrder | None]]] = {
    ("create",): (Action.CREATE, None),
    ("update",): (Action.UPDATE, None),
    ("delete",): (Action.DELETE, None),
    ("delete", "create"): (Action.REPLACE, "delete-before-create"),
    ("create", "delete"): (Action.REPLACE, "create-before-destroy"),
    ("read",): (Action.READ, None),
    ("no-op",): (Action.NOOP, None),
    ("forget",): (Action.FORGET, None),
    # `lifecycle { destroy = false }` on a replaced resource (Terraform >= 1.14): a new
    # object is created and the old one is dropped from state but left running. A
    # replace in Terraform's own words; raw_actions keeps the difference.
    ("create", "forget"): (Action.REPLACE, None),
}

# Values nested deeper than pydantic stores (255 containers) fail validation; a masking
# walk that went no deeper than this path length lets the models skip validation.
# The deepest value it admits is 197 containers inside `change.after`.
TRUSTED_DEPTH: Final = 200

_MODES: Final = ("managed", "data")
_MIRRORS: Final = ("before_sensitive", "after_sensitive", "after_unknown")


class ChangeHeader(NamedTuple):
    """The checked, non-secret fields of one resource change."""

    position: int
    address: str
    type: str
    name: str | None
    mode: str
    provider: str | None
    module: str | None
    raw_actions: tuple[str, ...]
    action: Action
    replace_order: ReplaceOrder | None
    action_reason: str | None
    replace_paths: tuple[tuple[str | int, ...], ...]
    previous_address: str | None
    importing: bool
    unknown_after: tuple[str, ...]


def read_change(item: object, position: int, origin: str) -> ChangeHeader:
    """Check `resource_changes[position]` and read the fields a review needs."""
    # A plan holds tens of thousands of entries: a field's place is spelt out only for an error.
    where = f"resource_changes[{position}]"
    entry = expect_object(item, origin, where)
    change = entry.get("change")
    if not isinstance(change, dict):
        change = expect_object(change, origin, f"{where}.change")  # raises
    raw_actions = _actions(change.get("actions"), origin, f"{where}.change.actions")
    action, replace_order = ACTIONS[raw_actions]
    mode = _optional_str(entry, "mode", origin, where) or "managed"
    if mode not in _MODES:
        raise InputError(origin, f"unknown mode {mode!r}", where=f"{where}.mode")
    for mirror in _MIRRORS:
        value = change.get(mirror)
        if not is_mirror(value):
            check_mirror(value, origin, f"{where}.change.{mirror}")
    importing = change.get("importing")
    if importing is not None and not isinstance(importing, dict):
        expect_object(importing, origin, f"{where}.change.importing")
    return ChangeHeader(
        position=position,
        address=_required_str(entry, "address", origin, where),
        type=_required_str(entry, "type", origin, where),
        name=_optional_str(entry, "name", origin, where),
        mode=mode,
        provider=_optional_str(entry, "provider_name", origin, where),
        module=_optional_str(entry, "module_address", origin, where),
        raw_actions=raw_actions,
        action=action,
        replace_order=replace_order,
        action_reason=_optional_str(entry, "action_reason", origin, where),
        replace_paths=_replace_paths(change.get("replace_paths"), origin, where),
        previous_address=_optional_str(entry, "previous_address", origin, where),
        importing=importing is not None,
        unknown_after=tuple(true_paths(change.get("after_unknown"))),
    )


def build_change(
    header: ChangeHeader,
    masked_change: dict[str, Any],
    sensitive_paths: tuple[str, ...],
    origin: str,
    *,
    trusted: bool = False,
) -> ResourceChange:
    """The model of one change, from its checked header and its masked `change` object.

    `trusted`: the values come from json.loads and are shallow enough to store
    (see `TRUSTED_DEPTH`), so they are JSON already and the model takes them as
    they are (`models.unvalidated`). Validating would copy every value of the plan, for nothing.
    """
    if trusted:
        return unvalidated(ResourceChange, _fields(header, masked_change, sensitive_paths))
    try:
        return ResourceChange(**_fields(header, masked_change, sensitive_paths))
    except ValidationError as exc:
        # Only values the header checks cannot see get here, e.g. nesting too deep to store.
        error = exc.errors()[0]
        place = error["loc"][0] if error["loc"] else "the change"
        raise InputError(
            origin,
            f"{place} cannot be reviewed: {error['msg']}",
            where=f"resource_changes[{header.position}].change",
        ) from None


def _fields(
    header: ChangeHeader, masked_change: dict[str, Any], sensitive_paths: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "address": header.address,
        "type": header.type,
        "action": header.action,
        "name": header.name,
        "provider": header.provider,
        "module": header.module,
        "mode": header.mode,
        "raw_actions": header.raw_actions,
        "replace_order": header.replace_order,
        "action_reason": header.action_reason,
        "replace_paths": header.replace_paths,
        "previous_address": header.previous_address,
        "importing": header.importing,
        "before": masked_change.get("before"),
        "after": masked_change.get("after"),
        "unknown_after": header.unknown_after,
        "sensitive_paths": sensitive_paths,
    }


def is_mirror(value: object) -> bool:
    """Whether a value has the shape of a sensitivity or unknown mirror (or is absent)."""
    return value is None or isinstance(value, bool | dict | list)


def check_mirror(value: object, origin: str, where: str) -> None:
    """A sensitivity or unknown mirror is a boolean, an object or a list."""
    if not is_mirror(value):
        raise InputError(
            origin, f"expected a boolean, object or list, got {type_name(value)}", where=where
        )


def _actions(value: object, origin: str, where: str) -> tuple[str, ...]:
    actions = expect_list(value, origin, where)
    for position, action in enumerate(actions):
        if not isinstance(action, str):
            raise InputError(
                origin, f"expected a string, got {type_name(action)}", where=f"{where}[{position}]"
            )
    key = tuple(actions)
    if key not in ACTIONS:
        raise InputError(origin, f"unknown action {actions!r}", where=where)
    return key


def _optional_str(entry: dict[str, Any], key: str, origin: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None or isinstance(value, str):
        return value
    return optional_str(value, origin, f"{where}.{key}")  # raises, naming the place


def _required_str(entry: dict[str, Any], key: str, origin: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        got = "an empty string" if value == "" else type_name(value)
        raise InputError(origin, f"expected a non-empty string, got {got}", where=f"{where}.{key}")
    return value


def _replace_paths(value: object, origin: str, where: str) -> tuple[tuple[str | int, ...], ...]:
    if value is None:
        return ()
    where = f"{where}.change.replace_paths"
    paths: list[tuple[str | int, ...]] = []
    for position, path in enumerate(expect_list(value, origin, where)):
        steps = expect_list(path, origin, f"{where}[{position}]")
        for step_index, step in enumerate(steps):
            if isinstance(step, bool) or not isinstance(step, str | int):
                raise InputError(
                    origin,
                    f"expected a string or an integer, got {type_name(step)}",
                    where=f"{where}[{position}][{step_index}]",
                )
        paths.append(tuple(steps))
    return tuple(paths)
