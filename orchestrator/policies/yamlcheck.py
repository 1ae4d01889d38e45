"""Validate policy and registry YAML so that the error points at the typo itself.

pydantic reports a misspelt key twice — the key it does not know and the
field it then misses — and lists the missing field first. A person fixing a
file wants the misspelling: unknown keys are reported first, with the
closest known name, at the line of the key.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    import yaml

ModelT = TypeVar("ModelT", bound=BaseModel)


def validate(data: Any, text: str, origin: str, model: type[ModelT]) -> ModelT:
    """Validate parsed YAML; the error names the file, the line and the first typo."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key first: the "field required" it causes is a consequence
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(error["loc"])
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        message = f"{dotted}: {error['msg']}"
        if error["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            message = f"{dotted}: unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        line = line_of(text, loc)
        raise ConfigError(origin, message, where=f"line {line}" if line else None) from None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at `loc` (best effort: [] when lost)."""
    current: Any = model
    keyed = False  # the next part is a mapping key or list index, not a field
    for part in loc:
        if keyed:
            keyed = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current, keyed = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> tuple[Any, bool]:
    """The pydantic model inside `M`, `tuple[M, ...]` or `dict[K, M]`; whether a key comes first."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    for arg in getattr(annotation, "__args__", ()):
        found, _ = _model_in(arg)
        if found is not None:
            return found, True
    return None, False


def line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key at `loc`, or of its nearest existing parent."""
    import yaml  # noqa: PLC0415 - only a file with a mistake needs the parser (yamlloader.py)

    from orchestrator.yamlloader import Loader  # noqa: PLC0415

    try:
        node: yaml.Node | None = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: tuple[yaml.Node, yaml.Node] | None = None
        if isinstance(node, yaml.MappingNode):
            child = next(((k, v) for k, v in node.value if k.value == str(part)), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = (node.value[part], node.value[part])
        if child is None:
            break
        key, node = child
        line = key.start_mark.line + 1
    return line
