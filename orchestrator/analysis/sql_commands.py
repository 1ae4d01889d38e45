"""Statements sqlglot reads only as a `Command`, read by their PostgreSQL grammar.

sqlglot keeps `ALTER DOMAIN`, `CREATE POLICY`, `ALTER TABLE … VALIDATE
CONSTRAINT`, `… USING INDEX`, `ENABLE ROW LEVEL SECURITY`, `REINDEX`,
`CREATE ROLE` and friends as a verb and the text after it. Each form here
is one PostgreSQL grammar rule whose effect (and so its lock) does not
depend on the details it leaves unread; an `ALTER TABLE` action that is not
one of them is handed back to sqlglot on its own. A form not listed is not
understood (None): the caller reports it instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from pydantic import JsonValue

from orchestrator.analysis.sql_facts import Step
from orchestrator.models import Action

_NAME: Final = r"((?:\"[^\"]+\"|[\w$]+)(?:\.(?:\"[^\"]+\"|[\w$]+))*)"
_IF: Final = r"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
_FLAGS: Final = re.IGNORECASE | re.DOTALL

# (pattern on the text after ALTER TABLE <name>, op, facts) for one ALTER TABLE action.
_TABLE_ACTIONS: Final[tuple[tuple[re.Pattern[str], str, dict[str, JsonValue]], ...]] = tuple(
    (re.compile(pattern, _FLAGS), op, dict[str, JsonValue](facts))
    for pattern, op, facts in (
        (r"VALIDATE\s+CONSTRAINT\s+" + _NAME, "validate-constraint", {}),
        (r"ALTER\s+CONSTRAINT\s+" + _NAME, "alter-constraint", {}),
        (
            r"ADD\s+(?:CONSTRAINT\s+" + _NAME + r"\s+)?CHECK\s*(\(.*\))",
            "add-constraint",
            {"constraint": "check"},
        ),
        (r"RENAME\s+CONSTRAINT\s+" + _NAME, "rename-constraint", {}),
        (
            r"ADD\s+(?:CONSTRAINT\s+"
            + _NAME
            + r"\s+)?(UNIQUE|PRIMARY\s+KEY)\s+USING\s+INDEX\s+"
            + _NAME,
            "add-constraint",
            {"using_index": True},
        ),
        (r"ENABLE\s+ROW\s+LEVEL\s+SECURITY", "enable-row-level-security", {}),
        (r"DISABLE\s+ROW\s+LEVEL\s+SECURITY", "disable-row-level-security", {}),
        (r"FORCE\s+ROW\s+LEVEL\s+SECURITY", "force-row-level-security", {}),
        (r"NO\s+FORCE\s+ROW\s+LEVEL\s+SECURITY", "no-force-row-level-security", {}),
        (r"DETACH\s+PARTITION\s+" + _NAME + r"(\s+CONCURRENTLY)?", "detach-partition", {}),
        (r"ATTACH\s+PARTITION\s+" + _NAME, "attach-partition", {}),
        (r"SET\s+SCHEMA\s+" + _NAME, "set-schema", {}),
        (r"(?:DISABLE)\s+TRIGGER\s+" + _NAME, "disable-trigger", {}),
        (r"ENABLE\s+(?:REPLICA\s+|ALWAYS\s+)?TRIGGER\s+" + _NAME, "enable-trigger", {}),
        (r"REPLICA\s+IDENTITY\b", "replica-identity", {}),
        (r"OWNER\s+TO\s+" + _NAME, "owner", {}),
        (r"SET\s+(?:LOGGED|UNLOGGED)\b", "set-logged", {}),
        (r"SET\s+TABLESPACE\b", "set-tablespace", {}),
        (r"(?:SET|RESET)\s*\(", "set-storage-options", {}),
        (r"(?:CLUSTER\s+ON|SET\s+WITHOUT\s+(?:CLUSTER|OIDS))\b", "set-cluster", {}),
        (r"(?:NO\s+)?INHERIT\s+" + _NAME, "inherit", {}),
        (r"(?:ENABLE|DISABLE)\s+RULE\b", "alter-rule", {}),
        (
            r"ALTER\s+(?:COLUMN\s+)?" + _NAME + r"\s+ADD\s+GENERATED\s+(?:ALWAYS|BY\s+DEFAULT)"
            r"\s+AS\s+IDENTITY",
            "add-identity",
            {},
        ),
        (
            r"ALTER\s+(?:COLUMN\s+)?" + _NAME + r"\s+(?:SET\s+(?:STATISTICS|STORAGE|COMPRESSION"
            r"|GENERATED|\()|RESET\s*\(|DROP\s+IDENTITY|RESTART|SET\s+(?:INCREMENT|START))",
            "alter-column-options",
            {},
        ),
        (
            r"ALTER\s+(?:COLUMN\s+)?" + _NAME + r"\s+DROP\s+EXPRESSION",
            "drop-expression",
            {},
        ),
    )
)
# Actions whose first group names the object they act on (a constraint, column, partition).
_NAMED: Final = frozenset(
    {"validate-constraint", "alter-constraint", "rename-constraint", "set-schema",
     "attach-partition", "owner", "inherit", "add-identity", "alter-column-options",
     "drop-expression", "disable-trigger", "enable-trigger"}
)  # fmt: skip
_NOT_NULL_CHECK: Final = re.compile(r"\(\s*" + _NAME + r"\s+IS\s+NOT\s+NULL\s*\)", _FLAGS)
_ALTER_TABLE: Final = re.compile(r"TABLE\s+" + _IF + r"(?:ONLY\s+)?" + _NAME + r"\s*(.*)", _FLAGS)
_ON_TABLE: Final = re.compile(r"\bON\s+(?:TABLE\s+)?(?:ONLY\s+)?" + _NAME, _FLAGS)
_OBJECT: Final = re.compile(
    r"(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED|TRUSTED|PROCEDURAL|CONSTRAINT|DEFAULT)\s+)*"
    r"(MATERIALIZED\s+VIEW|FOREIGN\s+TABLE|FOREIGN\s+DATA\s+WRAPPER|USER\s+MAPPING|EVENT\s+TRIGGER"
    r"|TEXT\s+SEARCH\s+\w+|ACCESS\s+METHOD|DEFAULT\s+PRIVILEGES|LARGE\s+OBJECT|\w+)\s+"
    + _IF
    + r"(?:FOR\s+)?"
    + _NAME,
    _FLAGS,
)
# Object kinds a keyword-level reading fully describes, by their step type.
_KINDS: Final = {
    "role": "sql_role", "user": "sql_role", "group": "sql_role", "policy": "sql_policy",
    "view": "sql_view", "materialized view": "sql_view", "schema": "sql_schema",
    "database": "sql_schema", "index": "sql_index", "table": "sql_table",
    "foreign table": "sql_table", "default privileges": "sql_grant",
    **dict.fromkeys((
        "sequence", "function", "procedure", "routine", "aggregate", "type", "domain",
        "extension", "trigger", "event trigger", "rule", "server", "user mapping",
        "foreign data wrapper", "publication", "subscription", "collation", "conversion",
        "cast", "operator", "language", "statistics", "tablespace", "transform",
        "access method", "text search configuration", "text search dictionary",
        "text search parser", "text search template", "large object",
    ), "sql_object"),
}  # fmt: skip
_DROP: Final = re.compile(
    r"(?P<kind>MATERIALIZED\s+VIEW|FOREIGN\s+TABLE|EVENT\s+TRIGGER|USER\s+MAPPING|\w+)\s+"
    r"(?P<concurrently>CONCURRENTLY\s+)?(?P<exists>IF\s+EXISTS\s+)?(?P<names>.+?)"
    r"\s*(?P<tail>CASCADE|RESTRICT)?\s*$",
    _FLAGS,
)
_VERBS: Final = {"CREATE": Action.CREATE, "ALTER": Action.UPDATE, "DROP": Action.DELETE}


def command_steps(
    verb: str, rest: str, reparse: Callable[[str], list[Step] | None]
) -> list[Step] | None:
    """The steps of a statement sqlglot left as `verb rest`; None when not understood.

    `reparse` reads one ALTER TABLE action on its own (`ALTER TABLE t <action>`).
    """
    verb = verb.upper()
    if verb == "ALTER" and (table := _ALTER_TABLE.match(rest)):
        return _alter_table(_plain(table[1]), table[2], reparse)
    if verb == "ALTER" and re.match(r"DOMAIN\b", rest, re.IGNORECASE):
        return [_alter_domain(rest)]
    if verb == "ALTER" and re.match(r"TYPE\b", rest, re.IGNORECASE):
        return [_alter_type(rest)]
    if verb in ("GRANT", "REVOKE"):
        target = _ON_TABLE.search(rest)
        address = _plain(target[1]) if target else "*"
        return [Step(address, "sql_grant", Action.UPDATE, verb.lower(), facts={"roles": True})]
    if verb == "REINDEX":
        return [_reindex(rest)]
    if verb == "VACUUM":
        full = bool(re.match(r"\s*(?:FULL\b|\([^)]*\bFULL\b)", rest, re.IGNORECASE))
        target = re.search(_NAME + r"\s*$", rest.strip())
        address = _plain(target[1]) if target and full else "*"
        return [Step(address, "sql_table", Action.UPDATE, "vacuum", facts={"full": full})]
    if verb == "DROP" and (listed := _DROP.match(rest)) is not None:
        return _drop(listed)
    if verb not in _VERBS or (found := _OBJECT.match(rest)) is None:
        return None
    kind = " ".join(found[1].lower().split())
    if kind not in _KINDS:
        return None
    typ, name = _KINDS[kind], _plain(found[2])
    address, facts = name, _object_facts(kind, rest)
    if kind in ("policy", "trigger", "rule") and (on := _ON_TABLE.search(rest)):
        address = _plain(on[1])  # a policy or trigger is judged on its table
        facts["object"] = name
    op = f"{verb.lower()}-{kind.replace(' ', '-')}"
    if verb == "ALTER" and re.search(r"\bRENAME\s+TO\b", rest, re.IGNORECASE):
        op = f"rename-{kind.replace(' ', '-')}"
    return [Step(address, typ, _VERBS[verb], op, None, facts)]


def _drop(found: re.Match[str]) -> list[Step] | None:
    """`DROP <kind> [CONCURRENTLY] [IF EXISTS] a [(args)], b … [CASCADE]`: one step per name."""
    kind = " ".join(found["kind"].lower().split())
    if kind not in _KINDS:
        return None
    names, on = found["names"], None
    if kind in ("policy", "trigger", "rule") and (table := _ON_TABLE.search(names)):
        names, on = names[: table.start()], _plain(table[1])
    facts: dict[str, JsonValue] = {
        "cascade": (found["tail"] or "").upper() == "CASCADE",
        "if_exists": bool(found["exists"]),
    }
    if kind == "index":
        facts["concurrently"] = bool(found["concurrently"])
    op = f"drop-{kind.replace(' ', '-')}"
    steps = []
    for named in split_top_level(names):
        name = _plain(re.sub(r"\s*\(.*\)\s*$", "", named, flags=re.DOTALL))
        address = on or name
        steps.append(Step(address, _KINDS[kind], Action.DELETE, op, name, dict(facts)))
    return steps or None


def _alter_table(
    table: str, actions: str, reparse: Callable[[str], list[Step] | None]
) -> list[Step] | None:
    steps: list[Step] = []
    for action in split_top_level(actions):
        step = _table_action(table, action)
        if step is not None:
            steps.append(step)
            continue
        parsed = reparse(action)
        if parsed is None:
            return None
        steps.extend(parsed)
    return steps or None


def _table_action(table: str, action: str) -> Step | None:
    for pattern, op, facts in _TABLE_ACTIONS:
        if (found := pattern.match(action)) is None:
            continue
        step = Step(table, "sql_table", Action.UPDATE, op, facts=dict(facts))
        if op == "detach-partition":
            step.name = _plain(found[1])
            step.facts["concurrently"] = bool(found[2])
        elif op == "add-constraint" and step.facts.get("constraint") == "check":
            step.name = _plain(found[1]) if found[1] else None
            step.facts["not_valid"] = bool(re.search(r"\bNOT\s+VALID\s*$", action, _FLAGS))
            if column := _NOT_NULL_CHECK.match(found[2]):
                step.facts["checks_not_null"] = _plain(column[1])
        elif op == "add-constraint":
            step.name = _plain(found[1]) if found[1] else None
            step.facts["constraint"] = "unique" if found[2].upper() == "UNIQUE" else "primary-key"
            step.facts["index"] = _plain(found[3])
        elif op in _NAMED:
            step.name = _plain(found[1])
        return step
    return None


def _alter_domain(rest: str) -> Step:
    name = re.match(r"DOMAIN\s+" + _NAME + r"\s*(.*)", rest, _FLAGS)
    domain, tail = (_plain(name[1]), name[2]) if name else ("?", "")
    facts: dict[str, JsonValue] = {}
    if re.match(r"ADD\b", tail, re.IGNORECASE):
        op = "alter-domain-add-constraint"
        facts["not_valid"] = bool(re.search(r"\bNOT\s+VALID\s*$", tail, re.IGNORECASE))
    elif re.match(r"VALIDATE\s+CONSTRAINT\b", tail, re.IGNORECASE):
        op = "alter-domain-validate-constraint"
    elif re.match(r"SET\s+NOT\s+NULL\b", tail, re.IGNORECASE):
        op = "alter-domain-set-not-null"
    elif re.match(r"RENAME\s+TO\b", tail, re.IGNORECASE):
        op = "rename-domain"
    else:
        op = "alter-domain"
    return Step(domain, "sql_object", Action.UPDATE, op, facts=facts)


def _alter_type(rest: str) -> Step:
    name = re.match(r"TYPE\s+" + _NAME + r"\s*(.*)", rest, _FLAGS)
    typ, tail = (_plain(name[1]), name[2]) if name else ("?", "")
    if re.match(r"ADD\s+VALUE\b", tail, re.IGNORECASE):
        ordered = bool(re.search(r"\b(?:BEFORE|AFTER)\s+'", tail, re.IGNORECASE))
        return Step(typ, "sql_object", Action.UPDATE, "add-enum-value", facts={"ordered": ordered})
    op = "rename-type" if re.match(r"RENAME\s+TO\b", tail, re.IGNORECASE) else "alter-type"
    return Step(typ, "sql_object", Action.UPDATE, op)


def _reindex(rest: str) -> Step:
    found = re.match(
        r"(?:\([^)]*\)\s*)?(INDEX|TABLE|SCHEMA|DATABASE|SYSTEM)\s+(CONCURRENTLY\s+)?" + _NAME,
        rest.strip(),
        _FLAGS,
    )
    concurrently = bool(found and found[2]) or "CONCURRENTLY" in rest.upper()
    address = _plain(found[3]) if found else "*"
    facts: dict[str, JsonValue] = {
        "concurrently": concurrently,
        "scope": found[1].lower() if found else "unknown",
    }
    return Step(address, "sql_index", Action.UPDATE, "reindex", facts=facts)


def _object_facts(kind: str, rest: str) -> dict[str, JsonValue]:
    facts: dict[str, JsonValue] = {}
    if kind == "domain":
        facts["check"] = bool(re.search(r"\bCHECK\s*\(", rest, re.IGNORECASE))
    elif kind in ("role", "user", "group"):
        words = set(re.findall(r"\b[A-Z]+\b", rest.upper()))
        powers = sorted(words & {"SUPERUSER", "CREATEROLE", "CREATEDB", "BYPASSRLS", "REPLICATION"})
        facts["powers"] = list[JsonValue](powers)
        facts["login"] = "LOGIN" in words or kind == "user"
        facts["password"] = "PASSWORD" in words
    return facts


def split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses, strings and quoted names."""
    parts, depth, start, quote = [], 0, 0, ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _plain(name: str) -> str:
    return name.replace('"', "").replace("`", "")
