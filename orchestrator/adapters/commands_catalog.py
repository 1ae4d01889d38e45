"""The command catalog (configs/commands.yaml), compiled once per content and cached.

`commander guard` answers a read-only command in a few tens of milliseconds
whole process, so the catalog must not cost a YAML parse and a pydantic
validation per call (each tens of ms to import alone). The first call with a
given commands.yaml and diff-paths.yaml validates them (commands_schema.py),
and writes the result as JSON to the cache directory, named by the SHA-256 of
both files; later calls read that JSON. An edited file has another digest,
so it is never served from a stale cache; a cache that cannot be written
costs speed, never correctness.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from fnmatch import fnmatchcase
from typing import Any, Final, NamedTuple

from orchestrator.errors import ConfigError
from orchestrator.shipped import shipped_config_path

# Bump when the compiled layout changes: old cache files are then ignored.
_LAYOUT: Final = "commander.commands/1"
_FILES: Final = ("commands.yaml", "diff-paths.yaml")
Place = str | os.PathLike[str]


class ProgramRule(NamedTuple):
    """A program whose subcommands decide what it does."""

    default: str  # read-only | local | ask
    read_only: tuple[str, ...] = ()
    local: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()

    def verdict(self, words: list[str]) -> str:
        """What the subcommand in `words` (the positional arguments) does."""
        for verdict, globs in (
            ("ask", self.ask),
            ("read-only", self.read_only),
            ("local", self.local),
        ):
            if any(matches_words(glob, words) for glob in globs):
                return verdict
        return self.default


class Catalog:
    """What commands do, as configured; built from the compiled JSON."""

    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self.origin = origin
        self.digest: str = data["digest"]
        self.version: str = data["version"]
        self.unknown: str = data["unknown"]
        self.unreviewed_apply: str = data["unreviewed_apply"]
        self.protected_branches: tuple[str, ...] = tuple(data["protected_branches"])
        self.protected_paths: tuple[str, ...] = tuple(data["protected_paths"])
        self.units: tuple[str, ...] = tuple(data["units"])
        self.review_categories = frozenset(data["review_file_categories"])
        self.read_only = frozenset(data["read_only"])
        self.local = frozenset(data["local"])
        self.programs = {name: ProgramRule(**rule) for name, rule in data["programs"].items()}
        self.tools: dict[str, dict[str, tuple[str, ...]]] = {
            name: {key: tuple(value) for key, value in lists.items()}
            for name, lists in data["tools"].items()
        }
        self.kinds: dict[str, str] = data["kubernetes"]["kinds"]
        self.cluster_scoped = frozenset(data["kubernetes"]["cluster_scoped"])
        self.clouds: dict[str, dict[str, Any]] = data["clouds"]
        # compiled when first needed: most calls write no file, and compiling costs ~10 ms
        self._path_rules: list[tuple[str, str]] = [(c, p) for c, p in data["path_rules"]]
        self._default_category: str = data["default_category"]

    def tool_list(self, tool: str, key: str) -> tuple[str, ...]:
        """One list of a tool's section (`read_only`, `local`, `read`), empty when absent."""
        return self.tools.get(tool, {}).get(key, ())

    def file_category(self, relative: str) -> str:
        """The diff category of a path in the working tree (first path rule that matches)."""
        for category, pattern in self._path_rules:
            if re.match(pattern, relative, re.IGNORECASE):
                return category
        return self._default_category

    def reviews_file(self, relative: str) -> bool:
        """Whether an edit of this working-tree file is reviewed as a diff."""
        return self.file_category(relative) in self.review_categories

    def protected_branch(self, branch: str) -> bool:
        """Whether a branch name is one of the protected branches."""
        return any(fnmatchcase(branch, glob) for glob in self.protected_branches)

    def protected_path(self, path: str, home: str) -> bool:
        """Whether an absolute path matches a protected path glob (`~` is `home`)."""
        for glob in self.protected_paths:
            expanded = home + glob[1:] if glob.startswith("~") else glob
            if path_matches(path, expanded):
                return True
        return False

    def unit_listed(self, unit: str) -> bool:
        """Whether a systemd unit is one whose stop is a change."""
        base = unit.removesuffix(".service")
        return any(fnmatchcase(base, g) or fnmatchcase(unit, g) for g in self.units)


def matches_words(glob: str, words: list[str]) -> bool:
    """Whether a subcommand glob (`state list`, `run deploy*`) matches the leading words."""
    parts = glob.split(" ")
    if len(words) < len(parts):
        return False
    return all(fnmatchcase(w, p) for w, p in zip(words, parts, strict=False))


def path_matches(path: str, glob: str) -> bool:
    """Match an absolute path against a glob where `**` spans directories and `*` does not."""
    if glob.startswith("**/"):
        return any(
            path_matches("/".join(path.split("/")[i:]), glob[3:])
            for i in range(len(path.split("/")))
        )
    if glob.endswith("/**"):
        base = glob[:-3]
        return path == base or path.startswith(base.rstrip("/") + "/")
    return fnmatchcase(path, glob) and path.count("/") == glob.count("/")


def config_files(config_dir: Place | None) -> dict[str, str]:
    """The catalog's source files: each from the config directory, else the shipped one."""
    given = os.fspath(config_dir) if config_dir is not None else None
    if given is not None and not os.path.isdir(given):
        raise ConfigError(given, "config directory does not exist")
    shipped = shipped_config_path()
    found = {}
    for name in _FILES:
        for base in (given, shipped):
            if base is not None and os.path.isfile(os.path.join(base, name)):
                found[name] = os.path.join(base, name)
                break
        else:
            raise ConfigError(given or shipped, f"no {name} found")
    return found


def load_catalog(config_dir: Place | None, cache_dir: Place | None) -> Catalog:
    """The catalog for a config directory, from the cache when it holds this content."""
    files = config_files(config_dir)
    texts: dict[str, bytes] = {}
    for name, path in files.items():
        try:
            with open(path, "rb") as stream:
                texts[name] = stream.read()
        except OSError as exc:
            raise ConfigError(path, f"cannot read: {exc.strerror or exc}") from None
    digest = hashlib.sha256(_LAYOUT.encode())
    for name in _FILES:
        digest.update(name.encode() + b"\0" + texts[name] + b"\0")
    key = digest.hexdigest()
    origin = files["commands.yaml"]
    cache = _cache_path(os.fspath(cache_dir), key) if cache_dir is not None else None
    cached = _read_cache(cache, key)
    if cached is not None:
        return Catalog(cached, origin)
    from orchestrator.adapters.commands_schema import compile_catalog  # noqa: PLC0415 - slow path

    data = compile_catalog(
        {name: (texts[name].decode("utf-8", errors="replace"), files[name]) for name in _FILES}
    )
    data["digest"] = "sha256:" + key
    if cache is not None:
        _write_cache(cache, data)
    return Catalog(data, origin)


def _cache_path(cache_dir: str, key: str) -> str:
    return os.path.join(cache_dir, "guard", f"catalog-{key[:32]}.json")


def _read_cache(path: str | None, key: str) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as stream:
            data = json.loads(stream.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("digest") == "sha256:" + key else None


def _write_cache(path: str, data: dict[str, Any]) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(data, sort_keys=True))
        os.replace(temporary, path)  # atomic: a reader never sees half a file
    except OSError:
        return  # a cache that cannot be written costs speed, not correctness
