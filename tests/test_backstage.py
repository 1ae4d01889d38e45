"""A Backstage catalog as a source of the dependency graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from orchestrator.graph import DependencyGraph
from orchestrator.graph.backstage import load_catalog
from orchestrator.models import RiskTier

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  annotations:
    commander.dev/criticality: critical
    commander.dev/owns: "module.checkout.*, prod/Deployment/checkout"
spec:
  type: service
  owner: team-payments
  dependsOn: [resource:default/orders-db, component:auth]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: orders-db
  annotations:
    commander.dev/owns: aws_db_instance.orders
spec:
  type: database
  dependencyOf: [component:reporting]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: auth
  namespace: identity
spec:
  type: service
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-payments
"""


def write(folder: Path, name: str, text: str) -> Path:
    """Write one catalog file."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def edge_kinds(graph: DependencyGraph) -> set[tuple[str, str, str]]:
    """Every edge of the graph as (source, target, kind)."""
    return {
        (graph.names[s], graph.names[t], tag.kind)
        for s in range(len(graph.names))
        for t, tag in graph.edge_tags(s).items()
    }


def test_components_and_resources_become_services(tmp_path: Path) -> None:
    """dependsOn and dependencyOf become edges; annotations give criticality and ownership."""
    graph = DependencyGraph.load(None, catalog=write(tmp_path, "catalog-info.yaml", CATALOG))
    assert graph.criticality("checkout") == RiskTier.CRITICAL
    assert graph.owners("prod/Deployment/checkout") == {"checkout"}
    assert graph.owners("aws_db_instance.orders") == {"orders-db"}
    assert "shop" not in graph.services  # a System is not a service
    reached = graph.reach(["orders-db"])
    assert {s: r.distance for s, r in reached.items()} == {
        "orders-db": 0,
        "checkout": 1,
        "reporting": 1,
    }
    # `component:auth` in checkout's namespace (default), not identity/auth
    assert set(graph.reach(["auth"])) == {"auth", "checkout"}
    assert set(graph.reach(["identity/auth"])) == {"identity/auth"}
    tags = edge_kinds(graph)
    assert ("orders-db", "reporting", "dependencyOf") in tags
    assert ("orders-db", "checkout", "dependsOn") in tags


def test_catalog_and_topology_merge(tmp_path: Path) -> None:
    """Both sources add edges to one graph; the stricter criticality of a service holds."""
    topology = write(
        tmp_path,
        "topology.yaml",
        "services:\n  reporting: {criticality: high}\n  checkout: {criticality: low}\n"
        "  fraud: {depends_on: [checkout]}\n",
    )
    catalog = write(tmp_path, "catalog-info.yaml", CATALOG)
    graph = DependencyGraph.load(topology, catalog=catalog)
    assert graph.origin == f"{topology} + {catalog}"
    assert graph.criticality("checkout") == RiskTier.CRITICAL
    assert graph.criticality("reporting") == RiskTier.HIGH
    assert set(graph.reach(["orders-db"])) == {"orders-db", "checkout", "reporting", "fraud"}
    origins = {tag.origin for s in range(len(graph.names)) for tag in graph.edge_tags(s).values()}
    assert origins == {str(topology) + " + " + str(catalog), str(catalog)}


def test_locations_pull_in_local_files_once(tmp_path: Path) -> None:
    """A Location's relative targets (globs too) are read; loops and URLs are not followed."""
    (tmp_path / "teams").mkdir()
    write(tmp_path / "teams", "checkout.yaml", CATALOG)
    root = write(
        tmp_path,
        "catalog-info.yaml",
        "kind: Location\nspec:\n  targets: [./teams/*.yaml, ./catalog-info.yaml]\n---\n"
        "kind: Location\nspec:\n  type: url\n  target: https://example.com/catalog-info.yaml\n",
    )
    entities = load_catalog(root)
    assert sorted(e.name for e in entities) == [
        "checkout",
        "identity/auth",
        "orders-db",
        "system:shop",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "kind: Component\nmetadata: {}\n",
            "document 1, line 2: metadata.name: every entity needs a metadata.name",
            id="no-name",
        ),
        pytest.param(
            "kind: Component\nmetadata: {name: a}\n---\nkind: Component\nmetadata:\n  name: b\n"
            "spec:\n  dependsOn: resource:db\n",
            "document 2, line 8: spec.dependsOn: expected a list of entity references",
            id="refs-not-a-list",
        ),
        pytest.param(
            "kind: Resource\nmetadata:\n  name: db\n  annotations:\n"
            "    commander.dev/criticality: urgent\n",
            "document 1, line 5: metadata.annotations.commander.dev/criticality: expected low, "
            "medium, high or critical, got 'urgent'",
            id="bad-criticality",
        ),
        pytest.param("kind: Component\nmetadata: [\n", "line 3: invalid YAML", id="broken-yaml"),
        pytest.param(
            "- a\n- b\n", "document 1, line 1: (top level): a catalog document", id="list"
        ),
    ],
)
def test_bad_catalog_names_file_document_and_line(tmp_path: Path, text: str, message: str) -> None:
    """A catalog mistake is a ConfigError naming the file, the document and the line."""
    path = write(tmp_path, "catalog-info.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_catalog_is_a_config_error(tmp_path: Path) -> None:
    """A catalog path that does not exist is a one-line ConfigError."""
    with pytest.raises(ConfigError, match="cannot read catalog"):
        load_catalog(tmp_path / "nope.yaml")


RELATIONS = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  annotations:
    commander.dev/owns: module.payments.*
spec:
  type: service
  owner: team-payments
  providesApis: [payments-api]
  system: shop
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments-api
spec:
  type: openapi
  owner: group:finance/team-payments
  system: shop
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  annotations:
    commander.dev/criticality: critical
spec:
  type: service
  owner: user:alice
  consumesApis: [api:payments-api]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout-tax
spec:
  type: library
  subcomponentOf: checkout
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-commerce
"""


@pytest.mark.parametrize(
    ("changed", "reached"),
    [
        # the provider reaches its API, the API's consumers, and the system it belongs to
        (
            "payments",
            {"payments": 0, "api:payments-api": 1, "system:shop": 1, "checkout": 2},
        ),
        # a subcomponent's change reaches the whole it is part of, and on from there
        ("checkout-tax", {"checkout-tax": 0, "checkout": 1}),
        # a consumer's change does not flow back to the API it consumes
        ("checkout", {"checkout": 0}),
        ("api:payments-api", {"api:payments-api": 0, "checkout": 1, "system:shop": 1}),
    ],
)
def test_relations_are_edges_in_the_direction_of_impact(
    tmp_path: Path, changed: str, reached: dict[str, int]
) -> None:
    """providesApis/consumesApis, subcomponentOf and system make dependents of what changes."""
    graph = DependencyGraph.load(None, catalog=write(tmp_path, "catalog-info.yaml", RELATIONS))
    assert {s: r.distance for s, r in graph.reach([changed]).items()} == reached


def test_an_owned_address_reaches_the_api_consumers(tmp_path: Path) -> None:
    """A plan touching the provider's module reaches the critical consumer through the API."""
    graph = DependencyGraph.load(None, catalog=write(tmp_path, "catalog-info.yaml", RELATIONS))
    assert graph.owners("module.payments.aws_lambda_function.api") == {"payments"}
    assert graph.criticality("checkout") == RiskTier.CRITICAL
    tags = edge_kinds(graph)
    assert ("payments", "api:payments-api", "providesApis") in tags
    assert ("api:payments-api", "checkout", "consumesApis") in tags
    assert ("checkout-tax", "checkout", "subcomponentOf") in tags
    assert ("payments", "system:shop", "system") in tags


@pytest.mark.parametrize(
    ("service", "team"),
    [
        ("payments", "group:default/team-payments"),
        ("api:payments-api", "group:finance/team-payments"),
        ("checkout", "user:default/alice"),
        ("system:shop", "group:default/team-commerce"),
        ("checkout-tax", None),
    ],
)
def test_owner_is_the_team_of_the_entity(tmp_path: Path, service: str, team: str | None) -> None:
    """spec.owner names the team, as a full reference (default kind Group)."""
    graph = DependencyGraph.load(None, catalog=write(tmp_path, "catalog-info.yaml", RELATIONS))
    assert graph.team(service) == team


def test_naming_convention_maps_entities_without_annotations(tmp_path: Path) -> None:
    """Configured globs give unannotated entities their plan addresses; annotations win."""
    catalog = write(tmp_path, "catalog-info.yaml", RELATIONS)
    graph = DependencyGraph.load(
        None, catalog=catalog, owns_by_name=("module.{name}.*", "{namespace}/{kind}/{name}")
    )
    assert graph.owners("module.checkout-tax.aws_s3_bucket.x") == {"checkout-tax"}
    assert graph.owners("default/Component/checkout") == {"checkout"}
    # payments is annotated: the convention does not add to it
    assert graph.owners("default/Component/payments") == set()


def test_a_bad_naming_convention_is_a_config_error(tmp_path: Path) -> None:
    """A placeholder the convention does not know is refused when the config loads."""
    from orchestrator.config import load_config
    from tests.gate_support import write_config

    folder = write_config(tmp_path / "cfg", backstage={"owns": ["module.{team}.*"]})
    with pytest.raises(ConfigError, match=r"use only \{name\}, \{namespace\} and \{kind\}"):
        load_config(folder)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("  system: [shop]\n", "spec.system: expected an entity reference"),
        ("  owner: [a, b]\n", "spec.owner: not an entity reference"),
        ("  providesApis: api:x\n", "spec.providesApis: expected a list of entity references"),
        ("  subcomponentOf: 'a b'\n", "spec.subcomponentOf: not an entity reference"),
    ],
)
def test_bad_relations_name_the_field(tmp_path: Path, spec: str, message: str) -> None:
    """A malformed relation is a ConfigError naming the field, document and line."""
    text = "kind: Component\nmetadata:\n  name: a\nspec:\n" + spec
    with pytest.raises(ConfigError, match=message):
        load_catalog(write(tmp_path, "catalog-info.yaml", text))
