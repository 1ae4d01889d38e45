"""Every identifier and free text a request carries, checked at the edge.

A name, a change id or a reason reaches the store as the request gives it.
PostgreSQL refuses a NUL byte and a value longer than its column, SQLite
stores both: checked here first, the same request answers the same 422,
naming the field, on either store, before anything is written. The
maximums are the store's column sizes (store/tables*.py); free text (an
intent, a reason, a comment) has no column limit, so a generous one keeps
a single field from filling the record. Identifiers take no control
character at all; free text may hold tabs and line breaks.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, StringConstraints, TypeAdapter, ValidationError

# The store's column sizes (tables.py, tables_governance.py).
NAME_MAX = 200  # actors, approvers, submitters, freeze targets
CHANGE_ID_MAX = 500
DECISION_ID_MAX = 100
ROLE_MAX = 100
ENVIRONMENT_MAX = 100  # stored as the environment it resolves to; the name given is kept short
TEXT_MAX = 4000  # intents, reasons, comments
INPUT_NAME_MAX = 1024  # an input's file name or repository path
# The default change id is actor:environment:file name; with a name of 200 and "development"
# it stays within CHANGE_ID_MAX when the file name (after the last /) keeps to this.
FILE_NAME_MAX = 255

# C0 and C1 controls and DEL; free text keeps tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DECISION_ID = re.compile(r"[A-Za-z0-9._:-]+")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (NUL, line breaks, escapes)")
    return value


def _text(value: str) -> str:
    if _TEXT_CONTROL.search(value):
        raise ValueError("must not contain control characters other than tabs and line breaks")
    return value


def _decision_id(value: str) -> str:
    if not _DECISION_ID.fullmatch(value):
        raise ValueError("a decision id (or its first characters): letters, digits, . _ : -")
    return value


def _file_name(value: str) -> str:
    _no_control(value)
    if len(PurePath(value).name) > FILE_NAME_MAX:
        raise ValueError(f"the file name (after the last /) is over {FILE_NAME_MAX} characters")
    return value


def identifier(max_length: int) -> StringConstraints:
    """The constraint of a one-line identifier of at most `max_length` characters."""
    return StringConstraints(min_length=1, max_length=max_length)


Name = Annotated[str, identifier(NAME_MAX), AfterValidator(_no_control)]
ChangeId = Annotated[str, identifier(CHANGE_ID_MAX), AfterValidator(_no_control)]
DecisionId = Annotated[str, identifier(DECISION_ID_MAX), AfterValidator(_decision_id)]
Role = Annotated[str, identifier(ROLE_MAX), AfterValidator(_no_control)]
Environment = Annotated[str, identifier(ENVIRONMENT_MAX), AfterValidator(_no_control)]
InputName = Annotated[str, identifier(INPUT_NAME_MAX), AfterValidator(_file_name)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX), AfterValidator(_text)]
RequiredText = Annotated[
    str, StringConstraints(min_length=1, max_length=TEXT_MAX), AfterValidator(_text)
]


def check_body_fields(values: dict[str, tuple[str | None, Any]]) -> None:
    """Check fields a route read from its body itself: 422 naming body.<field> for the first bad.

    `values` maps each field's name to its value (None: absent) and its type above.
    """
    for name, (value, kind) in values.items():
        if value is None:
            continue
        try:
            TypeAdapter(kind).validate_python(value)
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", name)} for e in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None
