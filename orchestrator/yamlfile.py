"""Read YAML config files and point validation errors at the offending line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from orchestrator.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> tuple[Any, str]:
    """Parse one YAML file; a syntax error names the file and line."""
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(origin, f"cannot read: {exc}") from None
    return parse_yaml(text, origin), text


def parse_yaml(text: str, origin: str) -> Any:
    """Parse YAML text with the safe (C, when built) loader."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(origin, f"invalid YAML: {problem}", where=where) from None


def load_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse a YAML file into a pydantic model, naming file and line on error."""
    data, text = read_yaml(path)
    return validate_model(data if data is not None else {}, text, str(path), model)


def validate_model(data: Any, text: str, origin: str, model: type[ModelT]) -> ModelT:
    """Validate parsed YAML data; errors point at the line of the bad key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message, where = first_error_place(exc, text)
        raise ConfigError(origin, message, where=where) from None


def first_error_place(exc: ValidationError, text: str) -> tuple[str, str | None]:
    """Describe the first validation error and find its line in the YAML text."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    count = exc.error_count()
    more = f" (and {count - 1} more)" if count > 1 else ""
    message = f"{dotted}: {error['msg']}{more}"
    line = _line_of(text, loc)
    return message, (f"line {line}" if line else None)


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key at `loc`, or of its nearest existing parent."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        # The key names the problem; its value may start lines below it.
        key, node = found
        line = key.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: Any) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key, value) of one mapping entry or (item, item) of one sequence entry."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item, item
    return None
