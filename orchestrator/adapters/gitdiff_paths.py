"""Paths in diff headers: git's C quoting, the a/ b/ prefixes, `diff -u` timestamps."""

from __future__ import annotations

import re
from typing import Final

from orchestrator.errors import InputError

_PREFIX: Final = re.compile(r"^[abciwo12]/")
_ESCAPES: Final = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def header_path(raw: str, origin: str, number: int) -> str | None:
    text = raw.strip()
    if text.startswith('"'):
        path, _ = quoted(text, origin, number)
    else:
        path = text.split("\t", 1)[0].rstrip()  # `diff -u` appends a tab and a timestamp
    return None if path == "/dev/null" else strip_prefix(path)


def strip_prefix(path: str) -> str:
    return _PREFIX.sub("", path, count=1)


def unquote(text: str, origin: str, number: int) -> str:
    return quoted(text, origin, number)[0] if text.startswith('"') else text


def quoted(text: str, origin: str, number: int) -> tuple[str, str]:
    """Read a C-quoted path as git writes it (octal escapes are UTF-8 bytes); return the rest."""
    out = bytearray()
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return out.decode("utf-8", errors="replace"), text[i + 1 :]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in "01234567" and re.fullmatch(r"[0-7]{3}", text[i + 1 : i + 4]):
                out.append(int(text[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt) if nxt.isascii() else 63))
            i += 2
            continue
        out.extend(ch.encode("utf-8"))
        i += 1
    raise InputError(origin, "unterminated quoted path", where=f"line {number}")
