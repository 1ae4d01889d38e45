"""The resource catalog: which categories and traits a resource type has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from orchestrator.catalog import ResourceCatalog
from orchestrator.errors import ConfigError
from tests.conftest import corpus_files

CATALOG = ResourceCatalog.load_default()

# Types in the corpus that belong to no real category: test doubles of the
# OpenTofu test provider and a made-up provider.
UNCLASSIFIABLE = {"test_instance", "corner_user_identity"}
# Kubernetes kinds that are containers of other objects, not objects.
UNCLASSIFIABLE_KINDS = {"RoleList"}

REQUIRED_CATEGORIES = {
    "account-iam", "iam", "rbac", "secrets", "kms", "network", "network-policy", "dns",
    "database", "storage", "auth", "billing", "compute", "kubernetes-workload", "logging",
    "audit", "cdn", "ip-prefix",
}  # fmt: skip


def _corpus_plan_types() -> set[str]:
    types: set[str] = set()
    for path in corpus_files("terraform-plan", "*.json"):
        raw = path.read_bytes()
        text = raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode()
        for change in json.loads(text).get("resource_changes") or []:
            types.add(change["type"])
    return types


def _corpus_kinds() -> set[str]:
    kinds: set[str] = set()
    for path in corpus_files("kubernetes", "*.yaml", "*.yml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and isinstance(doc.get("kind"), str):
                kinds.add(doc["kind"])
    return kinds


def test_shipped_catalog_defines_the_categories_reviewers_rely_on() -> None:
    """Every category DESIGN.md's tier matrix names exists in the shipped catalog."""
    assert set(CATALOG.category_names) >= REQUIRED_CATEGORIES
    assert {"stateful", "disposable"} <= set(CATALOG.trait_names)
    assert all(CATALOG.description(c) for c in CATALOG.category_names)


@pytest.mark.parametrize(
    ("resource_type", "categories", "stateful"),
    [
        ("aws_iam_role", {"iam"}, False),
        ("aws_iam_policy", {"iam"}, False),
        ("aws_iam_openid_connect_provider", {"iam", "auth"}, False),
        ("aws_s3_bucket", {"storage"}, True),
        ("aws_s3_bucket_public_access_block", {"storage", "iam"}, False),
        ("aws_db_instance", {"database"}, True),
        ("aws_db_parameter_group", {"database"}, False),
        ("aws_kms_key", {"kms"}, True),
        ("aws_kms_alias", {"kms"}, False),
        ("aws_secretsmanager_secret", {"secrets"}, True),
        ("aws_security_group_rule", {"network"}, False),
        ("aws_route53_zone", {"dns"}, True),
        ("aws_route53_record", {"dns"}, False),
        ("aws_cloudtrail", {"audit"}, False),
        ("aws_organizations_policy", {"account-iam"}, False),
        ("aws_cognito_user_pool", {"auth"}, False),
        ("aws_budgets_budget", {"billing"}, False),
        ("aws_cloudfront_distribution", {"cdn"}, False),
        ("aws_sqs_queue", {"messaging"}, True),
        ("aws_ebs_volume", {"storage"}, True),
        ("aws_efs_file_system", {"storage"}, True),
        ("google_project_iam_member", {"iam"}, False),
        ("google_organization_iam_member", {"account-iam", "iam"}, False),
        ("google_folder", {"account-iam", "resource-container"}, True),
        ("google_storage_bucket", {"storage"}, True),
        ("google_compute_disk", {"storage"}, True),
        ("google_compute_firewall", {"network"}, False),
        ("google_sql_database_instance", {"database"}, True),
        ("google_billing_account_iam_member", {"billing", "account-iam", "iam"}, False),
        ("google_identity_platform_config", {"auth"}, False),
        ("azurerm_network_security_rule", {"network"}, False),
        ("azurerm_role_assignment", {"iam"}, False),
        ("azurerm_management_group_policy_assignment", {"account-iam"}, False),
        ("azurerm_key_vault", {"kms", "secrets"}, True),
        ("azurerm_firewall_network_rule_collection", {"network", "network-policy"}, False),
        ("azuread_conditional_access_policy", {"auth", "account-iam"}, False),
        ("cloudflare_byo_ip_prefix", {"network", "ip-prefix"}, True),
        ("cloudflare_record", {"dns"}, False),
        ("cloudflare_zone", {"dns", "cdn"}, True),
        ("cloudflare_api_token", {"secrets", "iam"}, False),
        ("cloudflare_access_application", {"auth"}, False),
        ("kubernetes_cluster_role_binding_v1", {"rbac"}, False),
        ("kubernetes_network_policy", {"network-policy"}, False),
        ("kubernetes_secret", {"secrets"}, True),
        ("kubernetes_stateful_set_v1", {"kubernetes-workload"}, True),
        ("ClusterRoleBinding", {"rbac"}, False),
        ("NetworkPolicy", {"network-policy"}, False),
        ("Deployment", {"kubernetes-workload"}, False),
        ("StatefulSet", {"kubernetes-workload"}, True),
        ("PersistentVolumeClaim", {"storage"}, True),
        ("Secret", {"secrets"}, True),
    ],
)
def test_type_is_classified(resource_type: str, categories: set[str], stateful: bool) -> None:
    """A well-known type lands in the categories and traits its risk depends on."""
    assert categories <= CATALOG.categories(resource_type)
    assert ("stateful" in CATALOG.traits(resource_type)) is stateful


