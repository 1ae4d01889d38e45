"""Advice on new tables and columns: types, name lengths, reruns (Squawk's style rules).

Never a hazard that makes a migration unsafe (`advice` group, low): 32-bit
keys that run out, serials instead of identity columns, `varchar(n)` whose
limit costs a rewrite to change, `timestamp` without a time zone, `char(n)`,
names PostgreSQL cuts at 63 bytes, CREATE without IF NOT EXISTS outside a
transaction.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import JsonValue

from orchestrator.analysis.sql_facts import Step
from orchestrator.analysis.sql_rules import Found

_MAX_IDENTIFIER: Final = 63
_TYPES: Final = (
    (re.compile(r"^(?:int|integer|int4|smallint|int2|serial|serial4|smallserial)\b"),
     "a 32-bit integer"),
    (re.compile(r"^(?:big|small)?serial\d?\b"), "a serial (an identity column is safer)"),
    (re.compile(r"^(?:varchar|character varying)\s*\("), "varchar(n) (changing n rewrites)"),
    (re.compile(r"^timestamp(?:\s*\(\d+\))?(?:\s+without time zone)?$"),
     "timestamp without time zone"),
    (re.compile(r"^(?:char|character|bpchar)\b(?!\s+varying)"), "char(n)"),
)  # fmt: skip


def table_advice(step: Step, postgres: bool, *, in_transaction: bool) -> list[Found]:
    """Advice on a new table: its columns' types and names, duplicates, reruns."""
    facts = step.facts
    types = facts.get("column_types")
    columns: list[dict[str, JsonValue]] = (
        [{"column": c, "type": t} for c, t in types.items()] if isinstance(types, dict) else []
    )
    found = column_advice(step.address, columns, postgres)
    if len(step.address.split(".")[-1].encode()) > _MAX_IDENTIFIER:
        found.append(Found("identifier-too-long", "the table name is over 63 bytes: it is cut"))
    duplicates = facts.get("duplicate_columns")
    if isinstance(duplicates, list) and duplicates:
        names = ", ".join(str(d) for d in duplicates)
        found.append(Found("duplicate-column", f"column {names} is defined twice: it fails"))
    if facts.get("if_not_exists") is False and not in_transaction:
        found.append(
            Found(
                "not-rerunnable",
                f"CREATE TABLE {step.address} without IF NOT EXISTS outside a transaction: a "
                "rerun after a partial failure fails",
            )
        )
    return found


def column_advice(table: str, columns: list[dict[str, JsonValue]], postgres: bool) -> list[Found]:
    """Advice on new columns: PostgreSQL types that age badly, names it cuts."""
    found: list[Found] = []
    notes: list[str] = []
    for column in columns:
        name, typ = str(column.get("column") or ""), str(column.get("type") or "").lower()
        if len(name.encode()) > _MAX_IDENTIFIER:
            found.append(
                Found("identifier-too-long", f"column {name[:20]}… is over 63 bytes: it is cut")
            )
        notes.extend(f"{name} is {why}" for pattern, why in _TYPES if pattern.search(typ))
    if notes and postgres:
        found.append(Found("column-type-advice", f"on {table}: " + "; ".join(notes[:5])))
    return found
