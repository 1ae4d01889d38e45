"""Whether a column default is volatile: the fact that decides if ADD COLUMN rewrites the table.

From PostgreSQL 11 on, ADD COLUMN with a non-volatile default stores the
value once in the catalog; a volatile one (`random()`, `gen_random_uuid()`,
`clock_timestamp()`, `nextval()`) is evaluated per row, so every row is
rewritten under an ACCESS EXCLUSIVE lock. Constants, casts, arrays and
arithmetic on them are non-volatile, and so are the few stable built-ins
migrations use as defaults (`now()`, `CURRENT_TIMESTAMP`, `current_user`)
and pure functions of constants (`lower('x')`, `jsonb_build_object(…)`).
A function this module does not know is taken as volatile: its volatility
lives in the database, and a guess must not hide a rewrite.
"""

from __future__ import annotations

from typing import Final

from pydantic import JsonValue
from sqlglot import exp

# Stable built-ins (pg_proc.provolatile <> 'v') that migrations use as defaults, called
# without arguments (`now(123)` is no call PostgreSQL knows: taken as unknown, like Squawk).
_STABLE_CALLS: Final = frozenset(
    {
        "now", "transaction_timestamp", "statement_timestamp", "current_timestamp",
        "current_date", "current_time", "localtime", "localtimestamp", "current_user",
        "session_user", "current_role", "current_schema", "current_database",
        "inet_client_addr",
    }
)  # fmt: skip
# Immutable or stable built-ins whose result depends only on their (constant) arguments.
_PURE_FUNCTIONS: Final = frozenset(
    {
        "lower", "upper", "trim", "concat", "coalesce", "jsonb_build_object",
        "json_build_object", "jsonb_build_array", "json_build_array", "to_jsonb",
        "array_fill", "make_interval", "timezone", "date_trunc",
    }
)  # fmt: skip
_STABLE_NODES: Final = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.CurrentUser)
_PURE_NODES: Final = (
    exp.CurrentSchema, exp.Lower, exp.Upper, exp.Trim, exp.Concat, exp.Coalesce,
    exp.TimestampTrunc, exp.DateTrunc,
)  # fmt: skip
_CONSTANT_NODES: Final = (
    exp.Literal, exp.Boolean, exp.Null, exp.Array, exp.Interval, exp.DataType, exp.Var,
    exp.Identifier, exp.Tuple, exp.Paren, exp.Neg, exp.Binary, exp.Cast, exp.TryCast,
    exp.Collate, exp.Struct, exp.Bracket,
)  # fmt: skip


def default_facts(default: exp.Expression) -> dict[str, JsonValue]:
    """The facts of a DEFAULT: that there is one, whether it is volatile, its text."""
    volatile = _volatile(default)
    facts: dict[str, JsonValue] = {"default": True, "default_volatile": volatile is not None}
    if volatile is not None:
        facts["volatile_call"] = volatile
    return facts


def _volatile(node: exp.Expression) -> str | None:
    """The first call in the expression not known to be stable, or None."""
    for part in node.walk():
        if isinstance(part, exp.Column) and not part.table:
            # `DEFAULT current_timestamp` written bare reads as a column in some dialects
            if part.name.lower() in _STABLE_CALLS:
                continue
            return part.name
        if isinstance(part, exp.Anonymous):
            name = str(part.this).lower()
            if not (name in _PURE_FUNCTIONS or (name in _STABLE_CALLS and not part.expressions)):
                return f"{part.this}()"
        elif isinstance(part, _STABLE_NODES):
            if part.args.get("this") is not None:
                return f"{part.sql('postgres').split('(')[0]}()"
        elif isinstance(part, exp.Func) and not isinstance(part, _PURE_NODES + _CONSTANT_NODES):
            return f"{part.sql('postgres').split('(')[0]}()"
    return None
