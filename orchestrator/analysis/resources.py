"""Which resource types carry grants or exposure, and how one state of each is read.

`reader_for(type)` answers once per type (cached), so a 10,000-change plan
costs a dictionary look-up per change; only the types below are read at all.
A reader turns one state (a plan's `before` or `after`, or the values an HCL
block sets) into facts. `generic` types are IAM or exposure whatever changes
in them (a role, a security group); the others (a bucket, an instance) only
when what they grant or expose differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from orchestrator.analysis import exposure, iam_aws, iam_cloud
from orchestrator.analysis.access import AccessKind, Fact, Family
from orchestrator.analysis.values import dicts, strings

# AWS attributes holding a policy document, by type ("*" for any other type read here).
POLICY_ATTRIBUTES: Final[dict[str, tuple[str, ...]]] = {
    "aws_iam_role": ("assume_role_policy",),
    "aws_opensearch_domain": ("access_policies",),
    "aws_opensearch_domain_policy": ("access_policies",),
    "aws_elasticsearch_domain": ("access_policies",),
    "aws_elasticsearch_domain_policy": ("access_policies",),
    "aws_glacier_vault": ("access_policy",),
    "aws_cloudwatch_log_resource_policy": ("policy_document",),
    "*": ("policy",),
}
TRUST_ATTRIBUTE: Final = "assume_role_policy"
# Resource policies: every change to one is an IAM change.
AWS_RESOURCE_POLICIES: Final = frozenset(
    {
        "aws_s3_bucket_policy",
        "aws_s3_access_point",
        "aws_s3control_access_point_policy",
        "aws_sqs_queue_policy",
        "aws_sns_topic_policy",
        "aws_kms_key_policy",
        "aws_secretsmanager_secret_policy",
        "aws_ecr_repository_policy",
        "aws_ecr_registry_policy",
        "aws_elasticsearch_domain_policy",
        "aws_opensearch_domain_policy",
        "aws_api_gateway_rest_api_policy",
        "aws_backup_vault_policy",
        "aws_efs_file_system_policy",
        "aws_cloudwatch_log_resource_policy",
        "aws_dynamodb_resource_policy",
        "aws_glacier_vault_lock",
        "aws_vpc_endpoint_policy",
    }
)
# Types that carry a policy among other things: IAM only when it changes.
AWS_POLICY_HOLDERS: Final = frozenset(
    {
        "aws_s3_bucket",
        "aws_sqs_queue",
        "aws_sns_topic",
        "aws_kms_key",
        "aws_secretsmanager_secret",
        "aws_opensearch_domain",
        "aws_elasticsearch_domain",
        "aws_glacier_vault",
        "aws_vpc_endpoint",
    }
)
_SECURITY_GROUPS: Final = frozenset(
    {
        "aws_security_group",
        "aws_default_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_network_acl",
        "aws_default_network_acl",
        "aws_network_acl_rule",
    }
)
_PUBLIC_GENERIC: Final = frozenset(
    {
        "aws_eip",
        "azurerm_public_ip",
        "azurerm_public_ip_prefix",
        "google_compute_address",
        "google_compute_global_address",
        "aws_lb",
        "aws_alb",
        "aws_elb",
        "azurerm_lb",
        "google_compute_forwarding_rule",
        "google_compute_global_forwarding_rule",
        "aws_s3_bucket_public_access_block",
        "aws_s3_account_public_access_block",
        "aws_s3_bucket_acl",
    }
)
_PUBLIC_WHEN_CHANGED: Final = frozenset(
    {
        "aws_instance",
        "aws_subnet",
        "aws_db_instance",
        "aws_rds_cluster_instance",
        "google_compute_instance",
    }
)
DOCUMENT_TYPES: Final = frozenset({"aws_iam_policy_document", "google_iam_policy"})

StateReader = Callable[[dict[str, Any], int | None], list[Fact]]


@dataclass(frozen=True, slots=True)
class Reader:
    """How to read one resource type: its family, its facts, whether every change counts."""

    family: Family
    facts: StateReader
    generic: bool
    policy_attributes: tuple[str, ...] = ()
    # AWS types: every policy statement of a state, for comparing OIDC trust conditions
    statements: Callable[[dict[str, Any]], list[iam_aws.Statement]] | None = None


@lru_cache(maxsize=4096)
def reader_for(resource_type: str) -> Reader | None:
    """The reader of a managed resource type, or None when it grants and exposes nothing."""
    if resource_type.startswith("aws_iam_") or resource_type in AWS_RESOURCE_POLICIES:
        return _aws_reader(resource_type, generic=True)
    if resource_type in AWS_POLICY_HOLDERS:
        reader = _aws_reader(resource_type, generic=False)
        if resource_type == "aws_s3_bucket":
            return Reader("iam", _bucket_facts, False, reader.policy_attributes, reader.statements)
        return reader
    if resource_type == "aws_lambda_permission":
        return Reader("iam", _lambda_permission_facts, True)
    if resource_type == "google_iam_workload_identity_pool_provider":
        return Reader("iam", iam_cloud.workload_identity_facts, True)
    if resource_type == "google_iam_policy":
        return Reader("iam", iam_cloud.document_facts, True)
    if iam_cloud.gcp_level(resource_type) is not None:
        return Reader("iam", lambda v, line: iam_cloud.gcp_facts(resource_type, v, line), True)
    if resource_type.startswith("google_") and resource_type.endswith("_iam_custom_role"):
        return Reader(
            "iam", lambda v, line: iam_cloud.custom_role_facts(v, "permissions", line), True
        )
    if resource_type == "azurerm_role_assignment" or resource_type.endswith("_role_assignment"):
        return Reader("iam", iam_cloud.azure_assignment_facts, True)
    if resource_type == "azurerm_role_definition":
        return Reader("iam", iam_cloud.azure_definition_facts, True)
    if resource_type in _SECURITY_GROUPS:
        return Reader(
            "exposure", lambda v, line: exposure.security_group_facts(resource_type, v, line), True
        )
    if resource_type == "google_compute_firewall":
        return Reader("exposure", exposure.gcp_firewall_facts, True)
    if resource_type in ("azurerm_network_security_group", "azurerm_network_security_rule"):
        return Reader(
            "exposure", lambda v, line: exposure.azure_nsg_facts(resource_type, v, line), True
        )
    if resource_type in _PUBLIC_GENERIC or resource_type in _PUBLIC_WHEN_CHANGED:
        generic = resource_type in _PUBLIC_GENERIC
        return Reader(
            "exposure", lambda v, line: exposure.public_facts(resource_type, v, line), generic
        )
    return None


def policy_facts(attribute: str, value: object, line: int | None = None) -> list[Fact]:
    """The facts of one policy attribute; a value that is not a policy is an unknown-policy fact."""
    try:
        statements = iam_aws.read_document(value, line=line)
    except iam_aws.Unreadable as exc:
        return [Fact(AccessKind.UNKNOWN_POLICY, attribute, f"{attribute} is {exc}", line)]
    if statements is None:
        return []
    return iam_aws.statement_facts(statements, label=attribute)


def _aws_reader(resource_type: str, *, generic: bool) -> Reader:
    attributes = POLICY_ATTRIBUTES.get(resource_type, POLICY_ATTRIBUTES["*"])

    def facts(values: dict[str, Any], line: int | None) -> list[Fact]:
        found: list[Fact] = []
        for attribute, value in _documents(values, attributes):
            found.extend(policy_facts(attribute, value, line))
        if resource_type == "aws_iam_role":
            arns = strings(values.get("managed_policy_arns"))
            found.extend(iam_aws.managed_policy_facts(arns, where="managed_policy_arns", line=line))
        if "policy_arn" in values:
            arns = strings(values.get("policy_arn"))
            found.extend(iam_aws.managed_policy_facts(arns, where="policy_arn", line=line))
        if resource_type == "aws_iam_policy_document":
            statements = iam_aws.read_statement_blocks(values.get("statement"), line=line)
            found.extend(iam_aws.statement_facts(statements, label="statement"))
        return found

    def statements(values: dict[str, Any]) -> list[iam_aws.Statement]:
        found: list[iam_aws.Statement] = []
        for _, value in _documents(values, attributes):
            try:
                found.extend(iam_aws.read_document(value) or [])
            except iam_aws.Unreadable:
                continue
        if resource_type == "aws_iam_policy_document":
            found.extend(iam_aws.read_statement_blocks(values.get("statement")))
        return found

    return Reader("iam", facts, generic, attributes, statements)


def _documents(values: dict[str, Any], attributes: tuple[str, ...]) -> list[tuple[str, Any]]:
    """(label, document) of every policy a state holds, inline policies of a role included."""
    found = [(attribute, values.get(attribute)) for attribute in attributes]
    for index, inline in enumerate(dicts(values.get("inline_policy"))):
        found.append((f"inline_policy[{index}]", inline.get("policy")))
    return found


def _bucket_facts(values: dict[str, Any], line: int | None) -> list[Fact]:
    found = policy_facts("policy", values.get("policy"), line)
    found.extend(exposure.public_facts("aws_s3_bucket", values, line))
    return found


def _lambda_permission_facts(values: dict[str, Any], line: int | None) -> list[Fact]:
    principal = str(values.get("principal") or "")
    limited = (
        values.get("source_arn") or values.get("source_account") or values.get("principal_org_id")
    )
    detail = f'{values.get("action") or "lambda:InvokeFunction"} to principal "{principal}"'
    if principal == "*":
        kind = AccessKind.CONDITIONAL_PUBLIC_PRINCIPAL if limited else AccessKind.PUBLIC_PRINCIPAL
        return [Fact(kind, "principal", detail, line)]
    if principal.isdigit() or principal.startswith("arn:aws:iam::"):
        return [Fact(AccessKind.CROSS_ACCOUNT_TRUST, "principal", detail, line)]
    return []
