"""Commands on the agent's own host: files, devices, docker, systemd, reboots.

* Files: removing, moving or writing a path outside the working tree, or a
  protected path inside it, is a change; an edit of a working-tree file that
  configs/diff-paths.yaml puts in a reviewed category (pipelines, IaC, IAM,
  migrations) is reviewed as a diff; other working-tree writes are local.
* docker prune and volume removal, systemctl stop of listed units, reboots.
"""

from __future__ import annotations

from typing import Final

from orchestrator.adapters.commands_args import has_flag, positionals
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
    classify,
    merge,
    unknown,
)
from orchestrator.adapters.commands_words import SimpleCommand, Word, join_path


def _path(word: Word, command: SimpleCommand, scene: Scene) -> str | None:
    if word.value is None:
        return None
    base = command.cwd
    if base is None and not word.value.startswith(("/", "~")):
        return None  # a `cd` went somewhere unknown
    return join_path(base or scene.cwd, word.value)


def _removal(command: SimpleCommand, scene: Scene, words: list[Word], action: str) -> Effect:
    touches: list[Touch] = []
    notes: list[str] = []
    facts = (("command", command.text),)
    for word in words:
        path = _path(word, command, scene)
        if path is None:
            touches.append(Touch("local_path", f"path:{word.text}", action, facts=facts))
            notes.append(
                f"command.computed-path: {command.name} {word.text}: the path is known "
                "only when the shell runs"
            )
        elif not scene.inside(path) or scene.catalog.protected_path(path, scene.home):
            touches.append(Touch("local_path", f"path:{path}", action, facts=facts))
    if command.dynamic_tail:
        touches.append(Touch("local_path", "path:<from xargs>", action, facts=facts))
        notes.append(f"command.computed-path: {command.name} gets its paths from a pipe")
    if not touches:
        return Effect(LOCAL, command.text, command.line)
    return changed(command, touches=tuple(touches), notes=tuple(notes))


def _rm(command: SimpleCommand, scene: Scene) -> Effect:
    paths = [w for w in command.args if not (w.value or "x").startswith("-") or w.value == "-"]
    return _removal(command, scene, paths, "delete")


def local_files(command: SimpleCommand, scene: Scene) -> Effect:
    """A local program (cp, mv, tee, chmod ...): a change only where it writes outside the tree."""
    name = command.name
    if name not in _FILE_WRITERS:
        return Effect(LOCAL, command.text, command.line)
    words = [w for w in command.args if not (w.value or "x").startswith("-")]
    if name == "sed" and not has_flag(command.args, "-i", "--in-place"):
        return Effect(LOCAL, command.text, command.line)
    if name in ("cp", "ln", "install") and words:
        words = words[-1:]
    if name == "mv" and words:
        moved = _removal(command, scene, words[:-1], "delete")
        return merge(moved, _removal(command, scene, words[-1:], "update"))
    if name in ("chmod", "chown") and words:
        words = words[1:]
    return _removal(command, scene, words, "update")


_FILE_WRITERS: Final = frozenset(
    {"cp", "mv", "ln", "tee", "chmod", "chown", "touch", "mkdir", "install", "sed", "truncate"}
)


def file_write(
    command: SimpleCommand | None, target: Word, scene: Scene, *, content: str | None
) -> Effect:
    """A file written by a redirection or an edit tool: local, a reviewed diff, or a change."""
    text = command.text if command else f"write {target.text}"
    line = command.line if command else 1
    path = _path(target, command, scene) if command else target.value
    if path is None:
        return Effect(
            CHANGE,
            text,
            line,
            touches=(Touch("local_path", f"path:{target.text}", "update"),),
            notes=(
                f"command.computed-path: writes {target.text}, a path known only when "
                "the shell runs",
            ),
        )
    if path in ("/dev/null", "/dev/stdout", "/dev/stderr") or path.startswith("/dev/fd/"):
        return Effect(LOCAL, text, line)
    if not scene.inside(path) or scene.catalog.protected_path(path, scene.home):
        return Effect(
            CHANGE,
            text,
            line,
            touches=(Touch("local_path", f"path:{path}", "update", facts=(("command", text),)),),
        )
    relative = scene.relative(path)
    if not scene.catalog.reviews_file(relative):
        return Effect(LOCAL, text, line)
    return Effect(
        CHANGE,
        text,
        line,
        delegates=(Delegate("diff", text=content, path=path),),
        reason=f"{relative} is {scene.catalog.file_category(relative)}",
    )


