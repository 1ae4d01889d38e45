"""Tool calls in the hook formats of coding-agent CLIs, and the answers each expects.

Read (stdin JSON of a pre-tool-use hook):
* claude-code  `PreToolUse`: session_id, cwd, tool_name (Bash, Write, Edit,
  MultiEdit, Read ...), tool_input. Answer: exit 0 with
  `hookSpecificOutput.permissionDecision` allow / ask / deny and a reason.
* codex        `PreToolUse`: session_id, turn_id, cwd, model, tool_name (Bash,
  apply_patch, MCP tools), tool_input.command. Codex honours only deny
  (allow and ask are unsupported and fail open), so approve prints nothing
  and escalate is a deny whose reason says who must sign off.
* gemini       `BeforeTool`: session_id, cwd, tool_name (run_shell_command,
  write_file, replace, read_file ...), tool_input. Answer: `decision` allow or
  deny (the documented values), so escalate is a deny with its reason.
* generic      {actor, command or argv, cwd, environment, intent, session}.
  Answer: {decision, outcome, reason, decision_id}; exit 0 allow, 3 ask, 4 deny.
Every format fails closed: an error blocks the tool (exit 2 with the reason
on stderr for the hooks, exit 1 for generic).
"""

from __future__ import annotations

import json
import os
from typing import Any, Final, NamedTuple

from orchestrator.errors import InputError

FORMATS: Final = ("claude-code", "codex", "gemini", "generic")
AGENT_NAMES: Final = {
    "claude-code": "claude-code",
    "codex": "codex",
    "gemini": "gemini-cli",
    "generic": "agent",
}
ANSWER_EXIT: Final = {"allow": 0, "ask": 3, "deny": 4}

# Tools that only read, by format.
_READ_TOOLS: Final = frozenset(
    {
        "Read",
        "Glob",
        "Grep",
        "LS",
        "WebFetch",
        "WebSearch",
        "TodoWrite",
        "TodoRead",
        "Task",
        "NotebookRead",
        "ExitPlanMode",
        "BashOutput",
        "KillShell",
        "ListMcpResourcesTool",
        "ReadMcpResourceTool",
        "read_file",
        "read_many_files",
        "list_directory",
        "glob",
        "search_file_content",
        "grep",
        "google_web_search",
        "web_fetch",
        "save_memory",
        "write_todos",
        "view_image",
        "update_plan",
    }
)
_SHELL_TOOLS: Final = frozenset(
    {"Bash", "run_shell_command", "shell", "exec_command", "local_shell", "container.exec"}
)


class FileEdit(NamedTuple):
    """A file an edit tool writes: its whole new content, replacements, or a patch."""

    path: str
    content: str | None = None
    replacements: tuple[tuple[str, str, bool], ...] = ()  # (old, new, replace all)
    patch: str | None = None


class ToolCall(NamedTuple):
    """One tool call an agent is about to make."""

    format: str
    tool: str
    cwd: str
    command: str | None = None
    argv: tuple[str, ...] | None = None
    edits: tuple[FileEdit, ...] = ()
    session: str | None = None
    actor: str | None = None
    environment: str | None = None
    intent: str = ""
    # the JSON it arrived as (None for the wrapper's argv); never modified
    raw: dict[str, Any] | None = None

    @property
    def read_only_tool(self) -> bool:
        """Whether the tool only reads (no command, no edit)."""
        return self.tool in _READ_TOOLS

    @property
    def shown(self) -> str:
        """The call in one line, for reasons and the record."""
        if self.command is not None:
            return self.command
        if self.argv is not None:
            return " ".join(self.argv)
        return f"{self.tool} " + ", ".join(e.path for e in self.edits)


def detect_format(document: dict[str, Any]) -> str:
    """Which agent wrote a hook payload."""
    event = document.get("hook_event_name")
    if event == "BeforeTool":
        return "gemini"
    if event == "PreToolUse":
        return "codex" if "turn_id" in document or "model" in document else "claude-code"
    return "generic"


