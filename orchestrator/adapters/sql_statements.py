"""What one parsed SQL statement does, as operations on tables, indexes and schemas.

Each operation becomes one ResourceChange. Its `after` document states the
facts the reviewers judge (the operation, the columns, whether a DELETE or
UPDATE has a WHERE clause, whether an index is built CONCURRENTLY, whether a
NOT NULL column comes with a default); reviewers never re-parse SQL.

Types: `sql_table` (DDL on a table), `sql_rows` (DML: the rows of a table),
`sql_index`, `sql_view`, `sql_schema`, `sql_grant`, `sql_object` (sequences,
types, functions, extensions ...). Addresses are `<table>` or `<schema>.<table>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue
from sqlglot import exp

from orchestrator.models import Action


@dataclass(slots=True)
class Operation:
    """One thing a statement does to one object."""

    address: str
    type: str
    action: Action
    op: str
    name: str | None = None
    facts: dict[str, JsonValue] = field(default_factory=dict)


_COMMAND_VERBS = {"CREATE": Action.CREATE, "ALTER": Action.UPDATE, "DROP": Action.DELETE}
_COMMAND_TARGET = re.compile(
    r"^\s*(?:OR\s+REPLACE\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(\w+)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
    r"([\w.\"`]+)",
    re.IGNORECASE,
)
_RENAME_TABLE = re.compile(r"^\s*TABLE\s+([\w.`\"]+)\s+TO\s+([\w.`\"]+)", re.IGNORECASE)
_SIMPLE = ("Transaction", "Commit", "Rollback", "Set", "Use", "Pragma", "Select", "Union", "Show")


def operations(tree: exp.Expr) -> list[Operation] | None:
    """The operations of one statement; [] when it changes nothing, None when not understood."""
    if isinstance(tree, exp.Create):
        return [_create(tree)]
    if isinstance(tree, exp.Drop):
        return _drop(tree)
    if isinstance(tree, exp.Alter):
        return _alter(tree)
    if isinstance(tree, exp.TruncateTable):
        return [
            Operation(_table(t), "sql_rows", Action.DELETE, "truncate")
            for t in tree.expressions
            if isinstance(t, exp.Table)
        ]
    if isinstance(tree, exp.Delete | exp.Update):
        where = tree.args.get("where") is not None
        op = "delete-rows" if isinstance(tree, exp.Delete) else "update-rows"
        # every row gone (or overwritten) is data deletion; a filtered one changes some rows
        action = Action.DELETE if op == "delete-rows" and not where else Action.UPDATE
        return [Operation(_table(tree.this), "sql_rows", action, op, facts={"where": where})]
    if isinstance(tree, exp.Insert):
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        return [Operation(_table(target), "sql_rows", Action.CREATE, "insert-rows")]
    if isinstance(tree, exp.Grant | exp.Revoke):
        op = "grant" if isinstance(tree, exp.Grant) else "revoke"
        securable = tree.args.get("securable")
        target = _table(securable) if isinstance(securable, exp.Table) else "*"
        return [Operation(target, "sql_grant", Action.UPDATE, op)]
    if isinstance(tree, exp.Comment):
        return [Operation(_table(tree.this), "sql_object", Action.UPDATE, "comment")]
    if isinstance(tree, exp.Command):
        return _command(tree)
    if type(tree).__name__ in _SIMPLE:
        return []
    return None


def _create(tree: exp.Create) -> Operation:
    kind = str(tree.args.get("kind") or "").upper()
    target = tree.this
    if kind == "INDEX" and isinstance(target, exp.Index):
        table = target.args.get("table")
        facts: dict[str, JsonValue] = {
            "concurrently": bool(tree.args.get("concurrently")),
            "unique": bool(tree.args.get("unique")),
        }
        address = _table(table) if isinstance(table, exp.Table) else target.name
        return Operation(address, "sql_index", Action.CREATE, "create-index", target.name, facts)
    table = target.this if isinstance(target, exp.Schema) else target
    address = _table(table) if isinstance(table, exp.Table) else _name(table)
    if kind == "TABLE":
        defined = target.expressions if isinstance(target, exp.Schema) else []
        columns = [c.name for c in defined if isinstance(c, exp.ColumnDef)]
        return Operation(
            address,
            "sql_table",
            Action.CREATE,
            "create-table",
            facts={"columns": list[JsonValue](columns)},
        )
    typ = {"VIEW": "sql_view", "SCHEMA": "sql_schema", "DATABASE": "sql_schema"}.get(kind)
    op = f"create-{kind.lower() or 'object'}".replace(" ", "-")
    return Operation(address, typ or "sql_object", Action.CREATE, op)


def _drop(tree: exp.Drop) -> list[Operation]:
    kind = str(tree.args.get("kind") or "").upper()
    facts: dict[str, JsonValue] = {
        "cascade": bool(tree.args.get("cascade")),
        "if_exists": bool(tree.args.get("exists")),
    }
    found = []
    for target in tree.args.get("tables") or [tree.this]:
        if kind == "INDEX":
            on = tree.args.get("cluster")
            table = on.this if isinstance(on, exp.OnProperty) else None
            address = _table(table) if isinstance(table, exp.Table) else _table(target)
            facts["concurrently"] = bool(tree.args.get("concurrently"))
            found.append(
                Operation(
                    address, "sql_index", Action.DELETE, "drop-index", _name(target), dict(facts)
                )
            )
            continue
        typ = {
            "TABLE": "sql_table",
            "VIEW": "sql_view",
            "SCHEMA": "sql_schema",
            "DATABASE": "sql_schema",
        }.get(kind, "sql_object")
        op = f"drop-{kind.lower() or 'object'}".replace(" ", "-")
        found.append(Operation(_table(target), typ, Action.DELETE, op, facts=dict(facts)))
    return found


def _alter(tree: exp.Alter) -> list[Operation]:
    kind = str(tree.args.get("kind") or "").upper()
    address = _table(tree.this)
    if kind != "TABLE":
        typ = {"INDEX": "sql_index", "VIEW": "sql_view", "SCHEMA": "sql_schema"}.get(kind)
        return [Operation(address, typ or "sql_object", Action.UPDATE, f"alter-{kind.lower()}")]
    found = [_alter_action(address, action) for action in tree.args.get("actions") or []]
    if tree.args.get("not_valid"):
        for op in found:
            op.facts["not_valid"] = True
    return found or [Operation(address, "sql_table", Action.UPDATE, "alter-table")]


def _alter_action(address: str, action: exp.Expression) -> Operation:
    def op(name: str, column: str | None = None, **facts: JsonValue) -> Operation:
        return Operation(address, "sql_table", Action.UPDATE, name, column, dict(facts))

    if isinstance(action, exp.ColumnDef):
        not_null, default = _constraints(action)
        return op("add-column", action.name, not_null=not_null, default=default)
    if isinstance(action, exp.Drop):
        dropped = str(action.args.get("kind") or "COLUMN").upper()
        names = [_name(t) for t in action.args.get("tables") or []]
        return op(f"drop-{dropped.lower()}", ", ".join(names) or None)
    if isinstance(action, exp.AlterColumn):
        column = action.name
        if action.args.get("dtype") is not None:
            return op("alter-column-type", column, to_type=action.args["dtype"].sql())
        if action.args.get("allow_null") is False:
            return op("set-not-null", column)
        if action.args.get("allow_null") is True:
            return op("drop-not-null", column)
        if action.args.get("drop"):
            return op("drop-default", column)
        return op(
            "set-default" if action.args.get("default") is not None else "alter-column", column
        )
    if isinstance(action, exp.ModifyColumn):
        definition = action.this
        not_null, default = (
            _constraints(definition) if isinstance(definition, exp.ColumnDef) else (False, False)
        )
        renamed = action.args.get("rename_from")
        dtype = definition.args.get("kind") if isinstance(definition, exp.ColumnDef) else None
        facts: dict[str, JsonValue] = {"not_null": not_null, "default": default}
        if isinstance(dtype, exp.Expression):
            facts["to_type"] = dtype.sql()
        if renamed is not None:
            facts["renamed_from"] = _name(renamed)
        return op("alter-column-type", _name(definition), **facts)
    if isinstance(action, exp.RenameColumn):
        return op("rename-column", _name(action.this), new_name=_name(action.args.get("to")))
    if isinstance(action, exp.AlterRename):
        return op("rename-table", None, new_name=_table(action.this))
    if isinstance(action, exp.AddConstraint):
        return op("add-constraint")
    return op("alter-table")


def _command(tree: exp.Command) -> list[Operation] | None:
    verb = str(tree.this or "").upper()
    # the text after the verb: a string or a string literal, depending on the statement
    tail = tree.args.get("expression")
    rest = tail.name if isinstance(tail, exp.Literal) else str(tail or "")
    if verb == "RENAME" and (m := _RENAME_TABLE.match(rest)):
        return [
            Operation(
                _plain(m[1]),
                "sql_table",
                Action.UPDATE,
                "rename-table",
                facts={"new_name": _plain(m[2])},
            )
        ]
    match = _COMMAND_TARGET.match(rest)
    if verb not in _COMMAND_VERBS or match is None:
        return None
    what = match[1].lower()
    return [
        Operation(
            _plain(match[2]),
            "sql_object",
            _COMMAND_VERBS[verb],
            f"{verb.lower()}-{what}",
            facts={"read_by_keywords_only": True},
        )
    ]


def _constraints(column: exp.ColumnDef) -> tuple[bool, bool]:
    kinds = [c.args.get("kind") for c in column.args.get("constraints") or []]
    not_null = any(
        isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds
    )
    default = any(isinstance(k, exp.DefaultColumnConstraint) for k in kinds)
    return not_null, default


def _table(node: Any) -> str:
    if isinstance(node, exp.Table):
        return ".".join(part for part in (node.catalog, node.db, node.name) if part) or "?"
    return _name(node)


def _name(node: Any) -> str:
    if isinstance(node, exp.Expression):
        return node.name or node.sql()
    return str(node) if node is not None else "?"


def _plain(name: str) -> str:
    return name.replace("`", "").replace('"', "")
