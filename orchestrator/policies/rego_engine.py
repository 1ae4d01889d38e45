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

A regorus engine may only be used by the thread that made it, so a compiled
policy keeps one engine per thread (compiling is a few milliseconds).
`regorus` is imported only here, and only when a bundle has Rego in it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import ReviewRunError

__all__ = ["UNDEFINED", "CompiledRego", "RegoEvaluationError", "RegoSource"]

_AT = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_ERROR = re.compile(r"^error:\s*(?P<message>.*\S)", re.MULTILINE)
# Built-ins a review may not call, whatever the engine offers: reviewers are pure.
_REFUSED = {"http.send": "a review must not reach the network"}


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

    def __init__(self, sources: Sequence[RegoSource], data: Mapping[str, Any] | None = None):
        self._sources = tuple(sources)
        self._data = json.dumps(data or {})
        self._local = threading.local()
        self._v0: frozenset[str] = frozenset()
        engine = self._build()
        modules = json.loads(engine.get_ast_as_json())
        _check_calls(modules)
        # package (data.a.b) -> the names its rules are declared under
        self.rules: dict[str, frozenset[str]] = _rule_names(modules)
        self._local.engine = engine

    @property
    def old_syntax(self) -> frozenset[str]:
        """The origins of the modules read in the old (pre-1.0) syntax."""
        return self._v0

    def _build(self) -> Any:
        engine = _regorus().Engine()
        old: set[str] = set()
        for source in self._sources:
            if _add(engine, source):
                old.add(source.origin)
        self._v0 = frozenset(old)
        try:
            engine.add_data_json(self._data)
        except RuntimeError as exc:
            raise RegoEvaluationError(describe(exc, "data error")) from None
        return engine

    def _engine(self) -> Any:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self._build()
        return engine

    def evaluate(self, document: Any, refs: Sequence[str]) -> dict[str, Any]:
        """What each rule (`data.pkg.rule`) is for one input: a JSON value or UNDEFINED."""
        engine = self._engine().clone()  # a clone: the compiled engine keeps no input
        try:
            engine.set_input(document)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise RegoEvaluationError(
                f"rego: the input cannot be given to the engine: {exc}"
            ) from None
        found: dict[str, Any] = {}
        for ref in refs:
            try:
                answer = json.loads(engine.eval_query_as_json(f"__commander_value := {ref}"))
            except RuntimeError as exc:
                raise RegoEvaluationError(describe(exc, "evaluation error")) from None
            results = answer.get("result") or []
            found[ref] = results[0]["bindings"]["__commander_value"] if results else UNDEFINED
        return found


def _regorus() -> Any:
    """The regorus module, imported on first use."""
    # Rust captures a backtrace with every error when RUST_BACKTRACE is set: 0.1 s
    # the first time, for text we drop. A user who wants them sets this to 1.
    os.environ.setdefault("RUST_LIB_BACKTRACE", "0")
    import regorus  # noqa: PLC0415 - only bundles with Rego pay for the engine

    return regorus


def _add(engine: Any, source: RegoSource) -> bool:
    """Add one module, as rego.v1 first, else in the old syntax; True when it was the old."""
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
        return True
    return False


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


# --- every call resolved at compile time -------------------------------------------------


def _rule_names(modules: list[dict[str, Any]]) -> dict[str, frozenset[str]]:
    """Per package, the names of its rules (the first part of a ref head; no functions)."""
    found: dict[str, set[str]] = {}
    for module in modules:
        names = found.setdefault(_package(module), set())
        for rule in module["ast"].get("rules", []):
            if "Default" in rule:
                ref = rule["Default"]["refr"]
            else:
                head = rule.get("Spec", {}).get("head", {})
                kind = next((k for k in ("Set", "Compr") if k in head), None)
                if kind is None:
                    continue
                ref = head[kind]["refr"]
            name = _root(ref)
            if name:
                names.add(name)
    return {package: frozenset(names) for package, names in found.items()}


def _root(ref: Any) -> str:
    """The variable a reference starts from: `p` of `p.q[x]`."""
    while isinstance(ref, dict):
        if "Var" in ref:
            return str(ref["Var"]["value"])
        inner = ref.get("RefDot") or ref.get("RefBrack")
        if not isinstance(inner, dict):
            return ""
        ref = inner["refr"]
    return ""


