"""What the syntax trees of compiled Rego say: where each rule is, and every call resolved.

The engine hands over its parsed modules as JSON; nothing here runs Rego.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

# Built-ins a review may not call, whatever the engine offers: reviewers are pure.
REFUSED = {"http.send": "a review must not reach the network"}


def rule_places(modules: list[dict[str, Any]]) -> dict[str, str]:
    """Each rule (the first part of a ref head), with the file and line it is first declared."""
    found: dict[str, str] = {}
    for module in modules:
        package, origin = _package(module), module["source"]["file"]
        for rule in module["ast"].get("rules", []):
            if "Default" in rule:
                ref, span = rule["Default"]["refr"], rule["Default"]["span"]
            else:
                head = rule.get("Spec", {}).get("head", {})
                kind = next((k for k in ("Set", "Compr") if k in head), None)
                if kind is None:
                    continue
                ref, span = head[kind]["refr"], head[kind]["span"]
            name = _root(ref)
            if name:
                found.setdefault(f"{package}.{name}", f"{origin}: line {span['line']}")
    return found


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


def call_problem(
    modules: list[dict[str, Any]], unknown: Callable[[frozenset[str]], frozenset[str]]
) -> str | None:
    """The first call to a function nothing defines, or the first recursive function.

    OPA rejects both at compile time; regorus would leave the first undefined
    until its branch runs, and overflow its stack on the second. `unknown`
    says which of the remaining names the engine has no built-in for.
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
                    return f"{where}: undefined function {name}"
                if name in REFUSED:
                    return f"{where}: {name} is not allowed: {REFUSED[name]}"
                builtins.setdefault(name, where)
    recursive = _recursion(calls, defined)
    if recursive:
        return recursive
    missing = unknown(frozenset(builtins))
    if missing:
        name = min(missing, key=lambda n: builtins[n])
        return f"{builtins[name]}: unsupported built-in or undefined function {name}"
    return None


def _recursion(calls: dict[str, set[str]], defined: dict[str, str]) -> str | None:
    """The first cycle of function calls (a depth-first walk in name order), described."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> str | None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name) :], name])
            return f"{defined[name]}: rego compile error: function {name} is recursive ({cycle})"
        if name in done:
            return None
        for callee in sorted(calls.get(name, ())):
            found = visit(callee, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    return next((found for name in sorted(calls) if (found := visit(name, []))), None)


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
