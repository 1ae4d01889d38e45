"""Commands on the agent's own host and repository: git, files, docker, systemd, databases, HTTP.

* git: a force push to a protected branch replaces it (a plain push updates
  it); `reset --hard` and `clean -f` destroy uncommitted work; `branch -D`
  deletes an unmerged branch; `filter-branch`/`filter-repo` and an expired
  reflog rewrite history. Everything else git does stays in the working tree.
* Files: removing, moving or writing a path outside the working tree, or a
  protected path inside it, is a change; an edit of a working-tree file that
  configs/diff-paths.yaml puts in a reviewed category (pipelines, IaC, IAM,
  migrations) is reviewed as a diff; other working-tree writes are local.
* docker prune and volume removal, systemctl stop of listed units, reboots.
* psql / mysql / sqlite3 with SQL (`-c`, `-e`, `-f`, a here-document, a
  redirected file) are reviewed by the SQL adapter; SQL that only reads is
  read-only.
* curl/wget with a method that writes, gh deleting repositories or releases.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

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
    has_flag,
    merge,
    option_values,
    positionals,
    unknown,
)
from orchestrator.adapters.commands_shell import SimpleCommand, Word, join_path, parse_script

# --- files ------------------------------------------------------------------------------------


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
            notes.append(f"command.computed-path: {command.name} {word.text}: the path is known "
                         "only when the shell runs")  # fmt: skip
        elif not scene.inside(path) or scene.catalog.protected_path(path, scene.home):
            touches.append(Touch("local_path", f"path:{path}", action, facts=facts))
    if command.dynamic_tail:
        touches.append(Touch("local_path", "path:<from xargs>", action, facts=facts))
        notes.append(f"command.computed-path: {command.name} gets its paths from a pipe")
    if not touches:
        return Effect(LOCAL, command.text, command.line)
    return Effect(CHANGE, command.text, command.line, touches=tuple(touches), notes=tuple(notes))


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


_FILE_WRITERS: Final = frozenset({"cp", "mv", "ln", "tee", "chmod", "chown", "touch", "mkdir",
                                  "install", "sed", "truncate"})  # fmt: skip


def file_write(
    command: SimpleCommand | None, target: Word, scene: Scene, *, content: str | None
) -> Effect:
    """A file written by a redirection or an edit tool: local, a reviewed diff, or a change."""
    text = command.text if command else f"write {target.text}"
    line = command.line if command else 1
    path = _path(target, command, scene) if command else target.value
    if path is None:
        return Effect(CHANGE, text, line, touches=(Touch("local_path", f"path:{target.text}",
                                                          "update"),),
                      notes=(f"command.computed-path: writes {target.text}, a path known only when "
                             "the shell runs",))  # fmt: skip
    if path in ("/dev/null", "/dev/stdout", "/dev/stderr") or path.startswith("/dev/fd/"):
        return Effect(LOCAL, text, line)
    if not scene.inside(path) or scene.catalog.protected_path(path, scene.home):
        return Effect(CHANGE, text, line, touches=(Touch("local_path", f"path:{path}", "update",
                                                         facts=(("command", text),)),))  # fmt: skip
    relative = scene.relative(path)
    if not scene.catalog.reviews_file(relative):
        return Effect(LOCAL, text, line)
    return Effect(CHANGE, text, line, delegates=(Delegate("diff", text=content, path=path),),
                  reason=f"{relative} is {scene.catalog.file_category(relative)}")  # fmt: skip


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
    from orchestrator.adapters.commands_classify import classify  # noqa: PLC0415

    ran = SimpleCommand(words=tuple(inner), text=command.text, line=command.line,
                        cwd=command.cwd, dynamic_tail=True)  # fmt: skip
    return classify(ran, scene)


def _devices(command: SimpleCommand, scene: Scene) -> Effect:
    targets = option_values(command.args, frozenset({"of"})) if command.name == "dd" else None
    if command.name == "dd":
        outputs = [w.value.split("=", 1)[1] for w in command.args
                   if w.value and w.value.startswith("of=")]  # fmt: skip
        if not outputs:
            return Effect(READ_ONLY, command.text, command.line)
        return _removal(command, scene, [Word(o, o) for o in outputs], "update")
    del targets
    words = [w for w in command.args if not (w.value or "x").startswith("-")]
    return _removal(command, scene, words or [Word("?", None)], "delete")


# --- git --------------------------------------------------------------------------------------

_GIT_VALUE_FLAGS: Final = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace"})


def _git(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args, _GIT_VALUE_FLAGS)
    if not words:
        return Effect(READ_ONLY, command.text, command.line)
    raw = [w.value or "?" for w in command.args]
    if any(matches_words(g, [v for v in raw if v not in ("-C",)]) for g in
           scene.catalog.tool_list("git", "read_only")) or any(
            matches_words(g, words) for g in scene.catalog.tool_list("git", "read_only")
            if " " not in g):  # fmt: skip
        if not (words[0] == "branch" and _branch_deletes(command)):
            return Effect(READ_ONLY, command.text, command.line)
    verb = words[0]
    facts = (("command", command.text), ("repository", scene.root))
    worktree = f"git:worktree:{command.cwd or scene.cwd}"
    if verb == "push":
        return _push(command, scene, words[1:], facts)
    if verb == "reset" and has_flag(command.args, "--hard", "--merge", "--keep"):
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("git_worktree", worktree, "delete", facts=(*facts, ("loses", "uncommitted changes"))),))
    if verb == "clean" and has_flag(command.args, "-f", "--force") and not has_flag(
            command.args, "-n", "--dry-run"):  # fmt: skip
        lost = "untracked and ignored files" if has_flag(command.args, "-x") else "untracked files"
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("git_worktree", worktree, "delete", facts=(*facts, ("loses", lost))),))
    if verb == "branch" and _branch_deletes(command):
        names = [w for w in words[1:] if w != "?"] or ["?"]
        return Effect(CHANGE, command.text, command.line, touches=tuple(
            Touch("git_branch", f"git:branch:{n}", "delete", facts=facts) for n in names))
    if verb in ("filter-branch", "filter-repo") or (verb == "reflog" and words[1:2] == ["expire"]):
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("git_history", f"git:history:{scene.root}", "replace", facts=facts),))
    if verb == "update-ref" and has_flag(command.args, "-d"):
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("git_branch", f"git:ref:{words[1] if len(words) > 1 else '?'}", "delete",
                  facts=facts),))  # fmt: skip
    return Effect(LOCAL, command.text, command.line)


def _branch_deletes(command: SimpleCommand) -> bool:
    values = [w.value or "" for w in command.args]
    return "-D" in values or ("--delete" in values and "--force" in values) or "-df" in values \
        or "-fd" in values  # fmt: skip


def _push(
    command: SimpleCommand, scene: Scene, rest: list[str], facts: tuple[tuple[str, str], ...]
) -> Effect:
    args = command.args
    force = has_flag(args, "--force", "-f", "--force-with-lease", "--force-if-includes", "--mirror")
    deleting = has_flag(args, "--delete", "-d")
    remote = rest[0] if rest else "origin"
    specs = rest[1:] or [_current_branch(scene) or "?"]
    if has_flag(args, "--mirror", "--all"):
        specs = ["*"]
    touches = []
    for spec in specs:
        forced = force or spec.startswith("+")
        src, _, dst = spec.lstrip("+").partition(":")
        branch = (dst or src).removeprefix("refs/heads/")
        if branch == "HEAD":
            branch = _current_branch(scene) or "?"
        gone = deleting or (spec.startswith(":") and bool(dst))
        protected = branch in ("*", "?") or scene.catalog.protected_branch(branch)
        if not protected:
            continue
        action = "delete" if gone else "replace" if forced else "update"
        touches.append(Touch("git_protected_branch" if action != "update" else "git_branch",
                             f"git:{remote}/{branch}", action,
                             facts=(*facts, ("force", str(forced).lower()))))  # fmt: skip
    if not touches:
        return Effect(LOCAL, command.text, command.line)
    return Effect(CHANGE, command.text, command.line, touches=tuple(touches))


def _current_branch(scene: Scene) -> str | None:
    try:
        head = (Path(scene.root) / ".git" / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else None


# --- docker, systemd, the host ------------------------------------------------------------------


def _docker(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args, frozenset({"-H", "--host", "--context", "-f", "--filter",
                                                 "--format", "-p", "--project-name"}))  # fmt: skip
    if not words or any(matches_words(g, words) for g in scene.catalog.tool_list("docker",
                                                                                   "read_only")):  # fmt: skip
        return Effect(READ_ONLY, command.text, command.line)
    if words[0] in ("exec", "run") and words[0] == "exec":
        return unknown(command, "command.remote-exec: docker exec runs a command in a container")
    volumes = has_flag(command.args, "--volumes", "-v") and (
        words[:2] == ["system", "prune"] or words[:2] == ["compose", "down"])  # fmt: skip
    facts = (("command", command.text),)
    if words[:2] in (["volume", "rm"], ["volume", "prune"]) or volumes:
        names = words[2:] if words[:2] == ["volume", "rm"] else ["*"]
        return Effect(CHANGE, command.text, command.line, touches=tuple(
            Touch("docker_volume", f"docker:volume:{n}", "delete", facts=facts) for n in names))
    if words[-1:] == ["prune"] or words[:2] == ["system", "prune"]:
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("docker_resources", f"docker:{words[0]}:*", "delete", facts=facts),))
    return Effect(LOCAL, command.text, command.line)


def _systemctl(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args)
    if command.name == "service" and len(words) >= 2:
        words = [words[1], words[0]]
    if not words or any(matches_words(g, words) for g in scene.catalog.tool_list("systemctl",
                                                                                   "read_only")):  # fmt: skip
        return Effect(READ_ONLY, command.text, command.line)
    verb, units = words[0], words[1:]
    if verb in ("poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "rescue",
                "emergency"):  # fmt: skip
        return _host(command, scene)
    if verb not in ("stop", "restart", "disable", "mask", "kill", "isolate", "try-restart",
                    "reload-or-restart", "condrestart", "force-reload", "reload"):  # fmt: skip
        return Effect(LOCAL, command.text, command.line)
    listed = [u for u in units if scene.catalog.unit_listed(u)]
    if not listed:
        return Effect(LOCAL, command.text, command.line)
    return Effect(CHANGE, command.text, command.line, touches=tuple(
        Touch("systemd_unit", f"systemd:{u}", "update", facts=(("command", command.text),
                                                               ("verb", verb)))
        for u in listed))  # fmt: skip


def _host(command: SimpleCommand, scene: Scene) -> Effect:
    del scene
    return Effect(CHANGE, command.text, command.line, touches=(
        Touch("host", "host:this", "update", facts=(("command", command.text),)),))


# --- databases --------------------------------------------------------------------------------

_READ_SQL: Final = re.compile(
    r"^\s*(?:select|show|explain(?!\s+analy[sz]e)|describe|desc|values|table|\\[a-z?]|pragma\s+\w+\s*;?$)",
    re.IGNORECASE,
)  # fmt: skip
_WRITE_SQL: Final = re.compile(
    r"\b(?:insert|update|delete|drop|alter|truncate|create|grant|revoke|copy|call|do|lock|vacuum|"
    r"reindex|cluster|refresh|comment|merge|replace|rename|attach|detach|load|set\s+role|into)\b",
    re.IGNORECASE,
)  # fmt: skip


def reads_only(sql: str) -> bool:
    """Whether SQL text only reads: every statement starts with a read and none names a write."""
    statements = [s for s in sql.split(";") if s.strip() and not s.strip().startswith("--")]
    return bool(statements) and all(_READ_SQL.match(s) for s in statements) and not \
        _WRITE_SQL.search(sql)  # fmt: skip


def _database(command: SimpleCommand, scene: Scene) -> Effect:
    name = command.name
    dialect = {"psql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite3": "sqlite"}[
        name or "psql"]  # fmt: skip
    args = command.args
    flags = {"psql": ({"-c", "--command"}, {"-f", "--file"}),
             "sqlite3": (set(), {"-init"})}.get(name or "", ({"-e", "--execute"}, set()))  # fmt: skip
    texts = [v for v in option_values(args, frozenset(flags[0]))]
    files = [v for v in option_values(args, frozenset(flags[1]))]
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
            return unknown(command, f"command.interactive-sql: {name} without -c/-e/-f opens a "
                           "session whose SQL nobody can see")  # fmt: skip
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
        delegates.append(Delegate("sql", path=join_path(command.cwd or scene.cwd, path or "?"),
                                  dialect=dialect))  # fmt: skip
    if not delegates:
        return Effect(READ_ONLY, command.text, command.line)
    return Effect(CHANGE, command.text, command.line, delegates=tuple(delegates))


# --- HTTP, GitHub, remote shells ------------------------------------------------------------------


def _http(command: SimpleCommand, scene: Scene) -> Effect:
    del scene
    args = command.args
    methods = option_values(args, frozenset({"-X", "--request", "--method"}))
    method = (methods[-1] or "?").upper() if methods else "GET"
    if method == "GET" and (has_flag(args, "-d", "--data", "--data-raw", "--data-binary",
                                     "--data-urlencode", "-F", "--form", "-T", "--upload-file",
                                     "--json", "--post-data", "--post-file")):  # fmt: skip
        method = "POST"
    if method in ("GET", "HEAD", "OPTIONS"):
        return Effect(READ_ONLY, command.text, command.line)
    urls = [w.text for w in args if (w.value or w.text).startswith(("http://", "https://", "$"))]
    action = "delete" if method == "DELETE" else "update"
    return Effect(CHANGE, command.text, command.line, touches=tuple(
        Touch("http_resource", f"{method} {u}", action, facts=(("command", command.text),))
        for u in urls or ["?"]))  # fmt: skip


def _gh(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args, frozenset({"-R", "--repo", "-X", "--method", "-f", "-F",
                                                 "--jq", "-q", "-t", "--template"}))  # fmt: skip
    if words[:1] == ["api"]:
        return _http(SimpleCommand(words=command.words, text=command.text, line=command.line),
                     scene) if option_values(command.args, frozenset({"-X", "--method"})) or \
            has_flag(command.args, "-f", "-F", "--field", "--raw-field", "--input") else \
            Effect(READ_ONLY, command.text, command.line)  # fmt: skip
    if any(matches_words(g, words) for g in scene.catalog.tool_list("gh", "read_only")):
        return Effect(READ_ONLY, command.text, command.line)
    if any(matches_words(g, words) for g in scene.catalog.tool_list("gh", "local")):
        return Effect(LOCAL, command.text, command.line)
    repo = (option_values(command.args, frozenset({"-R", "--repo"})) or [None])[-1]
    deletes = {("repo", "delete"): "github_repository", ("release", "delete"): "github_release",
               ("secret", "delete"): "github_actions_secret", ("secret", "set"): "github_actions_secret",
               ("variable", "set"): "github_actions_variable", ("repo", "archive"): "github_repository",
               ("pr", "merge"): "github_branch", ("workflow", "run"): "github_workflow_run"}  # fmt: skip
    rtype = deletes.get((words[0], words[1]) if len(words) > 1 else ("", ""))
    if rtype is None:
        return unknown(command, f"command.unknown: gh {' '.join(words[:2])} is not understood")
    action = "delete" if words[1] in ("delete", "archive") else "update"
    target = words[2] if len(words) > 2 else repo or "?"
    return Effect(CHANGE, command.text, command.line, touches=(
        Touch(rtype, f"{rtype}.{target}", action, facts=(("command", command.text),)),))


def _ssh(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args, frozenset({"-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R",
                                                 "-D", "-W", "-b", "-c", "-E", "-m", "-S"}))  # fmt: skip
    if len(words) < 2:
        return unknown(command, "command.remote-shell: an interactive ssh session runs commands "
                       "nobody can see")  # fmt: skip
    host = words[0]
    remote = " ".join(words[1:])
    from orchestrator.adapters.commands_classify import effects as classify_all  # noqa: PLC0415

    inner = classify_all(parse_script(remote, cwd=None), scene)
    result = Effect(READ_ONLY, command.text, command.line)
    for effect in inner:
        moved = Effect(effect.verdict if effect.verdict != LOCAL else CHANGE, command.text,
                       command.line, touches=tuple(
                           Touch(t.type, f"{host}:{t.address}", t.action, t.namespace, t.facts)
                           for t in effect.touches) or ((Touch("host", f"host:{host}", "update"),)
                                                        if effect.verdict == LOCAL else ()),
                       delegates=effect.delegates, notes=effect.notes)  # fmt: skip
        result = merge(result, moved)
    return result


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
    "git": _git,
    "docker": _docker,
    "systemctl": _systemctl,
    "service": _systemctl,
    "reboot": _host,
    "shutdown": _host,
    "poweroff": _host,
    "halt": _host,
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
