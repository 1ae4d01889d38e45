"""Policy fixtures: an input and what commander as a whole must decide for it.

A fixture file is YAML named `*_test.yaml` (or `.yml`), one case or a list
under `cases:`. Each case gives the input (inline, or `input_file` relative
to the fixture), who proposes it and where, and what to expect: the outcome
(approve, escalate, reject), rule ids that must be among the findings,
message fragments, and rule ids that must not fire. The case is judged by
every reviewer and the commander, exactly as `commander review` judges it,
without a store (no history, freezes or budgets) and without recording.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import JsonValue, model_validator

from orchestrator.adapters.base import AdapterOptions, Submission, load_proposal
from orchestrator.commander import aggregate
from orchestrator.config import LoadedConfig
from orchestrator.errors import CommanderError, ConfigError
from orchestrator.executors.local import LocalExecutor
from orchestrator.fanout import fan_out
from orchestrator.models import Decision, Frozen, Outcome, Source
from orchestrator.policies.rego_bundle import DATA_FILES, is_test_file
from orchestrator.policies.rego_tests import Status, TestReport
from orchestrator.policies.yamlcheck import validate
from orchestrator.registry import LoadedReviewer
from orchestrator.reviewer import ReviewContext
from orchestrator.yamlfile import parse_yaml

FIXTURE_SUFFIXES = ("_test.yaml", "_test.yml")
_CREATED_AT = "2000-01-01T00:00:00.000Z"  # fixtures are judged outside time


class Expect(Frozen):
    """What the decision on a fixture must be."""

    outcome: Outcome | None = None
    findings: tuple[str, ...] = ()  # rule ids that must be among the findings
    messages: tuple[str, ...] = ()  # fragments some finding's message must contain
    absent: tuple[str, ...] = ()  # rule ids that must not be among the findings


class FixtureCase(Frozen):
    """One input and what commander must decide for it."""

    name: str = ""
    input: JsonValue = None
    input_file: str | None = None
    kind: str = "auto"
    source: Source = Source.HUMAN
    actor: str = "fixture"
    intent: str = ""
    environment: str | None = None
    delete: bool = False
    expect: Expect

    @model_validator(mode="after")
    def _one_input(self) -> FixtureCase:
        if (self.input is None) == (self.input_file is None):
            raise ValueError("give exactly one of input and input_file")
        return self


class FixtureFile(Frozen):
    """A fixture file holding several cases."""

    cases: tuple[FixtureCase, ...]


def fixture_files(folder: Path) -> list[Path]:
    """Every fixture file under a folder, in name order."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.name.endswith(FIXTURE_SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def input_files(folder: Path) -> set[Path]:
    """The files fixtures under a folder read as inputs (so they are not Rego data)."""
    found = set()
    for path in fixture_files(folder):
        try:
            cases = load_cases(path)
        except ConfigError:
            continue  # reported with the fixture's own result
        found |= {(path.parent / c.input_file).resolve() for c in cases if c.input_file}
    return found


def load_cases(path: Path) -> tuple[FixtureCase, ...]:
    """The cases of one fixture file, validated (a typo names the file and line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    data = parse_yaml(text, str(path))
    if isinstance(data, dict) and "cases" in data:
        return validate(data, text, str(path), FixtureFile).cases
    return (validate(data, text, str(path), FixtureCase),)


def with_policies(config: LoadedConfig, folder: Path) -> LoadedConfig:
    """The config with a folder's policy files added over its own, as a user config adds them."""
    own = {name: (name, text, origin) for name, text, origin in config.policy_sources}
    for path in sorted(folder.iterdir()):
        wanted = path.suffix in {".yaml", ".rego"} or path.name in DATA_FILES
        if path.is_file() and wanted and not is_test_file(path.name):
            name = f"policies/{path.name}"
            try:
                own[name] = (name, path.read_text(encoding="utf-8"), str(path))
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(str(path), f"cannot read: {exc}") from None
    return dataclasses.replace(config, policy_sources=tuple(own[n] for n in sorted(own)))


def run_fixtures(
    paths: Iterable[Path],
    config: LoadedConfig,
    reviewers: list[LoadedReviewer],
    context: ReviewContext,
) -> list[TestReport]:
    """Judge every case of the fixture files and compare with what each expects."""
    reports = []
    for path in paths:
        try:
            cases = load_cases(path)
        except ConfigError as exc:
            error = TestReport(name=path.name, where=str(path), status="error", detail=str(exc))
            reports.append(error)
            continue
        for index, case in enumerate(cases):
            name = case.name or f"case {index + 1}"
            started = time.perf_counter()
            status: Status
            try:
                decision = judge(path, case, config, reviewers, context)
            except CommanderError as exc:
                status, detail = "error", str(exc)
            else:
                problems = compare(decision, case.expect)
                status, detail = ("fail", "; ".join(problems)) if problems else ("pass", "")
            reports.append(
                TestReport(
                    name=name,
                    where=str(path),
                    status=status,
                    detail=detail,
                    duration_ms=(time.perf_counter() - started) * 1000,
                )
            )
    return reports


def judge(
    path: Path,
    case: FixtureCase,
    config: LoadedConfig,
    reviewers: list[LoadedReviewer],
    context: ReviewContext,
) -> Decision:
    """The decision commander gives the case, as `commander review` would, unrecorded."""
    if case.input_file is not None:
        source = path.parent / case.input_file
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise ConfigError(str(path), f"input_file {case.input_file}: {exc}") from None
        origin = str(source)
    else:
        value: Any = case.input
        data = (value if isinstance(value, str) else json.dumps(value)).encode("utf-8")
        origin = f"{path}: {case.name or 'input'}"
    submission = Submission(
        source=case.source, actor=case.actor, intent=case.intent, environment=case.environment
    )
    options = AdapterOptions(delete=case.delete, diff_paths=config.diff_paths)
    proposal = load_proposal(data, origin, submission, kind=case.kind, options=options)
    settings = config.commander
    profile = context.agents.profile(proposal.actor, proposal.source)
    judged = dataclasses.replace(context, actor=profile)
    verdicts = asyncio.run(
        fan_out(proposal, reviewers, judged, LocalExecutor(), settings.timeout_for)
    )
    return aggregate(
        proposal,
        verdicts,
        settings,
        decision_id="fixture",
        created_at=_CREATED_AT,
        policy_version=config.policy_version,
    )


def compare(decision: Decision, expect: Expect) -> list[str]:
    """What differs between a decision and what the fixture expects (empty: it passes)."""
    findings = [f for v in decision.verdicts for f in v.findings]
    rules = {f.rule for f in findings}
    problems = []
    if expect.outcome is not None and decision.outcome != expect.outcome:
        why = "; ".join(decision.rationale[:2])
        problems.append(f"outcome {decision.outcome}, expected {expect.outcome} ({why})")
    problems += [f"no finding {rule}" for rule in expect.findings if rule not in rules]
    problems += [f"finding {rule} fired" for rule in expect.absent if rule in rules]
    problems += [
        f"no finding says {fragment!r}"
        for fragment in expect.messages
        if not any(fragment in f.message for f in findings)
    ]
    errors = [f"{v.reviewer}: {v.error}" for v in decision.verdicts if v.error]
    if problems and errors:
        problems.append(f"reviewer errors: {'; '.join(errors)}")
    if problems:
        problems.append(f"findings: {', '.join(sorted(rules)) or 'none'}")
    return problems
