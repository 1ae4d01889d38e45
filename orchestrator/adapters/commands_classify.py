"""What each simple command of a tool call does: read-only, local, a change, or unknown.

    effects(script, scene) -> [Effect(verdict="change", touches=(Touch(...),), ...), ...]

The tools commander understands in depth have interpreters of their own
(commands_terraform.py, commands_kube.py: kubectl and helm,
commands_cloud.py: aws, gcloud and az, commands_git.py, commands_host.py:
files, docker and systemd, commands_services.py: databases, HTTP, gh, ssh);
other programs are looked up in the catalog's read-only, local and
`programs` lists; anything else is unknown. Everything here is plain data and
light imports: a read-only call must be answered without pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import import_module
from typing import Final, NamedTuple

from orchestrator.adapters.commands_args import positionals
from orchestrator.adapters.commands_calls import ToolCall
from orchestrator.adapters.commands_catalog import Catalog
from orchestrator.adapters.commands_shell import ParsedScript, from_argv, parse_script
from orchestrator.adapters.commands_words import SimpleCommand, Word

READ_ONLY: Final = "read-only"
LOCAL: Final = "local"
CHANGE: Final = "change"
UNKNOWN: Final = "unknown"
Facts = tuple[tuple[str, str], ...]


class Touch(NamedTuple):
    """One resource a command changes, in the change model's terms."""

    type: str
    address: str
    action: str  # create | update | delete | replace | forget
    namespace: str | None = None
    facts: Facts = ()
    previous_address: str | None = None
    importing: bool = False


class Delegate(NamedTuple):
    """An input another adapter reviews: a saved plan, manifests, SQL, a file edit."""

    kind: str  # terraform-plan | kubernetes | sql | diff
    text: str | None = None
    path: str | None = None
    delete: bool = False
    program: str | None = None
    dialect: str | None = None
    args: tuple[str, ...] = ()


class Effect(NamedTuple):
    """What one simple command does."""

    verdict: str
    command: str
    line: int = 1
    touches: tuple[Touch, ...] = ()
    delegates: tuple[Delegate, ...] = ()
    # Why the command cannot be judged in full ("command.<id>: ..."): it escalates.
    notes: tuple[str, ...] = ()
    reason: str = ""
    # A query whose filter is empty: what it selects feeds later commands (`| xargs`, `$(...)`).
    empty_filter: str = ""


class Scene(NamedTuple):
    """Where the call runs: the catalog, the working tree, the user's home."""

    catalog: Catalog
    root: str
    home: str
    cwd: str

    def inside(self, path: str) -> bool:
        """Whether an absolute path is in the working tree (and not the tree itself).

        A call made from `/` or the home directory, outside any repository, has no
        working tree: nothing there is the agent's own scratch space.
        """
        if self.root in ("/", self.home.rstrip("/")):
            return False
        return path.startswith(self.root.rstrip("/") + "/")

    def relative(self, path: str) -> str:
        """A working-tree path relative to its root."""
        return path[len(self.root.rstrip("/")) + 1 :]


Interpreter = Callable[[SimpleCommand, Scene], Effect]


def effects(script: ParsedScript, scene: Scene) -> list[Effect]:
    """The effect of every simple command in a parsed line, in order."""
    found = [classify(command, scene) for command in script.commands]
    empty = [e.empty_filter for e in found if e.empty_filter]
    if empty:
        # The Cloudflare pattern: a removal whose targets a query with an empty filter chose.
        note = (
            f"command.empty-filter: the query feeding this command has an empty filter "
            f"({'; '.join(empty)}), so it selects every resource of its kind"
        )
        found = [
            e._replace(notes=(*e.notes, note))
            if any(n.startswith("command.computed-targets") for n in e.notes)
            else e
            for e in found
        ]
    if script.errors:
        found.append(
            Effect(
                UNKNOWN,
                "; ".join(script.errors),
                notes=tuple(f"command.unparsed: {e}" for e in script.errors[:3]),
                reason="the command line could not be parsed in full",
            )
        )
    return found


def classify(command: SimpleCommand, scene: Scene) -> Effect:
    """The effect of one simple command."""
    name = command.name
    if name is None:
        return unknown(
            command, "command.computed-program: the program's name is computed at run time"
        )
    base = interpreter(name)
    effect = base(command, scene) if base is not None else _listed(command, scene)
    writes = _redirect_writes(command, scene)
    if writes is None:
        return effect
    return merge(effect, writes)


def _listed(command: SimpleCommand, scene: Scene) -> Effect:
    catalog = scene.catalog
    name = command.name or ""
    rule = catalog.programs.get(name)
    if rule is not None:
        verdict = rule.verdict(positionals(command.args))
        if verdict == "ask":
            return unknown(
                command,
                f"command.listed-change: {name} {' '.join(positionals(command.args)[:2])}"
                " is listed as a change nobody can judge from the command",
            )
        return Effect(verdict, command.text, command.line)
    if name in catalog.read_only:
        return Effect(READ_ONLY, command.text, command.line)
    if name in catalog.local:
        from orchestrator.adapters.commands_host import local_files  # noqa: PLC0415

        return local_files(command, scene)
    return unknown(command, f"command.unknown: {name} is not in the command catalog")


