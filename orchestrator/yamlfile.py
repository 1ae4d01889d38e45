"""Read YAML config files and point validation errors at the offending line.

The policy files a review reads are parsed once per content: `preparse`
keeps their parsed forms in the cache directory (as the topology cache
keeps a topology's), and `parse_yaml` hands out a fresh copy of a text's
parsed form when it has one.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from orchestrator.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Bump when what a text parses to could change (a loader setting).
_PARSED_KIND = "yaml-v1"
# Texts parsed in this or an earlier process: text -> `marshal` of the parsed data.
_parsed: dict[str, bytes] = {}


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
    known = _parsed.get(text)
    if known is not None:
        # A fresh copy each time: a caller may change what it is given.
        return marshal.loads(known)  # noqa: S302 - our own cache, which runs no code
    return _parse(text, origin)


def preparse(texts: Iterable[str], cache: Path | None) -> None:
    """Parse these texts now, or read their parsed forms kept in `cache` for the same texts.

    A text that does not parse, or whose data `marshal` cannot hold (a YAML
    date), is left for `parse_yaml` to parse, and to report, when it is read.
    """
    from orchestrator.graph.topology_cache import cached  # noqa: PLC0415 - one cache home

    texts = sorted(set(texts))
    keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]

    def build() -> dict[str, bytes]:
        forms = {}
        for key, text in zip(keys, texts, strict=True):
            try:
                forms[key] = marshal.dumps(_parse(text, "<cached>"))
            except (ConfigError, ValueError):
                continue
        return forms

    def decode(stored: Any) -> dict[str, bytes] | None:
        ok = type(stored) is dict and all(type(v) is bytes for v in stored.values())
        return stored if ok else None

    forms = cached(
        "\n".join(keys).encode(),
        cache,
        _PARSED_KIND,
        build,
        encode=lambda forms: forms,
        decode=decode,
        family="config-",
        min_bytes=0,
    )
    for key, text in zip(keys, texts, strict=True):
        if key in forms:
            _parsed[text] = forms[key]


def _parse(text: str, origin: str) -> Any:
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
