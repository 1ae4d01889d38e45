"""Mask the secrets SQL writes in plain text, before anything is parsed, printed or stored.

`CREATE USER … PASSWORD '…'`, `ALTER ROLE … PASSWORD`, MySQL's `IDENTIFIED
BY '…'`, `OPTIONS (password '…')` of `CREATE SERVER` and `CREATE USER
MAPPING`, and the shared rules of `masking.scrub_text` (connection strings
with `password=…` or `user:password@` in `COPY`, `dblink`, `CREATE
SUBSCRIPTION … CONNECTION`, cloud keys). The masked literal stays a literal,
so the statement still parses and its line numbers do not move.
"""

from __future__ import annotations

import re
from typing import Final

from orchestrator.adapters.masking import SENSITIVE, scrub_text

_LITERAL: Final = r"(?:[eE]?'(?:[^']|'')*'|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)"
# PASSWORD 'x', PASSWORD = 'x', PASSWORD('x'), IDENTIFIED [WITH plugin] BY [PASSWORD] 'x',
# and a secret-named option followed by its value: OPTIONS (password 'x', token 'y').
_SECRET: Final = re.compile(
    r"(?P<key>\b(?:(?:ENCRYPTED\s+)?PASSWORD|IDENTIFIED\s+(?:WITH\s+\w+\s+)?(?:BY|AS)(?:\s+PASSWORD)?"
    r"|\w{0,40}(?:password|passwd|secret|token|api_?key|private_?key|access_?key)\w{0,40})"
    r"\s*(?:=\s*|\(\s*)?)" + _LITERAL,
    re.IGNORECASE | re.DOTALL,
)
# A cheap test before the patterns run: most statements of a dump fail it.
_TRIGGER: Final = re.compile(
    r"pass|secret|token|key|identified|://|akia|asia|gh[pousr]_|github_pat|xox|aiza|_live_",
    re.IGNORECASE,
)


def mask_sql(text: str) -> str:
    """The text with every secret literal replaced (the same object when there is none)."""
    if _TRIGGER.search(text) is None:
        return text
    masked = _SECRET.sub(lambda m: f"{m['key']}'{SENSITIVE}'", text)
    masked = scrub_text(masked)
    return text if masked == text else masked
