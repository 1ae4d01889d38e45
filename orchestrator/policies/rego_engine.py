"""The Rego engine: regorus (a Rust implementation of OPA's Rego), wrapped to fail closed.

Chosen on evidence (tests/rego_conformance_cases.py, OPA's semantics case by
case): regorus agrees with OPA on every case it can evaluate and raises an
error on the few built-ins it lacks; it never turns a deny into nothing.

Each module is read as OPA 1.x reads it (`rego.v1` syntax) and, when that
fails, as the old syntax (OPA's `--v0-compatible`, as conftest runs policies
written before OPA 1.0); a module that neither reads is a compile error
naming the file and line of the reading that got further. Every function a
policy calls is resolved at compile time, as OPA's compiler does: a call to a
function neither the bundle nor the engine defines (a typo, an OPA built-in
regorus lacks) is a compile error, never a rule that silently stays
undefined until the day its branch runs. `http.send` is refused: a review
must not reach the network.

A regorus engine may only be used, and dropped, by the thread that made it, so
a compiled policy keeps one engine per thread (compiling is a few milliseconds),
held in that thread's own storage: a compiled policy collected on another
thread must not drop them there (regorus raises "unsendable"); each thread
drops its engines of collected policies itself, on its next evaluation.
`regorus` is imported only here, and only when a bundle has Rego in it.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import ReviewRunError
from orchestrator.policies.rego_ast import call_problem, rule_places

__all__ = ["UNDEFINED", "CompiledRego", "RegoEvaluationError", "RegoSource"]

_AT = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_ERROR = re.compile(r"^error:\s*(?P<message>.*\S)", re.MULTILINE)


class _Undefined:
    """What a rule is when no body holds and it has no default (OPA's `undefined`)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


class RegoEvaluationError(ReviewRunError):
    """A Rego module could not be compiled or evaluated: never a pass."""


@dataclass(frozen=True, kw_only=True)
class RegoSource:
    """One module to compile: where it comes from (named in errors) and its text."""

    origin: str
    text: str


class CompiledRego:
    """A set of modules (and `data`), compiled and checked, ready to evaluate rules."""

    def __init__(
        self, sources: Sequence[RegoSource], data: Mapping[str, Any] | None = None
    ) -> None:
        self._sources = tuple(sources)
        self._data = json.dumps(data or {})
        self._token = next(_TOKENS)
        weakref.finalize(self, _COLLECTED.add, self._token)
        engine = self._build()
        modules = json.loads(engine.get_ast_as_json())
        problem = call_problem(modules, _unknown_builtins)
        if problem is not None:
            raise RegoEvaluationError(problem)
        # rule (data.a.b.name) -> where it is first declared; functions left out
        self.places: dict[str, str] = rule_places(modules)
        # package (data.a.b) -> the names its rules are declared under
        self.rules: dict[str, frozenset[str]] = {}
        for ref in self.places:
            package, _, name = ref.rpartition(".")
            self.rules[package] = self.rules.get(package, frozenset()) | {name}
        _engines()[self._token] = engine

    def _build(self) -> Any:
        engine = _regorus().Engine()
        for source in self._sources:
            _add(engine, source)
        try:
            engine.add_data_json(self._data)
        except RuntimeError as exc:
            raise RegoEvaluationError(describe(exc, "data error")) from None
        return engine

    def _engine(self) -> Any:
        engines = _engines()
        engine = engines.get(self._token)
        if engine is None:
            engine = engines[self._token] = self._build()
        return engine

    def evaluate(
        self, document: Any, refs: Sequence[str], *, views: Sequence[str] = ()
    ) -> dict[str, Any]:
        """What each rule (`data.pkg.rule`) is for one input: a JSON value or UNDEFINED.

        `views` are input keys that show the input itself (`input.tfplan` as
        `input`): the engine gets the document once, however many names it has.
        """
        engine = self._engine().clone()  # a clone: the compiled engine keeps no input
        try:
            engine.set_input(document)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise RegoEvaluationError(
                f"rego: the input cannot be given to the engine: {exc}"
            ) from None
        shown = "".join(f" with input.{key} as input" for key in views)
        found: dict[str, Any] = {}
        for ref in refs:
            try:
                answer = json.loads(engine.eval_query_as_json(f"__commander_value := {ref}{shown}"))
            except RuntimeError as exc:
                raise RegoEvaluationError(describe(exc, "evaluation error")) from None
            results = answer.get("result") or []
            found[ref] = results[0]["bindings"]["__commander_value"] if results else UNDEFINED
        return found


_TOKENS = itertools.count()
_COLLECTED: set[int] = set()  # tokens of compiled policies that were collected
_PER_THREAD = threading.local()


def _engines() -> dict[int, Any]:
    """This thread's engines by compiled policy, those of collected policies dropped here."""
    engines: dict[int, Any] | None = getattr(_PER_THREAD, "engines", None)
    if engines is None:
        engines = _PER_THREAD.engines = {}
    for token in _COLLECTED.intersection(engines):
        del engines[token]
    return engines


def _regorus() -> Any:
    """The regorus module, imported on first use."""
    # Rust captures a backtrace with every error when RUST_BACKTRACE is set: 0.1 s
    # the first time, for text we drop. A user who wants them sets this to 1.
    os.environ.setdefault("RUST_LIB_BACKTRACE", "0")
    import regorus  # noqa: PLC0415 - only bundles with Rego pay for the engine

    return regorus


def _add(engine: Any, source: RegoSource) -> None:
    """Add one module, as rego.v1 first, else in the old syntax."""
    try:
        engine.set_rego_v0(False)
        engine.add_policy(source.origin, source.text)
    except RuntimeError as v1_error:
        try:
            engine.set_rego_v0(True)
            engine.add_policy(source.origin, source.text)
        except RuntimeError as v0_error:
            # report the reading that got further: it is the syntax the author meant
            error = max((v1_error, v0_error), key=_reach)
            raise RegoEvaluationError(describe(error, "compile error")) from None
        finally:
            engine.set_rego_v0(False)


def _reach(error: Exception) -> tuple[int, int]:
    at = _AT.search(str(error))
    return (int(at.group("line")), int(at.group("col"))) if at else (0, 0)


def describe(error: Exception, what: str) -> str:
    """One line from a regorus error: the file, the line and the message."""
    text = str(error).split("Stack backtrace:", 1)[0]
    messages = _ERROR.findall(text)
    # the innermost message is the specific one ("Compilation error: … error: Unknown …")
    message = messages[-1] if messages else (text.strip().splitlines() or ["no detail"])[0]
    places = list(_AT.finditer(text))
    if places:
        at = places[-1]
        return f"{at.group('file')}: line {at.group('line')}: rego {what}: {message}"
    return f"rego {what}: {message}"


@functools.lru_cache(maxsize=64)
def _unknown_builtins(names: frozenset[str]) -> frozenset[str]:
    """The names regorus has no built-in for (asked of its compiler; nothing is called).

    One probe module calls every name, one rule each; the compiler reports
    the first problem, so a name it reports is settled and left out of the
    next round (usually there is none).
    """
    regorus = _regorus()
    pending, unknown = sorted(names), set[str]()
    while pending:
        rules = "".join(f"p{i} if {{ x := {n}(input.a) }}\n" for i, n in enumerate(pending))
        probe = f"package commander_probe\nimport rego.v1\n{rules}"
        entries = [f"data.commander_probe.p{i}" for i in range(len(pending))]
        try:
            regorus.Program.compile_from_modules("{}", [("probe.rego", probe)], entries)
        except RuntimeError as exc:
            at = list(_AT.finditer(str(exc)))
            index = int(at[-1].group("line")) - 3 if at else -1
            if not 0 <= index < len(pending):
                return frozenset(unknown)  # the compiler said nothing we can place: trust eval
            if "Unknown function" in str(exc):
                unknown.add(pending[index])
            del pending[index]
            continue
        break
    return frozenset(unknown)
