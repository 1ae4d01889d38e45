"""Read YAML files and point errors at the offending line: the one YAML loading home.

Every YAML file commander reads (commander.yaml, policies, topology, catalogs,
tokens, commands.yaml, the rulebook, Kubernetes manifests) is parsed with
`yamlloader.Loader`: libyaml's parser when it is built, and a mapping constructor that
refuses a key written twice. PyYAML silently keeps the last value, so a
second `principals:` appended to a tokens file would drop the first block's
tokens without a word; here it is an error naming the file and both lines.

The policy files a review reads are parsed once per content: `preparse`
keeps their parsed forms in the cache directory (as the topology cache
keeps a topology's), and `parse_yaml` hands out a fresh copy of a text's
parsed form when it has one; `top_lines` (where a policy's rules are, for
messages) is kept with it. A review whose caches are warm parses no YAML,
so PyYAML is imported only where a text is parsed (yamlloader.py).
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from orchestrator.errors import ConfigError, InputError

if TYPE_CHECKING:
    import yaml

ModelT = TypeVar("ModelT", bound=BaseModel)
# For each top-level key of a YAML mapping: the 1-based line of each item (its value is a
# sequence) or of each key (a mapping) under it; other values have no entry.
TopLines = dict[str, list[int] | dict[str, int]]

# Bump when what a text parses to could change (a loader setting), or the entries' shape.
_PARSED_KIND = "yaml-v3"  # v2: duplicate keys refused; v3: with each text's top-level lines
# Texts parsed in this or an earlier process: text -> `marshal` of the parsed data.
_parsed: dict[str, bytes] = {}
# Texts composed in this or an earlier process: text -> their `TopLines`.
_lines: dict[str, TopLines] = {}


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

    def build() -> dict[str, tuple[bytes, TopLines]]:
        forms = {}
        for key, text in zip(keys, texts, strict=True):
            try:
                forms[key] = (marshal.dumps(_parse(text, "<cached>")), top_lines(text))
            except (ConfigError, ValueError):
                continue
        return forms

    def decode(stored: Any) -> dict[str, tuple[bytes, TopLines]] | None:
        ok = type(stored) is dict and all(
            type(v) is tuple and len(v) == 2 and type(v[0]) is bytes and type(v[1]) is dict
            for v in stored.values()
        )
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
            _parsed[text], _lines[text] = forms[key]


def top_lines(text: str) -> TopLines:
    """Where the items and keys under each top-level key of a YAML text are (see `TopLines`).

    Read-only. Kept with the parsed forms by `preparse`, so line numbers for
    messages cost no YAML parsing when the text is cached; a text that does
    not compose has none.
    """
    known = _lines.get(text)
    if known is None:
        known = _lines[text] = _compose_lines(text)
    return known


def _compose_lines(text: str) -> TopLines:
    import yaml  # noqa: PLC0415 - see yamlloader.py

    from orchestrator.yamlloader import Loader  # noqa: PLC0415

    try:
        root = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return {}
    if not isinstance(root, yaml.MappingNode):
        return {}
    found: TopLines = {}
    seen = set()
    for key, value in root.value:
        if not isinstance(key.value, str) or key.value in seen:
            continue  # the first of a key written twice, as a lookup in the node tree finds
        seen.add(key.value)
        if isinstance(value, yaml.SequenceNode):
            found[key.value] = [item.start_mark.line + 1 for item in value.value]
        elif isinstance(value, yaml.MappingNode):
            found[key.value] = {str(k.value): k.start_mark.line + 1 for k, _ in value.value}
    return found


def _parse(text: str, origin: str) -> Any:
    import yaml  # noqa: PLC0415 - see yamlloader.py

    from orchestrator.yamlloader import Loader  # noqa: PLC0415

    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise yaml_error(exc, origin) from None


def parse_yaml_all(text: str, origin: str) -> list[Any]:
    """Parse every document of a multi-document YAML text."""
    import yaml  # noqa: PLC0415 - see yamlloader.py

    from orchestrator.yamlloader import Loader  # noqa: PLC0415

    try:
        return list(yaml.load_all(text, Loader=Loader))
    except yaml.YAMLError as exc:
        raise yaml_error(exc, origin) from None


def yaml_error(
    exc: yaml.YAMLError, origin: str, error: type[ConfigError | InputError] = ConfigError
) -> ConfigError | InputError:
    """A parse error as one line naming the file, the line and the problem."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return error(origin, f"invalid YAML: {problem}", where=where)


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
    """Describe a validation error and find the line of its first problem in the YAML text."""
    message, loc = describe_validation(exc)
    line = _line_of(text, loc)
    return message, (f"line {line}" if line else None)


def describe_validation(exc: ValidationError) -> tuple[str, tuple[Any, ...]]:
    """One line in our words for a pydantic error, and the place of its first problem.

    Missing fields are named all together (a partial file lacks several at
    once); any other problem is the first one, with how many more there are.
    Never pydantic's URLs or its error-type names.
    """
    errors = exc.errors(include_url=False)
    missing = [e for e in errors if e["type"] == "missing"]
    others = [e for e in errors if e["type"] != "missing"]
    parts = []
    if missing:
        names = [_dotted(e["loc"]) for e in missing]
        parts.append(f"missing required field{'s' * (len(names) != 1)}: {', '.join(names)}")
    if others:
        parts.append(f"{_dotted(others[0]['loc'])}: {_plain(others[0])}")
    rest = len(others) - 1
    more = f" (and {rest} more problem{'s' * (rest != 1)})" if rest > 0 else ""
    return "; ".join(parts) + more, tuple(errors[0]["loc"])


def _dotted(loc: Any) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _plain(error: Any) -> str:
    """pydantic's message without its prefixes, with the refused value when it is short."""
    msg = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    given = error.get("input")
    if msg.startswith("Input should be ") and isinstance(given, str | int | float | bool):
        shown = repr(given)
        if len(shown) <= 60:
            return f"{shown} should be {msg.removeprefix('Input should be ')}"
    return msg


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key at `loc`, or of its nearest existing parent."""
    import yaml  # noqa: PLC0415 - see yamlloader.py

    from orchestrator.yamlloader import Loader  # noqa: PLC0415

    try:
        node: yaml.Node | None = yaml.compose(text, Loader=Loader)
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
    import yaml  # noqa: PLC0415 - see yamlloader.py

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item, item
    return None
