"""The dependency graph: loading topologies, owner lookups and multi-source reach."""

from __future__ import annotations

import fnmatch
import json
import threading
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.errors import ConfigError
from orchestrator.graph import DependencyGraph
from orchestrator.graph.dependency import Reached
from orchestrator.graph.owners import OwnerIndex
from orchestrator.graph.topology import Topology
from orchestrator.models import Relation, RiskTier

BOUNDARY = "shared-iam-boundary"
BOUNDARY_POLICY = "aws_iam_policy.shared_permission_boundary"
DEPENDENTS = [f"svc-{i:02d}" for i in range(47)]


def graph_of(services: dict[str, Any], **extra: Any) -> DependencyGraph:
    """A graph from a topology given as plain data."""
    return DependencyGraph(Topology.model_validate({"services": services, **extra}))


def iam_story() -> DependencyGraph:
    """One boundary service, 47 services depending on it, and unrelated ones."""
    services: dict[str, Any] = {
        BOUNDARY: {"criticality": "critical", "owns": [BOUNDARY_POLICY]},
        "billing": {"criticality": "high", "owns": ["module.billing.*"]},
        "reports": {"depends_on": ["billing"]},
        "docs-site": {"criticality": "low"},
    }
    for name in DEPENDENTS:
        services[name] = {"depends_on": [BOUNDARY], "owns": [f"module.{name}.*"]}
    return graph_of(services)


def test_iam_boundary_reaches_exactly_its_47_dependents() -> None:
    """A change to the shared boundary reaches the 47 services built on it and nothing else."""
    graph = iam_story()
    owners = graph.owners(BOUNDARY_POLICY)
    assert owners == {BOUNDARY}
    reached = graph.reach(owners)
    assert set(reached) == {BOUNDARY, *DEPENDENTS}
    assert reached[BOUNDARY] == Reached(0, BOUNDARY)
    assert all(reached[s] == Reached(1, BOUNDARY) for s in DEPENDENTS)


def test_chain_reaches_through_intermediate_service() -> None:
    """If C depends on B and B on A, a change to A reaches C at distance 2, via A."""
    graph = graph_of({"A": {}, "B": {"depends_on": ["A"]}, "C": {"depends_on": ["B"]}})
    assert graph.reach(["A"]) == {"A": Reached(0, "A"), "B": Reached(1, "A"), "C": Reached(2, "A")}
    assert graph.reach(["C"]) == {"C": Reached(0, "C")}


def test_nearest_source_wins_attribution() -> None:
    """A service reached from two changed services is attributed to the nearer one."""
    graph = graph_of(
        {
            "A": {},
            "B": {"depends_on": ["A"]},
            "C": {"depends_on": ["B", "D"]},
            "D": {},
        }
    )
    reached = graph.reach(["A", "D"])
    assert reached["C"] == Reached(1, "D")
    assert reached["B"] == Reached(1, "A")


def test_unknown_sources_are_ignored() -> None:
    """Sources the topology does not know reach nothing, and an empty graph reaches nothing."""
    assert graph_of({"A": {}}).reach(["nope"]) == {}
    assert DependencyGraph.empty().reach(["A"]) == {}


def test_cycles_do_not_hang_reach_and_are_reported() -> None:
    """A dependency cycle is walked once and listed by cycles()."""
    graph = graph_of(
        {
            "A": {"depends_on": ["C"]},
            "B": {"depends_on": ["A"]},
            "C": {"depends_on": ["B"]},
            "D": {"depends_on": ["C"]},
            "self": {"depends_on": ["self"]},
        }
    )
    result: dict[str, Reached] = {}
    walker = threading.Thread(target=lambda: result.update(graph.reach(["A"])), daemon=True)
    walker.start()
    walker.join(timeout=10)
    assert not walker.is_alive(), "reach() did not return on a cyclic topology"
    assert result == {
        "A": Reached(0, "A"),
        "B": Reached(1, "A"),
        "C": Reached(2, "A"),
        "D": Reached(3, "A"),
    }
    cycles = {frozenset(c) for c in graph.cycles()}
    assert cycles == {frozenset({"A", "B", "C"}), frozenset({"self"})}


