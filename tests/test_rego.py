"""Rego policies through the engine: conftest's input, rules in both syntaxes, errors, cache."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.catalog import ResourceCatalog
from orchestrator.graph import DependencyGraph
from orchestrator.models import Proposal, Source
from orchestrator.policies import PolicyBundle, rego
from orchestrator.policies.rego import RegoEvaluationError, evaluate, policy_input
from orchestrator.reviewer import ReviewContext
from orchestrator.testing import plan_document, resource_change
from reviewers.policy import assess
from tests.conftest import corpus_files

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "policies"
SHARED = REPO.parent / "shared" / "policies" / "ai_devops_scope.rego"
CATALOG = ResourceCatalog.load_default()


def shared_policy() -> tuple[str, str]:
    """The shared AI-DevOps policy as published: ../shared when present, else the fixture copy."""
    path = SHARED if SHARED.is_file() else FIXTURES / "ai_devops_scope.rego"
    return path.read_text(encoding="utf-8"), str(path)


def bundle_of(*modules: tuple[str, str]) -> PolicyBundle:
    """A bundle from (file name, Rego text) pairs."""
    return PolicyBundle.from_sources(
        [
            (f"policies/{name}", textwrap.dedent(text), f"/cfg/policies/{name}")
            for name, text in modules
        ]
    )


def planned(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """A plan whose planned_values list every resource that exists after it, as Terraform writes."""
    doc = plan_document(changes)
    doc["planned_values"] = {
        "root_module": {
            "resources": [
                {
                    "address": c["address"],
                    "mode": "managed",
                    "type": c["type"],
                    "name": c["name"],
                    "values": c["change"]["after"],
                }
                for c in changes
                if c["change"]["after"] is not None
            ]
        }
    }
    return doc


AI_PLAN = planned(
    [
        resource_change("aws_iam_role.deployer", ["create"], after={"name": "deployer"}),
        resource_change("aws_vpc.shared", ["update"], before={"cidr": "a"}, after={"cidr": "b"}),
        resource_change(
            "kubernetes_namespace.team",
            ["create"],
            after={"metadata": [{"name": "team"}]},
            provider="registry.terraform.io/hashicorp/kubernetes",
        ),
        resource_change("aws_s3_bucket.assets", ["create"], after={"bucket": "assets"}),
    ]
)


def proposal_of(
    doc: dict[str, Any], source: Source = Source.AI_AGENT, env: str = "prod"
) -> Proposal:
    return load_proposal(
        json.dumps(doc).encode(),
        "plan.json",
        Submission(source=source, actor="agent-7", intent="tidy up", environment=env),
        kind="terraform",
    )


def test_fixture_copy_is_the_shared_policy_unchanged() -> None:
    """The test copy is byte for byte the policy in ../shared/policies."""
    if not SHARED.is_file():
        pytest.skip("../shared/policies/ai_devops_scope.rego not found")
    assert (FIXTURES / "ai_devops_scope.rego").read_bytes() == SHARED.read_bytes()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            Source.AI_AGENT,
            {
                "AI agent change blocked: IAM resource 'aws_iam_role.deployer' "
                "requires human review",
                "AI agent change blocked: VPC modifications require human review",
                "AI agent change blocked: Namespace creation requires human review",
            },
        ),
        (Source.AUTOMATION, set()),
        (Source.HUMAN, set()),
    ],
)
def test_shared_ai_devops_policy_works_unchanged(source: Source, expected: set[str]) -> None:
    """The old-syntax policy sees `change_source == "ai_agent"`; denies IAM, VPC, namespace."""
    prop = proposal_of(AI_PLAN, source)
    results = evaluate(
        bundle_of(("ai_devops_scope.rego", shared_policy()[0])), policy_input(prop, source=source)
    )
    assert {r.message for r in results} == expected
    assert {(r.package, r.rule) for r in results} <= {("ai_devops.scope", "deny")}


def test_the_input_is_the_plan_plus_commander_facts() -> None:
    """conftest's input (the plan JSON) with input.commander and input.change_source added."""
    prop = proposal_of(AI_PLAN)
    document = policy_input(prop, source=Source.AI_AGENT)
    assert document["resource_changes"] == AI_PLAN["resource_changes"]
    assert document["change_source"] == "ai_agent"
    assert document["commander"] == {
        "source": "ai-agent",
        "declared_source": "ai-agent",
        "actor": "agent-7",
        "intent": "tidy up",
        "environment": "production",
        "environment_name": "prod",
        "kind": "terraform",
    }


