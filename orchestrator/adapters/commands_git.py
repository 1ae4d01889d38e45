"""git as changes: what it does beyond the working tree and the agent's own branches.

A force push to a protected branch replaces it (a plain push updates it);
`reset --hard` and `clean -f` destroy uncommitted work; `branch -D` deletes
an unmerged branch; `filter-branch`/`filter-repo` and an expired reflog
rewrite history. Everything else git does stays in the working tree.
"""

from __future__ import annotations

import os
from typing import Final

from orchestrator.adapters.commands_args import has_flag, positionals
from orchestrator.adapters.commands_catalog import matches_words
from orchestrator.adapters.commands_classify import (
    LOCAL,
    READ_ONLY,
    Effect,
    Interpreter,
    Scene,
    Touch,
    changed,
)
from orchestrator.adapters.commands_words import SimpleCommand

_GIT_VALUE_FLAGS: Final = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace"})


def _git(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args, _GIT_VALUE_FLAGS)
    if not words:
        return Effect(READ_ONLY, command.text, command.line)
    if _reads(command, words, scene):
        return Effect(READ_ONLY, command.text, command.line)
    verb = words[0]
    facts = (("command", command.text), ("repository", scene.root))
    worktree = f"git:worktree:{command.cwd or scene.cwd}"
    if verb == "push":
        return _push(command, scene, words[1:], facts)
    if verb == "reset" and has_flag(command.args, "--hard", "--merge", "--keep"):
        return changed(
            command,
            touches=(
                Touch(
                    "git_worktree",
                    worktree,
                    "delete",
                    facts=(*facts, ("loses", "uncommitted changes")),
                ),
            ),
        )
    if (
        verb == "clean"
        and has_flag(command.args, "-f", "--force")
        and not has_flag(command.args, "-n", "--dry-run")
    ):
        lost = "untracked and ignored files" if has_flag(command.args, "-x") else "untracked files"
        return changed(
            command,
            touches=(Touch("git_worktree", worktree, "delete", facts=(*facts, ("loses", lost))),),
        )
    if verb == "branch" and _branch_deletes(command):
        names = [w for w in words[1:] if w != "?"] or ["?"]
        return changed(
            command,
            touches=tuple(
                Touch("git_branch", f"git:branch:{n}", "delete", facts=facts) for n in names
            ),
        )
    if verb in ("filter-branch", "filter-repo") or (verb == "reflog" and words[1:2] == ["expire"]):
        return changed(
            command,
            touches=(Touch("git_history", f"git:history:{scene.root}", "replace", facts=facts),),
        )
    if verb == "update-ref" and has_flag(command.args, "-d"):
        return changed(
            command,
            touches=(
                Touch(
                    "git_branch",
                    f"git:ref:{words[1] if len(words) > 1 else '?'}",
                    "delete",
                    facts=facts,
                ),
            ),
        )
    return Effect(LOCAL, command.text, command.line)


def _reads(command: SimpleCommand, words: list[str], scene: Scene) -> bool:
    """Whether a git subcommand only reads: a listed glob (`branch -D` never does)."""
    if words[0] == "branch" and _branch_deletes(command):
        return False
    globs = scene.catalog.tool_list("git", "read_only")
    # globs with options (`remote -v`, `config --get*`) match the raw words
    raw = [w.value or "?" for w in command.args if w.value != "-C"]
    return any(matches_words(g, raw) for g in globs) or any(
        matches_words(g, words) for g in globs if " " not in g
    )


def _branch_deletes(command: SimpleCommand) -> bool:
    values = [w.value or "" for w in command.args]
    return (
        "-D" in values
        or ("--delete" in values and "--force" in values)
        or "-df" in values
        or "-fd" in values
    )


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
        touches.append(
            Touch(
                "git_protected_branch" if action != "update" else "git_branch",
                f"git:{remote}/{branch}",
                action,
                facts=(*facts, ("force", str(forced).lower())),
            )
        )
    if not touches:
        return Effect(LOCAL, command.text, command.line)
    return changed(command, touches=tuple(touches))


def _current_branch(scene: Scene) -> str | None:
    try:
        with open(os.path.join(scene.root, ".git", "HEAD"), encoding="utf-8") as stream:
            head = stream.read().strip()
    except OSError:
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else None


INTERPRETERS: Final[dict[str, Interpreter]] = {"git": _git}
