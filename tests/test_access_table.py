"""What a change grants and exposes, read from its content: a table of IAM and exposure cases.

Each row is modelled on real cases (provider test fixtures, policy-analyser samples,
commits that edit IAM), written here: a plan's resource going from `before` to
`after`, or a git diff's HCL hunk, with the scope reviewer's tier and the finding
it must show. The tiers are those of configs/reviewers/scope.yaml (`access_tiers`)
and hold in every environment, so the plan rows are reviewed in staging, where the
environment floor alone would be medium.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.catalog import ResourceCatalog
from orchestrator.models import Action, Proposal, ResourceChange, RiskTier, Source, Verdict
from reviewers.scope import ScopeReviewer, assess

CATALOG = ResourceCatalog.load_default()
SETTINGS = ScopeReviewer.load_default_settings()
C, U, D = Action.CREATE, Action.UPDATE, Action.DELETE
CRIT, HIGH = RiskTier.CRITICAL, RiskTier.HIGH


def doc(*statements: dict[str, Any]) -> str:
    """A policy document as a plan carries it: a JSON string."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal: Any, action: str = "sts:AssumeRole", **extra: Any) -> str:
    return doc({"Effect": "Allow", "Principal": principal, "Action": action, **extra})


GH = "token.actions.githubusercontent.com"
GH_ARN = f"arn:aws:iam::111122223333:oidc-provider/{GH}"
OIDC = {"Federated": GH_ARN}


