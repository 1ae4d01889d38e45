"""Words and simple commands as the shell would start them, read from tree-sitter nodes.

A word keeps its text as written and, when the text alone decides it, its
value (quotes removed, escapes resolved); a word with an expansion (`$x`,
`$(...)`, `$((...))`) has no static value. Plain data and light imports:
the guard's fast path builds these for every call.
"""

from __future__ import annotations

import codecs
import os
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from tree_sitter import Node

DYNAMIC_NODES: Final = frozenset(
    {
        "simple_expansion",
        "expansion",
        "command_substitution",
        "arithmetic_expansion",
        "process_substitution",
        "brace_expression",
    }
)
_WRITE_REDIRECTS: Final = frozenset({">", ">>", "&>", "&>>", ">|"})


class Word(NamedTuple):
    """One word of a command: as written, and its value when the text alone decides it."""

    text: str
    value: str | None

    @property
    def static(self) -> bool:
        """Whether the value is known before the shell runs."""
        return self.value is not None


class Redirect(NamedTuple):
    """An output or input redirection of a command (`> file`, `>> file`, `< file`)."""

    operator: str
    target: Word

    @property
    def writes(self) -> bool:
        """Whether the redirection writes the target file."""
        return self.operator in _WRITE_REDIRECTS


class SimpleCommand(NamedTuple):
    """One program run with its arguments, as the shell would start it."""

    words: tuple[Word, ...]
    text: str
    line: int
    assignments: tuple[tuple[str, str | None], ...] = ()
    redirects: tuple[Redirect, ...] = ()
    # Text known to arrive on standard input (a here-document, a here-string, `echo ... |`).
    stdin: str | None = None
    # Standard input comes from another command of a pipeline, unseen.
    piped: bool = False
    # xargs: more arguments arrive at run time from standard input.
    dynamic_tail: bool = False
    # The wrappers it was found inside (`sudo`, `xargs`, `sh -c`), outermost first.
    wrappers: tuple[str, ...] = ()
    # The working directory the line's `cd`s led to; None when a `cd` went somewhere unknown.
    cwd: str | None = None

    @property
    def name(self) -> str | None:
        """The program's name (its base name), None when it is computed at run time."""
        if not self.words or self.words[0].value is None:
            return None
        return self.words[0].value.rsplit("/", 1)[-1]

    @property
    def args(self) -> tuple[Word, ...]:
        """The arguments after the program's name."""
        return self.words[1:]


def word_of(node: Node) -> Word:
    """A word node's text and, when no expansion decides it, its value."""
    value = _value(node)
    return Word(node_text(node), value)


def _value(node: Node) -> str | None:
    kind = node.type
    if kind in DYNAMIC_NODES:
        return None
    if kind == "word":
        return _unescape_word(node_text(node))
    if kind in ("number", "variable_name", "heredoc_body", "string_content"):
        return node_text(node)
    if kind == "raw_string":
        return node_text(node)[1:-1]
    if kind == "ansi_c_string":
        raw = node_text(node)[2:-1]
        try:
            return codecs.decode(raw.encode("latin-1", "backslashreplace"), "unicode_escape")
        except (UnicodeDecodeError, ValueError):
            return None
    if kind in ("string", "translated_string"):
        parts: list[str] = []
        for child in node.named_children:
            part = _value(child)
            if part is None:
                return None
            parts.append(_unescape_double(part) if child.type == "string_content" else part)
        return "".join(parts)
    if kind == "concatenation":
        pieces = [_value(child) for child in node.named_children]
        return None if any(p is None for p in pieces) else "".join(p or "" for p in pieces)
    return None


def _unescape_word(text: str) -> str:
    out, escaped = [], False
    for ch in text:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(ch)
    return "".join(out)


def _unescape_double(text: str) -> str:
    # Inside double quotes a backslash escapes only $ ` " \ and newline.
    out, index = [], 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text) and text[index + 1] in '$`"\\\n':
            out.append(text[index + 1])
            index += 2
            continue
        out.append(ch)
        index += 1
    return "".join(out)


def node_text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="surrogateescape")


def descendants(node: Node) -> Iterator[Node]:
    stack = list(reversed(node.named_children))
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def join_path(base: str, target: str) -> str:
    """`target` resolved against `base`, with `~` expanded and `.`/`..` folded (no file access)."""
    if target == "~" or target.startswith("~/"):
        target = os.path.expanduser("~") + target[1:]
    joined = target if target.startswith("/") else posixpath.join(base, target)
    return posixpath.normpath(joined)