def _check_calls(modules: list[dict[str, Any]]) -> None:
    """Raise for a call to a function nothing defines, and for a recursive function.

    OPA rejects both at compile time; regorus would leave the first undefined
    until its branch runs, and overflow its stack on the second.
    """
    defined: dict[str, str] = {}  # user function -> where it is first defined
    for module in modules:
        for name, place in _functions(module):
            defined.setdefault(name, place)
    builtins: dict[str, str] = {}  # name -> where it is first called
    calls: dict[str, set[str]] = {}  # user function -> the user functions it calls
    for module in modules:
        origin = module["source"]["file"]
        package = _package(module)
        aliases = _aliases(module)
        for rule in module["ast"].get("rules", []):
            head = rule.get("Spec", {}).get("head", {})
            caller = f"{package}.{_dotted(head['Func']['refr'])}" if "Func" in head else None
            for name, line in _calls(rule):
                first, _, rest = name.partition(".")
                candidates = [name] if name.startswith("data.") else [f"{package}.{name}"]
                if first in aliases:
                    candidates.append(f"{aliases[first]}.{rest}" if rest else aliases[first])
                target = next((c for c in candidates if c in defined), None)
                if target is not None:
                    if caller is not None:
                        calls.setdefault(caller, set()).add(target)
                    continue
                where = f"{origin}: line {line}: rego compile error"
                if name.startswith("data.") or first in aliases:
                    raise RegoEvaluationError(f"{where}: undefined function {name}")
                if name in _REFUSED:
                    raise RegoEvaluationError(f"{where}: {name} is not allowed: {_REFUSED[name]}")
                builtins.setdefault(name, where)
    _check_recursion(calls, defined)
    unknown = _unknown_builtins(frozenset(builtins))
    if unknown:
        name = min(unknown, key=lambda n: builtins[n])
        raise RegoEvaluationError(
            f"{builtins[name]}: unsupported built-in or undefined function {name}"
        )


def _check_recursion(calls: dict[str, set[str]], defined: dict[str, str]) -> None:
    """Raise for the first cycle of function calls (a depth-first walk in name order)."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise RegoEvaluationError(
                f"{defined[name]}: rego compile error: function {name} is recursive "
                f"({' -> '.join(cycle)})"
            )
        if name in done:
            return
        for callee in sorted(calls.get(name, ())):
            visit(callee, [*path, name])
        done.add(name)

    for name in sorted(calls):
        visit(name, [])


def _package(module: dict[str, Any]) -> str:
    return "data." + _dotted(module["ast"]["package"]["refr"])


def _functions(module: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Each function a module defines, with the place of its first definition."""
    package, origin = _package(module), module["source"]["file"]
    for rule in module["ast"].get("rules", []):
        head = rule.get("Spec", {}).get("head", {})
        if "Func" in head:
            line = head["Func"]["span"]["line"]
            yield f"{package}.{_dotted(head['Func']['refr'])}", f"{origin}: line {line}"


def _aliases(module: dict[str, Any]) -> dict[str, str]:
    """Import aliases of a module: `import data.lib as l` → {"l": "data.lib"}."""
    text = module["source"]["contents"].encode("utf-8")
    found = {}
    for item in module["ast"].get("imports", []):
        path = _dotted(item["refr"])
        alias = item.get("as")
        name = (
            text[alias["start"] : alias["end"]].decode("utf-8")
            if isinstance(alias, dict)
            else path.rsplit(".", 1)[-1]
        )
        found[name] = path
    return found


def _calls(node: Any) -> Iterator[tuple[str, int]]:
    """Every call in a tree, as (dotted function name, line)."""
    if isinstance(node, dict):
        call = node.get("Call")
        if isinstance(call, dict) and "fcn" in call:
            name = _dotted(call["fcn"])
            if name:
                yield name, int(call["span"]["line"])
        for value in node.values():
            yield from _calls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _calls(value)


def _dotted(ref: Any) -> str:
    """`a.b.c` from a Var or RefDot chain; "" for anything else (a computed reference)."""
    if not isinstance(ref, dict):
        return ""
    if "Var" in ref:
        return str(ref["Var"]["value"])
    if "RefDot" in ref:
        base = _dotted(ref["RefDot"]["refr"])
        field = ref["RefDot"]["field"]
        return f"{base}.{field[1]}" if base else ""
    return ""


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
