"""Evaluate a bundle's Rego as OPA would and collect what its entry rules say.

The bundle names the rules a review queries (`rego_bundle`): deny-like rules
(sets of strings or of objects with a `msg`, or a boolean), warn-like rules,
and allow rules that must be `true`. The engine (`rego_engine`) compiles
each bundle content once and gets the input once per document; each review
then asks only for the entry rules, never for the whole `data` document.

Any Rego error — syntax, compilation, an unsupported built-in, evaluation —
raises `RegoEvaluationError`, naming the file and line: a policy that could
not be evaluated must never read as a policy that passed. When evaluating
takes more than a second, a line on standard error says how far it got.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import JsonValue

from orchestrator.policies.bundle import PolicyBundle
from orchestrator.policies.rego_bundle import RegoEntry, entries_for
from orchestrator.policies.rego_engine import (
    UNDEFINED,
    CompiledRego,
    RegoEvaluationError,
    RegoSource,
)
from orchestrator.policies.rego_input import (
    PolicyInput,
    aliases_read,
    policy_input,
    policy_inputs,
)
from orchestrator.policies.rules import RegoPackageSettings

if TYPE_CHECKING:
    from orchestrator.models import Proposal, Source

__all__ = [
    "UNDEFINED",
    "RegoEvaluationError",
    "RegoResult",
    "evaluate",
    "evaluate_all",
    "evaluate_proposal",
    "policy_input",
    "policy_inputs",
    "prepared",
]

ResultKind = Literal["deny", "warn"]  # an allow rule that is not true is a denial
_CACHE_SIZE = 8
_PROGRESS_AFTER = 1.0  # seconds of evaluation before progress is shown


@dataclass(frozen=True, kw_only=True)
class RegoResult:
    """One message an entry rule produced."""

    package: str
    rule: str
    kind: ResultKind
    message: str
    details: dict[str, JsonValue]
    origins: tuple[str, ...]
    settings: RegoPackageSettings


class Prepared:
    """One bundle's Rego, compiled, with the entry rules every review queries."""

    def __init__(self, bundle: PolicyBundle) -> None:
        self.compiled = CompiledRego(
            [RegoSource(origin=m.origin, text=m.text) for m in bundle.rego_modules],
            dict(bundle.rego_data),
        )
        self.entries = _checked(bundle.rego_entries, self.compiled.rules)
        self.aliases = aliases_read(m.text for m in bundle.rego_modules)

    def run(self, document: Any, views: Sequence[str] = ()) -> list[RegoResult]:
        """Every message the entry rules give for one input document."""
        values = self.compiled.evaluate(document, [e.ref for e in self.entries], views=views)
        found: list[RegoResult] = []
        for entry in self.entries:
            found += _results(entry, values[entry.ref])
        return found


def _checked(
    entries: Sequence[RegoEntry], rules: dict[str, frozenset[str]]
) -> tuple[RegoEntry, ...]:
    """The load-time entries, checked against the compiled rules (a scan is not a parser)."""
    checked = list(entries)
    seen = {(e.package, e.rule) for e in entries}
    for entry in entries:
        names = rules.get(f"data.{entry.package}", frozenset())
        configured = {"deny": entry.settings.deny, "warn": entry.settings.warn}
        if entry.rule not in names:
            if entry.kind != "allow" and configured[entry.kind] is None:
                continue  # a conventional name the package does not define: nothing to say
            raise RegoEvaluationError(
                f"{', '.join(entry.origins)}: rego compile error: package {entry.package} "
                f"has no rule {entry.rule}"
            )
    for package, settings, origins in {(e.package, e.settings, e.origins) for e in entries}:
        for extra in entries_for(package, rules.get(f"data.{package}", ()), settings, origins):
            if (extra.package, extra.rule) not in seen:
                seen.add((extra.package, extra.rule))
                checked.append(extra)
    return tuple(checked)


def evaluate(bundle: PolicyBundle, document: dict[str, Any]) -> list[RegoResult]:
    """Every message the bundle's entry rules produce for `document`."""
    return evaluate_all(bundle, [PolicyInput(document=document)])


