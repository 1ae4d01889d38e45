"""Mask the secrets SQL writes in plain text, before anything is parsed, printed or stored.

Two places hold them. A literal after a secret's keyword: `CREATE USER …
PASSWORD '…'`, `ALTER ROLE … PASSWORD`, MySQL's `IDENTIFIED BY '…'`,
`OPTIONS (password '…')` of `CREATE SERVER` and `CREATE USER MAPPING`,
`SET client_secret = '…'`. And the inside of any string literal: connection
strings (`password=…`, `user:password@host`) in `COPY … PROGRAM`, `dblink`,
`CREATE SUBSCRIPTION … CONNECTION`, cloud keys — the shared rules of
`masking.scrub_text`, applied inside literals only, so that SQL such as
`SET token_endpoint = CASE …` is never taken for an assignment. The masked
literal stays a literal: the statement still parses, its lines do not move.
"""

from __future__ import annotations

import re
from typing import Final

from orchestrator.adapters.masking import SENSITIVE, scrub_text

_LITERAL: Final = r"(?:[eE]?'(?:[^']|'')*'|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)"
# A key that names a secret ends with the secret's word (`client_secret`, `refresh_token`,
# `password_hash`), not merely contains it (`token_type`, `secret_arn` only describe one).
_KEY_NAME: Final = (
    r"\w{0,40}?(?:password|passwd|secret|token|api_?key|private_?key|access_?key)"
    r"(?:_?(?:hash|value|string|text|data|plain(?:text)?))?\b"
)
# PASSWORD 'x', PASSWORD = 'x', PASSWORD('x'), IDENTIFIED [WITH plugin] BY [PASSWORD] 'x',
# and a secret-named key or option followed by its value: OPTIONS (password 'x').
# Scanned left to right, a string is consumed whole at its opening quote, so a key is
# only ever found outside strings.
_SECRET_OR_STRING: Final = re.compile(
    r"(?P<key>\b(?:(?:ENCRYPTED\s+)?PASSWORD|IDENTIFIED\s+(?:WITH\s+\w+\s+)?(?:BY|AS)"
    r"(?:\s+PASSWORD)?|"
    + _KEY_NAME
    + r")(?:\s*=\s*|\s*\(\s*|\s+))"
    + _LITERAL
    + r"|(?P<string>'(?:[^']|'')*')",
    re.IGNORECASE | re.DOTALL,
)
# Words without which no pattern here or in masking.scrub_text can match (lowercase).
_TRIGGERS: Final = (
    "pass", "secret", "token", "key", "identified", "://", "akia", "asia", "ghp_", "gho_",
    "ghu_", "ghs_", "ghr_", "github_pat", "xox", "aiza", "_live_",
)  # fmt: skip
_WINDOW: Final = 1 << 22


def secret_positions(text: str) -> list[int]:
    """Sorted offsets where a trigger word starts: text without one holds no secret.

    One pass of `str.find` per word over lowercased windows: a 200 MB dump is
    scanned in about a second, where a case-insensitive pattern needs a minute.
    """
    found: set[int] = set()
    overlap = max(len(word) for word in _TRIGGERS) - 1
    for offset in range(0, len(text), _WINDOW):
        window = text[offset : offset + _WINDOW + overlap].lower()
        for word in _TRIGGERS:
            at = window.find(word)
            while at >= 0:
                found.add(offset + at)
                at = window.find(word, at + 1)
    return sorted(found)


def mask_sql(text: str) -> str:
    """The text with every secret literal replaced (the same object when there is none)."""
    lowered = text.lower()
    if not any(word in lowered for word in _TRIGGERS):
        return text
    masked = _SECRET_OR_STRING.sub(_masked, text)
    return text if masked == text else masked


def _masked(found: re.Match[str]) -> str:
    if found["key"] is not None:
        return f"{found['key']}'{SENSITIVE}'"
    inner = found[0][1:-1].replace("''", "'")  # the string's value, as a connection string reads
    # a string may hold SQL (EXECUTE '…', dblink queries): its secrets are masked the same way
    clean = scrub_text(_SECRET_OR_STRING.sub(_masked, inner) if "'" in inner else inner)
    return found[0] if clean == inner else "'" + clean.replace("'", "''") + "'"
