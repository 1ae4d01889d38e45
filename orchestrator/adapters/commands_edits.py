"""The unified diff a file edit would make, so the gitdiff adapter can review the edit.

An agent's edit tool gives a file's whole new content (Write, write_file),
replacements of text in it (Edit, MultiEdit, Gemini's replace) or a Codex
`apply_patch` section; a shell redirection may show the text it writes.
Each becomes the `git diff` of the file against what is on disk now.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from orchestrator.adapters.commands_calls import ToolCall
from orchestrator.adapters.commands_classify import Delegate, working_tree_root


def edit_diff(delegate: Delegate, call: ToolCall) -> str | None:
    """The unified diff an edit would make to a file, in `git diff` form."""
    path = delegate.path or ""
    edit = next((e for e in call.edits if _same(e.path, path, call.cwd)), None)
    root = working_tree_root(call.cwd)
    relative = os.path.relpath(path, root)
    before = (
        Path(path).read_text(encoding="utf-8", errors="replace") if os.path.isfile(path) else None
    )
    if edit is None:
        after = delegate.text  # a shell redirection: its content when the line shows it
    elif edit.content is not None:
        after = edit.content
    elif edit.replacements:
        after = before or ""
        for old, new, every in edit.replacements:
            after = after.replace(old, new) if every else after.replace(old, new, 1)
    elif edit.patch is not None:
        return _patch_diff(edit.patch, relative)
    else:
        after = None
    if after is None:
        return None
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile="/dev/null" if before is None else f"a/{relative}",
        tofile=f"b/{relative}",
    )
    body = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    mode = "new file mode 100644\n" if before is None else ""
    return f"diff --git a/{relative} b/{relative}\n{mode}{body}" if body else ""


def _patch_diff(patch: str, relative: str) -> str:
    """A Codex apply_patch section as a unified diff (added and removed lines kept)."""
    added = [line[1:] for line in patch.splitlines()[1:] if line.startswith("+")]
    removed = [line[1:] for line in patch.splitlines()[1:] if line.startswith("-")]
    header = (
        "new file mode 100644\n--- /dev/null\n"
        if patch.startswith("*** Add File")
        else f"--- a/{relative}\n"
    )
    hunk = f"@@ -1,{len(removed)} +1,{len(added)} @@\n"
    body = "".join(f"-{line}\n" for line in removed) + "".join(f"+{line}\n" for line in added)
    return f"diff --git a/{relative} b/{relative}\n{header}+++ b/{relative}\n{hunk}{body}"


def _same(edit_path: str, path: str, cwd: str) -> bool:
    full = edit_path if edit_path.startswith("/") else os.path.join(cwd, edit_path)
    return os.path.normpath(full) == os.path.normpath(path)
