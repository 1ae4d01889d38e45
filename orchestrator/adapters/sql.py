"""SQL migrations (PostgreSQL, MySQL, SQLite) as Proposals: one change per operation.

The dialect comes from a `-- dialect: mysql` comment or from the syntax
(`sql_split.detect_dialect`; PostgreSQL when nothing says otherwise). Every
statement is parsed on its own with sqlglot; what it does becomes one change
per operation (`sql_statements`). A statement sqlglot cannot parse, or reads
only by its leading keywords, is not guessed at: the proposal is marked
incomplete with a note naming the statement and its line, so it cannot be
approved unseen. A file in which no statement can be read is an input error.

`after` holds the statement's facts (the table's contents are unknown here),
with the statement's text masked and cut short.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import JsonValue

from orchestrator.adapters.base import AdapterOptions, Submission
from orchestrator.adapters.masking import scrub_text
from orchestrator.adapters.sql_split import detect_dialect, split_statements
from orchestrator.errors import InputError
from orchestrator.models import PlanStatus, Proposal, ResourceChange, canonical_environment

_EXCERPT: Final = 300
_NOTES: Final = 20


def parse_sql(
    text: str,
    origin: str,
    submission: Submission,
    *,
    document: object = None,
    sensitive_keys: tuple[str, ...] | None = None,
    options: AdapterOptions | None = None,
) -> Proposal:
    """Build the Proposal of a migration: every operation of every statement."""
    del document, sensitive_keys, options  # SQL is text; credentials are masked by content
    from orchestrator.adapters.sql_statements import operations  # noqa: PLC0415 - imports sqlglot

    dialect = detect_dialect(text)
    statements, stopped = split_statements(text, dialect)
    changes: list[ResourceChange] = []
    problems: list[str] = []
    for statement in statements:
        if statement.tree is None:
            problems.append(
                f"statement {statement.number} (line {statement.line}) cannot be parsed as "
                f"{dialect}: {statement.error}"
            )
            continue
        ops = operations(statement.tree)
        if ops is None or any(o.facts.get("read_by_keywords_only") for o in ops):
            problems.append(
                f"statement {statement.number} (line {statement.line}) was not understood "
                f"({_head(statement.text)}): what it does is not reviewed"
            )
        for op in ops or ():
            facts: dict[str, JsonValue] = {
                "operation": op.op,
                "statement": statement.number,
                "line": statement.line,
                "dialect": dialect,
                "sql": _excerpt(statement.text),
                **op.facts,
            }
            changes.append(
                ResourceChange(
                    address=op.address,
                    type=op.type,
                    action=op.action,
                    name=op.name,
                    raw_actions=(op.op,),
                    after=facts,
                )
            )
    if stopped is not None:
        problems.append(f"the rest of the file cannot be read: {stopped}")
    if not changes and problems:
        raise InputError(origin, f"no SQL statement can be reviewed: {problems[0]}")
    if not statements:
        raise InputError(origin, "no SQL statement in the input")
    notes = tuple(problems[:_NOTES])
    if len(problems) > _NOTES:
        notes += (f"… and {len(problems) - _NOTES} more statements not reviewed",)
    return Proposal(
        kind="sql",
        source=submission.source,
        actor=submission.actor,
        intent=submission.intent,
        environment=canonical_environment(submission.environment),
        environment_name=submission.environment or "production",
        changes=tuple(changes),
        status=PlanStatus(complete=not problems, notes=notes),
        input_name=origin,
        format_version=dialect,
        raw=scrub_text(text),
    )


def _excerpt(sql: str) -> str:
    flat = scrub_text(re.sub(r"\s+", " ", sql).strip())
    return flat if len(flat) <= _EXCERPT else flat[:_EXCERPT] + "…"


def _head(sql: str) -> str:
    words = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL).split()
    return " ".join(words[:3]) or "empty"
