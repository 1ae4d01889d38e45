"""JUnit XML, the test report every CI system reads (Jenkins, GitLab, Azure, CircleCI).

One `testsuite` per reviewed input, in the schema Jenkins reads (Ant and
Surefire reports):

* a `decision` test case that passes on approve and fails on escalate (naming
  the roles that must sign off) or reject;
* one test case per finding, named after its rule and place, failing when the
  finding is medium or worse (a low finding passes and says so in its output);
  the failure text carries the file and line, the resources and the fix;
* an `error` for each reviewer that crashed or timed out, and for each file of
  a folder review that could not be reviewed.

Times are the reviewers' own. Control characters from a hostile input are
shown escaped (render/sanitise.py) and any other character XML 1.0 cannot
carry is dropped, so the report always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from orchestrator.models import Decision, Finding, RiskTier, tier_rank
from orchestrator.render import Reviewed, alerts, approvals_text, severity
from orchestrator.render.locations import Place, Sources, input_place, places, repository_path
from orchestrator.render.sanitise import printable
from orchestrator.rulebook import rulebook

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit_many(reviewed: Sequence[Reviewed], *, sources: Sources | None = None) -> str:
    """A JUnit report with one test suite per input, in the order given."""
    sources = sources or Sources()
    root = ET.Element("testsuites", name="commander")
    totals = [0, 0, 0]
    for item in reviewed:
        suite = _suite(item, sources)
        root.append(suite)
        for n, key in enumerate(("tests", "failures", "errors")):
            totals[n] += int(suite.get(key, "0"))
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", str(totals[2]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(item: Reviewed, sources: Sources) -> ET.Element:
    name = repository_path(item.name, sources)
    if item.proposal is not None:
        name = input_place(item.proposal, sources).path or "stdin"
    suite = ET.Element("testsuite", name=_xml(name))
    cases: list[ET.Element] = []
    if item.decision is None or item.proposal is None:
        case = _case("commander.input", "review")
        ET.SubElement(case, "error", type="input", message=_xml(item.error or "not reviewed"))
        cases.append(case)
        seconds = 0.0
    else:
        decision, proposal = item.decision, item.proposal
        props = ET.SubElement(suite, "properties")
        for key, value in (
            ("decision_id", decision.decision_id),
            ("outcome", decision.outcome),
            ("risk_tier", decision.risk_tier.value),
            ("required_approvals", approvals_text(decision)),
            ("dissent", str(decision.dissent)),
        ):
            ET.SubElement(props, "property", name=key, value=_xml(value))
        cases.append(_decision_case(decision))
        cases += [_finding_case(r, f, places(f, proposal, sources)[0]) for r, f in alerts(decision)]
        for verdict in decision.verdicts:
            if verdict.error is not None:
                case = _case(f"commander.{verdict.reviewer}", "reviewer")
                ET.SubElement(case, "error", type="reviewer-failed", message=_xml(verdict.error))
                cases.append(case)
        seconds = sum(v.duration_ms for v in decision.verdicts) / 1000
    suite.extend(cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", "0")
    suite.set("time", f"{seconds:.3f}")
    return suite


def _decision_case(decision: Decision) -> ET.Element:
    case = _case("commander", "decision")
    why = " ".join(decision.rationale)
    if decision.outcome == "reject":
        ET.SubElement(case, "failure", type="reject", message=_xml(f"rejected: {why}"))
    elif decision.outcome == "escalate":
        message = f"needs sign-off by {approvals_text(decision)}: {why}"
        ET.SubElement(case, "failure", type="escalate", message=_xml(message))
    return case


def _finding_case(reviewer: str, finding: Finding, place: Place) -> ET.Element:
    where = place.path or "stdin"
    if place.line:
        where += f":{place.line}"
    case = _case(f"commander.{reviewer}", f"{finding.rule} ({where})")
    doc = rulebook().describe(finding.rule)
    resources = ", ".join(dict.fromkeys(finding.resources))
    lines = [
        f"{where}: {finding.message}",
        *([f"resources: {resources}"] if resources else []),
        f"severity: {severity(finding).value}{' (hard denial)' if finding.hard else ''}",
        f"fix: {doc.fix}",
        f"see: {doc.help_uri}",
    ]
    text = _xml("\n".join(lines))
    if tier_rank(severity(finding)) >= tier_rank(RiskTier.MEDIUM):
        failure = ET.SubElement(
            case, "failure", type=finding.rule, message=_xml(" ".join(finding.message.split()))
        )
        failure.text = text
    else:
        ET.SubElement(case, "system-out").text = text
    return case


def _case(classname: str, name: str) -> ET.Element:
    return ET.Element("testcase", classname=_xml(classname), name=_xml(name), time="0")


def _xml(text: str) -> str:
    """`text` with controls shown escaped, and without the other characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", printable(text, keep="\n\t"))
