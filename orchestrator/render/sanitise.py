"""The one sanitiser for everything commander prints: input text can never drive a terminal.

Resource addresses, messages, intents and actor names come from the input,
which may be hostile: an escape sequence (`\\x1b[31m`, `\\x1b]8;;…`) would
recolour, hide or rewrite what a reviewer reads. Every renderer passes its
output (or, where it adds colour itself, each piece of input text) through
`printable`, which shows each C0 and C1 control, DEL, and the Unicode
line-separator and bidirectional-override characters as an escape
(`\\x1b`, `\\x9b`, `\\u202e`): visible, never obeyed. Only the characters the
format itself needs (a newline, a tab) are kept.

In JSON text the escapes are JSON's own (`\\u001b`), so the document still
parses to the same values.
"""

from __future__ import annotations

import functools
import re

# C0 controls, DEL, C1 controls; line and paragraph separators; bidi embeddings,
# overrides and isolates (which reorder what a reader sees: "Trojan Source").
_UNSAFE_CHARS = "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
_UNSAFE = re.compile(_UNSAFE_CHARS)
NEWLINE = "\n"


@functools.cache
def _unsafe_but(keep: str) -> re.Pattern[str]:
    """The unsafe characters other than those in `keep`, listed one by one.

    Searching with this first, a text whose only controls are kept ones (an
    indented JSON document's newlines) is handed back as it is, with no
    substitution call per line.
    """
    chars = [chr(c) for c in range(0x2070) if _UNSAFE.match(chr(c)) and chr(c) not in keep]
    return re.compile(f"[{''.join(re.escape(c) for c in chars)}]")


@functools.cache
def _safe_ascii(keep: str) -> bytes | None:
    """Every ASCII byte that may stay in a text keeping `keep` (None: `keep` is not ASCII)."""
    if not keep.isascii():
        return None
    return bytes(range(0x20, 0x7F)) + keep.encode("ascii")


def _all_safe(text: str, keep: str) -> bool:
    """Whether `text` holds no unsafe character but those in `keep`."""
    safe = _safe_ascii(keep)
    if safe is not None and text.isascii():
        # bytes.translate deletes every safe byte in one C pass: what is left is unsafe
        return not text.encode("ascii").translate(None, safe)
    return not _unsafe_but(keep).search(text)


def printable(text: str, *, keep: str = NEWLINE, json: bool = False) -> str:
    """`text` with every unsafe character but those in `keep` shown as an escape.

    `json`: `text` is JSON; escapes are `\\uXXXX`, valid inside its strings.
    """
    if _all_safe(text, keep):
        return text

    def shown(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        code = ord(char)
        if json or code > 0xFF:
            return f"\\u{code:04x}"
        return f"\\x{code:02x}"

    return _UNSAFE.sub(shown, text)


def has_unsafe(text: str, *, allowed: str = NEWLINE) -> bool:
    """Whether `text` holds an unsafe character other than those `allowed` (for tests)."""
    return any(char not in allowed for char in _UNSAFE.findall(text))
