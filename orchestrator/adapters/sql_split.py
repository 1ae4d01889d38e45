"""Recognise SQL and pick its dialect, from the text's first megabyte.

Cutting the text into statements is `orchestrator.analysis.sql_text`.
"""

from __future__ import annotations

import re
from typing import Final

DIALECTS: Final = ("postgres", "mysql", "sqlite")
DEFAULT_DIALECT: Final = "postgres"

_COMMENTS: Final = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
# Every object kind PostgreSQL, MySQL and SQLite create, alter or drop (longest first).
_OBJECTS: Final = (
    r"(?:TABLE|INDEX|VIEW|SCHEMA|SEQUENCE|FUNCTION|TRIGGER|TYPE|EXTENSION|DATABASE|PROCEDURE"
    r"|DOMAIN|POLICY|ROLE|USER|GROUP|SERVER|RULE|AGGREGATE|OPERATOR|COLLATION|CONVERSION|CAST"
    r"|LANGUAGE|PUBLICATION|SUBSCRIPTION|STATISTICS|TABLESPACE|TRANSFORM|ROUTINE|EVENT"
    r"|FOREIGN\s+(?:TABLE|DATA\s+WRAPPER)|MATERIALIZED\s+VIEW|ACCESS\s+METHOD|DEFAULT\s+PRIVILEGES"
    r"|TEXT\s+SEARCH\s+\w+|EVENT\s+TRIGGER|CONSTRAINT\s+TRIGGER|USER\s+MAPPING|LARGE\s+OBJECT"
    r"|VIRTUAL\s+TABLE)\b"
)
_STATEMENT: Final = re.compile(
    r"^\s*(?:(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?"
    r"(?:(?:UNIQUE|TEMP|TEMPORARY|UNLOGGED|GLOBAL|LOCAL|TRUSTED|PROCEDURAL|RECURSIVE)\s+)*"
    + _OBJECTS
    + r"|TRUNCATE\b|INSERT\s+INTO\b|UPDATE\s+(?:ONLY\s+)?[\w.\"`]+(?:\s+(?:AS\s+)?\w+)?\s+SET\b"
    r"|DELETE\s+FROM\b|SELECT\b[^;]{0,2000};|WITH\s+\w+\s+AS\s+\(|MERGE\s+INTO\b"
    r"|CALL\s+[\w.]+\s*\(|SET\s+(?:LOCAL\s+|SESSION\s+)?[\w.]+\s*(?:=|TO\s)[^;]{0,500};"
    r"|GRANT\s|REVOKE\s|RENAME\s+TABLE\b|COMMENT\s+ON\b|DO\s+(?:\$|'|LANGUAGE\b)"
    r"|REINDEX\s|VACUUM\b|CLUSTER\s|REFRESH\s+MATERIALIZED\s+VIEW\b|LOCK\s+TABLE\b"
    r"|SECURITY\s+LABEL\b|COPY\s+[\w.\"]+\s*(?:\([^)]*\)\s*)?(?:FROM|TO)\b"
    r"|REASSIGN\s+OWNED\b|IMPORT\s+FOREIGN\s+SCHEMA\b)",
    re.IGNORECASE | re.MULTILINE,
)
_DIALECT_COMMENT: Final = re.compile(
    r"--\s*(?:sqlfluff:\s*)?dialect\s*[:=]\s*(postgres(?:ql)?|mysql|sqlite)", re.IGNORECASE
)
# Constructs only one dialect writes (matched on the lowercased head: a case-insensitive
# pattern is many times slower); the dialect with the most wins, postgres on a tie.
_MARKERS: Final = {
    "postgres": re.compile(
        r"\b(?:big)?serial\b|\bjsonb\b|\bconcurrently\b|::|\$\$|\btimestamptz\b|\bilike\b"
        r"|\bcreate\s+extension\b|\balter\s+column\s+\S+\s+(?:set\s+data\s+)?type\b"
    ),
    "mysql": re.compile(
        r"`|\bengine\s*=|\bauto_increment\b|\bunsigned\b|\bmodify\s+column\b|\bchange\s+column\b"
        r"|\bdefault\s+charset\b|\brename\s+table\b"
    ),
    "sqlite": re.compile(r"\bautoincrement\b|\bpragma\b|\bwithout\s+rowid\b"),
}
# SQL and its dialect show in the first statements; a 200 MB dump is not scanned for them.
_SNIFF: Final = 1 << 16


def looks_like_sql(text: str) -> bool:
    """Whether text holds at least one SQL statement at the start of a line."""
    return _STATEMENT.search(_COMMENTS.sub(" ", text[:_SNIFF])) is not None


def detect_dialect(text: str) -> str:
    """The dialect a `-- dialect: mysql` comment names, else the one whose syntax shows most."""
    head = text[:_SNIFF].lower()
    named = _DIALECT_COMMENT.search(head)
    if named:
        return "postgres" if named[1].lower().startswith("postgres") else named[1].lower()
    head = _COMMENTS.sub(" ", head)  # prose in comments (Markdown `code`) says nothing
    scores = {d: sum(1 for _ in p.finditer(head)) for d, p in _MARKERS.items()}
    best = max(scores.values())
    if best == 0 or scores[DEFAULT_DIALECT] == best:
        return DEFAULT_DIALECT
    return max(DIALECTS, key=lambda d: (scores.get(d, 0), d == DEFAULT_DIALECT))
