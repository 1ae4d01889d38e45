"""Which Rego rules a review queries, on which input shape, and what fails at load.

Entry rules follow conftest (deny, violation, warn and their `_suffix`es) and
are configurable per package, package glob or file (`rego:` in a policies
YAML file; `rego_namespaces` narrows the packages as `--namespace` does).
The plan is also passed as TACOs pass it (`input.tfplan`/`tfrun`,
`input.plan`/`run`). Settings that select nothing, and Rego that yields
nothing to query, are configuration errors at load.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import ConfigError
from orchestrator.models import Source
from orchestrator.policies import PolicyBundle
from orchestrator.policies.rego import evaluate_proposal
from orchestrator.policies.rego_bundle import rule_names
from orchestrator.policies.rego_input import aliases_read, policy_inputs
from orchestrator.testing import plan_document, resource_change
from tests.test_rego import proposal_of

PLAN = plan_document(
    [
        resource_change("aws_iam_role.ci", ["create"], after={"name": "ci"}),
        resource_change("aws_s3_bucket.old", ["delete"], before={"bucket": "o"}),
    ]
)


def found(files: dict[str, str], doc: dict[str, Any] = PLAN) -> set[tuple[str, str, str]]:
    """(rule, kind, message) of every result the files' Rego gives for a plan."""
    bundle = PolicyBundle.from_sources(
        [(f"policies/{name}", text, f"/cfg/policies/{name}") for name, text in files.items()]
    )
    results = evaluate_proposal(bundle, proposal_of(doc), source=Source.AUTOMATION)
    return {(f"{r.package}.{r.rule}", r.kind, r.message) for r in results}


MAIN = """package main
import rego.v1
deny contains "main deny" if count(input.resource_changes) > 1
warn_size contains "main warn" if true
enforce contains "main enforce" if true
"""
OTHER = """package other.checks
import rego.v1
violation contains {"msg": "other violation", "id": 7} if true
"""

