"""Databases, HTTP APIs, GitHub and remote shells as changes.

* psql / mysql / sqlite3 with SQL (`-c`, `-e`, `-f`, a here-document, a
  redirected file) are reviewed by the SQL adapter; SQL that only reads is
  read-only.
* curl/wget with a method that writes; gh deleting repositories or releases,
  setting secrets, merging; ssh HOST CMD is CMD judged on that host.
"""

from __future__ import annotations

import re
from typing import Final

from orchestrator.adapters.commands_args import has_flag, option_values, positionals
from orchestrator.adapters.commands_catalog import matches_words
from orchestrator.adapters.commands_classify import (
    CHANGE,
    LOCAL,
    READ_ONLY,
    Delegate,
    Effect,
    Interpreter,
    Scene,
    Touch,
    changed,
    effects,
    merge,
    unknown,
)
from orchestrator.adapters.commands_shell import parse_script
from orchestrator.adapters.commands_words import SimpleCommand, join_path

_READ_SQL: Final = re.compile(
    r"^\s*(?:select|show|explain(?!\s+analy[sz]e)|describe|desc|values|table|\\[a-z?]|pragma\s+\w+\s*;?$)",
    re.IGNORECASE,
)
_WRITE_SQL: Final = re.compile(
    r"\b(?:insert|update|delete|drop|alter|truncate|create|grant|revoke|copy|call|do|lock|vacuum|"
    r"reindex|cluster|refresh|comment|merge|replace|rename|attach|detach|load|set\s+role|into)\b",
    re.IGNORECASE,
)


def reads_only(sql: str) -> bool:
    """Whether SQL text only reads: every statement starts with a read and none names a write."""
    statements = [s for s in sql.split(";") if s.strip() and not s.strip().startswith("--")]
    return (
        bool(statements)
        and all(_READ_SQL.match(s) for s in statements)
        and not _WRITE_SQL.search(sql)
    )


def _database(command: SimpleCommand, scene: Scene) -> Effect:
    name = command.name
    dialect = {"psql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite3": "sqlite"}[
        name or "psql"
    ]
    args = command.args
    flags = {"psql": ({"-c", "--command"}, {"-f", "--file"}), "sqlite3": (set(), {"-init"})}.get(
        name or "", ({"-e", "--execute"}, set())
    )
    texts = list(option_values(args, frozenset(flags[0])))
    files = list(option_values(args, frozenset(flags[1])))
    if name == "sqlite3":
        rest = positionals(args, frozenset({"-cmd", "-init", "-separator"}))
        texts += rest[1:]
    for redirect in command.redirects:
        if redirect.operator == "<":
            files.append(redirect.target.value)
    if any(t is None for t in texts) or any(f is None for f in files):
        return unknown(command, f"command.computed-sql: {name} runs SQL known only when it runs")
    if not texts and not files:
        if command.stdin is not None:
            texts.append(command.stdin)
        elif command.piped or has_flag(args, "-l", "--list", "--version", "-V"):
            if command.piped:
                return unknown(command, f"command.computed-sql: {name} reads SQL from a pipe")
            return Effect(READ_ONLY, command.text, command.line)
        else:
            return unknown(
                command,
                f"command.interactive-sql: {name} without -c/-e/-f opens a "
                "session whose SQL nobody can see",
            )
    delegates = []
    for text in texts:
        if text is not None and reads_only(text):
            continue
        delegates.append(Delegate("sql", text=text, dialect=dialect))
    for path in files:
        if path == "-" and command.stdin is not None:
            if not reads_only(command.stdin):
                delegates.append(Delegate("sql", text=command.stdin, dialect=dialect))
            continue
        delegates.append(
            Delegate("sql", path=join_path(command.cwd or scene.cwd, path or "?"), dialect=dialect)
        )
    if not delegates:
        return Effect(READ_ONLY, command.text, command.line)
    return changed(command, delegates=tuple(delegates))


# --- HTTP, GitHub, remote shells ------------------------------------------------------------------