def test_cycles_are_groups_capped_at_the_limit() -> None:
    """cycles() gives one group per circle of services (however many loops it holds), capped."""
    services = {f"s{i}": {"depends_on": [f"s{j}" for j in range(6) if j != i]} for i in range(6)}
    for k in range(5):
        services[f"loop{k}"] = {"depends_on": [f"loop{k}"]}
    graph = graph_of(services)
    assert graph.cycles(limit=10)[0] == ["loop0"]
    assert [f"s{i}" for i in range(6)] in graph.cycles(limit=10)
    assert len(graph.cycles(limit=10)) == 6
    assert len(graph.cycles(limit=3)) == 3


def test_undeclared_dependency_is_a_medium_service() -> None:
    """A service named only in depends_on still carries the edge, at medium criticality."""
    graph = graph_of({"app": {"depends_on": ["ghost-db"], "criticality": "high"}})
    assert graph.criticality("ghost-db") == RiskTier.MEDIUM
    assert graph.criticality("app") == RiskTier.HIGH
    assert set(graph.reach(["ghost-db"])) == {"ghost-db", "app"}


@pytest.mark.parametrize(
    ("globs", "address", "owners"),
    [
        pytest.param(["prod/Deployment/checkout"], "prod/Deployment/checkout", {"x"}, id="exact"),
        pytest.param(
            ["prod/Deployment/checkout"],
            "prod/Deployment/checkout-v2",
            set(),
            id="exact-is-not-a-prefix",
        ),
        pytest.param(["module.checkout.*"], "module.checkout.aws_lb.main", {"x"}, id="glob"),
        pytest.param(
            ["module.checkout.*"],
            'module.checkout.module.db.aws_db.x["a"]',
            {"x"},
            id="glob-nested-module-with-key",
        ),
        pytest.param(
            ["module.checkout.*"], "module.checkout_v2.aws_lb.main", set(), id="glob-other-module"
        ),
        pytest.param(["module.checkout.*"], "module.checkout", set(), id="glob-needs-the-dot"),
        pytest.param(
            ['aws_iam_role.x["k"]'], 'aws_iam_role.x["k"]', {"x"}, id="brackets-and-quotes-exact"
        ),
        pytest.param(
            ['aws_iam_role.x["k"]'], 'aws_iam_role.x["j"]', set(), id="brackets-other-key"
        ),
        pytest.param(
            ["module.m.aws_s3_bucket.b[0]"],
            "module.m.aws_s3_bucket.b[0]",
            {"x"},
            id="count-index-exact",
        ),
        pytest.param(["aws_iam_role.x[*]"], 'aws_iam_role.x["k"]', {"x"}, id="every-instance"),
        pytest.param(["aws_iam_role.x[*]"], "aws_iam_role.x[3]", {"x"}, id="every-index"),
        pytest.param(["aws_iam_role.x[*]"], "aws_iam_role.xy", set(), id="instances-only"),
        pytest.param(["aws_instance.web?"], "aws_instance.web1", {"x"}, id="question-mark"),
        pytest.param(["aws_instance.web?"], "aws_instance.web12", set(), id="question-is-one"),
        pytest.param(["*.shared"], "aws_kms_key.shared", {"x"}, id="leading-wildcard"),
        pytest.param(["module.a.very.long.prefix.*"], "module.a", set(), id="short-address"),
    ],
)
def test_owner_index_matches(globs: list[str], address: str, owners: set[str]) -> None:
    """Owner globs match Terraform and Kubernetes addresses; brackets are literal."""
    assert OwnerIndex({"x": globs}).owners(address) == owners


def test_overlapping_owners_are_all_returned() -> None:
    """An address owned by several services belongs to each of them."""
    index = OwnerIndex(
        {
            "platform": ["module.*"],
            "checkout": ["module.checkout.*"],
            "db": ["module.checkout.aws_db_instance.main"],
            "other": ["module.orders.*"],
        }
    )
    assert index.owners("module.checkout.aws_db_instance.main") == {"platform", "checkout", "db"}


