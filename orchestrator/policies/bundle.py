"""A policy bundle: every rule file and Rego module of one config, validated, with a digest.

The bundle is built once per review from the files `load_config` found
(`policies/*.yaml`, `policies/*.rego` and `policies/data.json`, a user file
overriding the shipped file of the same name). YAML is validated here, at
load time; Rego is scanned for its packages and rules here (`rego_bundle`),
and which rules a review queries is settled here too — compiling needs the
engine, which is imported when a review first evaluates the bundle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from orchestrator.errors import ConfigError
from orchestrator.policies.rego_bundle import (
    DATA_FILES,
    Placed,
    RegoEntry,
    RegoModule,
    is_test_file,
    load_data,
    resolve_entries,
    scan_module,
)
from orchestrator.policies.rules import PolicyFile, PolicyRule, RegoPackageSettings
from orchestrator.policies.yamlcheck import validate
from orchestrator.yamlfile import parse_yaml, top_lines


@dataclass(frozen=True, kw_only=True)
class PolicyBundle:
    """The native rules and Rego modules one review is judged by (read-only)."""

    rules: tuple[PolicyRule, ...] = ()
    # rule id -> "file: line N", so a finding can say where its rule is written
    rule_origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rego_modules: tuple[RegoModule, ...] = ()
    # the rules every review queries, settled at load (see rego_bundle)
    rego_entries: tuple[RegoEntry, ...] = ()
    rego_data: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    digest: str = ""
    rego_digest: str = ""

    @classmethod
    def empty(cls) -> PolicyBundle:
        """A bundle with no rules and no Rego."""
        return cls()

    @property
    def is_empty(self) -> bool:
        """Whether the bundle holds nothing to evaluate."""
        return not self.rules and not self.rego_modules

    @classmethod
    def load(cls, directory: Path) -> PolicyBundle:
        """Read every *.yaml and *.rego file of one directory (tests and tools)."""
        files = sorted(
            p for p in directory.iterdir() if p.suffix in {".yaml", ".rego"} or p.name in DATA_FILES
        )
        sources = []
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(str(path), f"cannot read: {exc}") from None
            sources.append((f"policies/{path.name}", text, str(path)))
        return cls.from_sources(sources)

    @classmethod
    def from_sources(cls, sources: Iterable[tuple[str, str, str]]) -> PolicyBundle:
        """Validate (relative name, text, origin) triples into a bundle."""
        ordered = sorted(sources)  # sorted: rule order must not depend on listing order
        rules: list[PolicyRule] = []
        origins: dict[str, str] = {}
        settings: dict[str, tuple[RegoPackageSettings, Placed]] = {}
        namespaces: dict[str, Placed] = {}
        modules: list[RegoModule] = []
        data_files = []
        for name, text, origin in ordered:
            if is_test_file(name):
                continue  # `commander policy test` runs these; they are not policy
            if name.rsplit("/", 1)[-1] in DATA_FILES:
                data_files.append((name, text, origin))
                continue
            if name.endswith(".rego"):
                modules.append(scan_module(name, text, origin))
                continue
            parsed = validate(parse_yaml(text, origin), text, origin, PolicyFile)
            root = top_lines(text)  # kept with the parsed text: no YAML parsed when cached
            lines = _item_lines(root, "rules")
            for index, rule in enumerate(parsed.rules):
                where = f"line {lines[index]}" if index < len(lines) else None
                if rule.id in origins:
                    raise ConfigError(
                        origin,
                        f"rule {rule.id!r} is already defined in {origins[rule.id]}",
                        where=where,
                    )
                origins[rule.id] = f"{origin}: {where}" if where else origin
                rules.append(rule)
            keys = _key_lines(root, "rego")
            for selector, value in parsed.rego.items():
                line = keys.get(selector)
                place = Placed(origin=origin, where=f"line {line}" if line else None)
                if selector in settings:
                    first = settings[selector][1]
                    raise place.error(
                        f"rego {selector!r} is already configured in {first.origin}"
                        + (f" ({first.where})" if first.where else "")
                    )
                settings[selector] = (value, place)
            spaces = _item_lines(root, "rego_namespaces")
            for index, selector in enumerate(parsed.rego_namespaces):
                where = f"line {spaces[index]}" if index < len(spaces) else None
                namespaces.setdefault(selector, Placed(origin=origin, where=where))
        for module in modules:
            if module.package is None:
                raise ConfigError(module.origin, "rego: no package declaration")
        return cls(
            rules=tuple(rules),
            rule_origins=MappingProxyType(origins),
            rego_modules=tuple(modules),
            rego_entries=resolve_entries(modules, settings, namespaces),
            rego_data=MappingProxyType(load_data(data_files)),
            digest=_digest((n, t) for n, t, _ in ordered),
            # the origin too: compiled errors and findings name the files they came from
            rego_digest=_digest(
                [(f"{m.name}\0{m.origin}", m.text) for m in modules]
                + [(f"{n}\0{o}", t) for n, t, o in data_files]
            ),
        )


def _digest(items: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for name, text in items:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return "sha256:" + digest.hexdigest()


def _item_lines(root: Mapping[str, list[int] | dict[str, int]], key: str) -> list[int]:
    """The 1-based line of each item of the sequence under a top-level key."""
    found = root.get(key)
    return found if isinstance(found, list) else []


def _key_lines(root: Mapping[str, list[int] | dict[str, int]], key: str) -> Mapping[str, int]:
    """The 1-based line of each key of the mapping under a top-level key."""
    found = root.get(key)
    return found if isinstance(found, dict) else {}
