"""What became of a decision: the review's outcome and, for an escalation, the gate's state.

`commander show` prints a recorded decision as it ends up, not only as the
reviewers left it: an escalation every role signed is `approved-by-humans`,
one somebody denied `denied`, and so on (store/escalations.py). Each format
says so in its own way, additively: the decision JSON gains `final_state`
and `gate`, SARIF its run's properties, JUnit a suite property, GitHub a
notice, text and Markdown a line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from orchestrator.render.sanitise import printable
from orchestrator.render.signoff import signoff_lines

if TYPE_CHECKING:
    from orchestrator.models import Decision
    from orchestrator.store.governance import Escalation

UNRECORDED = "escalate (no escalation recorded)"


def final_state(decision: Decision, escalation: Escalation | None) -> str:
    """The outcome, or for an escalation what the gate made of it (pending, approved-by-humans…)."""
    if decision.outcome != "escalate":
        return decision.outcome
    return escalation.status if escalation is not None else UNRECORDED


def gate_json(escalation: Escalation | None) -> dict[str, Any] | None:
    """The gate's state as the decision JSON's additive `gate` field; None when not escalated."""
    if escalation is None:
        return None
    return {
        "state": escalation.status,
        "reason": escalation.reason,
        "closed_at": escalation.closed_at,
        "expires_at": escalation.expires_at,
        "signed": [{"name": a.name, "role": a.role} for a in escalation.approvals],
        "missing_roles": list(escalation.missing_roles),
        "denied_by": escalation.denial.name if escalation.denial is not None else None,
    }


def with_final_state(
    fmt: str, rendered: str, decision: Decision, escalation: Escalation | None
) -> str:
    """`rendered` (the decision in `fmt`) with its final state added, sanitised again."""
    final = final_state(decision, escalation)
    facts = signoff_lines(decision, escalation)
    if fmt == "json":
        data = json.loads(rendered)
        data |= {"final_state": final, "gate": gate_json(escalation)}
        return printable(json.dumps(data, indent=2, ensure_ascii=False) + "\n", json=True)
    if fmt == "sarif":
        data = json.loads(rendered)
        for run in data.get("runs", []):
            run.setdefault("properties", {}).update(
                {"finalState": final, "gate": gate_json(escalation)}
            )
        return printable(json.dumps(data, indent=2, ensure_ascii=False) + "\n", json=True)
    if fmt == "junit":
        return printable(_junit(rendered, final))
    if fmt == "github":
        return printable(rendered + f"::notice title=commander final state::{final}\n")
    if fmt == "markdown":
        head, _, rest = rendered.partition("\n")
        said = [f"**Final state: {final}**", *(f"- {fact}" for fact in facts), ""]
        return printable("\n".join([head, "", *said]) + "\n" + rest)
    # text: `rendered` is already printable (and may be coloured); only the new lines need it
    lines = [f"final     {final}", *(f"          {fact}" for fact in facts)]
    return rendered.rstrip("\n") + "\n" + printable("\n".join(lines)) + "\n"


def _junit(rendered: str, final: str) -> str:
    """The report with `commander.final_state` as the first property of every suite."""
    root = ET.fromstring(rendered)  # noqa: S314 - our own report, just written
    for suite in root.iter("testsuite"):
        properties = suite.find("properties")
        if properties is None:
            properties = ET.Element("properties")
            suite.insert(0, properties)
        ET.SubElement(properties, "property", name="commander.final_state", value=final)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
