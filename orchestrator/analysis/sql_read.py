"""One statement's text in, its facts out: sqlglot where it reads the statement, grammar where not.

The order of trust: a plain `INSERT … VALUES` is read by its first words
(a dump of millions of rows must not build millions of parse trees); a few
statements sqlglot misreads are read by their words (`START TRANSACTION`,
`CLUSTER`, `LOCK TABLE`); everything else is parsed by sqlglot, and what it
keeps only as a `Command` is read by `sql_commands`. A `DO` block and a
function body are opened (`sql_plpgsql`) and their statements read the same
way, at their own lines. A statement nothing here understands comes back
`unreadable`, with the reason: the caller reports it, never guesses.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Final

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from orchestrator.analysis.sql_commands import command_steps
from orchestrator.analysis.sql_facts import StatementFacts, Step, steps_of
from orchestrator.analysis.sql_plpgsql import BodyStatement, body_statements, routine_body
from orchestrator.analysis.sql_text import split
from orchestrator.models import Action

_FLAGS: Final = re.IGNORECASE | re.DOTALL
_NAME: Final = r"((?:\"[^\"]+\"|[\w$]+)(?:\.(?:\"[^\"]+\"|[\w$]+))*)"
_INSERT_VALUES: Final = re.compile(
    r"\s*INSERT\s+INTO\s+" + _NAME + r"\s*(?:\([^()]*\)\s*)?VALUES\s*\(", re.IGNORECASE
)
_BEGIN: Final = re.compile(
    r"\s*(?:START\s+TRANSACTION|BEGIN(?:\s+(?:WORK|TRANSACTION))?)(?:\s+(?:ISOLATION|READ)\b.*)?\s*$",
    _FLAGS,
)
_END: Final = re.compile(
    r"\s*(COMMIT|END|ROLLBACK|ABORT)(?:\s+(?:WORK|TRANSACTION|PREPARED\b.*))?\s*$", _FLAGS
)
_CLUSTER: Final = re.compile(r"\s*CLUSTER\b(?:\s+VERBOSE)?\s*" + _NAME + r"?", re.IGNORECASE)
_LOCK: Final = re.compile(r"\s*LOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?" + _NAME, re.IGNORECASE)
_QUIET: Final = re.compile(
    r"\s*(?:ANALYZE|CHECKPOINT|DISCARD|RESET|NOTIFY|LISTEN|UNLISTEN|SAVEPOINT|RELEASE"
    r"|DEALLOCATE|LOAD|SECURITY\s+LABEL|REFRESH\s+MATERIALIZED\s+VIEW)\b",
    re.IGNORECASE,
)
_FUNCTION: Final = re.compile(
    r"(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+" + _NAME, re.IGNORECASE
)
_DROP_TEXT: Final = re.compile(r"\s*DROP\s+(.*)$", _FLAGS)
_MAX_DEPTH: Final = 3
_ROUTINES: Final = ("FUNCTION", "PROCEDURE")


def insert_target(text: str, start: int) -> str | None:
    """The table of a plain `INSERT INTO t … VALUES (` starting at `start`, else None."""
    found = _INSERT_VALUES.match(text, start)
    return _plain(found[1]) if found is not None else None


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a statement is: its number, lines and text, and the routine it sits in."""

    number: int
    line: int
    text: str
    within: str | None = None
    deferred: bool = False
    depth: int = 0

    def facts(self, **known: Any) -> list[StatementFacts]:
        end_line = self.line + self.text.count("\n")
        where = {"within": self.within, "deferred": self.deferred, **known}
        return [StatementFacts(self.number, self.line, end_line, self.text, **where)]

    def not_understood(self) -> list[StatementFacts]:
        return self.facts(
            unreadable=f"was not understood ({_head(self.text)}): what it does is not reviewed"
        )


