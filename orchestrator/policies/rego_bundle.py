"""The Rego part of a policy folder: its modules, its `data`, and the rules a review queries.

Loading needs no engine: each module is scanned for its package and the rules
it declares at the top level. Which rules a review queries follows conftest
and OPA, configured per package, package glob or file in the YAML `rego:`
section (see `RegoPackageSettings`); `rego_namespaces` narrows the packages
queried, as conftest's `--namespace` does (default: every package, as
`--all-namespaces`). A folder whose Rego yields nothing to query is a
configuration error here, at load, never a policy that silently passes.

`*_test.rego` files are `opa test` suites (see `policy_tests`), not policy;
`data.json` and `data.yaml` are the `data` document, as in an OPA bundle.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from orchestrator.errors import ConfigError
from orchestrator.policies.rules import RegoPackageSettings
from orchestrator.yamlfile import parse_yaml

EntryKind = Literal["deny", "warn", "allow"]
DATA_FILES = frozenset({"data.json", "data.yaml", "data.yml"})
_DENY = re.compile(r"^(?:deny|violation)(?:_\w+)?$")
_WARN = re.compile(r"^warn(?:_\w+)?$")
_PACKAGE = re.compile(r"^[ \t]*package[ \t]+([A-Za-z_][\w.]*)", re.MULTILINE)
_HEAD = re.compile(r"(?:default\s+)?([A-Za-z_]\w*)")
_TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|`[^`]*`|#[^\n]*|[{}()\[\]]|\n')
_KEYWORDS = frozenset({"package", "import", "default", "else", "input", "data"})


@dataclass(frozen=True, kw_only=True)
class RegoModule:
    """One .rego file: its text and what a scan of it found."""

    name: str
    origin: str
    text: str
    package: str | None
    rules: tuple[str, ...]

    @property
    def file(self) -> str:
        """The file's name, as `rego:` selectors name files."""
        return PurePosixPath(self.name).name


@dataclass(frozen=True, kw_only=True)
class RegoEntry:
    """One rule a review queries, and how its answer counts."""

    package: str
    rule: str
    kind: EntryKind
    origins: tuple[str, ...]
    settings: RegoPackageSettings

    @property
    def ref(self) -> str:
        """The rule as OPA names it: data.<package>.<rule>."""
        return f"data.{self.package}.{self.rule}"


@dataclass(frozen=True, kw_only=True)
class Placed:
    """A YAML setting with where it was written, for errors."""

    origin: str
    where: str | None

    def error(self, message: str) -> ConfigError:
        """A ConfigError at this setting."""
        return ConfigError(self.origin, message, where=self.where)


def is_test_file(name: str) -> bool:
    """Whether a policy file is a test suite or fixture, not policy."""
    return PurePosixPath(name).stem.endswith(("_test", ".test"))


def scan_module(name: str, text: str, origin: str) -> RegoModule:
    """A module's package and top-level rule names, read without an engine."""
    package = _PACKAGE.search(_code(text))
    return RegoModule(
        name=name,
        origin=origin,
        text=text,
        package=package.group(1) if package else None,
        rules=rule_names(text),
    )


