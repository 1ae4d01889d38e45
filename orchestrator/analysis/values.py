"""Small readers of plan and HCL values the analysers share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

UNKNOWN = "(known after apply)"


def strings(value: object, *, unknown: bool = False) -> tuple[str, ...]:
    """A string or list of strings (numbers read as text); with `unknown`, nulls say so."""
    if value is None:
        return (UNKNOWN,) if unknown else ()
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            found.append(str(item))
        elif item is None and unknown:
            found.append(UNKNOWN)
    return tuple(found)


def dicts(value: object) -> list[dict[str, Any]]:
    """The objects of a block list (or the one object given)."""
    items = value if isinstance(value, list) else [value]
    return [i for i in items if isinstance(i, dict)]


def as_int(value: object) -> int | None:
    """An integer (also from a numeric string), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def listed(values: Iterable[str] | None, cap: int = 8) -> str:
    """Values quoted for a message: `"a"` or `["a", "b", …]`."""
    shown = list(values or ())
    if len(shown) == 1:
        return f'"{shown[0]}"'
    return (
        "[" + ", ".join(f'"{v}"' for v in shown[:cap]) + (", …" if len(shown) > cap else "") + "]"
    )


def is_true(value: object) -> bool:
    """Whether a plan or HCL value is true (`true`, `"true"`)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
