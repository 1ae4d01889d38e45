"""Four real Terraform policies, run unchanged, decide as OPA decides.

The issue's four: conftest's own `examples/terraform` policy (old syntax and
its rego.v1 form in conftest's `examples/hcl1`), the policy of OPA's
Terraform tutorial (docs: openpolicyagent.org/docs/terraform, queried as
`authz`), a TACO policy reading `input.tfplan` (our equivalent of Scalr's
`management/denied_provisioners` sample), and the `some i` idiom that the
old engine evaluated to nothing. The documentation examples are embedded
as published; what OPA answers for each was checked with OPA itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import ConfigError
from orchestrator.graph import DependencyGraph
from orchestrator.models import Source
from orchestrator.policies import PolicyBundle
from orchestrator.policies.rego import evaluate_proposal, policy_input, prepared
from orchestrator.reviewer import ReviewContext
from orchestrator.testing import plan_document, resource_change
from reviewers.policy import assess
from tests.test_rego import CATALOG, proposal_of

# conftest examples/terraform/policy/base.rego, as published (old syntax)
CONFTEST_V0 = """package main


blacklist = [
  "google_iam",
  "google_container"
]

deny[msg] {
  check_resources(input.resource_changes, blacklist)
  banned := concat(", ", blacklist)
  msg = sprintf("Terraform plan will change prohibited resources in the following namespaces: %v", [banned])
}

# Checks whether the plan will cause resources with certain prefixes to change
check_resources(resources, disallowed_prefixes) {
  startswith(resources[_].type, disallowed_prefixes[_])
}
"""  # noqa: E501 - as published

# conftest examples/hcl1/policy/base.rego: the same policy in rego.v1
CONFTEST_V1 = """package main
import rego.v1

denylist := [
\t"google_iam",
\t"google_container",
]

deny contains msg if {
\tcheck_resources(input.resource_changes, denylist)
\tbanned := concat(", ", denylist)
\tmsg := sprintf("Terraform plan will change prohibited resources in the following namespaces: %v", [banned])
}

# Checks whether the plan will cause resources with certain prefixes to change
check_resources(resources, disallowed_prefixes) if {
\tstartswith(resources[_].type, disallowed_prefixes[_])
}
"""  # noqa: E501 - as published

# OPA's Terraform tutorial, policy/terraform.rego, as published
OPA_TUTORIAL = """package terraform.analysis

import input as tfplan

########################
# Parameters for Policy
########################

# acceptable score for automated authorization
blast_radius := 30

# weights assigned for each operation on each resource-type
weights := {
  "aws_autoscaling_group": {"delete": 100, "create": 10, "modify": 1},
  "aws_instance": {"delete": 10, "create": 1, "modify": 1},
}

# Consider exactly these resource types in calculations
resource_types := {"aws_autoscaling_group", "aws_instance", "aws_iam", "aws_launch_configuration"}

#########
# Policy
#########

# Authorization holds if score for the plan is acceptable and no changes are made to IAM
default authz := false

authz if {
  score < blast_radius
  not touches_iam
}

# Compute the score for a Terraform plan as the weighted sum of deletions, creations, modifications
score := s if {
  all_resources := [x |
    some resource_type, crud in weights

    del := crud.delete * num_deletes[resource_type]
    new := crud.create * num_creates[resource_type]
    mod := crud.modify * num_modifies[resource_type]
    x := (del + new) + mod
  ]
  s := sum(all_resources)
}

# Whether there is any change to IAM
touches_iam if {
  all_resources := resources.aws_iam
  count(all_resources) > 0
}

####################
# Terraform Library
####################

# list of all resources of a given type
resources[resource_type] := all_resources if {
  some resource_type, _ in resource_types

  all_resources := [name |
    some name in tfplan.resource_changes
    name.type == resource_type
  ]
}

# number of creations of resources of a given type
num_creates[resource_type] := num if {
  some resource_type, _ in resource_types

  all_resources := resources[resource_type]
  creates := [res |
    some res in all_resources
    "create" in res.change.actions
  ]
  num := count(creates)
}

# number of deletions of resources of a given type
num_deletes[resource_type] := num if {
  some resource_type, _ in resource_types

  all_resources := resources[resource_type]

  deletions := [res |
    some res in all_resources
    "delete" in res.change.actions
  ]
  num := count(deletions)
}

