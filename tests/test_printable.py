"""Nothing from the input drives a terminal: every printed output shows controls escaped.

One sanitiser (orchestrator/render/sanitise.py) serves every renderer and
every command that prints: a resource address holding `\\x1b[31m` is shown
as the eight characters `\\x1b[31m`, never as red text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.models import (
    Decision,
    Environment,
    Finding,
    Proposal,
    RequiredApproval,
    ResourceChange,
    RiskTier,
    Source,
    Supersession,
    Verdict,
)
from orchestrator.render import FORMATS, render
from orchestrator.render.explain import render_explain
from orchestrator.render.sanitise import has_unsafe, printable
from orchestrator.testing import plan_document, resource_change

RED = "\x1b[31m"
# The only escape sequences commander writes itself: SGR styles, with colour on.
SGR = re.compile(r"\x1b\[[0-9;]*m")


def _story(text: str) -> tuple[Decision, Proposal]:
    """A decision whose address, actor, intent, messages and evidence all carry `text`."""
    address = f"aws_iam_role.x[{text!r}]{text}"
    proposal = Proposal(
        kind="terraform",
        source=Source.AI_AGENT,
        actor=f"agent{text}",
        intent=f"tidy {text}",
        environment=Environment.PRODUCTION,
        environment_name=f"prod{text}",
        changes=(ResourceChange(address=address, type="aws_iam_role", action="update"),),
        input_name=f"plans/{text}.json",
    )
    finding = Finding(
        rule="scope.iam.iam-change",
        message=f"changes {address}",
        resources=(address,),
        evidence={"detail": text, text: [text]},
        severity=RiskTier.HIGH,
    )
    verdict = Verdict(
        reviewer="scope",
        stance="concern",
        risk_tier=RiskTier.HIGH,
        confidence=0.9,
        findings=(finding,),
        rationale=f"because {text}",
        error=None,
    )
    decision = Decision(
        decision_id="01a25243-5df0-7aa2-b92c-751137b31d46",
        proposal_digest=proposal.digest(),
        outcome="escalate",
        risk_tier=RiskTier.HIGH,
        required_approvals=(RequiredApproval(role="senior-engineer"),),
        dissent=0.5,
        verdicts=(verdict, verdict.model_copy(update={"reviewer": "contrarian"})),
        rationale=(f"the high tier for {address}",),
        minority_opinion=f"contrarian: {text}",
        policy_version="v1",
        created_at="2026-12-07T20:00:00.000Z",
        supersedes=(Supersession(decision_id="01a25243-0000", change_id=f"pr{text}"),),
    )
    return decision, proposal


def _outputs(decision: Decision, proposal: Proposal, *, color: bool) -> dict[str, str]:
    shown = {fmt: render(fmt, decision, proposal, color=color) for fmt in FORMATS}
    shown["explain"] = render_explain(decision, proposal, color=color)
    return shown


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=12))
def test_no_output_carries_a_control_whatever_the_address(text: str) -> None:
    """Text, JSON, Markdown, SARIF, JUnit, GitHub and explain: only the format's newlines."""
    decision, proposal = _story(text)
    for color in (False, True):
        for fmt, out in _outputs(decision, proposal, color=color).items():
            bare = SGR.sub("", out) if color else out
            assert not has_unsafe(bare), (fmt, color, out)
            if fmt in ("json", "sarif"):
                json.loads(out)  # the escapes are JSON's own: still a document


def test_an_escape_sequence_is_shown_not_obeyed() -> None:
    """`\\x1b[31m` in an address reads as `\\x1b[31m` in every text output."""
    decision, proposal = _story(RED)
    outputs = _outputs(decision, proposal, color=False)
    for fmt in ("text", "markdown", "github", "junit", "explain"):
        assert "\\x1b[31m" in outputs[fmt], fmt
        assert "\x1b" not in outputs[fmt], fmt
    data: dict[str, Any] = json.loads(outputs["json"])
    # the JSON value is the input as it was: escaped on the wire, never raw
    assert RED in data["verdicts"][0]["findings"][0]["resources"][0]


def test_printable_keeps_only_what_the_format_needs() -> None:
    """C0, C1, DEL and bidi overrides are escaped; newline kept unless asked; JSON uses \\u."""
    assert printable("a\x1b[31mb\x9b\x7f\u202e\nc") == "a\\x1b[31mb\\x9b\\x7f\\u202e\nc"
    assert printable("a\tb\nc", keep="") == "a\\x09b\\x0ac"
    assert json.loads(printable('"\x9b"', json=True)) == "\x9b"


def test_review_explain_pending_and_show_print_no_escape(run_cli: Any, tmp_path: Any) -> None:
    """Through the real CLI: a hostile address reaches no command's output raw."""
    plan = plan_document(
        [resource_change(f"aws_iam_role.x{RED}", ["update"], before={"a": 1}, after={"a": 2})]
    )
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    reviewed = run_cli("review", str(path), "--environment", "production")
    assert reviewed.code in (0, 3), reviewed.stderr
    ident = next(
        line.split()[1] for line in reviewed.stdout.splitlines() if line.startswith("decision ")
    )
    for args in (
        ("show", ident),
        ("show", ident, "--output", "markdown"),
        ("explain", ident),
        ("pending", "--all"),
        ("audit", "query"),
        ("audit", "query", "--output", "jsonl"),
    ):
        done = run_cli(*args)
        assert done.code == 0, (args, done.stderr)
        assert "\x1b" not in done.stdout, args
    assert "\x1b" not in reviewed.stdout
    assert "\\x1b[31m" in reviewed.stdout
