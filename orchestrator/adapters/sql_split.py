"""Recognise SQL, pick its dialect, and split it into statements with their line numbers.

Splitting uses sqlglot's tokenizer, so a `;` inside a string, a comment or a
dollar-quoted function body never ends a statement. Each statement is then
parsed on its own: one that sqlglot cannot read is reported with its line and
the others are still reviewed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from sqlglot import exp

DIALECTS: Final = ("postgres", "mysql", "sqlite")
DEFAULT_DIALECT: Final = "postgres"

_COMMENTS: Final = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_STATEMENT: Final = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+|TEMP\w*\s+|MATERIALIZED\s+)?"
    r"(?:TABLE|INDEX|VIEW|SCHEMA|SEQUENCE|FUNCTION|TRIGGER|TYPE|EXTENSION|DATABASE|PROCEDURE)\b"
    r"|ALTER\s+(?:TABLE|INDEX|VIEW|SCHEMA|SEQUENCE|TYPE|DATABASE)\b"
    r"|DROP\s+(?:TABLE|INDEX|VIEW|SCHEMA|SEQUENCE|FUNCTION|TRIGGER|TYPE|DATABASE|MATERIALIZED)\b"
    r"|TRUNCATE\b|INSERT\s+INTO\b|UPDATE\s+[\w.\"`]+\s+SET\b|DELETE\s+FROM\b"
    r"|GRANT\s|REVOKE\s|RENAME\s+TABLE\b|COMMENT\s+ON\b)",
    re.IGNORECASE | re.MULTILINE,
)
_DIALECT_COMMENT: Final = re.compile(
    r"--\s*(?:sqlfluff:\s*)?dialect\s*[:=]\s*(postgres(?:ql)?|mysql|sqlite)", re.IGNORECASE
)
# Constructs only one dialect writes; the dialect with the most wins, postgres on a tie.
_MARKERS: Final = {
    "postgres": re.compile(
        r"\b(?:BIG)?SERIAL\b|\bJSONB\b|\bCONCURRENTLY\b|::|\$\$|\bTIMESTAMPTZ\b|\bILIKE\b"
        r"|\bCREATE\s+EXTENSION\b|\bALTER\s+COLUMN\s+\S+\s+(?:SET\s+DATA\s+)?TYPE\b",
        re.IGNORECASE,
    ),
    "mysql": re.compile(
        r"`|\bENGINE\s*=|\bAUTO_INCREMENT\b|\bUNSIGNED\b|\bMODIFY\s+COLUMN\b|\bCHANGE\s+COLUMN\b"
        r"|\bDEFAULT\s+CHARSET\b|\bRENAME\s+TABLE\b",
        re.IGNORECASE,
    ),
    "sqlite": re.compile(r"\bAUTOINCREMENT\b|\bPRAGMA\b|\bWITHOUT\s+ROWID\b", re.IGNORECASE),
}


def looks_like_sql(text: str) -> bool:
    """Whether text holds at least one DDL or DML statement at the start of a line."""
    return _STATEMENT.search(_COMMENTS.sub(" ", text)) is not None


def detect_dialect(text: str) -> str:
    """The dialect a `-- dialect: mysql` comment names, else the one whose syntax shows most."""
    named = _DIALECT_COMMENT.search(text)
    if named:
        return "postgres" if named[1].lower().startswith("postgres") else named[1].lower()
    scores = {d: len(p.findall(text)) for d, p in _MARKERS.items()}
    best = max(scores.values())
    if best == 0 or scores[DEFAULT_DIALECT] == best:
        return DEFAULT_DIALECT
    return max(DIALECTS, key=lambda d: (scores.get(d, 0), d == DEFAULT_DIALECT))


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: its 1-based number and line, its text, and its tree or why it has none."""

    number: int
    line: int
    text: str
    tree: exp.Expr | None
    error: str | None


@contextmanager
def _quiet() -> Iterator[None]:
    # sqlglot logs a warning for each statement it reads only as a Command; the
    # adapter reports those itself, and a CLI must not print stray log lines.
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def split_statements(text: str, dialect: str) -> tuple[list[Statement], str | None]:
    """Every statement with its tree (or error), and the tokenizer's error if it stopped early."""
    # imported here: only SQL input pays for sqlglot
    from sqlglot import TokenType  # noqa: PLC0415
    from sqlglot.dialects.dialect import Dialect  # noqa: PLC0415
    from sqlglot.errors import SqlglotError, TokenError  # noqa: PLC0415

    engine = Dialect.get_or_raise(dialect)
    try:
        tokens = engine.tokenize(text)
        stopped = None
    except TokenError as exc:
        tokens, stopped = _tokens_before_error(engine, text), _first_line(str(exc))
    chunks: list[list[Any]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    statements: list[Statement] = []
    parser = engine.parser()  # one parser for every statement: parse() resets its state
    with _quiet():
        for chunk in (c for c in chunks if c):
            body = text[chunk[0].start : chunk[-1].end + 1]
            number, line = len(statements) + 1, chunk[0].line
            try:
                trees = [t for t in parser.parse(chunk, body) if t is not None]
            except SqlglotError as exc:
                statements.append(Statement(number, line, body, None, _parse_error(exc)))
                continue
            except RecursionError:
                statements.append(Statement(number, line, body, None, "nested too deeply"))
                continue
            statements.extend(Statement(number, line, body, tree, None) for tree in trees)
    return statements, stopped


def _tokens_before_error(engine: Any, text: str) -> list[Any]:
    """Tokens of the text up to the last `;` before the tokenizer failed (best effort)."""
    from sqlglot.errors import TokenError  # noqa: PLC0415

    cut = len(text)
    while (cut := text.rfind(";", 0, cut)) > 0:
        try:
            return list(engine.tokenize(text[: cut + 1]))
        except TokenError:
            continue
    return []


_TOKEN_REPR: Final = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: .*?>")


def _parse_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        # sqlglot names a token by its repr; the text the author wrote is what helps
        described = _TOKEN_REPR.sub(lambda m: repr(m[1]), str(first.get("description")))
        return f"{described} (line {first.get('line')}, column {first.get('col')})"
    return _first_line(str(exc))


def _first_line(message: str) -> str:
    # sqlglot underlines the culprit with ANSI escapes; a one-line error needs none.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", message)
    return plain.splitlines()[0] if plain else "unreadable"
