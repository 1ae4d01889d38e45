"""The blast-radius pictures: DOT and Mermaid read the same recorded subgraph."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from typing import Any

import pytest

from orchestrator.models import (
    Action,
    Decision,
    Environment,
    Finding,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
)
from orchestrator.render.dot import render_dot
from orchestrator.render.mermaid import render_mermaid

ODD = 'aws_iam_role.x["k\\\\q"]'  # quotes and a backslash inside the address


def decision(evidence: dict[str, Any]) -> Decision:
    """A decision whose blast-radius verdict carries the given reach evidence."""
    verdict = Verdict(
        reviewer="blast-radius",
        stance="concern",
        risk_tier=RiskTier.HIGH,
        confidence=0.9,
        findings=(Finding(rule="blast-radius.reach", message="m", evidence=evidence),),
    )
    return Decision(
        decision_id="d-1",
        proposal_digest="sha256:0",
        outcome="escalate",
        risk_tier=RiskTier.HIGH,
        dissent=0.0,
        verdicts=(verdict,),
        rationale=(),
        policy_version="p",
        created_at="t",
    )


def proposal(*addresses: str) -> Proposal:
    """A proposal deleting the given addresses."""
    return Proposal(
        kind="terraform",
        source=Source.HUMAN,
        actor="a",
        environment=Environment.PRODUCTION,
        environment_name="prod",
        changes=tuple(
            ResourceChange(address=a, type="aws_iam_role", action=Action.DELETE) for a in addresses
        ),
    )


EVIDENCE: dict[str, Any] = {
    "edges": [
        [ODD, "prod/ConfigMap/cfg", "reference"],
        ["prod/ConfigMap/cfg", "web", "owns"],
        ["web", "shop", "depends_on"],
    ],
    "edges_omitted": 3,
    "resources": [ODD, "prod/ConfigMap/cfg"],
    "dependents": {"shop": {"distance": 2, "criticality": "critical"}},
    "choke_points": [{"node": "web", "kind": "service", "services": 2, "share": 1.0}],
    "cycles": [["loop-a", "loop-b"]],
    "affected_services_total": 9,
}


def test_dot_escapes_names_and_marks_kinds() -> None:
    """Addresses with quotes and backslashes stay one quoted DOT id; kinds become labels."""
    dot = render_dot(decision(EVIDENCE), proposal(ODD))
    assert '"aws_iam_role.x[\\"k\\\\\\\\q\\"]" [shape="box"' in dot
    assert '"prod/ConfigMap/cfg" [shape="box", label="prod/ConfigMap/cfg"];' in dot
    assert '"web" -> "shop" [label="needed by"];' in dot
    assert 'penwidth="3", label="web\\nchoke point: 2 services"' in dot
    assert '"shop" [shape="ellipse", style="filled"' in dot
    assert (
        "3 more edges not drawn\\l9 services reached in all\\lcycle among: loop-a, loop-b\\l" in dot
    )


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_dot_output_parses_in_graphviz() -> None:
    """Graphviz accepts the DOT, odd names included, and keeps every node and edge."""
    dot = render_dot(decision(EVIDENCE), proposal(ODD, "aws_iam_role.alone"))
    done = subprocess.run(
        [str(shutil.which("dot")), "-Tplain"], input=dot.encode(), capture_output=True, check=True
    )
    plain = done.stdout.decode()
    assert len(re.findall(r"^node ", plain, re.M)) == 6  # 4 drawn, 1 lone change, the note
    assert len(re.findall(r"^edge ", plain, re.M)) == 3


def test_old_two_item_edges_still_draw() -> None:
    """Decisions recorded before edges had kinds draw the same, without labels."""
    old = {"edges": [[ODD, "web"], ["web", "shop"]], "dependents": {}}
    mermaid = render_mermaid(decision(old), proposal(ODD))
    assert len(re.findall(r"^\s+\w+ --> \w+$", mermaid, re.M)) == 2
    dot = render_dot(decision(old), proposal(ODD))
    assert '"web" -> "shop";' in dot


def test_mermaid_labels_edges_and_tells_resources_from_services() -> None:
    """An unchanged resource the change reaches is a box; edge kinds are labels; choke is thick."""
    mermaid = render_mermaid(decision(EVIDENCE), proposal(ODD))
    assert 'r_prod_ConfigMap_cfg["prod/ConfigMap/cfg"]' in mermaid
    assert re.search(r"r_aws_iam_role_x__k__q__ -->\|referenced by\| r_prod_ConfigMap_cfg", mermaid)
    assert "s_web -->|needed by| s_shop" in mermaid
    assert "class s_web choke" in mermaid
    assert "9 services reached in all" in mermaid


def _chain(length: int) -> dict[str, Any]:
    names = [ODD, *[f"svc-{i}" for i in range(length - 1)]]
    return {
        "edges": [[a, b, "depends_on"] for a, b in itertools.pairwise(names)],
        "dependents": {n: {"criticality": "medium"} for n in names[1:]},
    }


def _hops(mermaid: str) -> dict[str, int]:
    """Each node id and the hop (subgraph) it is declared in."""
    found: dict[str, int] = {}
    hop = 0
    for line in mermaid.splitlines():
        opened = re.match(r'\s+subgraph d(\d+)\["', line)
        if opened:
            hop = int(opened.group(1))
        declared = re.match(r'\s+(\w+)[\[(]"', line)
        if declared and declared.group(1) not in ("legend", "more"):
            found[declared.group(1)] = hop
    return found


def test_mermaid_arrows_point_from_the_change_to_what_it_affects() -> None:
    """Every arrow goes one hop further from the change: a → b reads "a change to a affects b"."""
    mermaid = render_mermaid(decision(EVIDENCE), proposal(ODD))
    hops = _hops(mermaid)
    arrows = re.findall(r"^\s+(\w+) -->\|[^|]*\| (\w+)$", mermaid, re.M)
    assert len(arrows) == 3
    for source, target in arrows:
        assert hops[target] == hops[source] + 1
    assert hops["r_aws_iam_role_x__k__q__"] == 0
    assert '"2 hops away"' in mermaid
    assert 'legend["a → b: a change to a affects b' in mermaid


@pytest.mark.parametrize(
    ("evidence", "direction"),
    [
        (_chain(10), "TD"),  # ten in a row: one per hop, stacked down the comment
        (
            {"edges": [[ODD, f"svc-{i}", "depends_on"] for i in range(12)], "dependents": {}},
            "LR",  # twelve side by side would overflow a comment's width: hops become columns
        ),
    ],
    ids=["chain", "fan-out"],
)
def test_mermaid_layout_follows_the_graph_shape(evidence: dict[str, Any], direction: str) -> None:
    """Narrow graphs run top-down, hop under hop; a hop wider than NARROW runs left to right."""
    mermaid = render_mermaid(decision(evidence), proposal(ODD))
    assert mermaid.splitlines()[0] == f"flowchart {direction}"
    hops = _hops(mermaid)
    assert len(hops) == len({n for e in evidence["edges"] for n in e[:2]})
    assert max(hops.values()) == (9 if direction == "TD" else 1)


def test_a_lone_change_has_no_hop_boxes_and_no_legend_arrows() -> None:
    """Nothing reached: just the changed resources, no empty groups, no legend for arrows."""
    mermaid = render_mermaid(decision({"edges": []}), proposal(ODD, "aws_iam_role.y"))
    assert "subgraph" not in mermaid
    assert "legend" not in mermaid
