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
from typing import Any, Final

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from orchestrator.analysis.sql_commands import command_steps
from orchestrator.analysis.sql_facts import StatementFacts, Step, steps_of
from orchestrator.analysis.sql_plpgsql import body_statements, routine_body
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
_END: Final = re.compile(r"\s*(COMMIT|END|ROLLBACK|ABORT)(?:\s+(?:WORK|TRANSACTION|PREPARED\b.*))?\s*$", _FLAGS)
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
_MAX_DEPTH: Final = 3


def insert_target(text: str, start: int) -> str | None:
    """The table of a plain `INSERT INTO t … VALUES (` starting at `start`, else None."""
    found = _INSERT_VALUES.match(text, start)
    return _plain(found[1]) if found is not None else None


class StatementReader:
    """Reads statements of one dialect; holds one sqlglot parser for all of them."""

    def __init__(self, dialect: str) -> None:
        self._dialect = dialect
        self._engine = Dialect.get_or_raise(dialect)
        self._parser = self._engine.parser()  # parse() resets its state
        # sqlglot logs a warning for each statement it reads only as a Command;
        # those are reported as findings, and a CLI must not print stray log lines.
        logging.getLogger("sqlglot").setLevel(logging.ERROR)

    def read(
        self,
        number: int,
        line: int,
        text: str,
        *,
        within: str | None = None,
        deferred: bool = False,
        depth: int = 0,
    ) -> list[StatementFacts]:
        """The facts of one statement (several for a DO block or a function body)."""
        end_line = line + text.count("\n")

        def facts(**known: Any) -> list[StatementFacts]:
            return [StatementFacts(number, line, end_line, text, within=within, deferred=deferred, **known)]

        if (insert := _INSERT_VALUES.match(text)) is not None:
            return facts(steps=(Step(_plain(insert[1]), "sql_rows", Action.CREATE, "insert-rows"),))
        if _BEGIN.match(text):
            return facts(control="begin")
        if ended := _END.match(text):
            return facts(control="rollback" if ended[1].upper() in ("ROLLBACK", "ABORT") else "commit")
        if (cluster := _CLUSTER.match(text)) is not None:
            address = _plain(cluster[1]) if cluster[1] else "*"
            return facts(steps=(Step(address, "sql_table", Action.UPDATE, "cluster"),))
        if (lock := _LOCK.match(text)) is not None:
            return facts(steps=(Step(_plain(lock[1]), "sql_table", Action.UPDATE, "lock-table"),))
        if _QUIET.match(text):
            return facts()
        try:
            trees = [t for t in self._parser.parse(self._engine.tokenize(text), text) if t is not None]
        except SqlglotError as error:
            return facts(unreadable=f"cannot be parsed as {self._dialect}: {parse_error(error)}")
        except RecursionError:
            return facts(unreadable="cannot be parsed: nested too deeply")
        found: list[StatementFacts] = []
        for tree in trees:
            found.extend(self._tree(tree, number, line, text, within, deferred, depth, facts))
        return found or facts()

    def _tree(  # noqa: PLR0913 - the statement's place travels with it
        self, tree: exp.Expr, number: int, line: int, text: str, within: str | None,
        deferred: bool, depth: int, facts: Any,
    ) -> list[StatementFacts]:
        if isinstance(tree, exp.Transaction):
            return facts(control="begin")  # type: ignore[no-any-return]
        if isinstance(tree, exp.Commit | exp.Rollback):
            return facts(control="rollback" if isinstance(tree, exp.Rollback) else "commit")  # type: ignore[no-any-return]
        if isinstance(tree, exp.Set):
            names = [i.this.this.name.lower() for i in tree.expressions if isinstance(i, exp.SetItem) and isinstance(i.this, exp.EQ) and isinstance(i.this.this, exp.Column)]
            return facts(setting=names[0] if names else None)  # type: ignore[no-any-return]
        if isinstance(tree, exp.Command):
            verb = str(tree.this or "").upper()
            tail = tree.args.get("expression")
            rest = (tail.name if isinstance(tail, exp.Literal) else str(tail or "")).strip()
            if verb == "DO":
                return self._do(number, line, text, within, depth)
            steps = command_steps(verb, rest, lambda action: self._action(rest, action))
            if steps is None:
                return facts(unreadable=f"was not understood ({_head(text)}): what it does is not reviewed")  # type: ignore[no-any-return]
            found: list[StatementFacts] = facts(steps=tuple(steps))
            if verb == "CREATE" and (function := _FUNCTION.match(rest)):
                found += self._body(number, line, text, f"function {_plain(function[1])}", depth)
            return found
        steps = steps_of(tree)
        if steps is None:
            return facts(unreadable=f"was not understood ({_head(text)}): what it does is not reviewed")  # type: ignore[no-any-return]
        found = facts(steps=tuple(steps))
        if isinstance(tree, exp.Create) and str(tree.args.get("kind") or "").upper() in ("FUNCTION", "PROCEDURE"):
            found += self._body(number, line, text, f"function {steps[0].address}", depth)
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

    def _do(self, number: int, line: int, text: str, within: str | None, depth: int) -> list[StatementFacts]:
        where = within or f"the DO block at line {line}"
        found = self._routine(number, line, text, where, depth, do_block=True, deferred=False)
        return found or [StatementFacts(number, line, line + text.count("\n"), text, within=where)]

    def _body(self, number: int, line: int, text: str, where: str, depth: int) -> list[StatementFacts]:
        return self._routine(number, line, text, where, depth, do_block=False, deferred=True)

    def _routine(  # noqa: PLR0913 - the statement's place travels with it
        self, number: int, line: int, text: str, where: str, depth: int, *, do_block: bool, deferred: bool,
    ) -> list[StatementFacts]:
        end_line = line + text.count("\n")
        opened = routine_body(text, do_block=do_block)
        if opened is None:
            if not do_block:
                return []
            return [StatementFacts(number, line, end_line, text, unreadable="its body cannot be found", within=where)]
        offset, body, language = opened
        if language not in ("plpgsql", "sql"):
            if not do_block:
                return []  # a C or Python function: its body is not SQL this migration runs
            return [StatementFacts(number, line, end_line, text, unreadable=f"a DO block in {language} cannot be read", within=where)]
        if depth >= _MAX_DEPTH:
            return [StatementFacts(number, line, end_line, text, unreadable="nested too deeply", within=where)]
        found: list[StatementFacts] = []
        for inner in body_statements(body) if language == "plpgsql" else _sql_body(body):
            at = line + offset + inner.line - 1
            if inner.opaque is not None:
                found.append(StatementFacts(number, at, at + inner.text.count("\n"), inner.text, unreadable=inner.opaque, within=where, deferred=deferred))
                continue
            found.extend(self.read(number, at, inner.text, within=where, deferred=deferred, depth=depth + 1))
        return found


def _sql_body(body: str) -> list[Any]:
    from orchestrator.analysis.sql_plpgsql import BodyStatement  # noqa: PLC0415
    from orchestrator.analysis.sql_text import split  # noqa: PLC0415

    return [BodyStatement(c.line, c.text) for c in split(body) if c.kind == "statement"]


_TOKEN_REPR: Final = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: .*?>")


def parse_error(error: Exception) -> str:
    """sqlglot's first error as one plain line: the culprit token's text, line and column."""
    errors = getattr(error, "errors", None)
    if errors:
        first = errors[0]
        # sqlglot names a token by its repr; the text the author wrote is what helps
        described = _TOKEN_REPR.sub(lambda m: repr(m[1]), str(first.get("description")))
        return f"{described} (line {first.get('line')}, column {first.get('col')})"
    return first_line(str(error))


def first_line(message: str) -> str:
    """The first line of a message, without the ANSI escapes sqlglot underlines with."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", message)
    return plain.splitlines()[0] if plain else "unreadable"


def _head(sql: str) -> str:
    words = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL).split()
    return " ".join(words[:3]) or "empty"


def _plain(name: str) -> str:
    return name.replace('"', "").replace("`", "")
