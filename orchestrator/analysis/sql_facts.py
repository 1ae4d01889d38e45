"""What one parsed SQL statement does, as steps on tables, indexes and other objects.

Each step becomes one ResourceChange. Its facts are what the hazard analysis
(`sql_hazards`) and the reviewers judge: the column, whether a DELETE has a
WHERE, whether an index is built CONCURRENTLY, whether a new column has a
default and whether that default is volatile, which constraint is added and
whether NOT VALID or USING INDEX spare it the table scan. Nobody downstream
re-parses SQL, and no parse tree outlives its statement.

Types: `sql_table` (DDL on a table), `sql_rows` (DML: the rows of a table),
`sql_index`, `sql_view`, `sql_schema`, `sql_grant`, `sql_object` (sequences,
types, functions, domains, roles ...). Addresses are `<table>` or
`<schema>.<table>`. Statements sqlglot reads only as a `Command` are read by
`sql_commands`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import JsonValue
from sqlglot import exp

from orchestrator.analysis.sql_defaults import default_facts
from orchestrator.models import Action


@dataclass(slots=True)
class Step:
    """One thing a statement does to one object."""

    address: str
    type: str
    action: Action
    op: str
    name: str | None = None
    facts: dict[str, JsonValue] = field(default_factory=dict)


_SIMPLE: Final = ("Set", "Use", "Pragma", "Select", "Union", "Show", "Describe", "Analyze")
_TYPES: Final = {"VIEW": "sql_view", "SCHEMA": "sql_schema", "DATABASE": "sql_schema"}


def steps_of(tree: exp.Expr) -> list[Step] | None:
    """The steps of one statement; [] when it changes nothing, None when not understood."""
    if isinstance(tree, exp.Create):
        return [_create(tree)]
    if isinstance(tree, exp.Drop):
        return _drop(tree)
    if isinstance(tree, exp.Alter):
        return _alter(tree)
    if isinstance(tree, exp.TruncateTable):
        cascade = str(tree.args.get("option") or "").upper() == "CASCADE"
        return [
            Step(_table(t), "sql_rows", Action.DELETE, "truncate", facts={"cascade": cascade})
            for t in tree.expressions
            if isinstance(t, exp.Table)
        ]
    if isinstance(tree, exp.Delete | exp.Update):
        return [_rows(tree)]
    if isinstance(tree, exp.Insert):
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        return [Step(_table(target), "sql_rows", Action.CREATE, "insert-rows")]
    if isinstance(tree, exp.Grant | exp.Revoke):
        op = "grant" if isinstance(tree, exp.Grant) else "revoke"
        securable = tree.args.get("securable")
        target = _table(securable) if isinstance(securable, exp.Table) else "*"
        grantees = [p.name.lower() for p in tree.args.get("principals") or []]
        privileges = [p.name.upper() for p in tree.args.get("privileges") or []]
        facts: dict[str, JsonValue] = {
            "grantees": list[JsonValue](grantees),
            "privileges": list[JsonValue](privileges),
        }
        return [Step(target, "sql_grant", Action.UPDATE, op, facts=facts)]
    if isinstance(tree, exp.Comment):
        target = tree.this
        if isinstance(target, exp.Column):  # a column's comment is on its table
            table = ".".join(p for p in (target.db, target.table) if p) or "?"
            return [Step(table, "sql_object", Action.UPDATE, "comment", target.name)]
        return [Step(_table(target), "sql_object", Action.UPDATE, "comment")]
    if isinstance(tree, exp.Copy):
        return [Step(_table(tree.this), "sql_rows", Action.UPDATE, "copy")]
    if type(tree).__name__ in _SIMPLE:
        return []
    return None


def _rows(tree: exp.Delete | exp.Update) -> Step:
    where = tree.args.get("where") is not None
    op = "delete-rows" if isinstance(tree, exp.Delete) else "update-rows"
    # every row gone (or overwritten) is data deletion; a filtered one changes some rows
    action = Action.DELETE if op == "delete-rows" and not where else Action.UPDATE
    facts: dict[str, JsonValue] = {"where": where}
    if isinstance(tree, exp.Update):
        assigned = [e.this.name for e in tree.expressions if isinstance(e, exp.EQ)]
        if repeated := sorted({c for c in assigned if assigned.count(c) > 1}):
            facts["duplicate_columns"] = list[JsonValue](repeated)
    return Step(_table(tree.this), "sql_rows", action, op, facts=facts)


def _create(tree: exp.Create) -> Step:
    kind = str(tree.args.get("kind") or "").upper()
    target = tree.this
    exists = bool(tree.args.get("exists"))
    if kind == "INDEX" and isinstance(target, exp.Index):
        table = target.args.get("table")
        facts: dict[str, JsonValue] = {
            "concurrently": bool(tree.args.get("concurrently")),
            "unique": bool(tree.args.get("unique")),
            "if_not_exists": exists,
        }
        address = _table(table) if isinstance(table, exp.Table) else target.name
        return Step(address, "sql_index", Action.CREATE, "create-index", target.name, facts)
    table = target.this if isinstance(target, exp.Schema) else target
    address = _table(table) if isinstance(table, exp.Table) else _name(table)
    if kind == "TABLE":
        defined = target.expressions if isinstance(target, exp.Schema) else []
        columns = [_column(c) for c in defined if isinstance(c, exp.ColumnDef)]
        names = [str(c["column"]) for c in columns]
        facts = {
            "columns": list[JsonValue](names),
            "column_types": {str(c["column"]): c.get("type") for c in columns},
            "if_not_exists": exists,
        }
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            facts["duplicate_columns"] = list[JsonValue](repeated)
        return Step(address, "sql_table", Action.CREATE, "create-table", facts=facts)
    op = f"create-{kind.lower() or 'object'}".replace(" ", "-")
    trigger = tree.find(exp.TriggerProperties) if kind == "TRIGGER" else None
    if trigger is not None and isinstance(on := trigger.args.get("table"), exp.Table):
        # a trigger is judged on the table it fires for
        return Step(_table(on), "sql_object", Action.CREATE, op, address)
    return Step(address, _TYPES.get(kind, "sql_object"), Action.CREATE, op)


def _drop(tree: exp.Drop) -> list[Step]:
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
                Step(address, "sql_index", Action.DELETE, "drop-index", _name(target), dict(facts))
            )
            continue
        typ = "sql_table" if kind == "TABLE" else _TYPES.get(kind, "sql_object")
        op = f"drop-{kind.lower() or 'object'}".replace(" ", "-")
        found.append(Step(_table(target), typ, Action.DELETE, op, facts=dict(facts)))
    return found


def _alter(tree: exp.Alter) -> list[Step]:
    kind = str(tree.args.get("kind") or "").upper()
    address = _table(tree.this)
    if kind != "TABLE":
        typ = {"INDEX": "sql_index", "VIEW": "sql_view", "SCHEMA": "sql_schema"}.get(kind)
        actions = tree.args.get("actions") or []
        renamed = any(isinstance(a, exp.AlterRename) for a in actions)
        op = f"rename-{kind.lower()}" if renamed else f"alter-{kind.lower()}"
        return [Step(address, typ or "sql_object", Action.UPDATE, op)]
    found = [_alter_action(address, action) for action in tree.args.get("actions") or []]
    if tree.args.get("not_valid"):
        for step in found:
            step.facts["not_valid"] = True
    return found or [Step(address, "sql_table", Action.UPDATE, "alter-table")]


def _alter_action(address: str, action: exp.Expression) -> Step:
    def step(op: str, name: str | None = None, **facts: JsonValue) -> Step:
        return Step(address, "sql_table", Action.UPDATE, op, name, dict(facts))

    if isinstance(action, exp.ColumnDef):
        facts = _column(action)
        facts["if_not_exists"] = bool(action.args.get("exists"))
        return Step(address, "sql_table", Action.UPDATE, "add-column", action.name, facts)
    if isinstance(action, exp.Drop):
        dropped = str(action.args.get("kind") or "COLUMN").upper()
        names = [_name(t) for t in action.args.get("tables") or []]
        return step(f"drop-{dropped.lower()}", ", ".join(names) or None)
    if isinstance(action, exp.AlterColumn):
        return _alter_column(address, action)
    if isinstance(action, exp.ModifyColumn):
        definition = action.this
        facts = _column(definition) if isinstance(definition, exp.ColumnDef) else {}
        renamed = action.args.get("rename_from")
        if renamed is not None:
            facts["renamed_from"] = _name(renamed)
        op = "alter-column-type"
        return Step(address, "sql_table", Action.UPDATE, op, _name(definition), facts)
    if isinstance(action, exp.RenameColumn):
        return step("rename-column", _name(action.this), new_name=_name(action.args.get("to")))
    if isinstance(action, exp.AlterRename):
        return step("rename-table", None, new_name=_table(action.this))
    if isinstance(action, exp.AddConstraint):
        return Step(
            address, "sql_table", Action.UPDATE, "add-constraint", None, _constraint(action)
        )
    return step("alter-table")


def _alter_column(address: str, action: exp.AlterColumn) -> Step:
    column = action.name
    if action.args.get("dtype") is not None:
        facts: dict[str, JsonValue] = {"to_type": action.args["dtype"].sql("postgres")}
        return Step(address, "sql_table", Action.UPDATE, "alter-column-type", column, facts)
    if action.args.get("allow_null") is False:
        return Step(address, "sql_table", Action.UPDATE, "set-not-null", column)
    if action.args.get("allow_null") is True:
        return Step(address, "sql_table", Action.UPDATE, "drop-not-null", column)
    if action.args.get("drop"):
        return Step(address, "sql_table", Action.UPDATE, "drop-default", column)
    default = action.args.get("default")
    if default is not None:
        facts = default_facts(default)
        return Step(address, "sql_table", Action.UPDATE, "set-default", column, facts)
    return Step(address, "sql_table", Action.UPDATE, "alter-column", column)


def _column(column: exp.ColumnDef) -> dict[str, JsonValue]:
    """The facts of a column definition: NOT NULL, its default, keys, references, type."""
    facts: dict[str, JsonValue] = {"column": column.name, "not_null": False, "default": False}
    kind = column.args.get("kind")
    if isinstance(kind, exp.DataType):
        facts["type"] = kind.sql("postgres").lower()
        if kind.this in (exp.DType.SERIAL, exp.DType.BIGSERIAL, exp.DType.SMALLSERIAL):
            facts["serial"] = True
    for constraint in column.args.get("constraints") or []:
        found = constraint.args.get("kind")
        if isinstance(found, exp.NotNullColumnConstraint) and not found.args.get("allow_null"):
            facts["not_null"] = True
        elif isinstance(found, exp.DefaultColumnConstraint):
            facts.update(default_facts(found.this))
        elif isinstance(found, exp.ComputedColumnConstraint):
            facts["generated"] = "stored" if found.args.get("persisted", True) else "virtual"
        elif isinstance(found, exp.GeneratedAsIdentityColumnConstraint):
            facts["identity"] = True
        elif isinstance(found, exp.PrimaryKeyColumnConstraint):
            facts["primary_key"] = True
        elif isinstance(found, exp.UniqueColumnConstraint):
            facts["unique"] = True
        elif isinstance(found, exp.Reference):
            facts["references"] = _referenced(found)
        elif isinstance(found, exp.CheckColumnConstraint):
            facts["check"] = True
    return facts


def _constraint(action: exp.AddConstraint) -> dict[str, JsonValue]:
    """Which constraint an ADD CONSTRAINT adds, its name, and what it checks or references."""
    facts: dict[str, JsonValue] = {"constraint": "other"}
    for item in action.expressions:
        named = item if isinstance(item, exp.Constraint) else None
        parts = named.expressions if named is not None else [item]
        if named is not None:
            facts["constraint_name"] = named.name
        for part in parts:
            if isinstance(part, exp.ForeignKey):
                facts["constraint"] = "foreign-key"
                reference = part.args.get("reference")
                if isinstance(reference, exp.Reference):
                    facts["references"] = _referenced(reference)
            elif isinstance(part, exp.PrimaryKey | exp.PrimaryKeyColumnConstraint):
                facts["constraint"] = "primary-key"
            elif isinstance(part, exp.UniqueColumnConstraint):
                facts["constraint"] = "unique"
            elif isinstance(part, exp.CheckColumnConstraint):
                facts["constraint"] = "check"
                if (column := _not_null_check(part.this)) is not None:
                    facts["checks_not_null"] = column
            elif isinstance(part, exp.ExcludeColumnConstraint):
                facts["constraint"] = "exclude"
    return facts


def _not_null_check(condition: Any) -> str | None:
    """The column of a `CHECK (col IS NOT NULL)`, which lets SET NOT NULL skip its scan."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    # sqlglot reads `x IS NOT NULL` as IS … negated, or as NOT (x IS NULL)
    negated = isinstance(condition, exp.Not)
    if negated:
        condition = condition.this
    if (
        isinstance(condition, exp.Is)
        and (negated or condition.args.get("negate"))
        and isinstance(condition.expression, exp.Null)
        and isinstance(condition.this, exp.Column)
    ):
        return str(condition.this.name)
    return None


def _referenced(reference: exp.Reference) -> str:
    target = reference.this
    table = target.this if isinstance(target, exp.Schema) else target
    return _table(table)


def _table(node: Any) -> str:
    if isinstance(node, exp.Table):
        return ".".join(part for part in (node.catalog, node.db, node.name) if part) or "?"
    return _name(node)


def _name(node: Any) -> str:
    if isinstance(node, exp.Expression):
        return node.name or node.sql()
    return str(node) if node is not None else "?"


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """What one statement does, where it is written, and whether it could be read.

    Kept for every statement instead of its parse tree. `within` names the
    DO block or function a statement sits in; `deferred` says it runs when
    that function is called, not when the migration runs.
    """

    number: int
    line: int
    end_line: int
    text: str  # masked
    steps: tuple[Step, ...] = ()
    control: str | None = None  # begin | commit | rollback
    setting: str | None = None  # the parameter a SET statement sets
    unreadable: str | None = None  # why the statement could not be read
    within: str | None = None
    deferred: bool = False
