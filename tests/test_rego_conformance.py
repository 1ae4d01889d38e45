"""The engine against OPA's semantics: every supported case as OPA documents it, the rest errors.

The table is `tests/rego_conformance_cases.py`. A case OPA answers with a
value must give that value; a case OPA rejects must raise; and the few
things the engine cannot do (listed in `UNSUPPORTED`, and in the README)
must raise too, so a policy using them escalates instead of passing.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.policies.rego_engine import (
    UNDEFINED,
    CompiledRego,
    RegoEvaluationError,
    RegoSource,
)
from tests.rego_conformance_cases import CASES, Case, Fails
from tests.rego_conformance_cases import UNDEFINED as OPA_UNDEFINED

# What the engine cannot judge, with what it does instead (always an error: escalate).
UNSUPPORTED = {
    "net/cidr-intersects": "unsupported built-in net.cidr_intersects",
    "net/cidr-merge": "unsupported built-in net.cidr_merge",
    "net/cidr-contains-matches": "unsupported built-in net.cidr_contains_matches",
    "crypto/sha256": "unsupported built-in crypto.sha256",
    # OPA: undefined; the engine: an error (stricter, never a pass)
    "in/some-over-string-is-undefined": "`some .. in collection` expects array/set/object",
}


def evaluate(case: Case) -> Any:
    """The value of the case's rule, as the engine gives it."""
    sources = [RegoSource(origin=f"case{i}.rego", text=t) for i, t in enumerate(case.modules)]
    compiled = CompiledRego(sources, case.data)
    return compiled.evaluate(case.input if case.input is not None else {}, [case.rule])[case.rule]


def canonical(value: Any) -> Any:
    """A value as OPA compares it: 1.0 is 1, and true is not 1."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


SUPPORTED = [c for c in CASES if c.id not in UNSUPPORTED]


@pytest.mark.parametrize("case", SUPPORTED, ids=[c.id for c in SUPPORTED])
def test_the_engine_answers_as_opa_does(case: Case) -> None:
    """Each supported case evaluates to OPA's documented value, undefined, or an error."""
    if isinstance(case.want, Fails):
        with pytest.raises(RegoEvaluationError):
            evaluate(case)
        return
    got = evaluate(case)
    if case.want is OPA_UNDEFINED:
        assert got is UNDEFINED
    else:
        assert got is not UNDEFINED
        assert canonical(got) == canonical(case.want)


@pytest.mark.parametrize("case_id", sorted(UNSUPPORTED))
def test_what_the_engine_cannot_judge_is_an_error_never_a_value(case_id: str) -> None:
    """Unsupported built-ins and stricter corners raise, naming the file and line."""
    case = next(c for c in CASES if c.id == case_id)
    with pytest.raises(RegoEvaluationError) as caught:
        evaluate(case)
    message = str(caught.value)
    assert message.startswith("case0.rego: line "), message
    expected = UNSUPPORTED[case_id].removeprefix("unsupported built-in ")
    assert expected in message, message


def test_the_table_covers_what_policies_over_json_use() -> None:
    """The categories the issue lists each have cases (a guard against a shrinking table)."""
    categories = {c.id.split("/", 1)[0] for c in CASES}
    wanted = {"refs", "in", "every", "some", "compr", "partial", "default", "else", "func"}
    wanted |= {"str", "regex", "glob", "json", "units", "net", "with"}
    assert wanted <= categories
    assert len(SUPPORTED) >= 150


# The built-ins configs/policies/README.md lists as unsupported: each must fail the compile.
README_UNSUPPORTED = [
    "net.cidr_intersects", "net.cidr_merge", "net.cidr_contains_matches", "net.lookup_ip_addr",
    "crypto.sha256", "crypto.md5", "crypto.hmac.sha256", "crypto.x509.parse_certificates",
    "io.jwt.decode", "graphql.parse", "regex.globs_match", "strings.render_template",
    "providers.aws.sign_req", "rego.metadata.rule", "rego.parse_module", "all", "any",
    "http.send",
]  # fmt: skip


@pytest.mark.parametrize("name", README_UNSUPPORTED)
def test_what_the_readme_lists_as_unsupported_fails_the_compile(name: str) -> None:
    """A policy calling it (in a branch never taken, even) escalates: a compile error."""
    body = f"deny contains x if {{\n  input.never\n  x := {name}(input.a)\n}}\n"
    text = f"package t\nimport rego.v1\n{body}"
    with pytest.raises(RegoEvaluationError) as caught:
        CompiledRego([RegoSource(origin="t.rego", text=text)])
    assert str(caught.value).startswith("t.rego: line 5: rego compile error: "), str(caught.value)
    assert name in str(caught.value)