# number of modifications to resources of a given type
num_modifies[resource_type] := num if {
  some resource_type, _ in resource_types

  all_resources := resources[resource_type]

  modifies := [res |
    some res in all_resources
    "update" in res.change.actions
  ]
  num := count(modifies)
}
"""

# Our own policy in the shape of Scalr's denied_provisioners sample: package
# terraform, the plan under input.tfplan, module calls walked for provisioners.
TACO_TFPLAN = """package terraform

import rego.v1

import input.tfplan as tfplan

denied_provisioners := ["local-exec"]

module_name(path) := name if {
\tname := sprintf("module.%s", [path[count(path) - 2]])
} else := "root-module"

deny contains reason if {
\twalk(tfplan.configuration.root_module, [path, value])
\tresource := value.resources[_]
\tprovisioner := resource.provisioners[_]
\tprovisioner.type in denied_provisioners
\treason := sprintf("%s.%s: provisioner of type %s is not allowed",
\t\t[module_name(path), resource.address, provisioner.type])
}
"""

FAIL_OPEN_IDIOM = """package staging.guard

deny[msg] {
  input.commander.environment == "staging"
  some i
  startswith(input.resource_changes[i].type, "aws_iam")
  msg := sprintf("IAM change in staging needs a person: %s", [input.resource_changes[i].address])
}
"""


def bundle(policies: dict[str, str]) -> PolicyBundle:
    """A bundle of policy files (name -> text), as a config folder would give them."""
    return PolicyBundle.from_sources(
        [(f"policies/{name}", text, f"/cfg/policies/{name}") for name, text in policies.items()]
    )


def messages(policies: dict[str, str], doc: dict[str, Any], env: str = "prod") -> list[str]:
    """What the policies' entry rules say of a plan, sorted."""
    results = evaluate_proposal(bundle(policies), proposal_of(doc, env=env), source=Source.HUMAN)
    return sorted(r.message for r in results)


def verdict_of(policies: dict[str, str], doc: dict[str, Any], env: str = "prod") -> Any:
    """The policy reviewer's verdict on a plan from a person."""
    ctx = ReviewContext(graph=DependencyGraph.empty(), catalog=CATALOG, policies=bundle(policies))
    return assess(proposal_of(doc, Source.HUMAN, env=env), ctx)


GKE_PLAN = plan_document(
    [
        resource_change(
            "google_container_cluster.main",
            ["create"],
            after={"name": "c"},
            provider="registry.terraform.io/hashicorp/google",
        ),
        resource_change("aws_s3_bucket.logs", ["create"], after={"bucket": "l"}),
    ]
)
BUCKET_PLAN = plan_document(
    [resource_change("aws_s3_bucket.logs", ["create"], after={"bucket": "l"})]
)
CONFTEST_MESSAGE = (
    "Terraform plan will change prohibited resources in the following namespaces: "
    "google_iam, google_container"
)


@pytest.mark.parametrize("text", [CONFTEST_V0, CONFTEST_V1], ids=["old-syntax", "rego.v1"])
def test_conftests_example_policy_denies_a_prohibited_namespace(text: str) -> None:
    """`startswith(resources[_].type, prefixes[_])` in a call: denies google_container, blocks."""
    assert messages({"base.rego": text}, GKE_PLAN) == [CONFTEST_MESSAGE]
    assert messages({"base.rego": text}, BUCKET_PLAN) == []
    verdict = verdict_of({"base.rego": text}, GKE_PLAN)
    assert verdict.error is None
    assert verdict.stance == "block"
    assert [f.rule for f in verdict.findings] == ["rego.main.deny"]


def tutorial_plan(*changes: tuple[str, str]) -> dict[str, Any]:
    """A plan of (address, action) pairs, as in the tutorial's tfplan.json."""
    return plan_document([resource_change(a, [act], after={"n": a}) for a, act in changes])


TUTORIAL_SETTINGS = "rego:\n  terraform.analysis: {allow: [authz]}\n"
SMALL = tutorial_plan(
    ("aws_autoscaling_group.my_asg", "create"),
    ("aws_instance.web", "create"),
    ("aws_launch_configuration.my_web_config", "create"),
)
LARGE = tutorial_plan(
    ("aws_autoscaling_group.my_asg", "create"),
    ("aws_autoscaling_group.my_asg2", "create"),
    ("aws_autoscaling_group.my_asg3", "create"),
    ("aws_instance.web", "create"),
)