ENTRIES = [
    (
        "conftest's names in every package by default",
        {"main.rego": MAIN, "other.rego": OTHER},
        {
            ("main.deny", "deny", "main deny"),
            ("main.warn_size", "warn", "main warn"),
            ("other.checks.violation", "deny", "other violation"),
        },
    ),
    (
        "rego_namespaces narrows the packages, as --namespace",
        {"main.rego": MAIN, "other.rego": OTHER, "n.yaml": "rego_namespaces: [main]\n"},
        {("main.deny", "deny", "main deny"), ("main.warn_size", "warn", "main warn")},
    ),
    (
        "a package glob names the deny rules (Styra's enforce)",
        {"main.rego": MAIN, "s.yaml": "rego:\n  'ma*': {deny: [enforce], warn: []}\n"},
        {("main.enforce", "deny", "main enforce")},
    ),
    (
        "a file name selects the packages it declares",
        {"other.rego": OTHER, "s.yaml": "rego:\n  other.rego: {deny: [], warn: [violation]}\n"},
        {("other.checks.violation", "warn", "other violation")},
    ),
    (
        "the exact package wins over a glob",
        {
            "main.rego": MAIN,
            "s.yaml": "rego:\n  '*': {deny: [enforce]}\n  main: {deny: [deny], warn: []}\n",
        },
        {("main.deny", "deny", "main deny")},
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"), [e[1:] for e in ENTRIES], ids=[e[0] for e in ENTRIES]
)
def test_entry_rules_are_chosen_as_configured(
    files: dict[str, str], expected: set[tuple[str, str, str]]
) -> None:
    """Default names, namespaces, globs, files and exact packages pick the rules queried."""
    assert found(files) == expected


ALLOW = """package gate
import rego.v1
default allow := false
allow if not "delete" in {a | some r in input.resource_changes; some a in r.change.actions}
open if true
"""


@pytest.mark.parametrize(
    ("rule", "doc", "expected"),
    [
        ("allow", PLAN, {("gate.allow", "deny", "data.gate.allow is false, not true: the policy does not allow this")}),  # noqa: E501
        ("allow", plan_document([resource_change("aws_s3_bucket.n", ["create"], after={})]), set()),
        ("open", PLAN, set()),
    ],
    ids=["false-denies", "true-passes", "another-rule"],
)  # fmt: skip
def test_an_allow_rule_must_be_true(
    rule: str, doc: dict[str, Any], expected: set[tuple[str, str, str]]
) -> None:
    """An allow rule that is false (or undefined) is a denial; true raises nothing."""
    files = {"gate.rego": ALLOW, "g.yaml": f"rego:\n  gate: {{allow: [{rule}]}}\n"}
    assert found(files, doc) == expected


def test_an_undefined_allow_rule_is_a_denial() -> None:
    """No default and no body that holds: undefined, which never reads as allowed."""
    files = {
        "gate.rego": 'package gate\nimport rego.v1\nallow if input.commander.actor == "x"\n',
        "g.yaml": "rego:\n  gate: {allow: [allow]}\n",
    }
    assert found(files) == {
        ("gate.allow", "deny", "data.gate.allow is undefined, not true: the policy does not allow this")  # noqa: E501
    }  # fmt: skip


LOAD_ERRORS = [
    (
        "no entry rule anywhere",
        {"lib.rego": "package lib\nimport rego.v1\nhelper := 1\n"},
        "/cfg/policies/lib.rego: no Rego rule to query",
    ),
    (
        "a namespace that selects no package",
        {"main.rego": MAIN, "n.yaml": "rego_namespaces: [mian]\n"},
        "/cfg/policies/n.yaml: line 1: rego namespace 'mian' matches no package",
    ),
    (
        "namespaces that leave nothing to query",
        {
            "main.rego": MAIN,
            "lib.rego": "package lib\nx := 1\n",
            "n.yaml": "rego_namespaces: [lib]\n",
        },
        "no Rego rule to query",
    ),
    (
        "a configured rule the package lacks",
        {"main.rego": MAIN, "s.yaml": "rego:\n  main: {allow: [authz]}\n"},
        "/cfg/policies/s.yaml: line 2: rego package 'main' has no rule 'authz'",
    ),
    (
        "a package that no file declares",
        {"main.rego": MAIN, "s.yaml": "rego:\n  missing.pkg: {enforcement: advisory}\n"},
        "rego package 'missing.pkg' matches no .rego file",
    ),
    (
        "a file that does not exist",
        {"main.rego": MAIN, "s.yaml": "rego:\n  nope.rego: {enforcement: advisory}\n"},
        "rego file 'nope.rego' matches no .rego file",
    ),
    (
        "a rule name that is not a name",
        {"main.rego": MAIN, "s.yaml": "rego:\n  main: {deny: ['data.main.deny']}\n"},
        "rego.main.deny.0",
    ),
    (
        "a data file that is not JSON",
        {"main.rego": MAIN, "data.json": '{"limits": '},
        "/cfg/policies/data.json: line 1: not JSON",
    ),
]


@pytest.mark.parametrize(
    ("files", "needle"), [e[1:] for e in LOAD_ERRORS], ids=[e[0] for e in LOAD_ERRORS]
)  # fmt: skip
def test_rego_that_yields_nothing_to_query_fails_at_load(
    files: dict[str, str], needle: str
) -> None:
    """A ConfigError names the file (and line): never a policy folder that silently passes."""
    with pytest.raises(ConfigError) as caught:
        found(files)
    assert needle in str(caught.value)


def test_data_files_are_the_data_document() -> None:
    """data.json and data.yaml in the folder are `data`, as OPA's bundles load them."""
    files = {
        "main.rego": 'package main\nimport rego.v1\ndeny contains t if { some t in data.banned; some r in input.resource_changes; r.type == t }\n',  # noqa: E501
        "data.yaml": "banned: [aws_iam_role]\n",
    }  # fmt: skip
    assert found(files) == {("main.deny", "deny", "aws_iam_role")}


def test_test_files_are_not_policy() -> None:
    """A `_test.rego` suite next to a policy is left to `commander policy test`."""
    files = {
        "main.rego": MAIN,
        "main_test.rego": "package main\nimport rego.v1\ntest_x if deny with input as {}\n",
        "broken_test.rego": "package main\ntest_y if {\n",
    }
    assert ("main.deny", "deny", "main deny") in found(files)


@pytest.mark.parametrize(
    ("text", "aliases"),
    [
        ("import input.tfplan as tfplan\n", {"tfplan"}),
        ('x := input["tfrun"].workspace\n', {"tfrun"}),
        ("x := input.plan.resource_changes\ny := input.run.is_destroy\n", {"plan", "run"}),
        ("import input as tfplan\nx := tfplan.resource_changes\n", set()),
        ("# the plan is input itself\nx := input.resource_changes\n", set()),
    ],
    ids=["import", "bracket", "hcp", "alias-of-input", "none"],
)
def test_aliases_are_added_only_for_policies_that_read_them(text: str, aliases: set[str]) -> None:
    """A 10,000-change plan is copied into input.tfplan only when a policy reads input.tfplan."""
    assert aliases_read([text]) == aliases


TACO_SHAPES = """package shapes
import rego.v1
deny contains sprintf("tfplan %d, plan %d, conftest %d", [
\tcount(input.tfplan.resource_changes),
\tcount(input.plan.resource_changes),
\tcount(input.resource_changes),
]) if true
deny contains sprintf("tfrun %s by %s, destroy %v", [
\tinput.tfrun.environment.name,
\tinput.tfrun.created_by.username,
\tinput.tfrun.is_destroy,
]) if true
deny contains sprintf("run by %s: %s", [input.run.created_by, input.run.message]) if true
"""


def test_taco_shapes_carry_the_plan_and_the_run() -> None:
    """input.tfplan and input.plan are the plan (a view, not a copy); tfrun and run the change."""
    bundle = PolicyBundle.from_sources([("policies/s.rego", TACO_SHAPES, "s.rego")])
    results = evaluate_proposal(bundle, proposal_of(PLAN, env="staging"), source=Source.AI_AGENT)
    assert {r.message for r in results} == {
        "tfplan 2, plan 2, conftest 2",
        "tfrun staging by agent-7, destroy false",
        "run by agent-7: tidy up",
    }
    [item] = policy_inputs(
        proposal_of(PLAN), source=Source.AI_AGENT, aliases=frozenset({"tfplan", "tfrun"})
    )
    assert item.views == ("tfplan",)
    assert "tfplan" not in item.document  # the plan is not copied
    assert item.document["tfrun"]["workspace"] == {"environment": "production"}


def test_rule_names_are_read_outside_brackets_strings_and_comments() -> None:
    """The load-time scan sees rule heads only, whatever the bodies and strings hold."""
    text = (
        'package a\nimport rego.v1\n# deny x\nx := "{"\ndefault allow := false\n'
        "p.q := 1 if {\n  y := [1,\n2]\n}\ns := `\n}\nz`\nf(x) := 1\n"
        'deny[msg] {\ninput.x == 1\nmsg := "m"\n}\n'
    )
    assert rule_names(text) == ("allow", "deny", "f", "p", "s", "x")
