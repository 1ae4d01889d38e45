"""configs/diff-paths.yaml: which category each file of a diff belongs to, and what in it matters.

Path rules are tried in order and the first whose glob matches names the
file's category and kind. Content rules then read the added and removed
lines; each match is a signal (evidence for the reviewers) and may raise the
file's category, never lower it: a Terraform file whose hunk widens an IAM
action is an IAM policy change, not infrastructure code.

Globs: `*` matches within one path segment, `**` across segments, `?` one
character; a glob without `/` matches the file name in any directory.
Matching ignores case (`README.MD`, `dockerfile`).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Final, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from orchestrator.config import shipped_config_dir
from orchestrator.models import Frozen
from orchestrator.yamlfile import read_yaml, validate_model

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
Glob = Annotated[str, StringConstraints(pattern=r"^\S+$")]
Lines = Literal["added", "removed", "changed", "net-removed"]
_GLOB_TOKEN: Final = re.compile(r"\*\*/|/\*\*$|\*\*|\*|\?|[^*?]+")


def glob_regex(globs: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex matching a path against any of the globs."""
    parts = []
    for glob in globs:
        anchored = "/" in glob.rstrip("/")
        body = "".join(_token(t) for t in _GLOB_TOKEN.findall(glob.lstrip("/")))
        parts.append(body if anchored else f"(?:.*/)?{body}")
    return re.compile("|".join(f"(?:{p})" for p in parts) + r"\Z", re.IGNORECASE)


_WILDCARDS: Final = {"**/": "(?:.*/)?", "/**": "/.*", "**": ".*", "*": "[^/]*", "?": "[^/]"}


def _token(part: str) -> str:
    return _WILDCARDS.get(part) or re.escape(part)


class PathRule(Frozen):
    """Files whose path matches one of `globs` are of this category and kind."""

    category: Name
    kind: Name
    globs: tuple[Glob, ...] = Field(min_length=1)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """The compiled globs."""
        return glob_regex(self.globs)


class ContentRule(Frozen):
    """A pattern in a file's added or removed lines that is worth a signal."""

    id: Name
    description: str = Field(min_length=1)
    pattern: str
    lines: Lines = "added"
    category: Name | None = None  # raise the file's category to this one
    files: tuple[Glob, ...] = ()  # only files matching these globs
    in_categories: tuple[Name, ...] = ()  # only files the path rules put in these
    # A line pattern for what the structured reader (gitdiff_access) reads: applied
    # only to files it cannot read.
    fallback: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern."""
        return re.compile(self.pattern)

    @cached_property
    def file_regex(self) -> re.Pattern[str] | None:
        """The compiled file globs (None: every file)."""
        return glob_regex(self.files) if self.files else None


class FileDefault(Frozen):
    """What a file no path rule matches is."""

    category: Name
    kind: Name


class DiffPaths(Frozen):
    """The whole of configs/diff-paths.yaml."""

    precedence: tuple[Name, ...] = Field(min_length=1)
    default: FileDefault
    binary_kind: Name = "binary"
    paths: tuple[PathRule, ...] = ()
    content: tuple[ContentRule, ...] = ()

    @model_validator(mode="after")
    def _known_categories(self) -> DiffPaths:
        used = {self.default.category, *(r.category for r in self.paths)}
        for rule in self.content:
            used.update(rule.in_categories)
            if rule.category:
                used.add(rule.category)
        if missing := sorted(used - set(self.precedence)):
            raise ValueError(f"precedence: does not rank categories {missing}")
        ids = [r.id for r in self.content]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"content: duplicate ids {dupes}")
        return self

    def classify(self, path: str) -> tuple[str, str]:
        """(category, kind) of a path by the first matching path rule."""
        for rule in self.paths:
            if rule.regex.match(path):
                return rule.category, rule.kind
        return self.default.category, self.default.kind

    def stronger(self, a: str, b: str) -> str:
        """The category ranked first in `precedence` (the riskier reading)."""
        return a if self.precedence.index(a) <= self.precedence.index(b) else b


def load_diff_paths(entry: tuple[Any, str, str] | None) -> DiffPaths:
    """Validate the loaded diff-paths.yaml, or read the shipped one when none was loaded."""
    if entry is None:
        path = shipped_config_dir() / "diff-paths.yaml"
        data, text = read_yaml(path)
        entry = (data, text, str(path))
    data, text, origin = entry
    return validate_model(data if data is not None else {}, text, origin, DiffPaths)