def evaluate_all(bundle: PolicyBundle, inputs: Sequence[PolicyInput]) -> list[RegoResult]:
    """`evaluate` over several inputs (Kubernetes objects), with progress when it is slow."""
    if not bundle.rego_modules:
        return []
    ready = prepared(bundle)
    found: list[RegoResult] = []
    packages = len({e.package for e in ready.entries})
    what = f"{len(ready.entries)} rules of {packages} package{'s' * (packages != 1)}"
    with _Progress(len(inputs), what) as progress:
        for item in inputs:
            found += ready.run(item.document, item.views)
            progress.step()
    return found


def evaluate_proposal(
    bundle: PolicyBundle, proposal: Proposal, *, source: Source
) -> list[RegoResult]:
    """What the bundle's Rego says of a proposal judged as coming from `source`.

    Kubernetes objects are evaluated one after another, as conftest does; a
    message said for several of them counts once.
    """
    if not bundle.rego_modules:
        return []
    ready = prepared(bundle)
    inputs = policy_inputs(proposal, source=source, aliases=ready.aliases)
    found: dict[tuple[str, str, str], RegoResult] = {}
    for result in evaluate_all(bundle, inputs):
        found.setdefault((result.package, result.rule, result.message), result)
    return list(found.values())


_cache: OrderedDict[tuple[str, tuple[RegoEntry, ...]], Prepared] = OrderedDict()
_cache_lock = threading.Lock()


def prepared(bundle: PolicyBundle) -> Prepared:
    """The compiled form of a bundle's Rego, compiled at most once per content and entries."""
    key = (bundle.rego_digest, bundle.rego_entries)  # the YAML settings live in the entries
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
        ready = Prepared(bundle)
        _cache[key] = ready
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return ready


def _results(entry: RegoEntry, value: Any) -> list[RegoResult]:
    """What one entry rule's value says: its messages (an allow: a message unless true)."""

    def result(message: str, details: dict[str, JsonValue] | None = None) -> RegoResult:
        return RegoResult(
            package=entry.package,
            rule=entry.rule,
            kind="deny" if entry.kind == "allow" else entry.kind,
            message=message,
            details=details or {},
            origins=entry.origins,
            settings=entry.settings,
        )

    if entry.kind == "allow":
        if value is True:
            return []
        shown = "undefined" if value is UNDEFINED else json.dumps(value, sort_keys=True)
        return [result(f"{entry.ref} is {shown}, not true: the policy does not allow this")]
    if value is UNDEFINED or value is False:
        return []
    if value is True:
        return [result(f"{entry.rule} is true in package {entry.package}")]
    items: Iterable[Any] = value if isinstance(value, list) else [value]
    return [result(*_message(item)) for item in items]


def _message(item: Any) -> tuple[str, dict[str, JsonValue]]:
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict):
        msg = item.get("msg")
        details = {str(k): v for k, v in item.items() if k != "msg"}
        if isinstance(msg, str):
            return msg, details
        return json.dumps(item, sort_keys=True), details
    return json.dumps(item, sort_keys=True), {}


class _Progress:
    """A line on standard error each second once evaluating has taken more than one."""

    def __init__(self, total: int, what: str) -> None:
        self.total, self.what, self.done = total, what, 0
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._shown = False

    def __enter__(self) -> _Progress:
        self._started = time.monotonic()
        self._ticker.start()
        return self

    def step(self) -> None:
        self.done += 1

    def _tick(self) -> None:
        wait = _PROGRESS_AFTER
        while not self._stop.wait(wait):
            wait = 1.0
            self._shown = True
            where = f", {self.done} of {self.total} inputs done" if self.total > 1 else ""
            elapsed = time.monotonic() - self._started
            sys.stderr.write(f"commander: Rego: {self.what}{where}, {elapsed:.0f} s so far\n")
            sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._ticker.join()
        if self._shown and exc[0] is None:
            elapsed = time.monotonic() - self._started
            sys.stderr.write(f"commander: Rego: {self.what} evaluated in {elapsed:.1f} s\n")
