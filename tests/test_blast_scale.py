"""The incidents the blast-radius reviewer exists for, end to end: the CLI, real plans, pictures."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.catalog import ResourceCatalog
from orchestrator.graph import DependencyGraph
from orchestrator.graph.topology import Topology
from orchestrator.models import Proposal, Source
from orchestrator.reviewer import ReviewContext
from orchestrator.testing import plan_document, resource_change
from reviewers.blast_radius import BlastRadiusSettings, assess

BOUNDARY = "shared-iam-boundary"
POLICY = "aws_iam_policy.shared_permission_boundary"
DEPENDENTS = [f"svc-{i:02d}" for i in range(47)]
PREFIX = "cloudflare_byo_ip_prefix"
CATALOG = ResourceCatalog.load_default()


def write_json(folder: Path, name: str, data: Any) -> str:
    """Write a JSON file and return its path."""
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def reach_of(decision: dict[str, Any]) -> dict[str, Any]:
    """The blast-radius summary evidence of a decision JSON."""
    [verdict] = [v for v in decision["verdicts"] if v["reviewer"] == "blast-radius"]
    [found] = [f for f in verdict["findings"] if f["rule"] == "blast-radius.reach"]
    return dict(found["evidence"])


def iam_story(folder: Path) -> tuple[str, str]:
    """A plan tightening the shared boundary, and a topology with 47 services built on it."""
    services: dict[str, Any] = {
        BOUNDARY: {"criticality": "critical", "owns": [POLICY]},
        "billing": {"criticality": "high", "owns": ["module.billing.*"]},
        "reports": {"depends_on": ["billing"]},
        "docs-site": {"criticality": "low", "depends_on": ["docs-site"]},
    }
    services |= {name: {"depends_on": [BOUNDARY]} for name in DEPENDENTS}
    plan = plan_document(
        [
            resource_change(
                POLICY,
                ["update"],
                before={"policy": '{"Statement":[{"Action":"s3:*"}]}'},
                after={"policy": '{"Statement":[{"Action":"s3:GetObject"}]}'},
            )
        ]
    )
    return (
        write_json(folder, "plan.json", plan),
        write_json(folder, "topology.json", {"services": services}),
    )


def test_iam_boundary_reaches_exactly_its_47_dependents(run_cli: Any, tmp_path: Path) -> None:
    """Tightening the shared boundary reaches the 47 services on it and the boundary: no more."""
    plan, topology = iam_story(tmp_path)
    result = run_cli(
        "review", plan, "--topology", topology, "--source", "ai-agent", "--output", "json"
    )
    assert result.code == 3, result.stderr
    decision = json.loads(result.stdout)
    assert decision["blast_radius"]["affected_services"] == sorted([BOUNDARY, *DEPENDENTS])
    reach = reach_of(decision)
    assert (reach["affected_services_total"], reach["dependents_total"]) == (48, 47)
    assert reach["by_distance"] == {"0": 1, "1": 47}
    assert reach["choke_points"][0] == {
        "node": POLICY,
        "kind": "resource",
        "services": 48,
        "share": 1.0,
    }


def test_chain_reaches_the_far_end_through_the_middle() -> None:
    """A depends on B, B on C: a change to C's resource reaches A through B, B its choke point."""
    graph = DependencyGraph(
        Topology.model_validate(
            {
                "services": {
                    "A": {"depends_on": ["B"]},
                    "B": {"depends_on": ["C"]},
                    "C": {"owns": ["aws_sqs_queue.c"]},
                }
            }
        )
    )
    doc = plan_document([resource_change("aws_sqs_queue.c", ["update"], before={}, after={})])
    verdict = assess(proposal_of(doc), ReviewContext(graph=graph), BlastRadiusSettings())
    [found] = [f for f in verdict.findings if f.rule == "blast-radius.reach"]
    evidence = found.evidence
    assert evidence["dependents"] == {
        "C": {"distance": 0, "criticality": "medium", "via": "aws_sqs_queue.c"},
        "B": {"distance": 1, "criticality": "medium", "via": "aws_sqs_queue.c"},
        "A": {"distance": 2, "criticality": "medium", "via": "aws_sqs_queue.c"},
    }
    assert evidence["edges"] == [
        ["aws_sqs_queue.c", "C", "owns"],
        ["C", "B", "depends_on"],
        ["B", "A", "depends_on"],
    ]
    chokes = {c["node"]: c["services"] for c in evidence["choke_points"]}
    assert chokes == {"aws_sqs_queue.c": 3, "C": 2}  # B dominates only A: below the minimum of 2


def proposal_of(doc: dict[str, Any], source: Source = Source.AI_AGENT) -> Proposal:
    """A proposal through the real Terraform adapter."""
    submission = Submission(source=source, actor="agent-7", intent="", environment="prod")
    return load_proposal(json.dumps(doc).encode(), "plan.json", submission)


