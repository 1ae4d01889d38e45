"""Renderers: text, JSON, markdown (with Mermaid), SARIF and the explain story."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from orchestrator.adapters.base import Submission
from orchestrator.models import (
    Action,
    BlastRadius,
    Decision,
    Environment,
    Finding,
    Proposal,
    RequiredApproval,
    ResourceChange,
    RiskTier,
    Source,
    Verdict,
)
from orchestrator.render import FORMATS, contrarian_followed, render
from orchestrator.render.explain import render_explain
from orchestrator.render.locations import Sources, input_place
from orchestrator.render.markdown import MAX_COMMENT, md, render_markdown
from orchestrator.render.mermaid import escape_label, render_mermaid
from orchestrator.render.sarif import fingerprint, render_sarif
from orchestrator.render.text import render_text
from orchestrator.review import ReviewRequest, run_review
from orchestrator.settings import Settings

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)
ANSI = re.compile(r"\x1b\[")
IAM = 'module.a.aws_iam_role.x["k"]'
K8S = "prod/Deployment/checkout"


# --- factory -----------------------------------------------------------------


def change(address: str, action: Action = Action.UPDATE) -> ResourceChange:
    return ResourceChange(address=address, type=address.split("/")[-2:][0], action=action)


def proposal(*addresses: str, input_name: str = "plans/prod.json") -> Proposal:
    changes = tuple(
        change(a, Action.DELETE if i == 0 else Action.UPDATE) for i, a in enumerate(addresses)
    )
    return Proposal(
        kind="terraform",
        source=Source.AI_AGENT,
        actor="agent-7",
        intent="tighten the shared | boundary `now`",
        environment=Environment.PRODUCTION,
        environment_name="prod",
        changes=changes,
        input_name=input_name,
    )


def reach(edges: list[list[str]], omitted: int = 0) -> Finding:
    return Finding(
        rule="blast-radius.reach",
        message="reaches 2 services",
        resources=(IAM,),
        evidence={
            "edges": list(edges),
            "edges_omitted": omitted,
            "dependents": {"checkout": {"distance": 1, "criticality": "critical"}},
        },
        severity=RiskTier.HIGH,
    )


def verdicts(
    *, with_findings: bool = True, edges: list[list[str]] | None = None
) -> tuple[Verdict, ...]:
    findings = with_findings
    return (
        Verdict(
            reviewer="scope",
            stance="concern",
            risk_tier=RiskTier.HIGH,
            confidence=0.9,
            rationale="scope rationale: touches IAM outside the stated intent",
            findings=(
                Finding(
                    rule="scope.out-of-intent", message="IAM | not in intent", resources=(IAM,)
                ),
                Finding(
                    rule="scope.mass-change",
                    message="many resources",
                    resources=tuple(f"aws_s3_bucket.b{i}" for i in range(9)),
                    severity=RiskTier.LOW,
                ),
            )
            if findings
            else (),
        ),
        Verdict(
            reviewer="blast-radius",
            stance="block",
            risk_tier=RiskTier.CRITICAL,
            confidence=0.8,
            rationale="blast rationale: 47 services depend on it",
            findings=(
                reach(
                    edges
                    if edges is not None
                    else [[IAM, "shared-iam"], ["shared-iam", "checkout"]]
                ),
            )
            if findings
            else (),
        ),
        Verdict(
            reviewer="reversibility",
            stance="approve",
            risk_tier=RiskTier.LOW,
            confidence=0.7,
            rationale="reversibility rationale: nothing is destroyed for good",
            findings=(
                Finding(
                    rule="reversibility.delete",
                    message="deletes a role",
                    resources=(IAM,),
                    severity=RiskTier.CRITICAL,
                    hard=True,
                    evidence={"long": list(range(50))},
                ),
            )
            if findings
            else (),
        ),
        Verdict.failed("contrarian", "timed out after 2s"),
    )


def decision(
    *,
    decision_id: str = "dec-1",
    created_at: str = "2026-03-01T00:00:00Z",
    with_findings: bool = True,
    edges: list[list[str]] | None = None,
) -> Decision:
    return Decision(
        decision_id=decision_id,
        proposal_digest="sha256:" + "ab" * 32,
        outcome="escalate",
        risk_tier=RiskTier.HIGH,
        required_approvals=(
            RequiredApproval(role="senior-engineer"),
            RequiredApproval(role="team-lead"),
        ),
        dissent=0.5,
        blast_radius=BlastRadius(score=60, changed_resources=2, affected_services=("checkout",)),
        verdicts=verdicts(with_findings=with_findings, edges=edges),
        rationale=("a reviewer objected | so a human decides",),
        rules_fired=("dissent-escalates",),
        minority_opinion="reversibility thought it safe",
        policy_version="policy-7",
        created_at=created_at,
    )


def sarif(d: Decision, p: Proposal) -> dict[str, Any]:
    return json.loads(render_sarif(d, p, sources=Sources(root=Path("/repo"))))  # type: ignore[no-any-return]


# --- SARIF -------------------------------------------------------------------


@pytest.mark.parametrize("with_findings", [True, False], ids=["findings", "no-findings"])
def test_sarif_validates_against_the_official_schema(with_findings: bool) -> None:
    """GitHub code scanning gets a valid SARIF 2.1.0 log, with or without findings."""
    log = sarif(decision(with_findings=with_findings), proposal(IAM, K8S))
    validator = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=str)
    assert errors == []
    assert len(log["runs"]) == 1
    log["runs"][0]["properties"] = "not a property bag"
    assert not validator.is_valid(log)  # the schema really checks
    assert len(log["runs"][0]["results"]) == (3 if with_findings else 0)


def test_sarif_rules_are_distinct_and_indexed() -> None:
    """Each rule id appears once in the driver, and every result points at its own rule."""
    run = sarif(decision(), proposal(IAM, K8S))["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(ids) == len(set(ids)) == 3
    assert "blast-radius.reach" not in ids  # a summary, not an alert
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]


def test_sarif_rules_carry_help_from_the_registry() -> None:
    """Every rule has a PascalCase name, descriptions, help with the fix and a helpUri."""
    d = decision()
    blast = Finding(rule="blast-radius.fan-out", message="reaches 12 services", resources=(IAM,))
    verdict = d.verdicts[1].model_copy(update={"findings": (*d.verdicts[1].findings, blast)})
    d = d.model_copy(update={"verdicts": (d.verdicts[0], verdict, *d.verdicts[2:])})
    rules = {r["id"]: r for r in sarif(d, proposal(IAM))["runs"][0]["tool"]["driver"]["rules"]}
    fan_out = rules["blast-radius.fan-out"]
    assert fan_out["name"] == "BlastRadiusFanOut"
    assert fan_out["shortDescription"]["text"].startswith("The change reaches many")
    assert "**Fix:**" in fan_out["help"]["markdown"]
    assert "Fix:" in fan_out["help"]["text"]
    assert fan_out["helpUri"].endswith("docs/rules.md#blast-radiusfan-out")
    for rule in rules.values():  # rules of the user's own configuration get the catch-all's help
        assert rule["name"] != rule["id"]
        assert rule["help"]["text"]
        assert rule["helpUri"].startswith("https://")


@pytest.mark.parametrize(
    ("rule", "level", "score"),
    [
        ("scope.out-of-intent", "warning", "5.0"),
        ("scope.mass-change", "note", "2.0"),
        ("reversibility.delete", "error", "9.5"),
    ],
)
def test_sarif_levels_follow_severity(rule: str, level: str, score: str) -> None:
    """Severity maps to SARIF level and GitHub's numeric security-severity."""
    run = sarif(decision(), proposal(IAM))["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == rule)
    descriptor = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert result["level"] == level
    assert descriptor["properties"]["security-severity"] == score
    assert "security" in descriptor["properties"]["tags"]


def test_sarif_fingerprints_survive_new_ids_and_times() -> None:
    """The same findings in a later decision keep their fingerprints, so alerts are tracked."""
    p = proposal(IAM, K8S)
    first = sarif(decision(decision_id="a", created_at="2026-01-01T00:00:00Z"), p)
    second = sarif(decision(decision_id="b", created_at="2027-01-01T00:00:00Z"), p)
    prints = [
        [r["partialFingerprints"] for r in log["runs"][0]["results"]] for log in (first, second)
    ]
    assert prints[0] == prints[1]
    assert len({json.dumps(fp, sort_keys=True) for fp in prints[0]}) == 3


def test_sarif_carries_the_outcome_and_locations() -> None:
    """The run names outcome, tier and decision; results point at the input and the resources."""
    run = sarif(decision(), proposal(IAM, input_name="/repo/plans/a b.json"))["runs"][0]
    assert run["properties"]["outcome"] == "escalate"
    assert run["properties"]["riskTier"] == "high"
    assert run["properties"]["decisionId"] == "dec-1"
    assert run["invocations"][0]["executionSuccessful"] is False
    location = run["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "plans/a%20b.json"
    assert location["logicalLocations"][0]["fullyQualifiedName"] == IAM


def test_sarif_and_markdown_cite_the_file_and_line_a_finding_carries(tmp_path: Path) -> None:
    """A diff's IAM finding is a code-scanning alert on its file and line (schema-valid), and
    the pull-request comment names the same place."""
    diff = tmp_path / "c.diff"
    diff.write_text(
        "diff --git a/iam/ci.tf b/iam/ci.tf\nnew file mode 100644\nindex 0..1\n"
        "--- /dev/null\n+++ b/iam/ci.tf\n@@ -0,0 +1,4 @@\n"
        '+resource "aws_iam_role_policy_attachment" "ci" {\n'
        "+  role       = aws_iam_role.ci.name\n"
        '+  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n'
        "+}\n",
        encoding="utf-8",
    )
    result = run_review(
        ReviewRequest(
            path=str(diff),
            submission=Submission(source=Source.HUMAN, actor="alice"),
            settings=Settings(
                database_url=f"sqlite:///{tmp_path / 'a.db'}", config_dir=None, topology=None
            ),
        )
    )
    log = sarif(result.decision, result.proposal)
    assert not list(Draft4Validator(SCHEMA).iter_errors(log))
    alert = next(
        r for r in log["runs"][0]["results"] if r["ruleId"] == "scope.iam.admin-equivalent"
    )
    place = alert["locations"][0]["physicalLocation"]
    assert (place["artifactLocation"]["uri"], place["region"]["startLine"]) == ("iam/ci.tf", 1)
    assert "Where: `iam/ci.tf:1`" in render_markdown(result.decision, result.proposal)


def test_sarif_fingerprint_ignores_resource_order() -> None:
    """A reviewer listing the same resources in another order still makes the same alert."""
    a = Finding(rule="scope.x", message="one", resources=("b", "a", "a"))
    b = Finding(rule="scope.x", message="two", resources=("a", "b"))
    assert fingerprint("scope", a) == fingerprint("scope", b)
    assert fingerprint("scope", a) != fingerprint("other", a)


@pytest.mark.parametrize(
    ("name", "uri"),
    [
        ("-", "stdin"),
        ("<stdin>", "stdin"),
        ("plans/x.json", "infra/plans/x.json"),
        ("{repo}/sub/x.json", "sub/x.json"),
        ("/elsewhere/x.json", "file:///elsewhere/x.json"),
    ],
)
def test_artifact_uri(name: str, uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Input names become URIs relative to the repository, wherever in it the command ran;
    standard input is "stdin"."""
    (tmp_path / "infra").mkdir()
    monkeypatch.chdir(tmp_path / "infra")
    given = proposal(IAM, input_name=name.format(repo=tmp_path))
    assert input_place(given, Sources(root=tmp_path)).uri == uri


# --- JSON --------------------------------------------------------------------


def test_json_is_the_decision_contract() -> None:
    """--output json prints exactly to_json_dict(), "schema" first, with a trailing newline."""
    d = decision()
    out = render("json", d, proposal(IAM), color=False)
    assert out.endswith("}\n")
    parsed = json.loads(out)
    assert parsed == d.to_json_dict()
    assert next(iter(parsed)) == "schema"
    assert list(parsed) == list(d.to_json_dict())


def test_json_path_never_imports_rich() -> None:
    """The JSON and SARIF outputs do not pay rich's import time."""
    code = (
        "import json, sys\n"
        "from orchestrator.models import Decision, Proposal\n"
        "from orchestrator.render import render\n"
        "data = json.load(sys.stdin)\n"
        "d = Decision.model_validate(data['decision'])\n"
        "p = Proposal.model_validate(data['proposal'])\n"
        "render('json', d, p, color=False); render('sarif', d, p, color=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))\n"
    )
    data = {
        "decision": decision().to_json_dict(),
        "proposal": proposal(IAM).model_dump(mode="json"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent.parent,
        input=json.dumps(data),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


# --- markdown and Mermaid ------------------------------------------------------


def test_markdown_comment() -> None:
    """The PR comment has the headline, the approvals, one table row per reviewer and a footer."""
    out = render_markdown(decision(), proposal(IAM, K8S))
    assert "**ESCALATE** — high risk" in out
    assert "senior-engineer, team-lead" in out
    for row in (
        "| scope | concern | high | 0.90 | 2 |  |",
        "| blast-radius | block | critical | 0.80 | 1 |  |",
        "| contrarian | concern | high | 0.00 | 0 | timed out after 2s |",
    ):
        assert row in out
    assert "a reviewer objected \\| so a human decides" in out
    assert "`dec-1`" in out
    assert "`policy-7`" in out
    assert "and 4 more" in out


def test_markdown_escapes_pipes_and_backticks_in_cells() -> None:
    """A reviewer error with pipes and backticks cannot break the verdict table."""
    bad = Verdict.failed("scope", "boom | `x`")
    d = decision().model_copy(update={"verdicts": (bad,)})
    row = next(line for line in render_markdown(d, proposal(IAM)).splitlines() if "boom" in line)
    assert "boom \\| \\`x\\`" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 7  # six cells, no more


def test_markdown_collapses_long_reviewer_findings() -> None:
    """A reviewer with many findings is folded into a <details> block."""
    many = tuple(Finding(rule=f"scope.r{i}", message="m") for i in range(5))
    v = Verdict(
        reviewer="scope", stance="concern", risk_tier=RiskTier.HIGH, confidence=1, findings=many
    )
    d = decision().model_copy(update={"verdicts": (v,)})
    out = render_markdown(d, proposal(IAM))
    assert "<details><summary><b>scope</b> — 5 findings</summary>" in out
    assert "</details>" in out


def huge_decision() -> Decision:
    addresses = [f'aws_s3_bucket.b["{i}"]' for i in range(10_000)]
    findings = tuple(
        Finding(rule=f"scope.r{i % 20}", message="m " * 60, resources=tuple(addresses[i::500]))
        for i in range(500)
    )
    v = Verdict(
        reviewer="scope", stance="block", risk_tier=RiskTier.HIGH, confidence=1, findings=findings
    )
    return decision().model_copy(update={"verdicts": (v,)})


def test_markdown_fits_a_github_comment() -> None:
    """Hundreds of findings still fit in a GitHub comment, which says where the rest are."""
    out = render_markdown(huge_decision(), proposal(IAM))
    assert len(out) <= MAX_COMMENT
    assert "commander explain dec-1" in out
    assert "```mermaid" in out


@given(st.text(max_size=80))
def test_md_escape_keeps_text_on_one_inert_line(text: str) -> None:
    """Escaped free text has no newline, no raw HTML and no unescaped pipe or backtick."""
    escaped = md(text)
    assert "\n" not in escaped
    assert "<" not in escaped
    assert not re.search(r"(?<!\\)[|`]", escaped.replace("\\\\", ""))


def mermaid_block(markdown: str) -> str:
    match = re.search(r"```mermaid\n(.*?)```", markdown, re.S)
    assert match is not None
    return match.group(1)


def test_mermaid_sanitises_ids_and_escapes_labels() -> None:
    """Addresses with quotes, brackets, dots and slashes become safe ids and quoted labels."""
    block = mermaid_block(
        render_markdown(decision(edges=[[IAM, "checkout"], [K8S, "checkout"]]), proposal(IAM, K8S))
    )
    node_ids = re.findall(r"^\s+(\w+)[\[(]\"", block, re.M)
    assert node_ids
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in node_ids)
    assert len(node_ids) == len(set(node_ids)) == 4  # three nodes and the legend
    assert 'module.a.aws_iam_role.x[#quot;k#quot;] (delete)"]' in block
    assert '"prod/Deployment/checkout (update)"]' in block
    assert '("checkout (critical)")' in block
    for line in block.splitlines():
        if "-->" in line:
            assert re.fullmatch(r"\s+\w+ --> \w+", line)
    assert "class r_module_a_aws_iam_role_x__k__ destructive" in block


def test_mermaid_caps_large_diagrams_with_a_note() -> None:
    """More than 40 nodes: the diagram stops at 40 and a note says how many were left out."""
    addresses = [f"aws_s3_bucket.b{i}" for i in range(60)]
    edges = [[a, "storage"] for a in addresses]
    src = render_mermaid(decision(edges=edges), proposal(*addresses))
    nodes = re.findall(r'^\s+(\w+)[\[(]"', src, re.M)
    assert len(nodes) == 42  # 40 nodes, the legend and the note
    assert '"… and 21 more (21 more edges not drawn)"' in src


def test_mermaid_without_reach_evidence_draws_changed_resources() -> None:
    """Without the blast-radius finding the diagram still shows every changed resource."""
    src = render_mermaid(decision(with_findings=False), proposal(IAM, K8S))
    assert "-->" not in src
    assert src.count('"]') == 2


@given(st.text(max_size=40))
def test_mermaid_labels_never_end_early(text: str) -> None:
    """No label text can close the quotes, open HTML or start a markdown string."""
    escaped = escape_label(text)
    assert not set('"<>`\n') & set(escaped)


# --- text and explain --------------------------------------------------------


def test_text_without_color_is_plain() -> None:
    """With color off the terminal summary has no ANSI codes and names every reviewer."""
    out = render_text(decision(), proposal(IAM, K8S), color=False)
    assert not ANSI.search(out)
    assert "ESCALATE" in out
    assert "high risk" in out
    for reviewer in ("scope", "blast-radius", "reversibility", "contrarian"):
        assert reviewer in out
    assert IAM in out  # markup is off: brackets survive
    assert "and 4 more" in out
    assert "dec-1" in out
    assert "sha256:abab" in out


def test_text_lists_at_most_twenty_findings_per_reviewer() -> None:
    """The terminal summary stays short and points at explain for the rest."""
    out = render_text(huge_decision(), proposal(IAM), color=False)
    assert out.count("scope.r") == 20
    assert "480 more findings: commander explain dec-1" in out


def test_text_with_color_is_coloured() -> None:
    """With color on the summary carries ANSI styles."""
    assert ANSI.search(render_text(decision(), proposal(IAM), color=True))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders(fmt: str) -> None:
    """The dispatcher knows every documented --output format."""
    out = render(fmt, decision(), proposal(IAM), color=False)  # type: ignore[arg-type]
    assert out.endswith("\n")
    assert "escalate" in out.lower()


def test_unknown_format_is_an_error() -> None:
    """A format that is not documented is refused, not silently rendered as text."""
    with pytest.raises(ValueError, match="unknown output format"):
        render("yaml", decision(), proposal(IAM), color=False)  # type: ignore[arg-type]


def test_explain_tells_the_whole_story() -> None:
    """Explain names the proposal, every reviewer's rationale, the contrarian and the approvals."""
    d = decision()
    out = render_explain(d, proposal(IAM, K8S), color=False)
    for verdict in d.verdicts:
        assert verdict.rationale in out
    assert "agent-7" in out
    assert "1 delete, 1 update" in out
    assert "the contrarian failed" in out
    assert "dissent-escalates" in out
    assert "reversibility thought it safe" in out
    assert "senior-engineer, team-lead" in out
    assert "… 40 more" in out  # long evidence lists are cut
    assert not ANSI.search(out)


@pytest.mark.parametrize(
    ("stance", "outcome", "expected"),
    [
        ("block", "reject", "followed the contrarian's objection"),
        ("concern", "escalate", "followed the contrarian's objection"),
        ("concern", "approve", "overrode the contrarian's objection"),
        ("approve", "approve", "no case against approval"),
        ("approve", "reject", "argued for approval, but the outcome (reject)"),
    ],
)
def test_explain_says_whether_the_outcome_followed_the_contrarian(
    stance: str, outcome: str, expected: str
) -> None:
    """Post-incident review learns whether the contrarian's challenge carried the day."""
    contrarian = Verdict(
        reviewer="contrarian",
        stance=stance,
        risk_tier=RiskTier.HIGH,
        confidence=0.6,
        rationale="the contrarian's challenge: a tiny change with a huge fan-out",
    )
    d = decision().model_copy(update={"verdicts": (contrarian,), "outcome": outcome})
    assert expected in contrarian_followed(d, contrarian)
    out = render_explain(d, proposal(IAM), color=False)
    assert "its case: the contrarian's challenge: a tiny change with a huge fan-out" in out
    assert expected in out