@pytest.mark.corpus
def test_every_corpus_plan_type_is_classified() -> None:
    """Every resource type in the real corpus plans that belongs somewhere is classified."""
    types = _corpus_plan_types()
    if not types:
        pytest.skip("corpus not found: set COMMANDER_CORPUS_DIR")
    unknown = sorted(t for t in types - UNCLASSIFIABLE if not CATALOG.is_known(t))
    assert unknown == []
    assert types >= UNCLASSIFIABLE  # the exclusions are real, not stale


@pytest.mark.corpus
def test_every_corpus_kubernetes_kind_is_classified() -> None:
    """Every Kind in the real corpus manifests is classified."""
    kinds = _corpus_kinds()
    if not kinds:
        pytest.skip("corpus not found: set COMMANDER_CORPUS_DIR")
    assert sorted(k for k in kinds - UNCLASSIFIABLE_KINDS if not CATALOG.is_known(k)) == []


@pytest.mark.parametrize(
    "resource_type",
    ["rbac.authorization.k8s.io/v1/ClusterRoleBinding", "v1/Secret", "apps/v1/StatefulSet"],
)
def test_kind_with_api_group_is_classified_like_the_bare_kind(resource_type: str) -> None:
    """An adapter may prefix a Kind with its API group; the Kind still decides."""
    kind = resource_type.rsplit("/", 1)[1]
    assert CATALOG.categories(resource_type) == CATALOG.categories(kind) != frozenset()
    assert CATALOG.traits(resource_type) == CATALOG.traits(kind)


def test_globs_are_case_sensitive_and_unknown_types_are_unclassified() -> None:
    """Only real spellings match; a type nobody listed has no category."""
    assert CATALOG.categories("AWS_IAM_ROLE") == frozenset()
    assert CATALOG.categories("acme_widget") == frozenset()
    assert not CATALOG.is_known("acme_widget")


def test_lookups_are_memoised_per_type() -> None:
    """Repeated lookups of one type return the same frozen set (no re-matching)."""
    catalog = ResourceCatalog.from_mapping(
        {"categories": {"iam": {"description": "d", "types": ["aws_iam_*"]}}}, "t"
    )
    first = catalog.categories("aws_iam_role")
    assert first == {"iam"}
    assert catalog.categories("aws_iam_role") is first


def test_empty_catalog_knows_nothing() -> None:
    """The context's default catalog classifies nothing, so reviewers say they are unsure."""
    empty = ResourceCatalog.empty()
    assert empty.categories("aws_iam_role") == frozenset()
    assert empty.traits("aws_s3_bucket") == frozenset()
    assert empty.category_names == ()


def test_empty_mapping_is_an_empty_catalog() -> None:
    """A config directory without resource types yields a catalog that knows nothing."""
    assert ResourceCatalog.from_mapping({}, "<none>").category_names == ()
    assert ResourceCatalog.from_mapping(None, "<none>").category_names == ()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (["not", "a", "mapping"], "(top level)"),
        ({"categories": {"iam": {"types": ["aws_iam_*"]}}}, "categories.iam.description"),
        ({"categories": {"iam": {"description": "x", "types": []}}}, "categories.iam.types"),
        ({"categories": {"IAM": {"description": "x", "types": ["a"]}}}, "categories.IAM"),
        ({"categories": {"iam": {"description": "x", "types": [" a"]}}}, "categories.iam.types.0"),
        ({"categories": {}, "traits": {"stateful": "aws_*"}}, "traits.stateful"),
        ({"categories": {}, "colours": {}}, "colours"),
    ],
)
def test_bad_shape_is_a_config_error_naming_file_and_place(data: object, fragment: str) -> None:
    """A malformed catalog fails at load time with the origin and the bad key in one line."""
    with pytest.raises(ConfigError) as caught:
        ResourceCatalog.from_mapping(data, "configs/resource-types.yaml")
    message = str(caught.value)
    assert message.startswith("configs/resource-types.yaml")
    assert fragment in message
    assert "\n" not in message


def test_load_names_the_line_of_a_bad_entry(tmp_path: Path) -> None:
    """Loading a file points at the line of the offending key."""
    path = tmp_path / "resource-types.yaml"
    path.write_text("categories:\n  iam:\n    description: x\n    types: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"resource-types\.yaml: line 4: categories\.iam\.types"):
        ResourceCatalog.load(path)


def test_load_of_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing catalog file is a one-line config error, not a traceback."""
    with pytest.raises(ConfigError, match="cannot read"):
        ResourceCatalog.load(tmp_path / "nope.yaml")