def test_cyclic_topology_finishes_and_reports_the_cycle(run_cli: Any, tmp_path: Path) -> None:
    """A 20,000-service dependency circle neither hangs nor crashes a review; the cycle is named."""
    n = 20_000
    services = {f"s{i}": {"depends_on": [f"s{(i - 1) % n}"]} for i in range(n)}
    services["s0"]["owns"] = ["aws_sqs_queue.q"]
    services["loner"] = {"depends_on": ["loner"]}
    doc = plan_document([resource_change("aws_sqs_queue.q", ["update"], before={}, after={})])
    plan = write_json(tmp_path, "plan.json", doc)
    topology = write_json(tmp_path, "topology.json", {"services": services})
    started = time.monotonic()
    result = run_cli("review", plan, "--topology", topology, "--output", "json", timeout=60)
    assert time.monotonic() - started < 60
    assert result.code == 3, result.stderr
    decision = json.loads(result.stdout)
    reach = reach_of(decision)
    assert reach["affected_services_total"] == n
    assert reach["cycles_total"] == 1
    assert len(reach["cycles"][0]) == 20  # capped listing of the 20,000 members
    [cycle] = [
        f for v in decision["verdicts"] for f in v["findings"] if f["rule"] == "blast-radius.cycle"
    ]
    assert "dependency cycle" in cycle["message"]


@pytest.mark.corpus
def test_real_plan_reference_reaches_an_unchanged_resources_owner(corpus_dir: Path) -> None:
    """In a real plan, a rule reading a changed security group pulls in its owner's dependents."""
    path = (
        corpus_dir / "terraform-plan" / "terraform-compliance__cli__sg-rules-modules-updates.json"
    )
    submission = Submission(source=Source.AI_AGENT, actor="a", intent="", environment="prod")
    proposal = load_proposal(path.read_bytes(), str(path), submission)
    edge = ("module.alb.aws_security_group.alb", "aws_security_group_rule.inbound", "reference")
    assert edge in {(r.source, r.target, r.kind) for r in proposal.relations}
    actions = {c.address: c.action.value for c in proposal.changes}
    assert (actions[edge[0]], actions[edge[1]]) == ("update", "no-op")
    graph = DependencyGraph(
        Topology.model_validate(
            {
                "services": {
                    "lb": {"owns": ["module.alb.*"]},
                    "edge": {"criticality": "critical", "owns": ["aws_security_group_rule.*"]},
                    "storefront": {"depends_on": ["edge"]},
                }
            }
        )
    )
    context = ReviewContext(graph=graph, catalog=CATALOG)
    verdict = assess(proposal, context, BlastRadiusSettings())
    [found] = [f for f in verdict.findings if f.rule == "blast-radius.reach"]
    evidence = found.evidence
    dependents = evidence["dependents"]
    assert isinstance(dependents, dict)
    assert {s: d["distance"] for s, d in dependents.items() if isinstance(d, dict)} == {
        "edge": 1,
        "lb": 0,
        "storefront": 2,
    }
    assert list(edge) in evidence["edges"]  # type: ignore[operator]


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("plan", "source", "target", "kind"),
    [
        pytest.param(
            "terraform-compliance__cli__many-child-modules",
            'module.ecr_repository_with_for["repository_1"].aws_ecr_repository.ecr_repository',
            'aws_iam_role.test_iam_role["repository_1"]',
            "reference",
            id="for_each-module-to-for_each-resource",
        ),
        pytest.param(
            "infracost__infracost__tf014-mixed-modules",
            "module.db.module.db_1.module.db_instance.aws_iam_role.enhanced_monitoring[0]",
            "module.db.module.db_1.module.db_instance."
            "aws_iam_role_policy_attachment.enhanced_monitoring[0]",
            "reference",
            id="count-in-nested-modules",
        ),
        pytest.param(
            "bridgecrewio__checkov__tfplan-55-creates",
            "aws_vpc.web_vpc",
            "aws_security_group.web-node",
            "depends_on",
            id="depends_on",
        ),
    ],
)
def test_real_plan_edges_join_the_graph(
    corpus_dir: Path, plan: str, source: str, target: str, kind: str
) -> None:
    """Configuration references and depends_on of real plans become tagged graph edges."""
    path = corpus_dir / "terraform-plan" / f"{plan}.json"
    submission = Submission(source=Source.HUMAN, actor="a", intent="", environment="prod")
    proposal = load_proposal(path.read_bytes(), str(path), submission)
    graph = DependencyGraph.empty().with_plan(
        [c.address for c in proposal.changes], proposal.relations, proposal.input_name
    )
    tags = graph.edge_tags(graph.resources[source])
    assert any(
        graph.names[t] == target and tag.kind == kind and tag.origin == str(path)
        for t, tag in tags.items()
    )


def cloudflare(folder: Path) -> tuple[str, str]:
    """1,100 prefix withdrawals, and a topology declaring the 4,306 that exist."""
    doc = plan_document(
        [
            resource_change(
                f'{PREFIX}.prefix["{i:04d}"]',
                ["delete"],
                before={"prefix_id": f"{i:04d}"},
                provider="registry.terraform.io/cloudflare/cloudflare",
            )
            for i in range(1100)
        ]
    )
    return (
        write_json(folder, "plan.json", doc),
        write_json(folder, "topology.json", {"services": {}, "populations": {PREFIX: 4306}}),
    )


