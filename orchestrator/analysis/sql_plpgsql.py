"""The SQL statements inside a `DO $$ … $$` block or a PL/pgSQL function body.

A PL/pgSQL body is SQL statements wrapped in control flow: `DECLARE`,
`BEGIN … EXCEPTION WHEN … THEN … END`, `IF … THEN … END IF`, loops, `RAISE`,
assignments. The control flow is peeled off each `;`-separated piece and what
remains is handed back as a statement to read like any other, at its own
line. `EXECUTE` of one string literal is that string's statement; dynamic SQL
built at run time cannot be read, and is returned as such (`opaque`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from orchestrator.analysis.sql_text import split

_FLAGS: Final = re.IGNORECASE | re.DOTALL
# Control flow in front of a statement, peeled off repeatedly.
_LEAD: Final = re.compile(
    r"^\s*(?:--[^\n]*|/\*.*?\*/|<<\w+>>|DECLARE\b|BEGIN\b|EXCEPTION\b|ELSE\b|LOOP\b|THEN\b"
    r"|END\s+(?:IF|LOOP|CASE)\b|END\b(?:\s+\w+)?\s*$"
    r"|(?:IF|ELSIF|ELSEIF|WHEN)\b.*?\bTHEN\b"
    r"|(?:FOR|FOREACH|WHILE)\b.*?\bLOOP\b|CASE\b(?=\s+WHEN\b))",
    _FLAGS,
)
# Statements of PL/pgSQL itself: they change nothing in the database.
_PLPGSQL: Final = re.compile(
    r"^\s*(?:RAISE|RETURN|NULL|EXIT|CONTINUE|GET\s+(?:STACKED\s+)?DIAGNOSTICS|OPEN|CLOSE|FETCH"
    r"|MOVE|ASSERT|PERFORM|COMMIT|ROLLBACK)\b"
    r"|^\s*[\w.\[\]\"]+\s*:?=(?!=)",
    _FLAGS,
)
_EXECUTE: Final = re.compile(r"^\s*EXECUTE\s+(.*)$", _FLAGS)
_LITERAL: Final = re.compile(r"'((?:[^']|'')*)'\s*(?:USING\b.*)?$|\$(\w*)\$(.*)\$\2\$\s*$", _FLAGS)
_DECLARATION: Final = re.compile(
    r"^\s*[\w\"]+\s+(?:CONSTANT\s+)?[\w.\[\]() ,%\"]+(?:\s*(?::=|=|DEFAULT)\s*.*)?$", _FLAGS
)


@dataclass(frozen=True, slots=True)
class BodyStatement:
    """One statement of a body: its line inside the body and its text, or why it is opaque."""

    line: int
    text: str
    opaque: str | None = None


def body_statements(body: str) -> list[BodyStatement]:
    """The SQL statements a PL/pgSQL body runs, in order."""
    found: list[BodyStatement] = []
    begun = False
    for chunk in split(body):
        if chunk.kind == "unreadable":
            found.append(BodyStatement(chunk.line, chunk.text, "the body cannot be read"))
            break
        if chunk.kind != "statement":
            continue
        text, line = chunk.text, chunk.line
        while (lead := _LEAD.match(text)) and lead.end() > 0:
            word = lead[0].strip().split(None, 1)[0].upper() if lead[0].strip() else ""
            begun = begun or word == "BEGIN"
            line += text.count("\n", 0, lead.end())
            text = text[lead.end() :]
        gap = len(text) - len(text.lstrip())
        line += text.count("\n", 0, gap)
        text = text.strip()
        if not text or _PLPGSQL.match(text):
            continue
        if not begun and _DECLARATION.match(text):
            continue  # a variable of the DECLARE section
        if executed := _EXECUTE.match(text):
            found.append(_dynamic(line, executed[1]))
            continue
        found.append(BodyStatement(line, text))
    return found


def _dynamic(line: int, argument: str) -> BodyStatement:
    literal = _LITERAL.match(argument.strip())
    if literal is None:
        return BodyStatement(line, argument, "dynamic SQL built at run time (EXECUTE)")
    text = literal[1].replace("''", "'") if literal[1] is not None else literal[3]
    return BodyStatement(line, text)


_BODY: Final = re.compile(r"\$(\w*)\$(.*?)\$\1\$|(?<![\w])'((?:[^']|'')*)'", re.DOTALL)
_LANGUAGE: Final = re.compile(r"\bLANGUAGE\s+'?(\w+)'?", re.IGNORECASE)


def routine_body(text: str, *, do_block: bool) -> tuple[int, str, str] | None:
    """The (line offset, body, language) of a DO block or CREATE FUNCTION, or None.

    The body of a function is its `AS` string; a DO block's is its only string.
    """
    start = 0
    if not do_block:
        as_clause = re.search(r"\bAS\s+(?=[$'])", text, re.IGNORECASE)
        if as_clause is None:
            return None
        start = as_clause.end()
    found = _BODY.search(text, start)
    if found is None:
        return None
    if found[2] is not None:
        body, opened = found[2], found.start(2)
    else:
        body, opened = found[3].replace("''", "'"), found.start(3)
    language = _LANGUAGE.search(text)
    name = language[1].lower() if language else "plpgsql"
    return text.count("\n", 0, opened), body, name