# --- reach against networkx ---------------------------------------------------


@st.composite
def topologies(draw: st.DrawFn) -> tuple[DependencyGraph, nx.DiGraph[str], list[str]]:
    """A random topology (a DAG or any digraph), its networkx twin and some sources."""
    n = draw(st.integers(min_value=1, max_value=14))
    dag = draw(st.booleans())
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))
    edges = {(a, b) for a, b in pairs if not dag or a < b}
    services: dict[str, Any] = {f"s{i}": {"depends_on": []} for i in range(n)}
    twin: nx.DiGraph[str] = nx.DiGraph()
    twin.add_nodes_from(services)
    for a, b in sorted(edges):
        services[f"s{b}"]["depends_on"].append(f"s{a}")  # s_b depends on s_a: damage flows a -> b
        twin.add_edge(f"s{a}", f"s{b}")
    sources = draw(st.lists(st.sampled_from([*services, "unknown"]), min_size=1, max_size=4))
    return graph_of(services), twin, sources


@settings(deadline=None)
@given(topologies())
def test_reach_contains_every_descendant_at_shortest_distance(
    case: tuple[DependencyGraph, nx.DiGraph[str], list[str]],
) -> None:
    """reach() is the sources and all their descendants, each at its nearest source's distance."""
    graph, twin, sources = case
    known = [s for s in sources if s in twin]
    reached = graph.reach(sources)
    expected = set(known).union(*(nx.descendants(twin, s) for s in known))
    assert set(reached) == expected
    lengths = {s: nx.single_source_shortest_path_length(twin, s) for s in known}
    for node, hit in reached.items():
        assert hit.distance == min(lengths[s][node] for s in known if node in lengths[s])
        assert hit.via in known
        assert lengths[hit.via][node] == hit.distance


# --- loading ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        pytest.param(
            "services:\n  checkout:\n    critcality: critical\n", "critcality", 3, id="typo-key"
        ),
        pytest.param(
            "services:\n  a: {}\n  checkout:\n    criticality: urgent\n",
            "criticality",
            4,
            id="unknown-criticality",
        ),
        pytest.param(
            "services:\n  checkout:\n    depends_on: [a]\n    owns: 7\n",
            "owns",
            4,
            id="owns-not-a-list",
        ),
        pytest.param("services:\n  checkout: {\n", "invalid YAML", 3, id="broken-yaml"),
        pytest.param("servces:\n  checkout: {}\n", "servces", 1, id="top-level-typo"),
    ],
)
def test_bad_topology_names_file_and_line(
    tmp_path: Path, text: str, needle: str, line: int
) -> None:
    """A topology mistake is a ConfigError naming the file, the line and the bad key."""
    path = tmp_path / "topology.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        DependencyGraph.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line {line}: ")
    assert needle in message