def changed(
    command: SimpleCommand,
    *,
    touches: tuple[Touch, ...] = (),
    delegates: tuple[Delegate, ...] = (),
    notes: tuple[str, ...] = (),
    reason: str = "",
) -> Effect:
    """What a command that changes something does: the resources it touches, the inputs it
    hands to other adapters."""
    return Effect(CHANGE, command.text, command.line, touches, delegates, notes, reason)


def unknown(command: SimpleCommand, note: str) -> Effect:
    """An effect nobody can judge from the command alone."""
    return Effect(
        UNKNOWN,
        command.text,
        command.line,
        touches=(Touch("shell_command", f"command:{command.name or '?'}", "update"),),
        notes=(note,),
        reason=note.split(": ", 1)[-1],
    )


def merge(first: Effect, second: Effect) -> Effect:
    """Two effects of one command as one (the riskier verdict)."""
    order = (READ_ONLY, LOCAL, CHANGE, UNKNOWN)
    verdict = max(first.verdict, second.verdict, key=order.index)
    return Effect(
        verdict,
        first.command,
        first.line,
        touches=first.touches + second.touches,
        delegates=first.delegates + second.delegates,
        notes=first.notes + second.notes,
        reason="; ".join(r for r in (first.reason, second.reason) if r),
    )


def _redirect_writes(command: SimpleCommand, scene: Scene) -> Effect | None:
    writes = [r for r in command.redirects if r.writes]
    if not writes:
        return None
    from orchestrator.adapters.commands_host import file_write  # noqa: PLC0415

    content = command.stdin if command.name == "cat" and not command.args else None
    found = [file_write(command, r.target, scene, content=content) for r in writes]
    result = found[0]
    for other in found[1:]:
        result = merge(result, other)
    return result


# Which module interprets each program: only the module a command needs is imported.
_MODULES: Final = {
    **dict.fromkeys(("terraform", "tofu"), "commands_terraform"),
    **dict.fromkeys(("kubectl", "helm"), "commands_kube"),
    **dict.fromkeys(("aws", "gcloud", "az"), "commands_cloud"),
    "git": "commands_git",
    **dict.fromkeys(
        ("rm", "rmdir", "unlink", "shred", "find", "dd", "mkfs", "mkfs.ext4", "mkfs.xfs"),
        "commands_host",
    ),
    **dict.fromkeys(
        ("wipefs", "fdisk", "parted", "docker", "systemctl", "service", "reboot", "shutdown"),
        "commands_host",
    ),
    **dict.fromkeys(("poweroff", "halt"), "commands_host"),
    **dict.fromkeys(("psql", "mysql", "mariadb", "sqlite3"), "commands_services"),
    **dict.fromkeys(("curl", "wget", "http", "gh", "ssh"), "commands_services"),
}


def interpreter(name: str) -> Interpreter | None:
    """The interpreter of a program commander understands in depth, None for the others."""
    module = _MODULES.get(name)
    if module is None:
        return None
    # imported here: the interpreters import this module
    found: dict[str, Interpreter] = import_module(f"orchestrator.adapters.{module}").INTERPRETERS
    return found[name]


def call_effects(call: ToolCall, scene: Scene) -> list[Effect]:
    """What a tool call does, command by command (or edit by edit)."""
    if call.command is not None:
        return effects(parse_script(call.command, cwd=call.cwd), scene)
    if call.argv is not None:
        return effects(from_argv(list(call.argv), cwd=call.cwd), scene)
    if call.edits:
        from orchestrator.adapters.commands_host import file_write  # noqa: PLC0415

        return [
            file_write(
                None,
                Word(e.path, e.path if e.path.startswith("/") else os.path.join(call.cwd, e.path)),
                scene,
                content=None,
            )
            for e in call.edits
        ]
    if call.read_only_tool:
        return [Effect(READ_ONLY, call.tool)]
    return [
        Effect(
            UNKNOWN,
            call.tool,
            notes=(f"command.unknown-tool: {call.tool} is a tool commander cannot see into",),
            touches=(Touch("shell_command", f"tool:{call.tool}", "update"),),
            reason=f"{call.tool} is a tool commander cannot see into",
        )
    ]


def scene_for(call: ToolCall, catalog: Catalog) -> Scene:
    """Where a tool call runs: its working tree, the user's home, its directory."""
    root = working_tree_root(call.cwd)
    return Scene(catalog=catalog, root=root, home=os.path.expanduser("~"), cwd=call.cwd)


def working_tree_root(cwd: str) -> str:
    """The working tree's root: the nearest directory holding .git, else cwd."""
    current = os.path.abspath(cwd)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return cwd
        current = parent
