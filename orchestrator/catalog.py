"""What commander knows about resource types: their categories and traits.

The knowledge lives in `configs/resource-types.yaml`, a mapping of category
and trait names to type globs (`aws_iam_*`, `ClusterRoleBinding`). Globs are
case-sensitive shell patterns. Kubernetes types may be bare Kinds or carry
their API group (`rbac.authorization.k8s.io/v1/ClusterRoleBinding`); the
last path segment is matched as well.

Lookups are memoised per type: a 10,000-change plan holds a few dozen types.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError

from orchestrator.errors import ConfigError
from orchestrator.models import Frozen
from orchestrator.yamlfile import first_error_place, read_yaml

_GLOB_META = frozenset("*?[")

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
# A glob is one token: no surrounding blanks, nothing empty.
Glob = Annotated[str, StringConstraints(pattern=r"^\S+$")]


class _CategorySpec(Frozen):
    description: str = Field(min_length=1)
    types: tuple[Glob, ...] = Field(min_length=1)


class _CatalogFile(Frozen):
    categories: dict[Name, _CategorySpec] = Field(default_factory=dict)
    traits: dict[Name, tuple[Glob, ...]] = Field(default_factory=dict)


class _Matcher:
    """One named set of globs: exact names, plain prefixes (`aws_iam_*`), and the rest.

    Most globs are a literal and a trailing `*`, which `str.startswith` answers
    without a regex. The rest are compiled into one regex only when a type
    first passes their literal heads: compiling every catalog regex up front
    cost a short review 40-60 ms of start-up.
    """

    __slots__ = ("_heads", "_pattern", "_wild", "exact", "name", "prefixes")

    def __init__(self, name: str, globs: Iterable[str]) -> None:
        self.name = name
        unique = set(globs)
        plain = {g for g in unique if not _GLOB_META & set(g)}
        prefixed = {g for g in unique - plain if g.endswith("*") and not _GLOB_META & set(g[:-1])}
        self.exact = frozenset(plain)
        self.prefixes = tuple(sorted(g[:-1] for g in prefixed))
        self._wild = tuple(sorted(unique - plain - prefixed))
        self._heads = tuple(_literal_head(g) for g in self._wild)
        self._pattern: re.Pattern[str] | None = None

    def matches(self, resource_type: str) -> bool:
        if resource_type in self.exact or resource_type.startswith(self.prefixes):
            return True
        # A glob can only match a type that starts with the glob's literal head.
        if not self._wild or not resource_type.startswith(self._heads):
            return False
        if self._pattern is None:
            self._pattern = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in self._wild))
        return self._pattern.match(resource_type) is not None


def _literal_head(glob: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((i for i, c in enumerate(glob) if c in _GLOB_META), default=len(glob))
    return glob[:cut]


class ResourceCatalog:
    """Classifies resource types into categories and traits (read-only)."""

    __slots__ = (
        "_category_cache",
        "_category_matchers",
        "_descriptions",
        "_trait_cache",
        "_trait_matchers",
        "origin",
    )

    def __init__(
        self,
        categories: Mapping[str, Iterable[str]],
        traits: Mapping[str, Iterable[str]],
        *,
        descriptions: Mapping[str, str] | None = None,
        origin: str = "<catalog>",
    ) -> None:
        self.origin = origin
        # sorted: a type's category set must not depend on the file's order
        self._category_matchers = tuple(_Matcher(n, g) for n, g in sorted(categories.items()))
        self._trait_matchers = tuple(_Matcher(n, g) for n, g in sorted(traits.items()))
        self._descriptions = dict(descriptions or {})
        self._category_cache: dict[str, frozenset[str]] = {}
        self._trait_cache: dict[str, frozenset[str]] = {}

    @classmethod
    def empty(cls) -> ResourceCatalog:
        """A catalog that knows no type (every type is unclassified)."""
        return cls({}, {}, origin="<empty>")

    @classmethod
    def from_mapping(cls, data: Any, origin: str, *, text: str = "") -> ResourceCatalog:
        """Build a catalog from parsed YAML, naming `origin` when its shape is wrong."""
        try:
            parsed = _CatalogFile.model_validate(data if data is not None else {})
        except ValidationError as exc:
            message, where = first_error_place(exc, text)
            raise ConfigError(origin, message, where=where) from None
        return cls(
            {n: c.types for n, c in parsed.categories.items()},
            parsed.traits,
            descriptions={n: c.description for n, c in parsed.categories.items()},
            origin=origin,
        )

    @classmethod
    def load(cls, path: Path) -> ResourceCatalog:
        """Read a resource-types YAML file."""
        data, text = read_yaml(path)
        return cls.from_mapping(data, str(path), text=text)

    @classmethod
    def load_default(cls) -> ResourceCatalog:
        """The catalog shipped with commander (configs/resource-types.yaml)."""
        from orchestrator.config import shipped_config_dir  # noqa: PLC0415 - lazy: config may build catalogs

        return cls.load(shipped_config_dir() / "resource-types.yaml")

    @property
    def category_names(self) -> tuple[str, ...]:
        """Every category this catalog defines, sorted."""
        return tuple(m.name for m in self._category_matchers)

    @property
    def trait_names(self) -> tuple[str, ...]:
        """Every trait this catalog defines, sorted."""
        return tuple(m.name for m in self._trait_matchers)

    def description(self, category: str) -> str:
        """The human description of a category ('' when unknown)."""
        return self._descriptions.get(category, "")

    def categories(self, resource_type: str) -> frozenset[str]:
        """The categories a resource type belongs to (empty when unknown)."""
        found = self._category_cache.get(resource_type)
        if found is None:
            found = _classify(self._category_matchers, resource_type)
            self._category_cache[resource_type] = found
        return found

    def traits(self, resource_type: str) -> frozenset[str]:
        """The traits of a resource type, such as `stateful`."""
        found = self._trait_cache.get(resource_type)
        if found is None:
            found = _classify(self._trait_matchers, resource_type)
            self._trait_cache[resource_type] = found
        return found

    def is_known(self, resource_type: str) -> bool:
        """Whether the type belongs to at least one category."""
        return bool(self.categories(resource_type))

    def __repr__(self) -> str:
        return f"ResourceCatalog(origin={self.origin!r}, categories={len(self._category_matchers)})"


def _classify(matchers: tuple[_Matcher, ...], resource_type: str) -> frozenset[str]:
    names = {m.name for m in matchers if m.matches(resource_type)}
    if "/" in resource_type:
        kind = resource_type.rsplit("/", 1)[1]
        names.update(m.name for m in matchers if m.matches(kind))
    return frozenset(names)
