"""Rego as a policy author debugs it: `opa test`-style suites and every rule's value.

`run_rego_tests(folder)` does what `opa test` does: it loads every `.rego`
file under the folder with the JSON data files (`*.json`, `data.yaml`,
rooted by their sub-folder, as OPA's loader roots them), and evaluates every
rule named `test_*`; a test passes when it is `true`. `todo_test_*` rules are
skipped. Each test is evaluated on its own, so an error fails that test
only. `rule_values(...)` is `commander policy eval`: every rule of the
packages a file declares, for one input.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from orchestrator.errors import ConfigError
from orchestrator.policies.rego_bundle import DATA_FILES, is_test_file, load_data
from orchestrator.policies.rego_engine import (
    UNDEFINED,
    CompiledRego,
    RegoEvaluationError,
    RegoSource,
)

Status = Literal["pass", "fail", "error", "skip"]


@dataclass(frozen=True, kw_only=True)
class TestReport:
    """One test's result, as `opa test` reports it."""

    name: str
    where: str
    status: Status
    detail: str = ""
    duration_ms: float = 0.0

    def to_json_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "name": self.name,
            "where": self.where,
            "status": self.status,
            "detail": self.detail,
            "duration_ms": round(self.duration_ms, 3),
        }


def rego_files(folder: Path) -> list[Path]:
    """Every .rego file under a folder, in name order (hidden folders left out)."""
    return sorted(p for p in folder.rglob("*.rego") if not _hidden(p, folder))


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_text(path: Path) -> str:
    """A policy file's text; a ConfigError naming it when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None


def folder_data(folder: Path, exclude: Set[Path] = frozenset()) -> dict[str, Any]:
    """The data document `opa test FOLDER` would load: JSON files and data.yaml.

    `exclude` holds files that are not data (the inputs of fixtures).
    """
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not _hidden(p, folder)
        and (p.suffix == ".json" or p.name in DATA_FILES)
        and p.resolve() not in exclude
    )
    return load_data(
        (f"policies/{p.relative_to(folder).as_posix()}", read_text(p), str(p)) for p in files
    )


def run_rego_tests(folder: Path, *, exclude: Set[Path] = frozenset()) -> list[TestReport]:
    """Run every `test_*` rule of the .rego files under a folder (`exclude`: not data)."""
    files = rego_files(folder)
    if not any(is_test_file(p.name) for p in files):
        return []
    sources = [RegoSource(origin=str(p), text=read_text(p)) for p in files]
    try:
        compiled = CompiledRego(sources, folder_data(folder, exclude))
    except RegoEvaluationError as exc:
        return [TestReport(name="(compile)", where=str(folder), status="error", detail=str(exc))]
    reports = []
    for ref in sorted(compiled.places):
        rule = ref.rsplit(".", 1)[-1]
        if rule.startswith("todo_test_"):
            reports.append(TestReport(name=ref, where=compiled.places[ref], status="skip"))
        elif rule.startswith("test_"):
            reports.append(_run_one(compiled, ref))
    return reports


def _run_one(compiled: CompiledRego, ref: str) -> TestReport:
    started = time.perf_counter()
    try:
        value = compiled.evaluate({}, [ref])[ref]
    except RegoEvaluationError as exc:
        status: Status = "error"
        detail = str(exc)
    else:
        status = "pass" if value is True else "fail"
        detail = "" if value is True else f"{ref} is {_shown(value)}"
    return TestReport(
        name=ref,
        where=compiled.places[ref],
        status=status,
        detail=detail,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def _shown(value: Any) -> str:
    return "undefined" if value is UNDEFINED else json.dumps(value, sort_keys=True)


@dataclass(frozen=True, kw_only=True)
class RuleValue:
    """What one rule evaluated to (or the error it raised)."""

    ref: str
    where: str
    value: Any
    error: str | None = None

    def shown(self) -> str:
        """The value as JSON, `undefined`, or the error."""
        return f"error: {self.error}" if self.error else _shown(self.value)

    def to_json_dict(self) -> dict[str, Any]:
        """The rule, where it is, and its value (or `undefined: true`, or the error)."""
        found: dict[str, Any] = {"rule": self.ref, "where": self.where}
        if self.error:
            found["error"] = self.error
        elif self.value is UNDEFINED:
            found["undefined"] = True
        else:
            found["value"] = self.value
        return found


def rule_values(
    policy: Path, document: Any, *, library: Sequence[Path] = (), views: Sequence[str] = ()
) -> list[RuleValue]:
    """Every rule of the packages `policy` declares, evaluated for one input document.

    `library` is the other policy files it may import (its folder, as `opa eval
    -d` gives them); their rules are not shown.
    """
    paths = [policy, *(p for p in library if p.resolve() != policy.resolve())]
    sources = [RegoSource(origin=str(p), text=read_text(p)) for p in paths]
    compiled = CompiledRego(sources, folder_data(policy.parent))
    shown = [ref for ref, where in compiled.places.items() if where.startswith(f"{policy}: ")]
    values: list[RuleValue] = []
    for ref in sorted(shown):
        try:
            value = compiled.evaluate(document, [ref], views=views)[ref]
        except RegoEvaluationError as exc:
            values.append(
                RuleValue(ref=ref, where=compiled.places[ref], value=UNDEFINED, error=str(exc))
            )
        else:
            values.append(RuleValue(ref=ref, where=compiled.places[ref], value=value))
    return values
