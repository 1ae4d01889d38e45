"""Evaluate a bundle's Rego modules as conftest would, with regopy (the rego-cpp interpreter).

The input is what conftest would give (see `rego_input`). Every package
found in the bundle is evaluated; its `deny`, `violation` and `warn` rules
(and `deny_*`, … as conftest allows) are collected, whether written in
`rego.v1` or the older syntax, as sets of strings or of objects with a `msg`.

Compiling happens once per bundle content (its digest); each review then
runs one query. `regopy` is imported only here, and only when a bundle has
Rego in it. Any Rego error — syntax, compilation, evaluation, a built-in
failing — raises `RegoEvaluationError`: a policy that could not be
evaluated must never read as a policy that passed.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from orchestrator.errors import ReviewRunError
from orchestrator.policies.bundle import PolicyBundle, RegoModule
from orchestrator.policies.rego_input import escaped, policy_input, policy_inputs

__all__ = ["RegoEvaluationError", "RegoResult", "evaluate", "policy_input", "policy_inputs"]

_CACHE_SIZE = 8
_HELPER_PACKAGE = "commander_internal.collect"
# Normalises what a rule evaluates to into a list. rego-cpp reads an old-syntax
# `deny[msg] { … }` as an object whose values are `true`; rego.v1's
# `deny contains msg if { … }` is a set; a complete rule may be a string or true.
# One `default`-guarded rule per collected rule: an undefined rule gives [], and
# only the collected rules are evaluated (never the whole `data` document).
_HELPER = f"""package {_HELPER_PACKAGE}
import rego.v1
items(x) := [m | some m in x] if is_array(x)
items(x) := [m | some m in x] if is_set(x)
items(x) := [k | some k; x[k] == true] if is_object(x)
items(x) := [x] if is_string(x)
items(x) := [true] if x == true
items(x) := [] if x == false
"""
_ERROR_AT = re.compile(r"\(error\s+\d+:(?P<name>[^|\s]*)\|(?P<offset>\d+)\|\d+")
_ERROR_MSG = re.compile(r"\(errormsg\s+(?P<size>\d+):")


class RegoEvaluationError(ReviewRunError):
    """A Rego module could not be compiled or evaluated."""


@dataclass(frozen=True, kw_only=True)
class RegoResult:
    """One message a Rego rule produced."""

    package: str
    rule: str
    message: str
    details: dict[str, JsonValue]
    origins: tuple[str, ...]


def evaluate(bundle: PolicyBundle, document: dict[str, Any]) -> list[RegoResult]:
    """Every message the bundle's deny, violation and warn rules produce for `document`."""
    if not bundle.rego_modules:
        return []
    compiled = _compiled(bundle)
    return compiled.run(document)