class StatementReader:
    """Reads statements of one dialect; holds one sqlglot parser for all of them."""

    def __init__(self, dialect: str) -> None:
        self._dialect = dialect
        self._engine = Dialect.get_or_raise(dialect)
        self._parser = self._engine.parser()  # parse() resets its state
        # sqlglot logs a warning for each statement it reads only as a Command;
        # those are reported as findings, and a CLI must not print stray log lines.
        logging.getLogger("sqlglot").setLevel(logging.ERROR)

    def read(self, number: int, line: int, text: str) -> list[StatementFacts]:
        """The facts of one statement (several for a DO block or a function body)."""
        return self._read(_Place(number, line, text))

    def _read(self, place: _Place) -> list[StatementFacts]:
        text = place.text
        if (insert := _INSERT_VALUES.match(text)) is not None:
            step = Step(_plain(insert[1]), "sql_rows", Action.CREATE, "insert-rows")
            return place.facts(steps=(step,))
        if _BEGIN.match(text):
            return place.facts(control="begin")
        if ended := _END.match(text):
            rolled = ended[1].upper() in ("ROLLBACK", "ABORT")
            return place.facts(control="rollback" if rolled else "commit")
        if (cluster := _CLUSTER.match(text)) is not None:
            address = _plain(cluster[1]) if cluster[1] else "*"
            return place.facts(steps=(Step(address, "sql_table", Action.UPDATE, "cluster"),))
        if (lock := _LOCK.match(text)) is not None:
            step = Step(_plain(lock[1]), "sql_table", Action.UPDATE, "lock-table")
            return place.facts(steps=(step,))
        if _QUIET.match(text):
            return place.facts()
        try:
            trees = self._parser.parse(self._engine.tokenize(text), text)
        except SqlglotError as error:
            # sqlglot reads one name per DROP; PostgreSQL takes a list, with signatures
            if (dropped := _DROP_TEXT.match(text)) is not None:
                steps = command_steps("DROP", dropped[1], lambda _: None)
                if steps is not None:
                    return place.facts(steps=tuple(steps))
            why = f"cannot be parsed as {self._dialect}: {parse_error(error)}"
            return place.facts(unreadable=why)
        except RecursionError:
            return place.facts(unreadable="cannot be parsed: nested too deeply")
        found: list[StatementFacts] = []
        for tree in trees:
            if tree is not None:
                found.extend(self._tree(tree, place))
        return found or place.facts()

    def _tree(self, tree: exp.Expr, place: _Place) -> list[StatementFacts]:
        if isinstance(tree, exp.Transaction):
            return place.facts(control="begin")
        if isinstance(tree, exp.Commit | exp.Rollback):
            return place.facts(control="rollback" if isinstance(tree, exp.Rollback) else "commit")
        if isinstance(tree, exp.Set):
            return place.facts(setting=_setting(tree))
        if isinstance(tree, exp.Command):
            return self._command(tree, place)
        steps = steps_of(tree)
        if steps is None:
            return place.not_understood()
        found = place.facts(steps=tuple(steps))
        if isinstance(tree, exp.Create) and str(tree.args.get("kind") or "").upper() in _ROUTINES:
            found += self._routine(place, f"function {steps[0].address}", do_block=False)
        return found

    def _command(self, tree: exp.Command, place: _Place) -> list[StatementFacts]:
        verb = str(tree.this or "").upper()
        tail = tree.args.get("expression")
        rest = (tail.name if isinstance(tail, exp.Literal) else str(tail or "")).strip()
        if verb == "DO":
            where = place.within or f"the DO block at line {place.line}"
            found = self._routine(place, where, do_block=True)
            return found or place.facts(within=where)
        steps = command_steps(verb, rest, lambda action: self._action(rest, action))
        if steps is None:
            return place.not_understood()
        found = place.facts(steps=tuple(steps))
        if verb == "CREATE" and (function := _FUNCTION.match(rest)):
            found += self._routine(place, f"function {_plain(function[1])}", do_block=False)
        return found

    def _action(self, rest: str, action: str) -> list[Step] | None:
        """One ALTER TABLE action of a statement sqlglot could not read whole."""
        table = re.match(r"TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?" + _NAME, rest, re.IGNORECASE)
        if table is None:
            return None
        sql = f"ALTER TABLE {table[1]} {action}"
        try:
            trees = self._parser.parse(self._engine.tokenize(sql), sql)
        except (SqlglotError, RecursionError):
            return None
        tree = trees[0] if len(trees) == 1 else None
        return steps_of(tree) if isinstance(tree, exp.Alter) else None

    def _routine(self, place: _Place, where: str, *, do_block: bool) -> list[StatementFacts]:
        """The statements of a DO block (run now) or a function body (run when called)."""
        opened = routine_body(place.text, do_block=do_block)
        if opened is None or opened[2] not in ("plpgsql", "sql"):
            if not do_block:
                return []  # a C or Python function: its body is not SQL this migration runs
            why = "its body cannot be found" if opened is None else f"it is in {opened[2]}"
            return place.facts(unreadable=f"cannot be read: {why}", within=where)
        if place.depth >= _MAX_DEPTH:
            return place.facts(unreadable="cannot be read: nested too deeply", within=where)
        offset, body, language = opened
        found: list[StatementFacts] = []
        for inner in body_statements(body) if language == "plpgsql" else _sql_body(body):
            at = _Place(
                place.number, place.line + offset + inner.line - 1, inner.text,
                where, not do_block, place.depth + 1,
            )  # fmt: skip
            if inner.opaque is not None:
                found += at.facts(unreadable=inner.opaque)
            else:
                found += self._read(at)
        return found


def _setting(tree: exp.Set) -> str | None:
    """The parameter a SET statement sets (`lock_timeout`), or None."""
    for item in tree.expressions:
        if isinstance(item, exp.SetItem) and isinstance(item.this, exp.EQ):
            target = item.this.this
            if isinstance(target, exp.Column):
                return target.name.lower()
    return None


def _sql_body(body: str) -> list[BodyStatement]:
    return [BodyStatement(c.line, c.text) for c in split(body) if c.kind == "statement"]


_TOKEN_REPR: Final = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: .*?>")
_INTERNAL: Final = re.compile(r"<class '|sqlglot\.")


def parse_error(error: Exception) -> str:
    """sqlglot's first error as one plain line: the culprit token's text, line and column."""
    errors = getattr(error, "errors", None)
    if errors:
        first = errors[0]
        # sqlglot names a token by its repr; the text the author wrote is what helps
        described = _TOKEN_REPR.sub(lambda m: repr(m[1]), str(first.get("description")))
        # "Required keyword: 'this' missing for <class 'sqlglot…Paren'>" names sqlglot's
        # classes, not the author's SQL: say what is missing in words instead.
        if _INTERNAL.search(described):
            described = "incomplete statement: a required part is missing"
        return f"{described} (line {first.get('line')}, column {first.get('col')})"
    plain = first_line(str(error))
    return "incomplete statement: a required part is missing" if _INTERNAL.search(plain) else plain


def first_line(message: str) -> str:
    """The first line of a message, without the ANSI escapes sqlglot underlines with."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", message)
    return plain.splitlines()[0] if plain else "unreadable"


def _head(sql: str) -> str:
    words = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL).split()
    return " ".join(words[:3]) or "empty"


def _plain(name: str) -> str:
    return name.replace('"', "").replace("`", "")