def test_rego_v1_policy_collects_deny_warn_violation_and_suffixed_rules() -> None:
    """deny, deny_*, violation (objects with msg and details) and warn all come back."""
    doc = planned(
        [
            resource_change("aws_kms_key.main", ["delete"], before={"description": "k"}),
            resource_change(
                "aws_s3_bucket_public_access_block.site",
                ["update"],
                before={"block_public_acls": True},
                after={"block_public_acls": False},
            ),
            resource_change("aws_s3_bucket.site", ["create"], after={"bucket": "site"}),
        ]
    )
    text = (FIXTURES / "conftest_v1.rego").read_text(encoding="utf-8")
    results = evaluate(
        bundle_of(("conftest_v1.rego", text)),
        policy_input(proposal_of(doc), source=Source.AI_AGENT),
    )
    by_rule = {(r.rule, r.message): r for r in results}
    assert set(by_rule) == {
        ("deny", "deleting aws_kms_key.main in production is not allowed"),
        (
            "deny_public_buckets",
            "bucket 'aws_s3_bucket_public_access_block.site' would allow public ACLs",
        ),
        ("violation", "AI agents may not touch KMS ('aws_kms_key.main')"),
        ("warn", "3 changes in one plan: consider splitting it"),
    }
    violation = by_rule[("violation", "AI agents may not touch KMS ('aws_kms_key.main')")]
    assert violation.details == {"details": {"actor": "agent-7"}}
    assert violation.package == "terraform.guardrails"


def test_old_syntax_sets_objects_booleans_and_shared_packages() -> None:
    """Pre-v1 partial sets, object violations, a boolean deny, and one package over two files."""
    first = """\
        package team.rules
        violation[{"msg": m, "severity": "high"}] {
            input.commander.environment == "production"
            m := "production change"
        }
        deny { input.commander.actor == "agent-7" }
        """
    second = """\
        package team.rules
        deny_names[msg] { msg := sprintf("actor %v", [input.commander.actor]) }
        """
    other = 'package other\nwarn[msg] { msg := "from another package" }\n'
    bundle = bundle_of(("a.rego", first), ("b.rego", second), ("c.rego", other))
    results = evaluate(bundle, policy_input(proposal_of(AI_PLAN), source=Source.AI_AGENT))
    found = {(r.package, r.rule, r.message) for r in results}
    assert found == {
        ("team.rules", "violation", "production change"),
        ("team.rules", "deny", "deny is true in package team.rules"),
        ("team.rules", "deny_names", "actor agent-7"),
        ("other", "warn", "from another package"),
    }
    severity = next(r for r in results if r.rule == "violation")
    assert severity.details == {"severity": "high"}


def test_a_syntax_error_names_the_file_and_line() -> None:
    """A Rego parse error is a RegoEvaluationError pointing at the file and the line."""
    text = (FIXTURES / "broken.rego").read_text(encoding="utf-8")
    with pytest.raises(RegoEvaluationError) as caught:
        evaluate(bundle_of(("broken.rego", text)), {"commander": {}})
    message = str(caught.value)
    # OPA reports it there too: the `}` where the right side should be
    assert message.startswith("/cfg/policies/broken.rego: line 7: rego compile error: "), message
    assert "\n" not in message


EVAL_ERRORS = [
    (
        'package p\nimport rego.v1\nx := 1\nx := 2 if true\ndeny contains "m" if x == 1\n',
        "rule conflicts with rule",
    ),
    (
        'package p\nimport rego.v1\ndeny contains msg if { msg := sprintf("%v", [1 / 0]) }\n',
        "divide by zero",
    ),
    ("package p\ndeny[msg] { msg := no_such_function(1) }\n", "no_such_function"),
    ("package p\ndeny[msg] {\n  count(input.x) >\n  msg := 1\n}\n", "line 4: rego compile error"),
]