def test_cloudflare_withdrawal_is_reported_as_25_5_percent(run_cli: Any, tmp_path: Path) -> None:
    """Withdrawing 1,100 of 4,306 BYOIP prefixes is reported as 25.5% and rejected."""
    plan, topology = cloudflare(tmp_path)
    result = run_cli(
        "review", plan, "--topology", topology, "--source", "automation", "--output", "json"
    )
    assert result.code == 4, result.stderr
    decision = json.loads(result.stdout)
    [bulk] = [
        f
        for v in decision["verdicts"]
        for f in v["findings"]
        if f["rule"] == "blast-radius.bulk-destroy"
    ]
    assert "1,100 of 4,306" in bulk["message"]
    assert "(25.5%)" in bulk["message"]
    assert bulk["evidence"]["destroyed_percent"] == 25.5
    assert decision["blast_radius"]["fleet_fraction"] == 0.2555


def explain_graph(run_cli: Any, tmp_path: Path, *extra: str) -> tuple[Any, dict[str, Any]]:
    """Review the IAM story, then `explain --graph` it; the explain result and the decision."""
    plan, topology = iam_story(tmp_path)
    reviewed = run_cli("review", plan, "--topology", topology, "--output", "json")
    decision = json.loads(reviewed.stdout)
    out = tmp_path / "incident"
    result = run_cli("explain", decision["decision_id"], "--graph", str(out), *extra)
    return result, decision


def test_explain_graph_writes_dot_of_the_recorded_subgraph(
    run_cli: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Without Graphviz, `explain --graph` writes the DOT file alone and says so."""
    cli_env["PATH"] = str(tmp_path / "no-graphviz-here")
    result, decision = explain_graph(run_cli, tmp_path)
    assert result.code == 0, result.stderr
    assert "Graphviz `dot` is not on PATH" in result.stderr
    assert not (tmp_path / "incident.svg").exists()
    dot = (tmp_path / "incident.dot").read_text(encoding="utf-8")
    assert dot.startswith("digraph blast_radius {")
    assert f'"{POLICY}" -> "{BOUNDARY}" [label="owned by"];' in dot
    edges = re.findall(r'^  "([^"]+)" -> "([^"]+)"', dot, re.M)
    assert len(edges) == 48
    assert {t for s, t in edges if s == BOUNDARY} == set(DEPENDENTS)
    assert "choke point: 48 services" in dot
    assert decision["decision_id"] in dot
    assert "THE PROPOSAL" in result.stdout  # the explanation itself still goes to stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_explain_graph_writes_svg_with_graphviz(run_cli: Any, tmp_path: Path) -> None:
    """With Graphviz on PATH, `explain --graph FILE.svg` writes FILE.dot and a valid FILE.svg."""
    result, _ = explain_graph(run_cli, tmp_path)
    assert result.code == 0, result.stderr
    svg = (tmp_path / "incident.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    assert POLICY in svg
    assert svg.count('class="node"') == 50  # 49 and the note
    checked = subprocess.run(  # the same file through Graphviz again
        [str(shutil.which("dot")), "-Tcanon", str(tmp_path / "incident.dot")],
        capture_output=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_explain_graph_into_a_missing_folder_fails_cleanly(run_cli: Any, tmp_path: Path) -> None:
    """A --graph path that cannot be written is a one-line error, exit 1, nothing half-written."""
    plan, topology = iam_story(tmp_path)
    decision = json.loads(
        run_cli("review", plan, "--topology", topology, "--output", "json").stdout
    )
    target = tmp_path / "missing" / "incident"
    result = run_cli("explain", decision["decision_id"], "--graph", str(target))
    assert result.code == 1
    assert result.stderr.startswith("commander: error: cannot write ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "missing").exists()


def test_markdown_diagram_of_a_huge_reach_is_capped_and_summarised(
    run_cli: Any, tmp_path: Path
) -> None:
    """A change reaching 2,000 services draws at most 40 nodes and says how many it left out."""
    services: dict[str, Any] = {"hub": {"criticality": "critical", "owns": [POLICY]}}
    services |= {f"s{i}": {"depends_on": ["hub"]} for i in range(2000)}
    plan, _ = iam_story(tmp_path)
    topology = write_json(tmp_path, "big.json", {"services": services})
    result = run_cli("review", plan, "--topology", topology, "--output", "markdown")
    block = re.search(r"```mermaid\n(.*?)```", result.stdout, re.S)
    assert block is not None
    nodes = re.findall(r'^\s+(\w+)[\[(]"', block.group(1), re.M)
    assert len(nodes) == 42  # 40, the legend and the note
    assert "2,001 services reached in all" in block.group(1)
    assert re.search(r"r_aws_iam_policy_\w+ -->\|owned by\| s_hub", block.group(1))
