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
from orchestrator.adapters.sql_mask import mask_sql, secret_positions
from orchestrator.adapters.sql_split import detect_dialect
from orchestrator.analysis.sql_facts import StatementFacts, Step
from orchestrator.analysis.sql_hazards import Hazard, MigrationAnalyser
from orchestrator.analysis.sql_locks import lock_of
from orchestrator.analysis.sql_read import StatementReader, insert_target
from orchestrator.analysis.sql_text import placeholder, spans
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
    reader, analyser, changes = (
        StatementReader(dialect),
        MigrationAnalyser(dialect),
        _Changes(dialect),
    )
    secrets = _Secrets(secret_positions(text))
    masked: list[tuple[int, int, str]] = []
    number, understood, last, previous = 0, 0, None, 0
    templated = "{{" in text or "{%" in text
    loading, prefix = "", "\0"  # the table the last INSERTs loaded, and their first words
    for start, end, line, closed in spans(text, dialect):
        if secrets.between(previous, start):  # comments between statements
            gap = text[previous:start]
            if (clean := scrub_text(gap)) is not gap:
                masked.append((previous, start, clean))
        previous, number = end + 1, number + 1
        if not closed:
            why = "a string, quoted name, comment or dollar quote is never closed"
            changes.unreadable(number, line, f"the rest of the file cannot be read: {why}")
            break
        if templated:
            _refuse_template(origin, text[start:end], line)
        holds_secret = secrets.between(start, end)
        # a dump repeats one INSERT prefix: compare it before running the pattern
        table = loading if text.startswith(prefix, start) else insert_target(text, start)
        last_line = line + text.count("\n", start, end)
        if table is not None and not holds_secret and changes.count_insert(table, last_line):
            if table != loading:
                loading, prefix = table, text[start : text.find("(", start) + 1] or "\0"
            continue  # one more row batch for a table already loaded: nothing new to judge
        statement = text[start:end]
        if holds_secret and (clean := mask_sql(statement)) is not statement:
            masked.append((start, end, clean))
            statement = clean
        read = reader.read(number, line, statement)
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
    statements: int = 0  # the INSERTs counted into this change, when merged

    def change(self) -> ResourceChange:
        step = self.step
        if self.statements:
            self.document["statements"] = self.statements
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
                counted.statements += 1
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
            if mine:
                document["hazards"] = list[JsonValue](mine)
            entry = _Entry(step, document, facts.line, facts.end_line)
            if step.op in _MERGED and not mine:
                entry.statements = 1
                self.merged[key] = entry
            self.entries.append(entry)

    def count_insert(self, table: str, end_line: int) -> bool:
        """Count one more INSERT into a table already loaded; False when it is the first."""
        counted = self.merged.get((table, None))
        if counted is None:
            return False
        counted.statements += 1
        counted.end_line = end_line
        return True

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


def _refuse_template(origin: str, statement: str, line: int) -> None:
    found = placeholder(statement)
    if found is None:
        return
    at = line + statement.count("\n", 0, found.start())
    raise InputError(
        origin,
        f"line {at} holds the template placeholder {found[0][:60]}: render the template "
        "first (with the tool that runs the migration), then review the rendered SQL",
    )


class _Secrets:
    """Where secrets may be, asked about spans in increasing order."""

    def __init__(self, positions: list[int]) -> None:
        self._positions, self._next = positions, 0

    def between(self, start: int, end: int) -> bool:
        """Whether a trigger word starts in [start, end); later calls must not go back."""
        positions, at = self._positions, self._next
        while at < len(positions) and positions[at] < start:
            at += 1
        self._next = at
        return at < len(positions) and positions[at] < end


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