@pytest.mark.parametrize(
    ("text", "needle"), EVAL_ERRORS, ids=["conflict", "builtin", "unknown", "unify"]
)
def test_an_evaluation_error_is_never_a_pass(text: str, needle: str) -> None:
    """Conflicting values, a failing built-in, an unknown function raise, naming file and cause."""
    good = ("good.rego", 'package good\ndeny[m] { m := "fine" }\n')
    with pytest.raises(RegoEvaluationError) as caught:
        evaluate(bundle_of(good, ("p.rego", text)), {"commander": {}})
    assert str(caught.value).startswith("/cfg/policies/p.rego"), str(caught.value)
    assert needle in str(caught.value)


def test_a_rego_error_makes_an_error_verdict_that_keeps_the_yaml_findings() -> None:
    """The policy verdict carries the error (so the commander escalates) and the rule findings."""
    rules = (
        "rules:\n  - id: t.warn\n    message: watched\n    effect: warn\n"
        "    enforcement: hard-mandatory\n"
    )
    bundle = PolicyBundle.from_sources(
        [
            ("policies/t.yaml", rules, "t.yaml"),
            (
                "policies/broken.rego",
                (FIXTURES / "broken.rego").read_text(encoding="utf-8"),
                "b.rego",
            ),
        ]
    )
    ctx = ReviewContext(graph=DependencyGraph.empty(), catalog=CATALOG, policies=bundle)
    verdict = assess(proposal_of(AI_PLAN), ctx)
    assert verdict.error is not None
    assert verdict.error.startswith("b.rego: line 7")
    assert verdict.stance != "approve"
    assert [f.rule for f in verdict.findings] == ["t.warn"]


def test_rego_failures_count_as_their_package_is_configured(tmp_path: Path) -> None:
    """A YAML `rego:` entry makes a package's denials advisory or soft; unset they are hard."""
    text, _ = shared_policy()
    for level, stance, hard in [
        (None, "block", True),
        ("soft-mandatory", "block", False),
        ("advisory", "approve", False),
    ]:
        sources = [("policies/ai_devops_scope.rego", text, "scope.rego")]
        if level:
            sources.append(
                (
                    "policies/levels.yaml",
                    f"rego:\n  ai_devops.scope: {{enforcement: {level}}}\n",
                    "l",
                )
            )
        ctx = ReviewContext(
            graph=DependencyGraph.empty(),
            catalog=CATALOG,
            policies=PolicyBundle.from_sources(sources),
        )
        verdict = assess(proposal_of(AI_PLAN), ctx)
        denials = [f for f in verdict.findings if f.rule == "rego.ai_devops.scope.deny"]
        assert len(denials) == 3
        assert verdict.stance == stance, level
        assert all(f.hard is hard for f in denials)
        iam = next(f for f in denials if "aws_iam_role" in f.message)
        assert iam.resources == ("aws_iam_role.deployer",)


def test_many_messages_from_one_rule_are_capped_with_a_count() -> None:
    """A rule that fires per resource keeps 50 messages and counts the rest."""
    doc = planned(
        [
            resource_change(f"aws_iam_role.r{i:02d}", ["create"], after={"name": str(i)})
            for i in range(60)
        ]
    )
    bundle = PolicyBundle.from_sources([("policies/s.rego", shared_policy()[0], "s.rego")])
    ctx = ReviewContext(graph=DependencyGraph.empty(), catalog=CATALOG, policies=bundle)
    verdict = assess(proposal_of(doc), ctx)
    assert len(verdict.findings) == 51
    assert verdict.findings[-1].message == "… and 10 more messages from ai_devops.scope.deny"


def test_compiled_once_per_bundle_content() -> None:
    """Equal bundles share one compiled form; changed content compiles anew."""
    text, _ = shared_policy()
    first = bundle_of(("s.rego", text))
    same = bundle_of(("s.rego", text))
    changed = bundle_of(("s.rego", text + "\n# edited\n"))
    document = policy_input(proposal_of(AI_PLAN), source=Source.AI_AGENT)
    evaluate(first, document)
    compiled = rego.prepared(first)
    assert rego.prepared(same) is compiled
    assert rego.prepared(changed) is not compiled
    assert evaluate(same, document) == evaluate(changed, document)


def test_no_proposal_document_still_gives_commander_facts() -> None:
    """A proposal without a raw document (built in code) is evaluated on input.commander alone."""
    prop = proposal_of(AI_PLAN).model_copy(update={"raw": None})
    document = policy_input(prop, source=Source.AI_AGENT)
    assert document["document"] is None
    assert evaluate(bundle_of(("s.rego", shared_policy()[0])), document) == []


