"""Add one principal to a tokens file without losing the others (`token new --file`).

`token new … >> tokens.yaml` run twice writes two `principals:` keys; the
file is then refused on load (a key may appear once). `--file` is the safe
way: the entry is appended to the existing `principals:` list (comments and
layout kept), or the file is written afresh when it does not exist. Either
way the result is read back and must hold exactly the old principals and the
new one before it replaces the file, so a file this cannot extend safely is
left as it was, with a message saying why.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import ConfigError
from orchestrator.service.auth import Principal, TokensFile
from orchestrator.yamlfile import parse_yaml, read_yaml, validate_model
from orchestrator.yamlloader import Loader


def add_principal(path: Path, entry: Principal) -> int:
    """Write `entry` into the tokens file at `path`; the number of principals it now holds."""
    origin = str(path)
    if not path.parent.is_dir():
        raise ConfigError(origin, f"no directory {path.parent}; create it first")
    dumped = entry.model_dump(mode="json", exclude_defaults=True)
    if path.exists():
        data, text = read_yaml(path)
        old = validate_model(data if data is not None else {}, text, origin, TokensFile).principals
        if any(p.name == entry.name for p in old):
            raise ConfigError(origin, f"a principal named {entry.name!r} is already in the file")
        new_text = _appended(text, data, dumped)
    else:
        old = ()
        new_text = yaml.safe_dump({"principals": [dumped]}, sort_keys=False)
    check = validate_model(parse_yaml(new_text, origin) or {}, new_text, origin, TokensFile)
    if check.principals != (*old, entry):
        raise ConfigError(origin, "cannot add to this file safely; add the entry by hand")
    _replace(path, new_text)
    return len(check.principals)


def _appended(text: str, data: Any, dumped: dict[str, Any]) -> str:
    """The file's text with the entry added to its `principals:` list.

    A block list that ends the file gets the entry appended at its own
    indentation, keeping everything else byte for byte; any other shape
    (a flow list, an empty file) is written out again in full.
    """
    root = yaml.compose(text, Loader=Loader)
    if isinstance(root, yaml.MappingNode) and root.value:
        key, value = root.value[-1]
        if (
            key.value == "principals"
            and isinstance(value, yaml.SequenceNode)
            and value.value
            and not value.flow_style
        ):
            indent = " " * value.start_mark.column
            item = yaml.safe_dump([dumped], sort_keys=False)
            lines = "".join(f"{indent}{line}\n" for line in item.splitlines())
            return (text if text.endswith("\n") else text + "\n") + lines
    principals = [*((data or {}).get("principals") or []), dumped]
    return yaml.safe_dump({"principals": principals}, sort_keys=False)


def _replace(path: Path, text: str) -> None:
    """Write the file in one step (a reader never sees half of it), readable by its owner only."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
