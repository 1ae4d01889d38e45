"""SQL migrations (PostgreSQL, MySQL, SQLite) as Proposals: one change per step, with its hazards.

The dialect comes from a `-- dialect: mysql` comment or from the syntax
(`sql_split.detect_dialect`; PostgreSQL when nothing says otherwise). The
text is cut into statements as a stream (`analysis.sql_text`); each is
masked (`sql_mask`), read into facts (`analysis.sql_read`) and judged in
order by the hazard analysis (`analysis.sql_hazards`); then its text and
tree are dropped. Each step becomes one change at the statement's line,
its `after` holding the step's facts, the lock it takes and its hazards. Rows
inserted into one table by many `INSERT`s are one change (a dump of a
million rows is one data load, not a million resources).

A statement that cannot be read is not guessed at: it is a change of type
`sql_statement` carrying an `unreadable-statement` hazard, and the proposal
is marked incomplete, so it cannot be approved unseen. A file in which no
statement can be read is an input error, and so is an unrendered template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pydantic import JsonValue

from orchestrator.adapters.base import AdapterOptions, Submission
from orchestrator.adapters.masking import scrub_text
from orchestrator.adapters.sql_mask import mask_sql
from orchestrator.adapters.sql_split import detect_dialect
from orchestrator.analysis.sql_facts import StatementFacts, Step
from orchestrator.analysis.sql_hazards import Hazard, MigrationAnalyser
from orchestrator.analysis.sql_locks import lock_of
from orchestrator.analysis.sql_read import StatementReader
from orchestrator.analysis.sql_text import placeholder, split
from orchestrator.errors import InputError
from orchestrator.models import (
    Action,
    PlanStatus,
    Proposal,
    ResourceChange,
    SourceLocation,
    canonical_environment,
)

_EXCERPT: Final = 300
_NOTES: Final = 20
# Steps that many statements repeat with nothing to judge apart: one change per table.
_MERGED: Final = frozenset({"insert-rows"})


def parse_sql(
    text: str,
    origin: str,
    submission: Submission,
    *,
    document: object = None,
    sensitive_keys: tuple[str, ...] | None = None,
    options: AdapterOptions | None = None,
) -> Proposal:
    """Build the Proposal of a migration: every step of every statement, with its hazards."""
    del document, sensitive_keys, options  # SQL is text; credentials are masked by content
    dialect = detect_dialect(text)
    reader, analyser, changes = StatementReader(dialect), MigrationAnalyser(dialect), _Changes(dialect)
    masked: list[tuple[int, int, str]] = []
    number, understood, last = 0, 0, None
    for chunk in split(text, dialect):
        if chunk.kind == "gap":
            if (clean := scrub_text(chunk.text)) is not chunk.text:
                masked.append((chunk.start, chunk.end, clean))
            continue
        number += 1
        if chunk.kind == "unreadable":
            why = "a string, quoted name, comment or dollar quote is never closed"
            changes.unreadable(number, chunk.line, f"the rest of the file cannot be read: {why}")
            break
        if found := placeholder(chunk.text):
            line = chunk.line + chunk.text.count("\n", 0, found.start())
            raise InputError(
                origin,
                f"line {line} holds the template placeholder {found[0][:60]}: render the "
                "template first (with the tool that runs the migration), then review the SQL",
            )
        statement = mask_sql(chunk.text)
        if statement is not chunk.text:
            masked.append((chunk.start, chunk.end, statement))
        read = reader.read(number, chunk.line, statement)
        understood += any(f.unreadable is None or f.within for f in read)
        for facts in read:
            changes.add(facts, analyser.feed(facts))
            last = facts
    for hazard in analyser.finish(last):
        changes.orphan(hazard.document(), hazard.end_line)
    if number == 0:
        raise InputError(origin, "no SQL statement in the input")
    if not understood:
        raise InputError(origin, f"no SQL statement can be reviewed: {changes.problems[0]}")
    notes = tuple(changes.problems[:_NOTES])
    if len(changes.problems) > _NOTES:
        notes += (f"… and {len(changes.problems) - _NOTES} more statements not reviewed",)
    return Proposal(
        kind="sql",
        source=submission.source,
        actor=submission.actor,
        intent=submission.intent,
        environment=canonical_environment(submission.environment),
        environment_name=submission.environment or "production",
        changes=changes.build(),
        status=PlanStatus(complete=not changes.problems, notes=notes),
        input_name=origin,
        format_version=dialect,
        raw=_masked_copy(text, masked),
    )


@dataclass
class _Entry:
    """One change in the making: inserts into one table keep counting into theirs."""

    step: Step
    document: dict[str, JsonValue]
    line: int
    end_line: int

    def change(self) -> ResourceChange:
        step = self.step
        return ResourceChange(
            address=step.address,
            type=step.type,
            action=step.action,
            name=step.name,
            raw_actions=(step.op,),
            after=self.document,
            location=SourceLocation(line=self.line, end_line=self.end_line),
        )


@dataclass
class _Changes:
    """The changes of a migration as its statements stream by."""

    dialect: str
    entries: list[_Entry] = field(default_factory=list)
    merged: dict[tuple[str, str | None], _Entry] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, facts: StatementFacts, hazards: list[Hazard]) -> None:
        """The changes of one statement's steps, each carrying the hazards on its table."""
        if facts.unreadable is not None:
            inside = f" in {facts.within}" if facts.within else ""
            self.problems.append(
                f"statement {facts.number} (line {facts.line}){inside} {facts.unreadable}"
            )
        if not facts.steps:
            for hazard in hazards:
                self.orphan(hazard.document(), facts.end_line)
            return
        carriers = {
            id(h): next((s for s in facts.steps if s.address == h.table), facts.steps[0])
            for h in hazards
        }
        for step in facts.steps:
            mine = [h.document() for h in hazards if carriers[id(h)] is step]
            key = (step.address, facts.within)
            if step.op in _MERGED and not mine and key in self.merged:
                counted = self.merged[key]
                counted.document["statements"] = int(str(counted.document["statements"])) + 1
                counted.end_line = facts.end_line
                continue
            document: dict[str, JsonValue] = {
                "operation": step.op,
                "statement": facts.number,
                "line": facts.line,
                "dialect": self.dialect,
                "sql": _excerpt(facts.text),
                **step.facts,
            }
            if self.dialect == "postgres" and (lock := lock_of(step)) is not None:
                document["lock"], document["lock_work"] = lock.mode, lock.work
            if facts.within:
                document["within"], document["deferred"] = facts.within, facts.deferred
            document["hazards"] = list[JsonValue](mine)
            entry = _Entry(step, document, facts.line, facts.end_line)
            if step.op in _MERGED and not mine:
                document["statements"] = 1
                self.merged[key] = entry
            self.entries.append(entry)

    def unreadable(self, number: int, line: int, why: str) -> None:
        """The rest of the file, which the splitter could not cut into statements."""
        self.problems.append(f"statement {number} (line {line}): {why}")
        hazard = Hazard("unreadable-statement", number, line, line, "", why)
        self.orphan(hazard.document(), line)

    def orphan(self, hazard: dict[str, JsonValue], end_line: int) -> None:
        """A hazard with no step to carry it: a change of its own, at its statement's line."""
        group = str(hazard["group"])
        step = Step(f"statement {hazard['statement']}", "sql_statement", Action.UPDATE, group)
        document: dict[str, JsonValue] = {
            "operation": group,
            "statement": hazard["statement"],
            "line": hazard["line"],
            "dialect": self.dialect,
            "hazards": [hazard],
        }
        line = int(str(hazard["line"]))
        self.entries.append(_Entry(step, document, line, max(line, end_line)))

    def build(self) -> tuple[ResourceChange, ...]:
        return tuple(entry.change() for entry in self.entries)


def _masked_copy(text: str, masked: list[tuple[int, int, str]]) -> str:
    """The input with its secrets masked; the same string when it holds none."""
    if not masked:
        return text
    parts, position = [], 0
    for start, end, replacement in masked:
        parts += [text[position:start], replacement]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _excerpt(sql: str) -> str:
    flat = " ".join(sql[: _EXCERPT * 4].split())
    return flat if len(flat) <= _EXCERPT else flat[:_EXCERPT] + "…"