LAZY = """
import json, sys
from pathlib import Path
from orchestrator.adapters.base import Submission
from orchestrator.review import ReviewRequest, run_review
from orchestrator.settings import Settings
config = Path(sys.argv[1]) if sys.argv[1] != "-" else None
run_review(ReviewRequest(path=sys.argv[2], submission=Submission(source="ai-agent", actor="x"),
    settings=Settings(database_url=sys.argv[3], config_dir=config, topology=None)))
print(json.dumps("regorus" in sys.modules))
"""


def test_the_engine_is_imported_only_when_the_bundle_has_rego(tmp_path: Path) -> None:
    """A config without .rego files never loads the engine; one with them does."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(AI_PLAN), encoding="utf-8")
    with_rego = tmp_path / "config"
    (with_rego / "policies").mkdir(parents=True)
    (with_rego / "policies" / "s.rego").write_text(shared_policy()[0], encoding="utf-8")
    seen = []
    for config in ("-", str(with_rego)):
        result = subprocess.run(
            [sys.executable, "-c", LAZY, config, str(plan), f"sqlite:///{tmp_path / 'a.db'}"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        seen.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert seen == [False, True]


def test_strings_with_quotes_and_escapes_round_trip() -> None:
    """Addresses like x["k"] compare equal to policy literals and come back intact in messages."""
    text = (
        "package p\nimport rego.v1\n"
        'deny contains msg if { msg := sprintf("IAM %v \\\\ tab\\t é \\"q\\"", [input.a]) }\n'
        'deny contains "equal" if input.a == "role[\\"k\\"]"\n'
    )
    results = evaluate(bundle_of(("p.rego", text)), {"a": 'role["k"]'})
    assert {r.message for r in results} == {'IAM role["k"] \\ tab\t é "q"', "equal"}


def test_a_quoted_instance_address_becomes_the_findings_resource() -> None:
    """A message naming a for_each instance in quotes points at that resource."""
    doc = planned([resource_change('aws_iam_role.r["repo-1"]', ["create"], after={"name": "x"})])
    bundle = PolicyBundle.from_sources([("policies/s.rego", shared_policy()[0], "s.rego")])
    ctx = ReviewContext(graph=DependencyGraph.empty(), catalog=CATALOG, policies=bundle)
    [finding] = assess(proposal_of(doc), ctx).findings
    assert finding.message == (
        "AI agent change blocked: IAM resource 'aws_iam_role.r[\"repo-1\"]' requires human review"
    )
    assert finding.resources == ('aws_iam_role.r["repo-1"]',)


CORPUS = corpus_files("terraform-plan", "*.json")


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS, reason="corpus not found: set COMMANDER_CORPUS_DIR")
def test_every_corpus_plan_evaluates_without_a_rego_error() -> None:
    """The shared policy and a rego.v1 policy run on every real plan (strict built-ins included)."""
    bundle = bundle_of(
        ("s.rego", shared_policy()[0]),
        ("c.rego", (FIXTURES / "conftest_v1.rego").read_text(encoding="utf-8")),
    )
    for path in CORPUS:
        prop = load_proposal(
            path.read_bytes(),
            str(path),
            Submission(source=Source.AI_AGENT, actor="corpus", environment="production"),
            kind="terraform",
        )
        for result in evaluate(bundle, policy_input(prop, source=Source.AI_AGENT)):
            assert result.message, path.name


MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: team-a}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "api:1.2"}]
"""

K8S_POLICY = """\
package k8s.basics
deny[msg] {
    input.kind == "Namespace"
    who := input.commander.actor
    msg := sprintf("namespace %v needs the platform team (%v)", [input.metadata.name, who])
}
deny[msg] {
    input.kind == "Deployment"
    not input.spec.template.spec.securityContext.runAsNonRoot
    msg := sprintf("Deployment %v must run as non-root", [input.metadata.name])
}
"""


