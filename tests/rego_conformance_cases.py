"""A conformance table for Rego over JSON input: what OPA documents each policy evaluates to.

The cases are our own, written after the categories of OPA's published
conformance suite (`v1/test/cases/testdata/v1/`: references, `some`/`every`/
`in`, comprehensions, partial sets and objects, `default`, `else`, functions,
the string, regex, glob, JSON, units and net built-ins, `with`) and the
examples of the Rego reference. Each evaluates one document (`data.t.<rule>`
unless the text names another package) and states OPA's answer: a JSON value
(a set as OPA prints it: a sorted array), `UNDEFINED`, or `Fails(...)` with
the error OPA raises. Cases in the old syntax (`v0`) are marked: OPA 1.x reads
them with `--v0-compatible`, as conftest does for policies written before it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any


class _Undefined:
    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()


@dataclass(frozen=True)
class Fails:
    """OPA raises an error; `opa` says this (the engines' own wording differs)."""

    opa_says: str


@dataclass(frozen=True)
class Case:
    """One policy, one input, one rule, and what OPA says the rule is."""

    id: str
    modules: tuple[str, ...]
    want: Any
    rule: str = "data.t.p"
    input: Any = None
    data: dict[str, Any] = field(default_factory=dict)


def case(
    id: str,
    *texts: str,
    want: Any,
    rule: str = "p",
    input: Any = None,
    data: dict[str, Any] | None = None,
) -> Case:
    """A case; a text without a package line is in package t."""
    modules = []
    for text in texts:
        body = textwrap.dedent(text).strip() + "\n"
        modules.append(body if body.startswith("package ") else "package t\n\n" + body)
    return Case(
        id=id,
        modules=tuple(modules),
        want=want,
        rule=rule if rule.startswith("data.") else f"data.t.{rule}",
        input=input,
        data=data or {},
    )


PLAN = {
    "resource_changes": [
        {"address": "aws_iam_role.a", "type": "aws_iam_role", "change": {"actions": ["create"]}},
        {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket", "change": {"actions": ["delete"]}},
    ]
}

CASES: list[Case] = [
    # --- references -------------------------------------------------------------------------
    case("refs/dotted", "p := input.a.b.c", input={"a": {"b": {"c": 7}}}, want=7),
    case("refs/missing-is-undefined", "p := input.a.x.y", input={"a": {}}, want=UNDEFINED),
    case("refs/array-index", "p := input.xs[1]", input={"xs": ["a", "b"]}, want="b"),
    case("refs/index-out-of-range", "p := input.xs[5]", input={"xs": [1]}, want=UNDEFINED),
    case("refs/bracket-string", 'p := input["a key"]', input={"a key": 1}, want=1),
    case(
        "refs/some-index-in-call-fail-open-idiom",
        """
        deny contains msg if {
            some i
            startswith(input.resource_changes[i].type, "aws_iam")
            msg := sprintf("IAM change: %s", [input.resource_changes[i].address])
        }
        """,
        rule="deny",
        input=PLAN,
        want=["IAM change: aws_iam_role.a"],
    ),
    case(
        "refs/wildcard-in-call-argument",
        """
        touches(resources, prefixes) if startswith(resources[_].type, prefixes[_])
        p if touches(input.resource_changes, ["google_", "aws_s3"])
        """,
        input=PLAN,
        want=True,
    ),
    case(
        "refs/wildcard-in-call-argument-no-match",
        """
        default p := false
        touches(resources, prefixes) if startswith(resources[_].type, prefixes[_])
        p if touches(input.resource_changes, ["google_"])
        """,
        input=PLAN,
        want=False,
    ),
    case(
        "refs/nested-wildcards",
        "p contains a if a := input.rc[_].change.actions[_]",
        input={"rc": [{"change": {"actions": ["delete", "create"]}}, {"change": {"actions": []}}]},
        want=["create", "delete"],
    ),
    case(
        "refs/object-keys-by-var",
        "p contains k if input.o[k] > 1",
        input={"o": {"a": 1, "b": 2, "c": 3}},
        want=["b", "c"],
    ),
    case("refs/base-data", "p := data.limits.max", data={"limits": {"max": 5}}, want=5),
    case(
        "refs/import-input-alias",
        """
        import input.tfplan as tfplan
        p := count(tfplan.resource_changes)
        """,
        input={"tfplan": PLAN},
        want=2,
    ),
    case(
        "refs/import-data-alias",
        """
        import data.lib.prefixes
        p contains x if some x in prefixes
        """,
        """
        package lib
        prefixes := ["a", "b"]
        """,
        want=["a", "b"],
    ),
    case(
        "refs/composite-value-lookup",
        'p := {"a": [1, {"b": 2}]}.a[1].b',
        want=2,
    ),
    case(
        "refs/virtual-doc-ref",
        """
        q[k] := v if some k, v in {"x": 1, "y": 2}
        p := q.y
        """,
        want=2,
    ),
    # --- some / every / in ------------------------------------------------------------------
    case("in/some-value", "p contains x if some x in [3, 1, 2]", want=[1, 2, 3]),
    case(
        "in/some-key-value",
        "p contains k if { some k, v in input.o; v == true }",
        input={"o": {"a": True, "b": False}},
        want=["a"],
    ),
    case(
        "in/some-key-value-in-comprehension",
        """
        w := {"aws_instance": {"delete": 10}, "aws_asg": {"delete": 100}}
        p := [x | some t, crud in w; x := crud.delete]
        """,
        want=[100, 10],
    ),
    case("in/membership-array", 'p if "b" in ["a", "b"]', want=True),
    case("in/membership-set", 'p if "z" in {"a", "b"}', want=UNDEFINED),
    case("in/membership-object-value", 'p if 2 in {"a": 1, "b": 2}', want=True),
    case("in/membership-key-value", 'p if "b", 2 in {"a": 1, "b": 2}', want=True),
    case("in/membership-index-value", 'p if 1, "y" in ["x", "y"]', want=True),
    case("in/not-in", 'p if not "c" in ["a", "b"]', want=True),
    case("in/some-over-missing-is-undefined", "p if some x in input.nothing", want=UNDEFINED),
    case(
        "in/some-over-string-is-undefined",
        "p if some x in input.s",
        input={"s": "abc"},
        want=UNDEFINED,
    ),
    case("every/all-hold", "p if every x in input.xs { x > 0 }", input={"xs": [1, 2]}, want=True),
    case(
        "every/one-fails",
        "p if every x in input.xs { x > 1 }",
        input={"xs": [1, 2]},
        want=UNDEFINED,
    ),
    case("every/empty-holds", "p if every x in [] { x > 1 }", want=True),
    case(
        "every/key-value",
        'p if every k, v in input.tags { startswith(k, "t-"); v != "" }',
        input={"tags": {"t-a": "x", "t-b": "y"}},
        want=True,
    ),
    case(
        "every/negation-is-illegal",
        "p if not every x in input.xs { x < 3 }",
        input={"xs": [1, 5]},
        want=Fails("illegal negation of 'every'"),
    ),
    case(
        "some/declared-index-binds",
        'p contains i if { some i; input.xs[i] == "b" }',
        input={"xs": ["a", "b", "c", "b"]},
        want=[1, 3],
    ),
    # --- comprehensions ---------------------------------------------------------------------
    case("compr/array", "p := [y | some x in [1, 2, 3]; y := x * 2]", want=[2, 4, 6]),
    case("compr/set", "p := {x | some x in [1, 1, 2]}", want=[1, 2]),
    case(
        "compr/object",
        'p := {k: count(v) | some k, v in {"a": [1], "b": [1, 2]}}',
        want={"a": 1, "b": 2},
    ),
    case(
        "compr/nested",
        "p := [[y | some y in xs; y > 1] | some xs in [[1, 2], [3]]]",
        want=[[2], [3]],
    ),
    case(
        "compr/count-of-filtered",
        'p := count([r | some r in input.resource_changes; "delete" in r.change.actions])',
        input=PLAN,
        want=1,
    ),
    case(
        "compr/closes-over-outer-var",
        "p := [x | some x in input.xs; x > input.min]",
        input={"xs": [1, 5, 9], "min": 4},
        want=[5, 9],
    ),
    case(
        "compr/object-key-conflict",
        'p := {k: v | some v in [1, 2]; k := "same"}',
        want=Fails("object keys must be unique"),
    ),
    # --- partial sets and objects -----------------------------------------------------------
    case(
        "partial/set-contains",
        """
        deny contains "a" if input.x == 1
        deny contains "b" if input.x == 1
        deny contains "c" if input.x == 2
        """,
        rule="deny",
        input={"x": 1},
        want=["a", "b"],
    ),
    case("partial/empty-set-is-empty", 'deny contains "a" if false', rule="deny", want=[]),
    case(
        "partial/set-of-objects",
        'violation contains {"msg": m, "id": i} if { some i, m in ["x", "y"] }',
        rule="violation",
        want=[{"id": 0, "msg": "x"}, {"id": 1, "msg": "y"}],
    ),
    case(
        "partial/object",
        "p[r.address] := r.type if some r in input.resource_changes",
        input=PLAN,
        want={"aws_iam_role.a": "aws_iam_role", "aws_s3_bucket.b": "aws_s3_bucket"},
    ),
    case(
        "partial/object-conflict",
        """
        p["k"] := 1
        p["k"] := 2
        """,
        want=Fails("object keys must be unique"),
    ),
    case(
        "partial/ref-head",
        """
        p.a.b := 1
        p.a.c := 2
        """,
        want={"a": {"b": 1, "c": 2}},
    ),
    case(
        "partial/v0-set",
        """
        deny[msg] {
            input.x == 1
            msg := "old syntax"
        }
        """,
        rule="deny",
        input={"x": 1},
        want=["old syntax"],
    ),
    case(
        "partial/v0-object",
        """
        p[k] = v {
            v := input.o[k]
            v > 1
        }
        """,
        input={"o": {"a": 1, "b": 2}},
        want={"b": 2},
    ),
    case(
        "partial/v0-conftest-terraform-example",
        """
        package main

        blacklist = ["google_iam", "google_container"]

        deny[msg] {
            check_resources(input.resource_changes, blacklist)
            banned := concat(", ", blacklist)
            msg = sprintf("prohibited: %v", [banned])
        }

        check_resources(resources, disallowed_prefixes) {
            startswith(resources[_].type, disallowed_prefixes[_])
        }
        """,
        rule="data.main.deny",
        input={"resource_changes": [{"type": "google_iam_member"}]},
        want=["prohibited: google_iam, google_container"],
    ),
    # --- complete rules, default, else ------------------------------------------------------
    case("complete/boolean-shorthand", "p if input.x == 1", input={"x": 1}, want=True),
    case("complete/undefined-body", "p if input.x == 1", input={"x": 2}, want=UNDEFINED),
    case(
        "complete/conflict",
        """
        p := 1 if true
        p := 2 if true
        """,
        want=Fails("complete rules must not produce multiple outputs"),
    ),
    case(
        "complete/same-value-twice-is-fine",
        """
        p := 1 if true
        p := 1 if input.y
        """,
        input={"y": True},
        want=1,
    ),
    case(
        "default/used-when-undefined",
        """
        default allow := false
        allow if input.user == "admin"
        """,
        rule="allow",
        input={"user": "bob"},
        want=False,
    ),
    case(
        "default/overridden",
        """
        default allow := false
        allow if input.user == "admin"
        """,
        rule="allow",
        input={"user": "admin"},
        want=True,
    ),
    case(
        "default/v0",
        """
        default allow = false
        allow { input.user == "admin" }
        """,
        rule="allow",
        input={},
        want=False,
    ),
    case(
        "else/first-true-wins",
        """
        p := "a" if input.x > 10
        else := "b" if input.x > 5
        else := "c"
        """,
        input={"x": 7},
        want="b",
    ),
    case(
        "else/falls-through",
        """
        p := "a" if input.x > 10
        else := "b" if input.x > 5
        else := "c"
        """,
        input={"x": 1},
        want="c",
    ),
    case(
        "else/in-function",
        """
        size(n) := "big" if n > 100
        else := "small"
        p := [size(1), size(1000)]
        """,
        want=["small", "big"],
    ),
    # --- functions --------------------------------------------------------------------------
    case("func/simple", "double(x) := x * 2\np := double(21)", want=42),
    case(
        "func/multiple-bodies-same-output",
        """
        kind(t) := "iam" if startswith(t, "aws_iam")
        kind(t) := "iam" if startswith(t, "google_iam")
        kind(t) := "other" if { not startswith(t, "aws_iam"); not startswith(t, "google_iam") }
        p := [kind("aws_iam_role"), kind("google_iam_member"), kind("aws_s3")]
        """,
        want=["iam", "iam", "other"],
    ),
    case(
        "func/conflicting-outputs",
        """
        f(x) := 1 if x > 0
        f(x) := 2 if x > 0
        p := f(1)
        """,
        want=Fails("functions must not produce multiple outputs for same inputs"),
    ),
    case("func/undefined-result", "f(x) := 1 if x > 5\np := f(1)", want=UNDEFINED),
    case(
        "func/boolean-predicate",
        """
        is_public(acl) if acl == "public-read"
        is_public(acl) if acl == "public-read-write"
        p := [a | some a in ["private", "public-read"]; is_public(a)]
        """,
        want=["public-read"],
    ),
    case(
        "func/unknown-function",
        "p := no_such_function(1)",
        want=Fails("undefined function no_such_function"),
    ),
    case(
        "func/recursion",
        "f(x) := f(x)\np := f(1)",
        want=Fails("rego_recursion_error"),
    ),
    # --- strings ----------------------------------------------------------------------------
    case("str/concat", 'p := concat(", ", ["a", "b"])', want="a, b"),
    case("str/concat-set", 'p := concat("-", {"b", "a"})', want="a-b"),
    case("str/contains", 'p := contains("aws_iam_role", "iam")', want=True),
    case(
        "str/startswith-endswith",
        'p := [startswith("abc", "ab"), endswith("abc", "bc")]',
        want=[True, True],
    ),
    case("str/lower-upper", 'p := [lower("AbC"), upper("AbC")]', want=["abc", "ABC"]),
    case("str/split", 'p := split("a.b.c", ".")', want=["a", "b", "c"]),
    case("str/replace", 'p := replace("a-b-c", "-", "_")', want="a_b_c"),
    case("str/substring", 'p := substring("abcdef", 1, 3)', want="bcd"),
    case("str/substring-to-end", 'p := substring("abcdef", 2, -1)', want="cdef"),
    case("str/indexof", 'p := [indexof("abcd", "c"), indexof("abcd", "z")]', want=[2, -1]),
    case(
        "str/trim-family",
        'p := [trim("xxaxx", "x"), trim_space(" a "), trim_prefix("ab", "a"),'
        ' trim_suffix("ab", "b")]',
        want=["a", "a", "b", "a"],
    ),
    case(
        "str/sprintf-verbs",
        'p := sprintf("%s %d %v %.2f", ["x", 3, [1, "a"], 1.5])',
        want='x 3 [1, "a"] 1.50',
    ),
    case(
        "str/sprintf-object", 'p := sprintf("%v", [{"b": 1, "a": "x"}])', want='{"a": "x", "b": 1}'
    ),
    case("str/format-int", "p := [format_int(255, 16), format_int(5, 2)]", want=["ff", "101"]),
    case("str/replace-n", 'p := strings.replace_n({"a": "1", "b": "2"}, "ab")', want="12"),
    case("str/reverse", 'p := strings.reverse("abc")', want="cba"),
    case("str/count", 'p := strings.count("cheese", "e")', want=3),
    case(
        "str/any-prefix-match",
        'p := strings.any_prefix_match(["aws_iam_role", "x"], ["aws_iam"])',
        want=True,
    ),
    case("str/count-string", 'p := count("héllo")', want=5),
    case("str/to-number", 'p := to_number("3.5") + 1', want=4.5),
    # --- regex ------------------------------------------------------------------------------
    case("regex/match", r'p := regex.match(`^aws_(iam|kms)_`, "aws_kms_key")', want=True),
    case("regex/no-match", r'p := regex.match(`^\d+$`, "12a")', want=False),
    case("regex/find-n", r'p := regex.find_n(`[0-9]+`, "a1b22c333", 2)', want=["1", "22"]),
    case("regex/split", r'p := regex.split(`\s*,\s*`, "a , b,c")', want=["a", "b", "c"]),
    case("regex/replace", r'p := regex.replace("a1b2", `[0-9]`, "#")', want="a#b#"),
    case(
        "regex/is-valid", r"p := [regex.is_valid(`a+`), regex.is_valid(`a(`)]", want=[True, False]
    ),
    case(
        "regex/submatches",
        r'p := regex.find_all_string_submatch_n(`(\w+)=(\d+)`, "a=1 b=2", -1)',
        want=[["a=1", "a", "1"], ["b=2", "b", "2"]],
    ),
    case(
        "regex/invalid-pattern", r'p := regex.match(`a(`, "a")', want=Fails("error parsing regexp")
    ),
    # --- glob -------------------------------------------------------------------------------
    case(
        "glob/default-delimiter", 'p := glob.match("*.example.com", [], "a.example.com")', want=True
    ),
    case(
        "glob/delimiter-stops-star",
        'p := glob.match("*.example.com", ["."], "a.b.example.com")',
        want=False,
    ),
    case(
        "glob/super-star", 'p := glob.match("**.example.com", ["."], "a.b.example.com")', want=True
    ),
    case("glob/null-delimiters", 'p := glob.match("a/*", null, "a/b/c")', want=True),
    case("glob/character-class", 'p := glob.match("prod-[0-9]", [], "prod-7")', want=True),
    case("glob/quote-meta", 'p := glob.quote_meta("*.x")', want="\\*.x"),
    # --- JSON, objects, encoding ------------------------------------------------------------
    case(
        "json/marshal-sorted",
        'p := json.marshal({"b": 1, "a": [true, null]})',
        want='{"a":[true,null],"b":1}',
    ),
    case("json/unmarshal", 'p := json.unmarshal(`{"a": [1, 2]}`).a[1]', want=2),
    case("json/is-valid", 'p := [json.is_valid("{}"), json.is_valid("{")]', want=[True, False]),
    case(
        "json/filter",
        'p := json.filter({"a": {"b": 1, "c": 2}, "d": 3}, ["a/b", "d"])',
        want={"a": {"b": 1}, "d": 3},
    ),
    case("json/remove", 'p := json.remove({"a": {"b": 1, "c": 2}}, ["a/b"])', want={"a": {"c": 2}}),
    case(
        "json/patch",
        'p := json.patch({"a": 1}, [{"op": "add", "path": "/b", "value": 2}])',
        want={"a": 1, "b": 2},
    ),
    case("json/unmarshal-invalid", 'p := json.unmarshal("{")', want=Fails("json.unmarshal")),
    case(
        "object/get-default",
        'p := [object.get({"a": 1}, "a", 0), object.get({}, "a", 0)]',
        want=[1, 0],
    ),
    case("object/get-path", 'p := object.get({"a": {"b": 2}}, ["a", "b"], 0)', want=2),
    case(
        "object/union",
        'p := object.union({"a": 1, "b": {"c": 1}}, {"b": {"d": 2}})',
        want={"a": 1, "b": {"c": 1, "d": 2}},
    ),
    case("object/keys", 'p := object.keys({"a": 1, "b": 2})', want=["a", "b"]),
    case("object/remove", 'p := object.remove({"a": 1, "b": 2}, ["a"])', want={"b": 2}),
    case("base64/round-trip", 'p := base64.decode(base64.encode("héllo"))', want="héllo"),
    case("yaml/unmarshal", 'p := yaml.unmarshal("a: [1, 2]")', want={"a": [1, 2]}),
    case(
        "walk/finds-nested",
        """
        p contains path if {
            walk(input, [path, value])
            value == "local-exec"
        }
        """,
        input={"m": {"r": [{"type": "local-exec"}]}},
        want=[["m", "r", 0, "type"]],
    ),
    # --- units ------------------------------------------------------------------------------
    case("units/parse-bytes-si", 'p := units.parse_bytes("10KB")', want=10000),
    case("units/parse-bytes-iec", 'p := units.parse_bytes("10KiB")', want=10240),
    case("units/parse-bytes-lower", 'p := units.parse_bytes("200mb")', want=200000000),
    case("units/parse-bytes-fraction", 'p := units.parse_bytes("1.1KiB")', want=1126),
    case("units/parse-si", 'p := units.parse("10k")', want=10000),
    case("units/parse-milli", 'p := units.parse("100m")', want=0.1),
    case("units/parse-iec", 'p := units.parse("1Ki")', want=1024),
    case(
        "units/parse-bytes-invalid",
        'p := units.parse_bytes("ten")',
        want=Fails("units.parse_bytes"),
    ),
    # --- net --------------------------------------------------------------------------------
    case("net/cidr-contains-ip", 'p := net.cidr_contains("10.0.0.0/8", "10.1.2.3")', want=True),
    case(
        "net/cidr-contains-cidr", 'p := net.cidr_contains("10.0.0.0/8", "11.0.0.0/16")', want=False
    ),
    case(
        "net/cidr-intersects", 'p := net.cidr_intersects("0.0.0.0/0", "192.168.1.0/24")', want=True
    ),
    case(
        "net/cidr-is-valid",
        'p := [net.cidr_is_valid("10.0.0.0/33"), net.cidr_is_valid("10.0.0.0/16")]',
        want=[False, True],
    ),
    case(
        "net/cidr-merge",
        'p := net.cidr_merge(["10.0.0.0/25", "10.0.0.128/25"])',
        want=["10.0.0.0/24"],
    ),
    case("net/cidr-expand", 'p := net.cidr_expand("10.0.0.0/31")', want=["10.0.0.0", "10.0.0.1"]),
    case("net/ipv6", 'p := net.cidr_contains("2001:db8::/32", "2001:db8::1")', want=True),
    case(
        "net/cidr-contains-matches",
        'p := net.cidr_contains_matches(["10.0.0.0/8"], ["10.1.1.1", "8.8.8.8"])',
        want=[[0, 0]],
    ),
    case(
        "net/invalid-cidr",
        'p := net.cidr_contains("nonsense", "10.0.0.1")',
        want=Fails("net.cidr_contains"),
    ),
    # --- with -------------------------------------------------------------------------------
    case(
        "with/input",
        """
        allow if input.user == "admin"
        p if allow with input as {"user": "admin"}
        """,
        want=True,
    ),
    case(
        "with/input-path",
        """
        allow if input.user == "admin"
        p if allow with input.user as "admin"
        """,
        input={"user": "bob"},
        want=True,
    ),
    case(
        "with/data",
        """
        over if count(input.xs) > data.limits.max
        p if over with data.limits.max as 1
        """,
        input={"xs": [1, 2]},
        data={"limits": {"max": 10}},
        want=True,
    ),
    case(
        "with/function-mock",
        """
        f(_) := 2
        g(_) := 1
        p := y if y = f(true) with f as g
        """,
        want=1,
    ),
    case("with/builtin-mock", "p := x if x := time.now_ns() with time.now_ns as 7", want=7),
    case(
        "with/deny-set-under-test-input",
        """
        deny contains "iam" if { some r in input.resource_changes; startswith(r.type, "aws_iam") }
        p := n if n := count(deny) with input as {"resource_changes": [{"type": "aws_iam_role"}]}
        """,
        want=1,
    ),
    # --- numbers, sets, aggregates, types ---------------------------------------------------
    case("num/int-equals-float", "p := 1 == 1.0", want=True),
    case("num/big-int", "p := 9007199254740993 + 0", want=9007199254740993),
    case("num/division", "p := 7 / 2", want=3.5),
    case("num/divide-by-zero", "p := 1 / 0", want=Fails("divide by zero")),
    case("num/arith-type-error", 'p := 1 + "a"', want=Fails("operand 2 must be number")),
    case("agg/sum-max-min", "p := [sum([1, 2.5]), max([3, 1]), min({4, 2})]", want=[3.5, 3, 2]),
    case("agg/sort", 'p := sort(["b", "a", "c"])', want=["a", "b", "c"]),
    case("agg/count-object", 'p := count({"a": 1, "b": 2})', want=2),
    case(
        "sets/ops", "p := [{1, 2} | {3}, {1, 2} & {2, 3}, {1, 2} - {2}]", want=[[1, 2, 3], [2], [1]]
    ),
    case(
        "sets/union-intersection",
        "p := [union({{1}, {2}}), intersection({{1, 2}, {2, 3}})]",
        want=[[1, 2], [2]],
    ),
    case(
        "types/type-name",
        'p := [type_name(null), type_name({}), type_name(set()), type_name("")]',
        want=["null", "object", "set", "string"],
    ),
    case(
        "types/is-checks",
        "p := [is_string(1), is_array([]), is_object({}), is_null(null)]",
        want=[False, True, True, True],
    ),
    case(
        "array/concat-slice",
        "p := [array.concat([1], [2]), array.slice([1, 2, 3], 1, 2)]",
        want=[[1, 2], [2]],
    ),
    case(
        "compare/mixed-types",
        'p := [null < false, false < 0, 0 < "", "" < [], [] < {}]',
        want=[True, True, True, True, True],
    ),
    case("negation/not-undefined", "p if not input.flag", input={}, want=True),
    case("negation/not-false", "p if not input.flag", input={"flag": False}, want=True),
    case("negation/not-true", "p if not input.flag", input={"flag": True}, want=UNDEFINED),
    case("eq/unify-array", "p := x if [x, 2] = [1, 2]", want=1),
    case(
        "time/parse-rfc3339",
        'p := time.parse_rfc3339_ns("2024-01-02T03:04:05Z")',
        want=1704164645000000000,
    ),
    case("semver/compare", 'p := semver.compare("1.10.0", "1.9.0")', want=1),
    case(
        "crypto/sha256",
        'p := crypto.sha256("abc")',
        want="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    # --- syntax errors OPA rejects ----------------------------------------------------------
    case("syntax/unsafe-var", "p if x > 1", want=Fails("var x is unsafe")),
    case("syntax/parse-error", "p := [1, 2", want=Fails("rego_parse_error")),
    case(
        "syntax/v1-requires-if",
        """
        import rego.v1
        p { true }
        """,
        want=Fails("`if` keyword is required before rule body"),
    ),
]

# Cases in the old syntax: OPA 1.x evaluates them only with --v0-compatible.
V0 = frozenset(
    {"partial/v0-set", "partial/v0-object", "partial/v0-conftest-terraform-example", "default/v0"}
)