def _code(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def rule_names(text: str) -> tuple[str, ...]:
    """The names rules are declared under: identifiers opening a line outside any bracket."""
    names: set[str] = set()
    depth = start_depth = line_start = 0
    for token in _TOKENS.finditer(text + "\n"):
        value = token.group(0)
        if value == "\n":
            if start_depth == 0:
                head = _HEAD.match(text, line_start)
                if head is not None and head.group(1) not in _KEYWORDS:
                    names.add(head.group(1))
            line_start, start_depth = token.end(), depth
        elif value in "{([":
            depth += 1
        elif value in "})]":
            depth = max(0, depth - 1)
    return tuple(sorted(names))


def entries_for(
    package: str, rules: Iterable[str], settings: RegoPackageSettings, origins: tuple[str, ...]
) -> list[RegoEntry]:
    """The rules of one package a review queries, by kind."""
    names = set(rules)
    chosen: dict[EntryKind, tuple[str, ...]] = {
        "deny": settings.deny
        if settings.deny is not None
        else tuple(sorted(n for n in names if _DENY.match(n))),
        "warn": settings.warn
        if settings.warn is not None
        else tuple(sorted(n for n in names if _WARN.match(n))),
        "allow": settings.allow,
    }
    return [
        RegoEntry(package=package, rule=rule, kind=kind, origins=origins, settings=settings)
        for kind, listed in chosen.items()
        for rule in listed
    ]


def resolve_entries(
    modules: Iterable[RegoModule],
    settings: Mapping[str, tuple[RegoPackageSettings, Placed]],
    namespaces: Mapping[str, Placed],
) -> tuple[RegoEntry, ...]:
    """Every rule a review queries; a ConfigError for settings that select nothing or no rule."""
    modules = [m for m in modules if m.package is not None]
    by_package: dict[str, list[RegoModule]] = {}
    for module in modules:
        by_package.setdefault(str(module.package), []).append(module)
    for selector, (_, placed) in sorted(settings.items()):
        if not any(_selects(selector, m) for m in modules):
            listed = ", ".join(sorted(by_package)) or "none"
            raise placed.error(
                f"rego {'file' if selector.endswith('.rego') else 'package'} {selector!r} "
                f"matches no .rego file (packages found: {listed})"
            )
    for selector, at in sorted(namespaces.items()):
        if not any(fnmatch.fnmatchcase(p, selector) for p in by_package):
            raise at.error(f"rego namespace {selector!r} matches no package")
    entries: list[RegoEntry] = []
    for package, members in sorted(by_package.items()):
        if namespaces and not any(fnmatch.fnmatchcase(package, s) for s in namespaces):
            continue
        chosen, place = settings_for(package, members, settings)
        names = {rule for m in members for rule in m.rules}
        origins = tuple(sorted(m.origin for m in members))
        found = entries_for(package, names, chosen, origins)
        for entry in found:
            if entry.rule not in names and place is not None:
                raise place.error(
                    f"rego package {package!r} has no rule {entry.rule!r} "
                    f"(rules: {', '.join(sorted(names)) or 'none'})"
                )
        entries += found
    if modules and not entries:
        files = ", ".join(sorted(m.origin for m in modules))
        raise ConfigError(
            files,
            "no Rego rule to query: no deny, violation or warn rule (nor a configured allow) "
            f"in the packages queried ({', '.join(sorted(by_package))}); "
            "name the rules in a policies YAML `rego:` section",
        )
    return tuple(entries)


def _selects(selector: str, module: RegoModule) -> bool:
    if selector.endswith(".rego"):
        return selector == module.file
    return fnmatch.fnmatchcase(str(module.package), selector)


def settings_for(
    package: str,
    members: Iterable[RegoModule],
    settings: Mapping[str, tuple[RegoPackageSettings, Placed]],
) -> tuple[RegoPackageSettings, Placed | None]:
    """The settings of one package: its own name, else its files', else the closest glob."""
    if package in settings:
        return settings[package]
    files = {m.file for m in members} & settings.keys()
    if files:
        chosen = {settings[f][0] for f in files}
        if len(chosen) > 1:
            first = settings[min(files)][1]
            raise first.error(
                f"rego package {package!r} is in files configured differently: "
                f"{', '.join(sorted(files))}"
            )
        return settings[min(files)]
    globs = [s for s in settings if not s.endswith(".rego") and fnmatch.fnmatchcase(package, s)]
    if globs:
        # the most specific glob: the most literal characters
        return settings[max(globs, key=lambda s: (len(s.replace("*", "")), s))]
    return RegoPackageSettings(), None


def load_data(sources: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """The `data` document from data.json / data.yaml files, rooted by their folder."""
    data: dict[str, Any] = {}
    for name, text, origin in sources:
        parts = PurePosixPath(name).parts[1:-1]  # below the policies folder
        if name.endswith(".json"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    origin, f"not JSON: {exc.msg}", where=f"line {exc.lineno}"
                ) from None
        else:
            value = parse_yaml(text, origin)
        if not isinstance(value, dict):
            raise ConfigError(origin, "a data file must hold an object")
        target = data
        for part in parts:
            target = target.setdefault(part, {})
        _merge(target, value, origin)
    return data


def _merge(target: dict[str, Any], value: dict[str, Any], origin: str) -> None:
    for key, item in value.items():
        if isinstance(item, dict) and isinstance(target.get(key), dict):
            _merge(target[key], item, origin)
        elif key in target:
            raise ConfigError(origin, f"data key {key!r} is already defined by another file")
        else:
            target[key] = item