def test_kubernetes_objects_are_evaluated_one_by_one_as_conftest_does() -> None:
    """Each manifest object is the input in turn, with input.commander beside its fields."""
    prop = load_proposal(
        MANIFESTS.encode(),
        "app.yaml",
        Submission(source=Source.AI_AGENT, actor="deploy-bot", environment="staging"),
        kind="kubernetes",
    )
    bundle = PolicyBundle.from_sources([("policies/k.rego", K8S_POLICY, "k.rego")])
    ctx = ReviewContext(graph=DependencyGraph.empty(), catalog=CATALOG, policies=bundle)
    verdict = assess(prop, ctx)
    messages = {f.message for f in verdict.findings if f.rule == "rego.k8s.basics.deny"}
    assert messages == {
        "namespace team-a needs the platform team (deploy-bot)",
        "Deployment api must run as non-root",
    }


COMPILE_CHECKS = [
    (
        "typo-in-a-branch-never-taken",
        "package p\nimport rego.v1\ndeny contains msg if {\n  input.never\n"
        '  msg := sprintff("x")\n}\n',
        "p.rego: line 5: rego compile error: unsupported built-in or undefined function sprintff",
    ),
    (
        "mutual-recursion",
        "package p\nimport rego.v1\nf(x) := g(x)\ng(x) := f(x)\ndeny contains f(1) if false\n",
        "p.rego: line 3: rego compile error: function data.p.f is recursive "
        "(data.p.f -> data.p.g -> data.p.f)",
    ),
    (
        "network",
        'package p\nimport rego.v1\ndeny contains "x" if http.send({"url": input.u}).status_code\n',
        "p.rego: line 3: rego compile error: http.send is not allowed",
    ),
    (
        "missing-library-function",
        "package p\nimport rego.v1\nimport data.lib\ndeny contains lib.name(1) if true\n",
        "p.rego: line 4: rego compile error: undefined function lib.name",
    ),
]


@pytest.mark.parametrize(
    ("text", "needle"), [c[1:] for c in COMPILE_CHECKS], ids=[c[0] for c in COMPILE_CHECKS]
)
def test_calls_are_resolved_at_compile_time_as_opa_does(text: str, needle: str) -> None:
    """Unknown functions, recursion and the network fail the compile, whatever the input."""
    with pytest.raises(RegoEvaluationError) as caught:
        evaluate(bundle_of(("p.rego", text)), {"commander": {}})
    assert str(caught.value).startswith(f"/cfg/policies/{needle}"), str(caught.value)


SLOW = """package slow
import rego.v1
deny contains "slow" if count([x | some x in numbers.range(1, 3000000); x % 7 == 0]) > 0
"""


def test_evaluation_longer_than_a_second_shows_progress_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No blank screen: after a second, a line a second says what is being evaluated."""
    results = evaluate(bundle_of(("slow.rego", SLOW)), {"commander": {}})
    assert [r.message for r in results] == ["slow"]
    err = capsys.readouterr().err
    assert "commander: Rego: 1 rules of 1 package, " in err
    assert "s so far" in err
    assert "commander: Rego: 1 rules of 1 package evaluated in " in err


def test_a_compiled_policy_collected_off_its_threads_drops_no_engine_there() -> None:
    """Engines made on a long-lived thread are not dropped by the thread that collects the policy.

    regorus engines are unsendable: dropped on another thread they raise (an
    "Exception ignored" at collection, a failed test under pytest).
    """
    import gc
    import queue
    import threading

    from orchestrator.policies.rego_engine import CompiledRego, RegoSource

    source = RegoSource(origin="t.rego", text="package t\n\nallow := input.x == 1\n")
    compiled: CompiledRego | None = CompiledRego([source])
    jobs: queue.Queue[CompiledRego | None] = queue.Queue()
    answers: queue.Queue[object] = queue.Queue()

    def pool_thread() -> None:  # a reviewer pool's thread: it outlives the policy
        while (policy := jobs.get()) is not None:
            answers.put(policy.evaluate({"x": 1}, ["data.t.allow"])["data.t.allow"])
            del policy

    worker = threading.Thread(target=pool_thread)
    worker.start()
    jobs.put(compiled)
    assert answers.get(timeout=30) is True
    unraised: list[object] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraised.append
    try:
        compiled = None
        gc.collect()
        jobs.put(CompiledRego([source]))  # the thread drops its stale engine itself
        assert answers.get(timeout=30) is True
    finally:
        jobs.put(None)
        worker.join(timeout=30)
        sys.unraisablehook = hook
    assert unraised == []