def test_topology_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    """A list at the top of the topology file is an error naming the file."""
    path = tmp_path / "topology.yaml"
    path.write_text("- checkout\n- orders\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="a topology file is a mapping"):
        DependencyGraph.load(path)


def test_missing_topology_file_is_a_config_error(tmp_path: Path) -> None:
    """A topology path that does not exist is a one-line ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match="cannot read topology"):
        DependencyGraph.load(tmp_path / "nope.yaml")


def test_json_topology_loads(tmp_path: Path) -> None:
    """A JSON topology file loads like YAML, criticality and ownership included."""
    path = tmp_path / "topology.json"
    path.write_text(
        json.dumps(
            {
                "services": {
                    BOUNDARY: {"criticality": "critical", "owns": [BOUNDARY_POLICY]},
                    "checkout": {"depends_on": [BOUNDARY], "owns": ["prod/Deployment/checkout"]},
                },
                "populations": {"cloudflare_byo_ip_prefix": 4306},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    graph = DependencyGraph.load(path)
    assert graph.origin == str(path)
    assert len(graph) == 2
    assert graph.criticality(BOUNDARY) == RiskTier.CRITICAL
    assert graph.owners("prod/Deployment/checkout") == {"checkout"}
    assert set(graph.reach(graph.owners(BOUNDARY_POLICY))) == {BOUNDARY, "checkout"}
    assert graph.topology.populations == {"cloudflare_byo_ip_prefix": 4306}


def test_json_topology_error_names_the_line(tmp_path: Path) -> None:
    """A typo in a JSON topology is located by line just as in YAML."""
    path = tmp_path / "topology.json"
    path.write_text(
        json.dumps({"services": {"a": {}, "b": {"critcality": "low"}}}, indent=2), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"line 5: services\.b\.critcality"):
        DependencyGraph.load(path)


# --- one graph from every source ---------------------------------------------------


def test_plan_resources_join_the_graph_without_touching_it() -> None:
    """with_plan adds resources, relations of any kind and owns edges; the topology is unchanged."""
    graph = graph_of(
        {
            "config": {"criticality": "high", "owns": ["prod/ConfigMap/app-config"]},
            "web": {"depends_on": ["config"], "owns": ["prod/Deployment/web"]},
        }
    )
    before = ([list(s) for s in graph.succ], list(graph.names))
    relations = (
        Relation(source="prod/ConfigMap/app-config", target="prod/Deployment/web", kind="config"),
        Relation(source="prod/Service/web", target="prod/Deployment/web", kind="selects"),
    )
    plan = graph.with_plan(["prod/ConfigMap/app-config"], relations, "manifests.yaml")
    assert ([list(s) for s in graph.succ], list(graph.names)) == before
    assert len(plan) == len(graph) == 2  # services only
    config_map = plan.resources["prod/ConfigMap/app-config"]
    tags = {plan.names[t]: (tag.kind, tag.origin) for t, tag in plan.edge_tags(config_map).items()}
    assert tags == {
        "prod/Deployment/web": ("config", "manifests.yaml"),
        "config": ("owns", "<topology>"),
    }
    walked = plan.walk([config_map])
    distance = {plan.names[n]: walked.dist[n] for n in walked.order}
    # owning costs nothing: the ConfigMap's owner is at 0, the Deployment it configures at 1
    assert distance == {
        "prod/ConfigMap/app-config": 0,
        "config": 0,
        "prod/Deployment/web": 1,
        "web": 1,
    }


def test_networkx_view_carries_kinds_and_origins() -> None:
    """to_networkx() is the same graph: node kinds, criticality, each edge's kind and origin."""
    graph = graph_of(
        {
            "db": {"criticality": "critical", "owns": ["aws_db_instance.main"]},
            "app": {"depends_on": ["db"]},
        }
    )
    plan = graph.with_plan(["aws_db_instance.main"], (), "plan.json")
    twin = plan.to_networkx()
    assert dict(twin.nodes(data=True)) == {
        "db": {"kind": "service", "criticality": "critical"},
        "app": {"kind": "service", "criticality": "medium"},
        "aws_db_instance.main": {"kind": "resource"},
    }
    assert sorted(twin.edges(data=True)) == [
        ("aws_db_instance.main", "db", {"kind": "owns", "origin": "<topology>"}),
        ("db", "app", {"kind": "depends_on", "origin": "<topology>"}),
    ]
    assert set(plan.to_networkx([plan.services["db"]]).nodes) == {"db"}


@settings(deadline=None, max_examples=300)
@given(
    st.text(alphabet='ab.[]"*?', max_size=8),
    st.text(alphabet='ab.[]"', max_size=10),
)
def test_owner_index_agrees_with_fnmatch(glob: str, address: str) -> None:
    """Whatever shortcut the index takes, it matches exactly when fnmatch does."""
    expected = fnmatch.fnmatchcase(address, glob.replace("[", "[[]"))
    assert (OwnerIndex({"x": [glob]}).owners(address) == {"x"}) == expected