def read_call(data: bytes, origin: str, fmt: str = "auto") -> ToolCall:
    """Parse one tool call; errors name the field."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(origin, f"not a JSON tool call: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(origin, "a tool call is a JSON object")
    chosen = detect_format(document) if fmt == "auto" else fmt
    if chosen not in FORMATS:
        raise InputError(origin, f"unknown format {fmt!r}: use auto, {', '.join(FORMATS)}")
    if chosen == "generic":
        return _generic(document, origin)
    return _hook(document, origin, chosen)


def _text(document: dict[str, Any], key: str, origin: str, *, required: bool = False) -> str | None:
    value = document.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InputError(
            origin, f"expected a non-empty string, got {json.dumps(value)[:40]}", where=key
        )
    return value


def _hook(document: dict[str, Any], origin: str, fmt: str) -> ToolCall:
    tool = _text(document, "tool_name", origin, required=True) or ""
    cwd = os.path.abspath(_text(document, "cwd", origin, required=True) or "/")
    tool_input = document.get("tool_input")
    if not isinstance(tool_input, dict):
        raise InputError(origin, "expected an object", where="tool_input")
    session = _text(document, "session_id", origin)
    base = ToolCall(format=fmt, tool=tool, cwd=cwd, session=session, raw=document)
    if tool in _SHELL_TOOLS:
        return _shell_call(base, tool_input, origin)
    if tool == "apply_patch":
        patch = tool_input.get("command") or tool_input.get("input") or tool_input.get("patch")
        if not isinstance(patch, str):
            raise InputError(origin, "expected the patch text", where="tool_input.command")
        return base._replace(edits=_patch_edits(patch, cwd))
    path = tool_input.get("file_path") or tool_input.get("notebook_path") or tool_input.get("path")
    if tool in ("Write", "write_file") and isinstance(path, str):
        content = tool_input.get("content")
        if not isinstance(content, str):
            raise InputError(origin, "expected a string", where="tool_input.content")
        return base._replace(edits=(FileEdit(path, content=content),))
    if tool in ("Edit", "replace", "MultiEdit") and isinstance(path, str):
        edits = tool_input.get("edits") if tool == "MultiEdit" else [tool_input]
        return base._replace(edits=(FileEdit(path, replacements=_replacements(edits, origin)),))
    return base  # a tool commander cannot see into: unknown, unless it only reads


def _shell_call(base: ToolCall, tool_input: dict[str, Any], origin: str) -> ToolCall:
    command = tool_input.get("command")
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        return base._replace(argv=tuple(command))
    if not isinstance(command, str):
        raise InputError(origin, "expected the command as a string", where="tool_input.command")
    directory = tool_input.get("directory") or tool_input.get("dir_path")
    cwd = base.cwd
    if isinstance(directory, str) and directory:
        cwd = os.path.normpath(os.path.join(cwd, directory))
    return base._replace(command=command, cwd=cwd)


def _replacements(edits: object, origin: str) -> tuple[tuple[str, str, bool], ...]:
    """(old, new, replace all) of each edit of Edit, MultiEdit or Gemini's replace."""
    if not isinstance(edits, list):
        raise InputError(origin, "expected a list", where="tool_input.edits")
    pairs = []
    for index, edit in enumerate(edits):
        found = (edit.get("old_string"), edit.get("new_string")) if isinstance(edit, dict) else ()
        if len(found) != 2 or not all(isinstance(text, str) for text in found):
            where = f"tool_input.edits[{index}]"
            raise InputError(origin, "expected old_string and new_string", where=where)
        pairs.append((str(found[0]), str(found[1]), bool(edit.get("replace_all"))))
    return tuple(pairs)


def _generic(document: dict[str, Any], origin: str) -> ToolCall:
    command = _text(document, "command", origin)
    argv = document.get("argv")
    if argv is not None and (
        not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv)
    ):
        raise InputError(origin, "expected a non-empty list of strings", where="argv")
    if (command is None) == (argv is None):
        raise InputError(origin, "give exactly one of command (a shell line) and argv (a list)")
    return ToolCall(
        format="generic",
        tool="shell",
        # relative to where the guard runs; none given: the guard's own directory
        cwd=os.path.abspath(_text(document, "cwd", origin) or "."),
        command=command,
        argv=tuple(argv) if argv is not None else None,
        session=_text(document, "session", origin),
        actor=_text(document, "actor", origin),
        environment=_text(document, "environment", origin),
        intent=_text(document, "intent", origin) or "",
        raw=document,
    )


def _patch_edits(patch: str, cwd: str) -> tuple[FileEdit, ...]:
    """The files a Codex apply_patch (`*** Add File:` / `*** Update File:` ...) touches."""
    edits: list[FileEdit] = []
    current: list[str] = []
    path: str | None = None
    for line in patch.splitlines():
        for marker in ("*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: "):
            if line.startswith(marker):
                if path is not None:
                    edits.append(FileEdit(path, patch="\n".join(current)))
                name = line[len(marker) :].strip()
                path = name if name.startswith("/") else f"{cwd.rstrip('/')}/{name}"
                current = [line]
                break
        else:
            current.append(line)
    if path is not None:
        edits.append(FileEdit(path, patch="\n".join(current)))
    return tuple(edits)


class Answer(NamedTuple):
    """The guard's answer to one tool call."""

    decision: str  # allow | ask | deny
    reason: str
    outcome: str | None = None  # the recorded decision's outcome, when one was recorded
    decision_id: str | None = None

    def document(self) -> dict[str, Any]:
        """The generic answer (also the HTTP route's body)."""
        return {
            "decision": self.decision,
            "outcome": self.outcome,
            "reason": self.reason,
            "decision_id": self.decision_id,
        }


def render_answer(answer: Answer, fmt: str) -> tuple[str, int]:
    """(stdout text, exit code) in the format the agent expects."""
    if fmt == "claude-code":
        out = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": answer.decision,
                "permissionDecisionReason": answer.reason,
            }
        }
        return json.dumps(out), 0
    if fmt == "codex":
        if answer.decision == "allow":
            return "", 0  # Codex treats an allow as unsupported: say nothing, let it run
        out = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": answer.reason,
            }
        }
        return json.dumps(out), 0
    if fmt == "gemini":
        if answer.decision == "allow":
            return json.dumps({"decision": "allow"}), 0
        return json.dumps({"decision": "deny", "reason": answer.reason}), 0
    return json.dumps(answer.document()), ANSWER_EXIT[answer.decision]