class _Compiled:
    """One bundle's Rego, compiled, with the query that collects every rule."""

    def __init__(self, modules: tuple[RegoModule, ...]) -> None:
        import regopy  # noqa: PLC0415 - only bundles with Rego pay for the interpreter

        self._regopy = regopy
        self._lock = threading.Lock()
        interpreter = self._new_interpreter()
        rules: dict[tuple[str, str], list[str]] = {}
        for module in modules:
            if module.package is None:
                raise RegoEvaluationError(f"{module.origin}: rego: no package declaration")
            try:
                interpreter.add_module(module.name, module.text)
            except regopy.RegoError as exc:
                raise RegoEvaluationError(_describe(str(exc), modules, "syntax error")) from None
            for rule in module.rules:
                rules.setdefault((module.package, rule), []).append(module.origin)
        self.keys = sorted(rules)
        collectors = "".join(
            f"default r{i} := []\nr{i} := items(data.{package}.{rule})\n"
            for i, (package, rule) in enumerate(self.keys)
        )
        interpreter.add_module("commander_internal.rego", _HELPER + collectors)
        self.origins = {key: tuple(sorted(set(o))) for key, o in rules.items()}
        self._modules = modules
        self._interpreter = interpreter
        self._bundle = self._build(self.keys)

    def _build(self, keys: list[tuple[str, str]]) -> Any:
        entries = ", ".join(
            f'"{package}|{rule}": data.{_HELPER_PACKAGE}.r{self.keys.index((package, rule))}'
            for package, rule in keys
        )
        try:
            bundle = self._interpreter.build(f"x := {{{entries}}}")
        except self._regopy.RegoError as exc:
            raise RegoEvaluationError(_describe(str(exc), self._modules, "compile error")) from None
        if not bundle.ok():
            raise RegoEvaluationError(
                _describe(_error_term(bundle.node()), self._modules, "compile error")
            )
        return bundle

    def _new_interpreter(self) -> Any:
        interpreter = self._regopy.Interpreter()
        # NONE: rego-cpp would otherwise print its errors on our standard output
        interpreter.log_level = self._regopy.LogLevel.NONE
        # fail closed: a built-in that errs (1/0, a bad regex) must not read as "no denial"
        interpreter.strict_built_in_errors = True
        return interpreter

    def run(self, document: dict[str, Any]) -> list[RegoResult]:
        """Evaluate the compiled bundle against one input document."""
        document = escaped(document)
        with self._lock:  # one compiled bundle serves every review of this process
            failure = self._query(document, self._bundle)
            if isinstance(failure, str):
                # name the package that fails: rego-cpp's error term does not
                for package in sorted({p for p, _ in self.keys}):
                    keys = [k for k in self.keys if k[0] == package]
                    if isinstance(self._query(document, self._build(keys)), str):
                        files = ", ".join(sorted({o for k in keys for o in self.origins[k]}))
                        failure = f"{files}: package {package}: {failure}"
                        break
                raise RegoEvaluationError(failure)
        collected = failure
        if not isinstance(collected, dict):
            raise RegoEvaluationError("rego: the collecting query returned no result")
        found: list[RegoResult] = []
        for package, rule in self.keys:
            for item in collected.get(f"{package}|{rule}") or []:
                message, details = _message(item, package, rule)
                found.append(
                    RegoResult(
                        package=package,
                        rule=rule,
                        message=message,
                        details=details,
                        origins=self.origins[(package, rule)],
                    )
                )
        return found

    def _query(self, document: dict[str, Any], bundle: Any) -> Any:
        """The collected rule values, or a one-line description of why there are none."""
        # a fresh interpreter per query: one that has failed is not to be trusted again
        interpreter = self._new_interpreter()
        interpreter.set_input(self._regopy.Input(document))
        try:
            output = interpreter.query_bundle(bundle)
        except ValueError as exc:  # rego-cpp returned an error term, not JSON
            return _describe(getattr(exc, "doc", "") or str(exc), self._modules, "evaluation error")
        if not output.ok():
            return _describe(_error_term(output.node()), self._modules, "evaluation error")
        if not output.results:
            return "rego evaluation error: the collecting query gave no result"
        return output.results[0].bindings.get("x")


_cache: OrderedDict[str, _Compiled] = OrderedDict()
_cache_lock = threading.Lock()


def _compiled(bundle: PolicyBundle) -> _Compiled:
    """The compiled form of a bundle's Rego, compiled at most once per content digest."""
    with _cache_lock:
        found = _cache.get(bundle.rego_digest)
        if found is not None:
            _cache.move_to_end(bundle.rego_digest)
            return found
        compiled = _Compiled(bundle.rego_modules)
        _cache[bundle.rego_digest] = compiled
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return compiled


def cached_bundles() -> int:
    """How many compiled bundles the cache holds (for tests)."""
    return len(_cache)


def _message(item: Any, package: str, rule: str) -> tuple[str, dict[str, JsonValue]]:
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict):
        msg = item.get("msg")
        details = {str(k): v for k, v in item.items() if k != "msg"}
        if isinstance(msg, str):
            return msg, details
        return json.dumps(item, sort_keys=True), details
    if item is True:
        return f"{rule} is true in package {package}", {}
    return json.dumps(item, sort_keys=True), {}


def _error_term(node: Any) -> str:
    """The text of an error node's first error (best effort: "" when regopy hides it)."""
    try:
        # regopy's Node does not expose an error's text; its C API does
        from regopy.rego_shared import (  # noqa: PLC0415
            rego_node_get,
            rego_node_json,
            rego_node_size,
        )

        impl = node._impl
        return "\n".join(
            str(rego_node_json(rego_node_get(impl, i))) for i in range(rego_node_size(impl))
        )
    except Exception:  # a changed regopy must not turn a policy error into a crash
        return ""


def _describe(text: str, modules: tuple[RegoModule, ...], what: str) -> str:
    """A one-line error from rego-cpp's error term: file, line and message."""
    message = _error_message(text) or (text.strip().splitlines() or [""])[0]
    at = _ERROR_AT.search(text)
    if at is not None:
        module = next((m for m in modules if m.name == at.group("name")), None)
        if module is not None:
            offset = int(at.group("offset"))
            line = module.text.encode("utf-8")[:offset].count(b"\n") + 1
            return f"{module.origin}: line {line}: rego {what}: {message}"
    return f"rego {what}: {message or 'no detail given'}"


def _error_message(text: str) -> str | None:
    found = _ERROR_MSG.search(text)
    if found is None:
        return None
    size = int(found.group("size"))
    return text[found.end() :].encode("utf-8")[:size].decode("utf-8", "replace").strip()