def _find(command: SimpleCommand, scene: Scene) -> Effect:
    values = [w.value for w in command.args]
    if "-delete" not in values and not any(v in ("-exec", "-execdir", "-ok") for v in values):
        return Effect(READ_ONLY, command.text, command.line)
    roots = []
    for word in command.args:
        if (word.value or "-").startswith(("-", "(", "!")):
            break
        roots.append(word)
    if "-delete" in values:
        return _removal(command, scene, roots or [Word(".", ".")], "delete")
    start = values.index(next(v for v in values if v in ("-exec", "-execdir", "-ok")))
    inner = [w for w in command.args[start + 1 :] if w.value not in (";", "+", "{}")]
    if not inner:
        return Effect(READ_ONLY, command.text, command.line)
    ran = SimpleCommand(
        words=tuple(inner), text=command.text, line=command.line, cwd=command.cwd, dynamic_tail=True
    )
    return classify(ran, scene)


def _devices(command: SimpleCommand, scene: Scene) -> Effect:
    """dd writes its `of=` target; mkfs, wipefs, fdisk and parted wipe the devices they name."""
    if command.name == "dd":
        outputs = [
            w.value.split("=", 1)[1] for w in command.args if w.value and w.value.startswith("of=")
        ]
        if not outputs:
            return Effect(READ_ONLY, command.text, command.line)
        return _removal(command, scene, [Word(o, o) for o in outputs], "update")
    words = [w for w in command.args if not (w.value or "x").startswith("-")]
    return _removal(command, scene, words or [Word("?", None)], "delete")


def _docker(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(
        command.args,
        frozenset(
            {"-H", "--host", "--context", "-f", "--filter", "--format", "-p", "--project-name"}
        ),
    )
    if not words or any(
        matches_words(g, words) for g in scene.catalog.tool_list("docker", "read_only")
    ):
        return Effect(READ_ONLY, command.text, command.line)
    if words[0] == "exec":
        return unknown(command, "command.remote-exec: docker exec runs a command in a container")
    volumes = has_flag(command.args, "--volumes", "-v") and (
        words[:2] == ["system", "prune"] or words[:2] == ["compose", "down"]
    )
    facts = (("command", command.text),)
    if words[:2] in (["volume", "rm"], ["volume", "prune"]) or volumes:
        names = words[2:] if words[:2] == ["volume", "rm"] else ["*"]
        return changed(
            command,
            touches=tuple(
                Touch("docker_volume", f"docker:volume:{n}", "delete", facts=facts) for n in names
            ),
        )
    if words[-1:] == ["prune"] or words[:2] == ["system", "prune"]:
        return changed(
            command,
            touches=(Touch("docker_resources", f"docker:{words[0]}:*", "delete", facts=facts),),
        )
    return Effect(LOCAL, command.text, command.line)


def _systemctl(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args)
    if command.name == "service" and len(words) >= 2:
        words = [words[1], words[0]]
    if not words or any(
        matches_words(g, words) for g in scene.catalog.tool_list("systemctl", "read_only")
    ):
        return Effect(READ_ONLY, command.text, command.line)
    verb, units = words[0], words[1:]
    if verb in (
        "poweroff",
        "reboot",
        "halt",
        "kexec",
        "suspend",
        "hibernate",
        "rescue",
        "emergency",
    ):
        return _host(command, scene)
    if verb not in (
        "stop",
        "restart",
        "disable",
        "mask",
        "kill",
        "isolate",
        "try-restart",
        "reload-or-restart",
        "condrestart",
        "force-reload",
        "reload",
    ):
        return Effect(LOCAL, command.text, command.line)
    listed = [u for u in units if scene.catalog.unit_listed(u)]
    if not listed:
        return Effect(LOCAL, command.text, command.line)
    return changed(
        command,
        touches=tuple(
            Touch(
                "systemd_unit",
                f"systemd:{u}",
                "update",
                facts=(("command", command.text), ("verb", verb)),
            )
            for u in listed
        ),
    )


def _host(command: SimpleCommand, scene: Scene) -> Effect:
    del scene
    return changed(
        command,
        touches=(Touch("host", "host:this", "update", facts=(("command", command.text),)),),
    )


INTERPRETERS: Final[dict[str, Interpreter]] = {
    "rm": _rm,
    "rmdir": _rm,
    "unlink": _rm,
    "shred": _rm,
    "find": _find,
    "dd": _devices,
    "mkfs": _devices,
    "mkfs.ext4": _devices,
    "mkfs.xfs": _devices,
    "wipefs": _devices,
    "fdisk": _devices,
    "parted": _devices,
    "docker": _docker,
    "systemctl": _systemctl,
    "service": _systemctl,
    "reboot": _host,
    "shutdown": _host,
    "poweroff": _host,
    "halt": _host,
}