def test_opas_terraform_tutorial_scores_and_authorises_as_documented() -> None:
    """The tutorial's plan scores 11 and is authorised; three ASGs score 31 and are not."""
    tutorial = bundle({"terraform.rego": OPA_TUTORIAL, "tutorial.yaml": TUTORIAL_SETTINGS})
    compiled = prepared(tutorial).compiled
    small = policy_input(proposal_of(SMALL), source=Source.HUMAN)
    large = policy_input(proposal_of(LARGE), source=Source.HUMAN)
    refs = ["data.terraform.analysis.score", "data.terraform.analysis.authz"]
    assert list(compiled.evaluate(small, refs).values()) == [11, True]
    assert list(compiled.evaluate(large, refs).values()) == [31, False]


def test_the_tutorials_authz_decides_when_named_as_an_allow_rule() -> None:
    """With `allow: [authz]` the small plan raises nothing and the large one is denied."""
    policies = {"terraform.rego": OPA_TUTORIAL, "tutorial.yaml": TUTORIAL_SETTINGS}
    assert messages(policies, SMALL) == []
    assert messages(policies, LARGE) == [
        "data.terraform.analysis.authz is false, not true: the policy does not allow this"
    ]
    assert verdict_of(policies, LARGE).stance == "block"


def test_a_tutorial_policy_without_entry_rules_is_a_configuration_error() -> None:
    """Alone, the tutorial has no deny/violation/warn: load fails instead of passing silently."""
    with pytest.raises(ConfigError) as caught:
        bundle({"terraform.rego": OPA_TUTORIAL})
    assert "no Rego rule to query" in str(caught.value)
    assert "/cfg/policies/terraform.rego" in str(caught.value)


def with_provisioner(kind: str) -> dict[str, Any]:
    """A plan whose configuration has a resource (in a module) with a provisioner."""
    doc = plan_document([resource_change("aws_instance.web", ["create"], after={"ami": "a"})])
    doc["configuration"] = {
        "root_module": {
            "resources": [{"address": "aws_instance.web", "type": "aws_instance"}],
            "module_calls": {
                "boot": {
                    "module": {
                        "resources": [
                            {
                                "address": "null_resource.setup",
                                "provisioners": [{"type": kind}],
                            }
                        ]
                    }
                }
            },
        }
    }
    return doc


def test_a_taco_policy_on_input_tfplan_denies_a_local_exec_provisioner() -> None:
    """The plan is also under input.tfplan: a local-exec in a module is denied, not approved."""
    assert messages({"provisioners.rego": TACO_TFPLAN}, with_provisioner("local-exec")) == [
        "module.boot.null_resource.setup: provisioner of type local-exec is not allowed"
    ]
    assert messages({"provisioners.rego": TACO_TFPLAN}, with_provisioner("remote-exec")) == []
    verdict = verdict_of({"provisioners.rego": TACO_TFPLAN}, with_provisioner("local-exec"))
    assert verdict.stance == "block"


IAM_PLAN = plan_document(
    [
        resource_change("aws_iam_role.ci", ["create"], after={"name": "ci"}),
        resource_change("aws_s3_bucket.logs", ["create"], after={"bucket": "l"}),
    ]
)


def test_the_some_i_idiom_fires_where_the_old_engine_returned_nothing() -> None:
    """`some i; startswith(input.resource_changes[i].type, ...)` denies an IAM change in staging."""
    policies = {"guard.rego": FAIL_OPEN_IDIOM}
    assert messages(policies, IAM_PLAN, env="staging") == [
        "IAM change in staging needs a person: aws_iam_role.ci"
    ]
    assert messages(policies, IAM_PLAN, env="prod") == []
    verdict = verdict_of(policies, IAM_PLAN, env="staging")
    assert verdict.stance == "block"


def test_a_taco_policy_blocks_the_review_end_to_end(run_cli: Any, tmp_path: Path) -> None:
    """Through the real CLI: the local-exec plan is rejected, naming the provisioner."""
    config = tmp_path / "config" / "policies"
    config.mkdir(parents=True)
    (config / "provisioners.rego").write_text(TACO_TFPLAN, encoding="utf-8")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(with_provisioner("local-exec")), encoding="utf-8")
    result = run_cli(
        "review", str(plan), "--config", str(config.parent), "--output", "json",
        "--environment", "staging", "--source", "human", "--actor", "alice",
    )  # fmt: skip
    decision = json.loads(result.stdout)
    assert result.code == 4, result.stderr
    assert decision["outcome"] == "reject"
    assert "hard-denial:rego.terraform.deny" in decision["rules_fired"]