def _http(command: SimpleCommand, scene: Scene) -> Effect:
    del scene
    args = command.args
    methods = option_values(args, frozenset({"-X", "--request", "--method"}))
    method = (methods[-1] or "?").upper() if methods else "GET"
    if method == "GET" and (
        has_flag(
            args,
            "-d",
            "--data",
            "--data-raw",
            "--data-binary",
            "--data-urlencode",
            "-F",
            "--form",
            "-T",
            "--upload-file",
            "--json",
            "--post-data",
            "--post-file",
        )
    ):
        method = "POST"
    if method in ("GET", "HEAD", "OPTIONS"):
        return Effect(READ_ONLY, command.text, command.line)
    urls = [w.text for w in args if (w.value or w.text).startswith(("http://", "https://", "$"))]
    action = "delete" if method == "DELETE" else "update"
    return changed(
        command,
        touches=tuple(
            Touch("http_resource", f"{method} {u}", action, facts=(("command", command.text),))
            for u in urls or ["?"]
        ),
    )


def _gh(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(
        command.args,
        frozenset({"-R", "--repo", "-X", "--method", "-f", "-F", "--jq", "-q", "-t", "--template"}),
    )
    if words[:1] == ["api"]:
        return (
            _http(SimpleCommand(words=command.words, text=command.text, line=command.line), scene)
            if option_values(command.args, frozenset({"-X", "--method"}))
            or has_flag(command.args, "-f", "-F", "--field", "--raw-field", "--input")
            else Effect(READ_ONLY, command.text, command.line)
        )
    if any(matches_words(g, words) for g in scene.catalog.tool_list("gh", "read_only")):
        return Effect(READ_ONLY, command.text, command.line)
    if any(matches_words(g, words) for g in scene.catalog.tool_list("gh", "local")):
        return Effect(LOCAL, command.text, command.line)
    repo = (option_values(command.args, frozenset({"-R", "--repo"})) or [None])[-1]
    deletes = {
        ("repo", "delete"): "github_repository",
        ("release", "delete"): "github_release",
        ("secret", "delete"): "github_actions_secret",
        ("secret", "set"): "github_actions_secret",
        ("variable", "set"): "github_actions_variable",
        ("repo", "archive"): "github_repository",
        ("pr", "merge"): "github_branch",
        ("workflow", "run"): "github_workflow_run",
    }
    rtype = deletes.get((words[0], words[1]) if len(words) > 1 else ("", ""))
    if rtype is None:
        return unknown(command, f"command.unknown: gh {' '.join(words[:2])} is not understood")
    action = "delete" if words[1] in ("delete", "archive") else "update"
    target = words[2] if len(words) > 2 else repo or "?"
    return changed(
        command,
        touches=(Touch(rtype, f"{rtype}.{target}", action, facts=(("command", command.text),)),),
    )


def _ssh(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(
        command.args,
        frozenset(
            {
                "-i",
                "-p",
                "-l",
                "-o",
                "-F",
                "-J",
                "-L",
                "-R",
                "-D",
                "-W",
                "-b",
                "-c",
                "-E",
                "-m",
                "-S",
            }
        ),
    )
    if len(words) < 2:
        return unknown(
            command, "command.remote-shell: an interactive ssh session runs commands nobody can see"
        )
    host = words[0]
    remote = " ".join(words[1:])
    inner = effects(parse_script(remote, cwd=None), scene)
    result = Effect(READ_ONLY, command.text, command.line)
    for effect in inner:
        moved = Effect(
            effect.verdict if effect.verdict != LOCAL else CHANGE,
            command.text,
            command.line,
            touches=tuple(
                Touch(t.type, f"{host}:{t.address}", t.action, t.namespace, t.facts)
                for t in effect.touches
            )
            or ((Touch("host", f"host:{host}", "update"),) if effect.verdict == LOCAL else ()),
            delegates=effect.delegates,
            notes=effect.notes,
        )
        result = merge(result, moved)
    return result


INTERPRETERS: Final[dict[str, Interpreter]] = {
    "psql": _database,
    "mysql": _database,
    "mariadb": _database,
    "sqlite3": _database,
    "curl": _http,
    "wget": _http,
    "http": _http,
    "gh": _gh,
    "ssh": _ssh,
}