def gh_trust(sub: str | None) -> str:
    condition: dict[str, Any] = {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com"}}
    if sub is not None:
        condition["StringLike"] = {f"{GH}:sub": sub}
    return trust(OIDC, "sts:AssumeRoleWithWebIdentity", Condition=condition)


def sg(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"name": "web", "ingress": list(rules)}


def ingress(lo: int, hi: int, cidr: str = "0.0.0.0/0", protocol: str = "tcp") -> dict[str, Any]:
    v6 = ":" in cidr
    return {
        "from_port": lo,
        "to_port": hi,
        "protocol": protocol,
        "cidr_blocks": [] if v6 else [cidr],
        "ipv6_cidr_blocks": [cidr] if v6 else [],
    }


def nsg_rule(port: str, source: str = "*", access: str = "Allow") -> dict[str, Any]:
    return {
        "direction": "Inbound",
        "access": access,
        "protocol": "Tcp",
        "source_address_prefix": source,
        "destination_port_range": port,
    }


PAB_ON = dict.fromkeys(
    ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"),
    True,
)
OWNER_ID = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

# (id, type, action, before, after, tier, rule under "scope.", must not show)
# fmt: off
PLAN_CASES: list[tuple[str, str, Action, Any, Any, RiskTier, str, str | None]] = [
    # --- AWS identity policies
    ("admin star", "aws_iam_policy", C, None, {"policy": doc(allow("*"))}, CRIT,
     "iam.admin-equivalent", None),
    ("admin star-colon-star", "aws_iam_role_policy", C, None, {"policy": doc(allow("*:*"))},
     CRIT, "iam.admin-equivalent", None),
    ("admin by NotAction", "aws_iam_user_policy", C, None,
     {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}, CRIT,
     "iam.admin-equivalent", None),
    ("admin, Effect left out", "aws_iam_policy", C, None,
     {"policy": doc({"Action": "*", "Resource": "*"})}, CRIT, "iam.admin-equivalent", None),
    ("deny star is no grant", "aws_iam_policy", C, None,
     {"policy": doc({"Effect": "Deny", "Action": "*", "Resource": "*"})}, HIGH,
     "iam.iam-change", "iam.admin-equivalent"),
    ("iam star escalates", "aws_iam_group_policy", C, None,
     {"policy": doc(allow(["s3:Get*", "iam:*"]))}, CRIT, "iam.privilege-escalation", None),
    ("CreatePolicyVersion", "aws_iam_role_policy", C, None,
     {"policy": doc(allow("iam:CreatePolicyVersion"))}, CRIT, "iam.privilege-escalation", None),
    ("AttachRolePolicy", "aws_iam_policy", C, None,
     {"policy": doc(allow(["iam:AttachRolePolicy", "iam:ListRoles"]))}, CRIT,
     "iam.privilege-escalation", None),
    ("PassRole on star", "aws_iam_policy", C, None,
     {"policy": doc(allow(["iam:PassRole", "ec2:RunInstances"]))}, CRIT,
     "iam.privilege-escalation", None),
    ("PassRole on one role", "aws_iam_policy", C, None,
     {"policy": doc(allow("iam:PassRole", "arn:aws:iam::111122223333:role/app"))}, HIGH,
     "iam.iam-change", "iam.privilege-escalation"),
    ("AssumeRole on star", "aws_iam_role_policy", C, None,
     {"policy": doc(allow("sts:AssumeRole"))}, CRIT, "iam.privilege-escalation", None),
    ("iam Put star by pattern", "aws_iam_policy", C, None,
     {"policy": doc(allow("iam:Put*Policy"))}, CRIT, "iam.privilege-escalation", None),
    ("interpolated service star", "aws_iam_policy", C, None,
     {"policy": doc(allow("${var.svc}:*"))}, CRIT, "iam.privilege-escalation", None),
    ("s3 star on star", "aws_iam_policy", C, None, {"policy": doc(allow("s3:*"))}, HIGH,
     "iam.wildcard-action", "iam.admin-equivalent"),
    ("describe on star", "aws_iam_policy", C, None,
     {"policy": doc(allow("ec2:Describe*"))}, HIGH, "iam.wildcard-resource", None),
    ("star on one bucket", "aws_iam_policy", U,
     {"policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))},
     {"policy": doc(allow("*", "arn:aws:s3:::b/*"))}, HIGH, "iam.wildcard-action",
     "iam.admin-equivalent"),
    ("widened to admin", "aws_iam_policy", U, {"policy": doc(allow("s3:GetObject"))},
     {"policy": doc(allow("*"))}, CRIT, "iam.admin-equivalent", None),
    ("narrowed from admin", "aws_iam_policy", U, {"policy": doc(allow("*"))},
     {"policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))}, HIGH, "iam.narrowing",
     "iam.admin-equivalent"),
    ("admin kept, tags changed", "aws_iam_policy", U,
     {"policy": doc(allow("*")), "tags": {"a": "1"}},
     {"policy": doc(allow("*")), "tags": {"a": "2"}}, HIGH, "iam.iam-change",
     "iam.admin-equivalent"),
    ("admin policy deleted", "aws_iam_policy", D, {"policy": doc(allow("*"))}, None, HIGH,
     "iam.narrowing", "iam.admin-equivalent"),
    ("AdministratorAccess attached", "aws_iam_role_policy_attachment", C, None,
     {"policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess", "role": "ci"}, CRIT,
     "iam.admin-equivalent", None),
    ("IAMFullAccess attached", "aws_iam_user_policy_attachment", C, None,
     {"policy_arn": "arn:aws:iam::aws:policy/IAMFullAccess", "user": "bob"}, CRIT,
     "iam.privilege-escalation", None),
    ("managed ReadOnly attached", "aws_iam_role_policy_attachment", C, None,
     {"policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "role": "ci"}, HIGH,
     "iam.iam-change", "iam.admin-equivalent"),
    ("inline admin on a role", "aws_iam_role", C, None,
     {"assume_role_policy": trust({"Service": "ec2.amazonaws.com"}),
      "inline_policy": [{"name": "x", "policy": doc(allow("*"))}]}, CRIT,
     "iam.admin-equivalent", None),
    ("policy not JSON", "aws_iam_policy", C, None, {"policy": "{not json"}, HIGH,
     "iam.unknown-policy", None),
    ("policy unknown until apply", "aws_iam_policy", C, None, {"name": "p"}, HIGH,
     "iam.unknown-policy", None),
    # --- AWS trust and resource policies
    ("public trust", "aws_iam_role", C, None, {"assume_role_policy": trust({"AWS": "*"})},
     CRIT, "iam.public-principal", None),
    ("cross-account trust", "aws_iam_role", C, None,
     {"assume_role_policy": trust({"AWS": "arn:aws:iam::444455556666:root"})}, HIGH,
     "iam.cross-account-trust", "iam.public-principal"),
    ("service trust", "aws_iam_role", C, None,
     {"assume_role_policy": trust({"Service": "lambda.amazonaws.com"})}, HIGH,
     "iam.iam-change", "iam.cross-account-trust"),
    ("GitHub OIDC without sub", "aws_iam_role", C, None,
     {"assume_role_policy": gh_trust(None)}, CRIT, "iam.public-principal", None),
    ("GitHub OIDC any repo", "aws_iam_role", C, None,
     {"assume_role_policy": gh_trust("repo:*")}, CRIT, "iam.public-principal", None),
    ("GitHub OIDC one repo", "aws_iam_role", C, None,
     {"assume_role_policy": gh_trust("repo:acme/app:ref:refs/heads/main")}, HIGH,
     "iam.iam-change", "iam.public-principal"),
    ("GitHub OIDC sub widened", "aws_iam_role", U,
     {"assume_role_policy": gh_trust("repo:acme/app:ref:refs/heads/main")},
     {"assume_role_policy": gh_trust("repo:acme/*")}, HIGH, "iam.trust-condition-change",
     "iam.public-principal"),
    ("public bucket policy", "aws_s3_bucket_policy", C, None,
     {"policy": doc(allow("s3:*", "arn:aws:s3:::b/*", Principal="*"))}, CRIT,
     "iam.public-principal", None),
    ("public read, limited to a VPC endpoint", "aws_s3_bucket_policy", C, None,
     {"policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*", Principal="*",
                          Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}))}, HIGH,
     "iam.conditional-public-principal", "iam.public-principal"),
    ("deny-only public statement", "aws_s3_bucket_policy", C, None,
     {"policy": doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": "arn:aws:s3:::b/*",
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}})}, HIGH,
     "iam.iam-change", "iam.public-principal"),
    ("queue open to AWS star", "aws_sqs_queue_policy", C, None,
     {"policy": doc(allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:q",
                          Principal={"AWS": "*"}))}, CRIT, "iam.public-principal", None),
    ("key policy to another account", "aws_kms_key", U,
     {"policy": doc(allow("kms:*", Principal={"AWS": "arn:aws:iam::111122223333:root"}))},
     {"policy": doc(allow("kms:*", Principal={"AWS": "arn:aws:iam::999988887777:root"}))},
     HIGH, "iam.cross-account-trust", None),
    ("public lambda permission", "aws_lambda_permission", C, None,
     {"action": "lambda:InvokeFunction", "principal": "*"}, CRIT, "iam.public-principal", None),
    # --- GCP
    ("project owner", "google_project_iam_member", C, None,
     {"project": "p", "role": "roles/owner", "member": "user:jane@example.com"}, CRIT,
     "iam.admin-equivalent", None),
    ("project editor", "google_project_iam_member", C, None,
     {"project": "p", "role": "roles/editor", "member": "group:dev@example.com"}, HIGH,
     "iam.primitive-role", None),
    ("org binding is authoritative", "google_organization_iam_binding", C, None,
     {"org_id": "1", "role": "roles/viewer", "members": ["group:a@example.com"]}, CRIT,
     "iam.authoritative-binding", None),
    ("project policy replaced", "google_project_iam_policy", U,
     {"policy_data": json.dumps({"bindings": [{"role": "roles/viewer", "members": ["user:a"]}]})},
     {"policy_data": json.dumps({"bindings": [{"role": "roles/viewer", "members": ["user:b"]}]})},
     CRIT, "iam.authoritative-binding", None),
    ("bucket to allUsers", "google_storage_bucket_iam_member", C, None,
     {"bucket": "b", "role": "roles/storage.objectViewer", "member": "allUsers"}, CRIT,
     "iam.public-principal", "iam.authoritative-binding"),
    ("security admin", "google_project_iam_member", C, None,
     {"role": "roles/iam.securityAdmin", "member": "user:a@example.com"}, CRIT,
     "iam.privilege-escalation", None),
    ("token creator", "google_service_account_iam_member", C, None,
     {"role": "roles/iam.serviceAccountTokenCreator", "member": "user:a@example.com"}, CRIT,
     "iam.privilege-escalation", None),
    ("compute admin", "google_project_iam_member", C, None,
     {"role": "roles/compute.admin", "member": "user:a@example.com"}, HIGH,
     "iam.admin-role", None),
    ("owner member removed", "google_project_iam_member", D,
     {"role": "roles/owner", "member": "user:old@example.com"}, None, HIGH, "iam.narrowing",
     "iam.admin-equivalent"),
    ("custom role sets IAM", "google_project_iam_custom_role", C, None,
     {"permissions": ["resourcemanager.projects.setIamPolicy", "compute.instances.get"]}, CRIT,
     "iam.privilege-escalation", None),
    ("open workload identity", "google_iam_workload_identity_pool_provider", C, None,
     {"oidc": [{"issuer_uri": f"https://{GH}"}], "attribute_condition": None}, CRIT,
     "iam.public-principal", None),
    # --- Azure
    ("owner on a subscription", "azurerm_role_assignment", C, None,
     {"scope": "/subscriptions/0000", "role_definition_name": "Owner", "principal_id": "x"},
     CRIT, "iam.admin-equivalent", None),
    ("owner by definition id", "azurerm_role_assignment", C, None,
     {"scope": "/providers/Microsoft.Management/managementGroups/root",
      "role_definition_id": OWNER_ID, "principal_id": "x"}, CRIT, "iam.admin-equivalent", None),
    ("user access administrator", "azurerm_role_assignment", C, None,
     {"scope": "/subscriptions/0000/resourceGroups/rg",
      "role_definition_name": "User Access Administrator", "principal_id": "x"}, CRIT,
     "iam.privilege-escalation", None),
    ("contributor on a group", "azurerm_role_assignment", C, None,
     {"scope": "/subscriptions/0000/resourceGroups/rg", "role_definition_name": "Contributor",
      "principal_id": "x"}, HIGH, "iam.primitive-role", "iam.admin-equivalent"),
    ("owner on one resource", "azurerm_role_assignment", C, None,
     {"scope": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s",
      "role_definition_name": "Owner", "principal_id": "x"}, HIGH, "iam.admin-role",
     "iam.admin-equivalent"),
    ("custom role with every action", "azurerm_role_definition", C, None,
     {"permissions": [{"actions": ["*"], "not_actions": []}]}, CRIT, "iam.admin-equivalent",
     None),
    # --- network exposure
    ("SSH to the world", "aws_security_group", C, None, sg(ingress(22, 22)), CRIT,
     "exposure.world-open-admin-port", None),
    ("RDP to the world over IPv6", "aws_security_group", C, None, sg(ingress(3389, 3389, "::/0")),
     CRIT, "exposure.world-open-admin-port", None),
    ("every port, all protocols", "aws_security_group_rule", C, None,
     {"type": "ingress", "from_port": 0, "to_port": 0, "protocol": "-1",
      "cidr_blocks": ["0.0.0.0/0"]}, CRIT, "exposure.world-open-all-ports", None),
    ("PostgreSQL to the world", "aws_vpc_security_group_ingress_rule", C, None,
     {"cidr_ipv4": "0.0.0.0/0", "from_port": 5432, "to_port": 5432, "ip_protocol": "tcp"},
     CRIT, "exposure.world-open-database-port", None),
    ("HTTPS to the world", "aws_security_group", C, None, sg(ingress(443, 443)), HIGH,
     "exposure.world-open-port", "exposure.world-open-admin-port"),
    ("SSH from the office only", "aws_security_group", C, None,
     sg(ingress(22, 22, "203.0.113.0/24")), HIGH, "exposure.exposure-change",
     "exposure.world-open-admin-port"),
    ("SSH closed to the world", "aws_security_group", U, sg(ingress(22, 22), ingress(443, 443)),
     sg(ingress(443, 443)), HIGH, "exposure.narrowing", "exposure.world-open-admin-port"),
    ("egress to the world is not ingress", "aws_security_group_rule", C, None,
     {"type": "egress", "from_port": 0, "to_port": 0, "protocol": "-1",
      "cidr_blocks": ["0.0.0.0/0"]}, HIGH, "exposure.exposure-change",
     "exposure.world-open-all-ports"),
    ("NACL allows SSH", "aws_network_acl_rule", C, None,
     {"egress": False, "rule_action": "allow", "cidr_block": "0.0.0.0/0", "protocol": "6",
      "from_port": 22, "to_port": 22}, CRIT, "exposure.world-open-admin-port", None),
    ("GCP firewall, every port", "google_compute_firewall", C, None,
     {"source_ranges": ["0.0.0.0/0"], "allow": [{"protocol": "all"}]}, CRIT,
     "exposure.world-open-all-ports", None),
    ("GCP firewall, egress", "google_compute_firewall", C, None,
     {"direction": "EGRESS", "destination_ranges": ["0.0.0.0/0"], "allow": [{"protocol": "all"}]},
     HIGH, "exposure.exposure-change", "exposure.world-open-all-ports"),
    ("NSG rule RDP from Internet", "azurerm_network_security_rule", C, None,
     nsg_rule("3389", "Internet"), CRIT, "exposure.world-open-admin-port", None),
    ("NSG inline, any port", "azurerm_network_security_group", C, None,
     {"security_rule": [nsg_rule("*")]}, CRIT, "exposure.world-open-all-ports", None),
    ("NSG deny rule", "azurerm_network_security_rule", C, None, nsg_rule("22", access="Deny"),
     HIGH, "exposure.exposure-change", "exposure.world-open-admin-port"),
    ("public IP", "azurerm_public_ip", C, None, {"allocation_method": "Static"}, HIGH,
     "exposure.public-address", None),
    ("database publicly accessible", "aws_db_instance", U, {"publicly_accessible": False},
     {"publicly_accessible": True}, HIGH, "exposure.public-address", None),
    ("internet-facing load balancer", "aws_lb", C, None, {"internal": False}, HIGH,
     "exposure.public-load-balancer", None),
    ("internal load balancer", "aws_lb", C, None, {"internal": True}, HIGH,
     "exposure.exposure-change", "exposure.public-load-balancer"),
    ("public access block off", "aws_s3_bucket_public_access_block", U, PAB_ON,
     {**PAB_ON, "block_public_policy": False}, HIGH, "exposure.public-access-block-off", None),
    ("public access block deleted", "aws_s3_bucket_public_access_block", D, PAB_ON, None, HIGH,
     "exposure.public-access-block-off", None),
    ("public-read bucket ACL", "aws_s3_bucket_acl", C, None, {"acl": "public-read"}, CRIT,
     "exposure.public-acl", None),
]
# fmt: on


def plan_proposal(rtype: str, action: Action, before: Any, after: Any) -> Proposal:
    unknown = ("policy",) if after == {"name": "p"} else ()
    if rtype == "google_iam_workload_identity_pool_provider":
        unknown = ()
    change = ResourceChange(
        address=f"{rtype}.this",
        type=rtype,
        action=action,
        before=before,
        after=after,
        unknown_after=unknown,
    )
    return Proposal(
        kind="terraform",
        source=Source.HUMAN,
        actor="alice",
        environment="staging",
        environment_name="staging",
        changes=(change,),
    )


def rules(verdict: Verdict) -> set[str]:
    return {f.rule for f in verdict.findings}


@pytest.mark.parametrize(
    ("rtype", "action", "before", "after", "tier", "rule", "absent"),
    [pytest.param(*row[1:], id=row[0]) for row in PLAN_CASES],
)
def test_plan_values(
    rtype: str,
    action: Action,
    before: Any,
    after: Any,
    tier: RiskTier,
    rule: str,
    absent: str | None,
) -> None:
    """A plan's change is tiered by what it grants or exposes, in staging as in production."""
    verdict = assess(plan_proposal(rtype, action, before, after), CATALOG, SETTINGS)
    assert verdict.risk_tier == tier, verdict.rationale
    assert f"scope.{rule}" in rules(verdict)
    if absent is not None:
        assert f"scope.{absent}" not in rules(verdict)
    assert verdict.stance == "concern"  # every IAM and exposure change needs a human


def hunk(path: str, header: str, start: int, lines: list[str]) -> str:
    """A one-hunk `git diff` of `path`; lines start with ' ', '+' or '-'."""
    old = sum(1 for line in lines if line[0] in " -")
    new = sum(1 for line in lines if line[0] in " +")
    return (
        f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n"
        f"+++ b/{path}\n@@ -{start},{old} +{start},{new} @@ {header}\n" + "\n".join(lines) + "\n"
    )


def new_file(path: str, text: str) -> str:
    lines = text.strip("\n").split("\n")
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n"
        + "\n".join("+" + line for line in lines)
        + "\n"
    )


DOC = 'data "aws_iam_policy_document" "reader" {'
# (id, diff, tier, rule under "scope.", the line it must name, must not show)
# fmt: off
DIFF_CASES: list[tuple[str, str, RiskTier, str, int | None, str | None]] = [
    ("actions list gains BatchGet by variable", hunk("modules/iam-reader/main.tf", DOC, 20, [
        '    actions = [',
        '      "dynamodb:GetItem",',
        '+      "${var.service}:BatchGet*",',
        '    ]',
        '    resources = [aws_dynamodb_table.t.arn]',
        '  }',
        '}']), HIGH, "iam.wildcard-action", 20, "iam.admin-equivalent"),
    ("statement widened to every action", hunk("iam/admin.tf", DOC, 4, [
        '  statement {',
        '-    actions   = ["s3:GetObject"]',
        '+    actions   = ["*"]',
        '    resources = ["*"]',
        '  }']), CRIT, "iam.admin-equivalent", 4, None),
    ("wildcard removed is good news", hunk("iam/admin.tf", DOC, 4, [
        '  statement {',
        '-    actions   = ["*"]',
        '+    actions   = ["s3:GetObject"]',
        '    resources = ["arn:aws:s3:::b/*"]',
        '  }']), HIGH, "iam.narrowing", 4, "iam.admin-equivalent"),
    ("OIDC sub condition widened", hunk("infra/github_oidc.tf",
        'data "aws_iam_policy_document" "github_trust" {', 12, [
        '    condition {',
        '      test     = "StringLike"',
        f'      variable = "{GH}:sub"',
        '-      values   = ["repo:acme/deploy:ref:refs/heads/main"]',
        '+      values   = ["repo:acme/*"]',
        '    }',
        '  }',
        '}']), HIGH, "iam.trust-condition-change", 15, None),
    ("OIDC condition in a heredoc trust", hunk("infra/role.tf",
        'resource "aws_iam_role" "deploy" {', 3, [
        '  assume_role_policy = <<EOF',
        ' {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",',
        f'   "Principal": {{"Federated": "{GH_ARN}"}},',
        f'-  "Condition": {{"StringLike": {{"{GH}:sub": "repo:acme/app:*"}}}}}}]}}',
        f'+  "Condition": {{"StringLike": {{"{GH}:sub": "repo:*"}}}}}}]}}',
        ' EOF',
        ' }']), CRIT, "iam.public-principal", 6, None),
    ("jsonencode admin policy", new_file("iam/policy.tf", '''
resource "aws_iam_policy" "admin" {
  name = "admin"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}'''), CRIT, "iam.admin-equivalent", 1, None),
    ("jsonencode fragment widened", hunk("infra/iam/shop.tf",
        'resource "aws_iam_policy" "shop_reader" {', 4, [
        '    Version = "2012-10-17"',
        '    Statement = [{',
        '      Effect   = "Allow"',
        '-      Action   = ["s3:GetObject"]',
        '+      Action   = ["*"]',
        '      Resource = "*"',
        '    }]',
        '  })']), CRIT, "iam.admin-equivalent", 7, None),
    ("heredoc bucket policy public", new_file("s3/policy.tf", '''
resource "aws_s3_bucket_policy" "site" {
  bucket = aws_s3_bucket.site.id
  policy = <<POLICY
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
 "Action": "s3:GetObject", "Resource": "${aws_s3_bucket.site.arn}/*"}]}
POLICY
}'''), CRIT, "iam.public-principal", 1, None),
    ("statement principal star", new_file("iam/doc.tf", '''
data "aws_iam_policy_document" "queue" {
  statement {
    actions = ["sqs:SendMessage"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    resources = [aws_sqs_queue.q.arn]
  }
}'''), CRIT, "iam.public-principal", 2, None),
    ("AdministratorAccess attachment", new_file("iam/ci.tf", '''
resource "aws_iam_role_policy_attachment" "ci" {
  role       = aws_iam_role.ci.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}'''), CRIT, "iam.admin-equivalent", 1, None),
    ("GCP owner added", hunk("gcp/iam.tf", 'resource "google_project_iam_member" "ops" {', 2, [
        '  project = var.project',
        '-  role    = "roles/viewer"',
        '+  role    = "roles/owner"',
        '  member  = "group:ops@example.com"',
        '}']), CRIT, "iam.admin-equivalent", 3, None),
    ("GCP bucket made public", new_file("gcp/bucket.tf", '''
resource "google_storage_bucket_iam_member" "public" {
  bucket = google_storage_bucket.site.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}'''), CRIT, "iam.public-principal", 1, None),
    ("Azure owner at subscription", new_file("azure/rbac.tf", '''
resource "azurerm_role_assignment" "ops" {
  scope                = "/subscriptions/00000000-0000-0000-0000-000000000000"
  role_definition_name = "Owner"
  principal_id         = azuread_group.ops.object_id
}'''), CRIT, "iam.admin-equivalent", 1, None),
    ("SG ingress opened to SSH", hunk("net/sg.tf", 'resource "aws_security_group" "bastion" {', 5, [
        '  ingress {',
        '    from_port   = 22',
        '    to_port     = 22',
        '    protocol    = "tcp"',
        '-    cidr_blocks = ["10.0.0.0/8"]',
        '+    cidr_blocks = ["0.0.0.0/0"]',
        '  }']), CRIT, "exposure.world-open-admin-port", 5, None),
    ("SG rule to the world closed", hunk("net/sg.tf",
        'resource "aws_security_group_rule" "rdp" {', 2, [
        '  type        = "ingress"',
        '  from_port   = 3389',
        '  to_port     = 3389',
        '  protocol    = "tcp"',
        '-  cidr_blocks = ["0.0.0.0/0"]',
        '+  cidr_blocks = ["192.0.2.10/32"]',
        '}']), HIGH, "exposure.narrowing", 6, "exposure.world-open-admin-port"),
    ("GCP firewall source widened", hunk("gcp/fw.tf", 'resource "google_compute_firewall" "db" {',
        4, [
        '  allow {',
        '    protocol = "tcp"',
        '    ports    = ["5432"]',
        '  }',
        '-  source_ranges = ["10.10.0.0/16"]',
        '+  source_ranges = ["0.0.0.0/0"]',
        '}']), CRIT, "exposure.world-open-database-port", 4, None),
    ("NSG rule from Internet", new_file("azure/nsg.tf", '''
resource "azurerm_network_security_rule" "rdp" {
  name                        = "rdp"
  direction                   = "Inbound"
  access                      = "Allow"
  protocol                    = "Tcp"
  source_address_prefix       = "Internet"
  destination_port_range      = "3389"
  priority                    = 100
}'''), CRIT, "exposure.world-open-admin-port", 1, None),
    ("public access block turned off", hunk("s3/pab.tf",
        'resource "aws_s3_bucket_public_access_block" "site" {', 2, [
        '  bucket                  = aws_s3_bucket.site.id',
        '-  block_public_policy     = true',
        '+  block_public_policy     = false',
        '}']), HIGH, "exposure.public-access-block-off", 3, None),
    ("policy built from a document", new_file("iam/reader.tf", '''
resource "aws_iam_policy" "reader" {
  name   = "reader"
  policy = data.aws_iam_policy_document.reader.json
}'''), HIGH, "iam.iam-change", 1, "iam.unknown-policy"),
    ("JSON policy file with admin", new_file("policies/admin-policy.json", '''
{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'''), CRIT,
     "iam.admin-equivalent", 1, None),
]
# fmt: on


@pytest.mark.parametrize(
    ("diff", "tier", "rule", "line", "absent"),
    [pytest.param(*row[1:], id=row[0]) for row in DIFF_CASES],
)
def test_hcl_diffs(
    diff: str, tier: RiskTier, rule: str, line: int | None, absent: str | None
) -> None:
    """A diff's HCL is read structurally: the finding, its tier and the line it names."""
    proposal = load_proposal(
        diff.encode(), "c.diff", Submission(source=Source.HUMAN, actor="alice")
    )
    verdict = assess(proposal, CATALOG, SETTINGS)
    found = {f.rule: f for f in verdict.findings}
    assert f"scope.{rule}" in found, sorted(found)
    assert verdict.risk_tier == tier, verdict.rationale
    if absent is not None:
        assert f"scope.{absent}" not in found
    lines = {loc.line for loc in found[f"scope.{rule}"].locations}
    assert line in lines, lines


def test_the_table_is_as_wide_as_the_issue_asks() -> None:
    """At least 60 cases across AWS, GCP and Azure, plans and diffs, widening and narrowing."""
    assert len(PLAN_CASES) + len(DIFF_CASES) >= 60
    kinds = {row[1].split("_")[0] for row in PLAN_CASES}
    assert {"aws", "google", "azurerm"} <= kinds
    assert any("narrowing" in row[6] for row in PLAN_CASES)
    assert any("narrowing" in row[3] for row in DIFF_CASES)


@pytest.mark.parametrize(
    "text",
    [
        # a CIS benchmark's prose and a jq filter mention cluster-admin; neither grants it
        'text: "Ensure that the cluster-admin role is only used where required"',
        "audit: kubectl get clusterrolebindings -o json | jq '.items[] | "
        'select(.roleRef.name == "cluster-admin")\'',
    ],
)
def test_cluster_admin_in_prose_is_no_grant(text: str) -> None:
    """The word cluster-admin outside a role reference raises nothing (issue 11)."""
    proposal = load_proposal(
        hunk("cfg/cis-1.8/master.yaml", "", 1, ["+" + text]).encode(),
        "c.diff",
        Submission(source=Source.HUMAN, actor="alice"),
    )
    verdict = assess(proposal, CATALOG, SETTINGS)
    assert not {r for r in rules(verdict) if "cluster-admin" in r or "admin-grant" in r}


@pytest.mark.parametrize(
    "text", ["  name: cluster-admin", '    "name": "cluster-admin",', "--clusterrole=cluster-admin"]
)
def test_cluster_admin_as_a_role_reference_is_a_grant(text: str) -> None:
    """A binding's roleRef to cluster-admin is a critical finding."""
    proposal = load_proposal(
        hunk("deploy/rbac.yaml", "", 1, ["+" + text]).encode(),
        "c.diff",
        Submission(source=Source.HUMAN, actor="alice"),
    )
    verdict = assess(proposal, CATALOG, SETTINGS)
    assert "scope.diff.rbac-cluster-admin" in rules(verdict)
    assert verdict.risk_tier == RiskTier.CRITICAL


def test_an_unparseable_hunk_falls_back_to_line_patterns() -> None:
    """HCL that cannot be read still raises the pattern signals it always did."""
    diff = hunk("infra/broken.tf", "", 1, ['+  policy = "{ Action = \\"*\\"', '+  actions = ["*"]'])
    proposal = load_proposal(diff.encode(), "c.diff", Submission(source=Source.HUMAN, actor="a"))
    assert "scope.diff.iam-wildcard-action" in rules(assess(proposal, CATALOG, SETTINGS))


def test_an_unknown_policy_is_read_from_the_document_in_prior_state() -> None:
    """A policy known only after apply, built from a data source the prior state holds, is
    judged by that document's statements."""
    consumer = {
        "address": "module.app.aws_iam_role_policy.ci",
        "module_address": "module.app",
        "mode": "managed",
        "type": "aws_iam_role_policy",
        "name": "ci",
        "change": {
            "actions": ["create"],
            "before": None,
            "after": {"name": "ci"},
            "after_unknown": {"policy": True, "id": True},
        },
    }
    document = {
        "address": "module.app.data.aws_iam_policy_document.ci",
        "mode": "data",
        "type": "aws_iam_policy_document",
        "name": "ci",
        "values": {"statement": [{"effect": "Allow", "actions": ["*"], "resources": ["*"]}]},
    }
    plan = {
        "format_version": "1.2",
        "resource_changes": [consumer],
        "prior_state": {
            "values": {
                "root_module": {
                    "child_modules": [{"address": "module.app", "resources": [document]}]
                }
            }
        },
        "configuration": {
            "root_module": {
                "module_calls": {
                    "app": {
                        "module": {
                            "resources": [
                                {
                                    "address": "aws_iam_role_policy.ci",
                                    "mode": "managed",
                                    "type": "aws_iam_role_policy",
                                    "name": "ci",
                                    "expressions": {
                                        "policy": {
                                            "references": [
                                                "data.aws_iam_policy_document.ci.json",
                                                "data.aws_iam_policy_document.ci",
                                            ]
                                        }
                                    },
                                }
                            ]
                        }
                    }
                }
            }
        },
    }
    proposal = load_proposal(
        json.dumps(plan).encode(), "p.json", Submission(source=Source.HUMAN, actor="a")
    )
    verdict = assess(proposal, CATALOG, SETTINGS)
    assert "scope.iam.admin-equivalent" in rules(verdict)
    assert "scope.iam.unknown-policy" not in rules(verdict)
