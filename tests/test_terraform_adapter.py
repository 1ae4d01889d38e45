"""The Terraform / OpenTofu plan adapter against real plans and small hand-written ones."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission, load_proposal, read_input
from orchestrator.adapters.masking import SENSITIVE
from orchestrator.adapters.terraform import parse_plan
from orchestrator.errors import InputError
from orchestrator.models import Action, Environment, Proposal, Relation, Source

FIXTURES = Path(__file__).parent / "fixtures" / "terraform"
SUBMISSION = Submission(source=Source.AI_AGENT, actor="agent-7", intent="rotate keys")


def _corpus_dir() -> Path:
    root = os.environ.get("COMMANDER_CORPUS_DIR")
    base = Path(root) if root else Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    return base / "terraform-plan"


CORPUS = _corpus_dir()
CORPUS_FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
corpus_files = pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem) for p in CORPUS_FILES]
    or [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not found at {CORPUS}"))],
)


def load(path: Path, submission: Submission = SUBMISSION) -> Proposal:
    data, origin = read_input(str(path), max_bytes=1 << 30)
    return load_proposal(data, origin, submission)


def corpus(name: str) -> Proposal:
    path = CORPUS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"corpus file {path} not found")
    return load(path)


def change(proposal: Proposal, address: str) -> Any:
    return next(c for c in proposal.changes if c.address == address)


def marked_strings(value: Any, mask: Any) -> Iterator[str]:
    """Every string a sensitivity mirror marks, found independently of the adapter."""
    if isinstance(mask, dict) and isinstance(value, dict):
        for key, child in mask.items():
            yield from marked_strings(value.get(key), child)
    elif isinstance(mask, list) and isinstance(value, list):
        for item, child in zip(value, mask, strict=False):
            yield from marked_strings(item, child)
    elif mask is True:
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                yield node
            elif isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)


def plan_secrets(plan: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for entry in plan.get("resource_changes") or []:
        c = entry["change"]
        found.update(marked_strings(c.get("before"), c.get("before_sensitive")))
        found.update(marked_strings(c.get("after"), c.get("after_sensitive")))
    for c in (plan.get("output_changes") or {}).values():
        found.update(marked_strings(c.get("before"), c.get("before_sensitive")))
        found.update(marked_strings(c.get("after"), c.get("after_sensitive")))
    modules = [(plan.get("planned_values") or {}).get("root_module") or {}]
    while modules:
        module = modules.pop()
        for resource in module.get("resources") or []:
            found.update(marked_strings(resource.get("values"), resource.get("sensitive_values")))
        modules.extend(module.get("child_modules") or [])
    return found


def read_plan(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    result: dict[str, Any] = json.loads(raw.decode(encoding))
    return result


# --- every real plan --------------------------------------------------------------------


@pytest.mark.corpus
@corpus_files
def test_every_corpus_plan_parses_with_a_stable_digest(path: Path) -> None:
    """Every published plan shape reads into a Proposal, and reading it twice gives one digest."""
    first, second = load(path), load(path)
    assert first.kind == "terraform"
    assert first.digest() == second.digest()
    assert first.input_name == str(path)
    assert len(first.changes) == len(read_plan(path).get("resource_changes") or [])


@pytest.mark.corpus
@corpus_files
def test_no_value_a_plan_marks_sensitive_survives(path: Path) -> None:
    """Values Terraform marks sensitive appear nowhere in the model or the audit copy."""
    proposal = load(path)
    dumped = proposal.model_dump_json() + json.dumps(proposal.raw)
    leaked = sorted(
        secret for secret in plan_secrets(read_plan(path))
        if len(secret) >= 6 and json.dumps(secret) in dumped
    )  # fmt: skip
    assert leaked == []


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "secrets"),
    [
        ("bridgecrewio__checkov__tfplan-55-creates", ["AKIAIOSFODNN7EXAMAAA", "EXAMAAAKEY"]),
        ("bridgecrewio__checkov__tfplan-55-creates", ["AKIAIOSFODNN7EXAMPLE", "EXAMPLEKEY"]),
        ("infracost__infracost__tf014-mixed-modules", ["YourPwdShouldBeLongAndSecure!"]),
        ("snyk__policy-engine__rds-sensitive-password", ["foobarbaz"]),
        ("opentofu__opentofu__show-json-sensitive-values", ['"boop"']),
    ],
)
def test_known_corpus_credentials_are_masked_everywhere(name: str, secrets: list[str]) -> None:
    """Fake keys in user_data and cleartext passwords of old plans never reach the Proposal."""
    proposal = corpus(name)
    dumped = proposal.model_dump_json() + json.dumps(proposal.raw)
    assert [s for s in secrets if s in dumped] == []
    assert SENSITIVE in dumped


# --- semantics of named corpus plans ----------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "address", "action", "order", "raw_actions"),
    [
        ("Azure__tfplandoc__destroy-modify", "terraform_data.one", Action.REPLACE,
         "delete-before-create", ("delete", "create")),
        ("bridgecrewio__checkov__create-before-destroy-secret", "aws_secretsmanager_secret.default",
         Action.REPLACE, "create-before-destroy", ("create", "delete")),
        ("Azure__tfplandoc__destroy-modify", "terraform_data.three", Action.UPDATE, None,
         ("update",)),
        ("Azure__tfplandoc__destroy-modify", "terraform_data.two", Action.DELETE, None,
         ("delete",)),
        ("borchero__terraform-plan-comment__forget-removed-block", "local_file.test2",
         Action.FORGET, None, ("forget",)),
    ],
)  # fmt: skip
def test_actions_map_to_the_terraform_meaning(
    name: str, address: str, action: Action, order: str | None, raw_actions: tuple[str, ...]
) -> None:
    """Both replace orders, forget, update and delete come out as Terraform means them."""
    found = change(corpus(name), address)
    assert (found.action, found.replace_order, found.raw_actions) == (action, order, raw_actions)


@pytest.mark.corpus
def test_moved_resource_keeps_its_previous_address() -> None:
    """A `moved` block shows as a no-op with the address it moved from."""
    found = change(
        corpus("cds-snc__terraform-plan__moved-iam-attachment"),
        "aws_iam_role_policy_attachment.platform_data_lake_export",
    )
    assert found.action is Action.NOOP
    assert found.previous_address == "aws_iam_role_policy_attachment.platform_data_lake_export[0]"
    assert found.action_reason == "resource_moved"


@pytest.mark.corpus
def test_import_blocks_mark_changes_as_importing() -> None:
    """Resources adopted through `import` blocks are flagged, plain creates are not."""
    proposal = corpus("cds-snc__terraform-plan__import-blocks")
    importing = {c.address: c.importing for c in proposal.changes}
    assert importing == {
        "aws_cloudwatch_log_group.controltower-notificationforwarder": True,
        "aws_cloudwatch_log_group.topic": False,
        "aws_sns_topic.controltower-notificationforwarder": True,
    }


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "address", "reason"),
    [
        ("Azure__tfplandoc__destroy-modify", "terraform_data.two",
         "delete_because_no_resource_config"),
        ("bridgecrewio__checkov__oidc-iam-for-each",
         'module.poc.data.aws_iam_policy_document.r4["p1"]', "read_because_dependency_pending"),
        ("hashicorp__terraform-json__action-reason-tainted", "null_resource.example",
         "replace_because_tainted"),
    ],
)  # fmt: skip
def test_action_reason_is_kept(name: str, address: str, reason: str) -> None:
    """Why Terraform chose an action (no config, tainted, deferred read) reaches reviewers."""
    assert change(corpus(name), address).action_reason == reason


@pytest.mark.corpus
def test_data_source_reads_are_inert_reads() -> None:
    """Data sources read at apply time are READ changes in data mode, never effective changes."""
    proposal = corpus("bridgecrewio__checkov__oidc-iam-for-each")
    reads = [c for c in proposal.changes if c.action is Action.READ]
    assert len(reads) == 4
    assert all(c.mode == "data" and c.is_inert for c in reads)
    assert {c.action_reason for c in reads} == {
        "read_because_dependency_pending",
        "read_because_config_unknown",
    }


@pytest.mark.corpus
def test_replace_paths_name_the_attribute_forcing_replacement() -> None:
    """replace_paths say which attribute forces a replace."""
    found = change(corpus("opentofu__opentofu__show-json-requires-replace"), "test_instance.test")
    assert found.replace_paths == (("ami",),)
    assert found.action_reason == "replace_because_cannot_update"


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "address", "paths"),
    [
        ("snyk__policy-engine__rds-sensitive-password", "aws_db_instance.default", ("password",)),
        ("opentofu__opentofu__show-json-sensitive-values", "test_instance.test", ("ami",)),
        ("ovsds__tf-plan-format__replace-sensitive", "random_bytes.test", ("base64", "hex")),
    ],
)
def test_sensitive_attributes_are_masked_and_listed(
    name: str, address: str, paths: tuple[str, ...]
) -> None:
    """Attributes marked sensitive are masked in before/after and named in sensitive_paths."""
    found = change(corpus(name), address)
    assert found.sensitive_paths == paths
    for side in (found.before, found.after):
        if isinstance(side, dict):
            for path in paths:
                assert side.get(path) in (SENSITIVE, None)


@pytest.mark.corpus
def test_windows_utf16_plan_is_read() -> None:
    """A plan saved by PowerShell as UTF-16LE with a BOM reads like any other."""
    proposal = corpus("bridgecrewio__checkov__tfplan-win-utf16")
    assert [c.type for c in proposal.changes] == ["aws_s3_bucket"]
    assert proposal.tool_version == "1.2.2"


@pytest.mark.corpus
def test_empty_plan_has_no_changes_and_is_judgeable() -> None:
    """A plan without resource_changes is an empty, complete proposal."""
    proposal = corpus("ovsds__tf-plan-format__empty-plan")
    assert proposal.changes == ()
    assert proposal.status.judgeable
    assert proposal.raw["variables"] == {"bar": {"value": 1}}


@pytest.mark.corpus
def test_errored_plan_cannot_be_judged() -> None:
    """A plan Terraform could not finish is marked errored, so it can never be approved."""
    proposal = corpus("opentofu__opentofu__show-json-plan-error")
    assert proposal.changes == ()
    assert proposal.status.errored
    assert not proposal.status.judgeable


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "relation"),
    [
        ("bridgecrewio__checkov__nested-child-modules",
         Relation(source="aws_s3_bucket.root_bucket",
                  target="aws_s3_bucket_public_access_block.root", kind="reference")),
        ("bridgecrewio__checkov__nested-child-modules",
         Relation(source="module.s3_module.module.s3_submodule.aws_s3_bucket.submodule_bucket",
                  target="module.s3_module.module.s3_submodule."
                         "aws_s3_bucket_public_access_block.submodule_bucket", kind="reference")),
        ("hashicorp__terraform-json__replace-depends-on",
         Relation(source="null_resource.foo", target="null_resource.bar", kind="depends_on")),
        ("terraform-compliance__cli__azurerm-random-modules",
         Relation(source="azurerm_subnet.internal",
                  target="module.linuxservers-fail.azurerm_network_interface.vm[0]",
                  kind="reference")),
        ("bridgecrewio__checkov__oidc-iam-for-each",
         Relation(source='module.poc.data.aws_iam_policy_document.r3["p1"]',
                  target='module.poc.aws_iam_role.r1["p1"]', kind="reference")),
    ],
)  # fmt: skip
def test_configuration_references_become_relations(name: str, relation: Relation) -> None:
    """References in `configuration`, through modules and variables, link changed resources."""
    assert relation in corpus(name).relations


@pytest.mark.corpus
def test_for_each_references_pair_instances_one_to_one() -> None:
    """`x[each.key]` links p1 to p1, not to every instance of x."""
    relations = corpus("bridgecrewio__checkov__oidc-iam-for-each").relations
    assert (
        Relation(
            source='module.poc.data.aws_iam_policy_document.r3["p2"]',
            target='module.poc.aws_iam_role.r1["p1"]',
            kind="reference",
        )
        not in relations
    )


@pytest.mark.corpus
def test_drift_is_noted() -> None:
    """Changes made outside Terraform are reported in the status notes."""
    status = corpus("dineshba__tf-summarize__github-provider").status
    assert "3 resources drifted outside Terraform" in status.notes


@pytest.mark.corpus
def test_iam_policy_text_is_not_mistaken_for_a_secret() -> None:
    """OIDC trust policies stay readable: reviewers must see who may assume a role."""
    dumped = corpus("bridgecrewio__checkov__oidc-iam-for-each").model_dump_json()
    readable = [
        "sts:AssumeRoleWithWebIdentity",
        "system:serviceaccount:p1:default",
        "accounts.google.com:sub",
        "cognito-identity.amazonaws.com",
    ]
    assert [text for text in readable if text not in dumped] == []


# --- hand-written fixtures --------------------------------------------------------------


def test_populations_count_existing_managed_resources_per_type() -> None:
    """Populations count state resources (all modules, no data, no deposed) or changed ones."""
    proposal = load(FIXTURES / "populations.json")
    assert proposal.populations == {"aws_iam_role": 1, "aws_route": 5, "aws_s3_bucket": 1}


def test_relations_resolve_modules_variables_keys_and_providers() -> None:
    """Outputs, inputs, for_each pairing, literal keys, depends_on and providers resolve exactly."""
    relations = load(FIXTURES / "relations.json").relations
    edges = {(r.source, r.target, r.kind) for r in relations}
    app = 'module.app["a"]'
    assert len(relations) == 44
    assert list(relations) == sorted(relations, key=lambda r: (r.source, r.target, r.kind))
    expected = {
        ("aws_kms_key.k[1]", "aws_s3_bucket.logs", "reference"),
        (f"{app}.aws_lb.main", "aws_route53_record.www", "reference"),
        ("aws_eks_cluster.main", "kubernetes_namespace.ns", "reference"),
        ("aws_iam_policy.boundary", f"{app}.aws_iam_role.svc", "reference"),
        (f'{app}.aws_lb_target_group.tg["http"]', f'{app}.aws_lb_listener.l["http"]', "reference"),
        (f"{app}.aws_iam_role.svc", f"{app}.module.inner.aws_sqs_queue.q", "reference"),
        ("aws_eks_cluster.main", f"{app}.module.inner.aws_sqs_queue.q", "depends_on"),
        (f"{app}.module.inner.aws_sqs_queue.q", "null_resource.after", "depends_on"),
    }
    assert expected <= edges
    unexpected = {
        ("aws_kms_key.k[0]", "aws_s3_bucket.logs", "reference"),
        (f"{app}.aws_iam_role.svc", "aws_route53_record.www", "reference"),
        (f'{app}.aws_lb_target_group.tg["https"]', f'{app}.aws_lb_listener.l["http"]', "reference"),
        ('module.app["b"].aws_lb.main', f'{app}.aws_lb_listener.l["http"]', "reference"),
    }
    assert not unexpected & edges


def test_reference_cycles_in_crafted_configuration_end() -> None:
    """An output and an input that refer to each other resolve to nothing instead of looping."""
    plan = {
        "format_version": "1.2",
        "planned_values": {},
        "resource_changes": [
            {"address": "module.a.null_resource.x", "mode": "managed", "type": "null_resource",
             "name": "x", "change": {"actions": ["create"], "before": None, "after": {}}},
        ],
        "configuration": {"root_module": {"module_calls": {"a": {
            "expressions": {"v": {"references": ["module.a.o"]}},
            "module": {
                "outputs": {"o": {"expression": {"references": ["var.v"]}}},
                "resources": [{"address": "null_resource.x",
                               "expressions": {"t": {"references": ["var.v"]}}}],
            },
        }}}},
    }  # fmt: skip
    assert parse_plan(json.dumps(plan), "cycle.json", SUBMISSION).relations == ()


def test_secrets_of_unmarked_old_plans_are_masked() -> None:
    """Passwords, keys, URLs with passwords and copies of marked values are masked everywhere."""
    proposal = load(FIXTURES / "secrets.json")
    dumped = proposal.model_dump_json() + json.dumps(proposal.raw)
    for secret in [
        "Plain-Db-Pass-0001", "Old-Db-Pass-0000", "Url-Embedded-Pass-0", "AKIAZZZZFAKE0EXAMPLE",
        "zzFakeSecretKeyForTests", "quoted secret", "tag-token-value", "b3BlbnNzaC1rZXktdjE",
        "marked-sensitive-dsn-42", "var-Pa55word", "out-T0ken",
    ]:  # fmt: skip
        assert secret not in dumped
    web = change(proposal, "aws_instance.web")
    assert web.sensitive_paths == ("ssh_key", "tags.ApiToken", "user_data")
    assert "systemctl start app" in web.after["user_data"]
    assert "secretsmanager:GetSecretValue" in dumped
    assert proposal.raw["variables"]["region"] == {"value": "eu-west-1"}


def test_status_reports_deferrals_drift_actions_and_failed_checks() -> None:
    """Anything that makes a plan less than the whole truth is in the status."""
    proposal = load(FIXTURES / "status.json")
    assert not proposal.status.judgeable
    assert proposal.status.complete is False
    assert proposal.status.deferred_changes == 1
    assert proposal.status.notes == (
        "1 resource change deferred to a later plan (provider_config_unknown)",
        "1 resource drifted outside Terraform",
        "plan has action_invocations: 1 action will run on apply, outside this review",
        "check failed: check.health",
    )
    dumped = json.dumps(proposal.raw)
    assert "deferred-token-123" not in dumped
    assert "hook-payload-secret-77" not in dumped


def test_create_then_forget_is_a_replace_that_keeps_the_old_object() -> None:
    """`destroy = false` replaces show as REPLACE with their raw actions and no destroy order."""
    found = change(load(FIXTURES / "status.json"), "aws_instance.legacy")
    assert (found.action, found.raw_actions, found.replace_order) == (
        Action.REPLACE,
        ("create", "forget"),
        None,
    )


@pytest.mark.parametrize(
    ("given", "environment", "name"),
    [
        (None, Environment.PRODUCTION, "production"),
        ("stg", Environment.STAGING, "stg"),
        ("qa-7", Environment.PRODUCTION, "qa-7"),
    ],
)
def test_submission_is_carried_into_the_proposal(
    given: str | None, environment: Environment, name: str
) -> None:
    """Source, actor, intent and environment come from the submission, unknown names as prod."""
    submission = Submission(source=Source.HUMAN, actor="ana", intent="x", environment=given)
    proposal = load(FIXTURES / "populations.json", submission)
    assert (proposal.source, proposal.actor, proposal.intent) == (Source.HUMAN, "ana", "x")
    assert (proposal.environment, proposal.environment_name) == (environment, name)
    assert (proposal.format_version, proposal.tool_version) == ("1.2", "1.9.5")


def test_explicit_kind_reads_a_plan_detection_would_miss() -> None:
    """--kind terraform reads a plan even when it carries no key auto-detection looks for."""
    text = json.dumps({"format_version": "1.0", "resource_changes": []}).encode()
    assert load_proposal(text, "p.json", SUBMISSION, kind="terraform").changes == ()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("kubernetes", "no kind: every Kubernetes object needs one"),
        ("sql", "no SQL statement can be reviewed"),
    ],
)
def test_forced_kind_that_does_not_fit_fails_closed(kind: str, message: str) -> None:
    """Forcing --kind onto content of another kind is an input error, never an empty approval."""
    with pytest.raises(InputError, match=message):
        load_proposal(b"apiVersion: v1\n", "m.yaml", SUBMISSION, kind=kind)


def test_large_plan_links_every_pair_without_blowing_up() -> None:
    """A 2,000-change plan with count-indexed references gives one edge per pair, sorted."""
    size = 1000
    changes = [
        {"address": f"{kind}.x[{i}]", "mode": "managed", "type": kind, "name": "x", "index": i,
         "change": {"actions": ["create"], "before": None, "after": {"n": i}}}
        for kind in ("aws_eip", "aws_instance") for i in range(size)
    ]  # fmt: skip
    resources = [
        {"address": "aws_instance.x", "count_expression": {"constant_value": size}},
        {"address": "aws_eip.x", "count_expression": {"constant_value": size},
         "expressions": {"instance": {"references": [
             "aws_instance.x[count.index].id", "aws_instance.x", "count.index"]}}},
    ]  # fmt: skip
    plan = {
        "format_version": "1.2",
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": resources}},
    }
    relations = parse_plan(json.dumps(plan), "big.json", SUBMISSION).relations
    assert len(relations) == size
    assert relations[0] == Relation(
        source="aws_instance.x[0]", target="aws_eip.x[0]", kind="reference"
    )
