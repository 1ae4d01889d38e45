"""The decision JSON of DESIGN.md, exactly as the contract orders its fields.

Named `jsonout` rather than `json` so that no module here can be mistaken for
the standard library's.
"""

from __future__ import annotations

import json

from orchestrator.models import Decision


def render_json(decision: Decision) -> str:
    """Serialise `decision` as the v1 decision JSON, indented, with a trailing newline."""
    # No sort_keys: the contract's field order ("schema" first) is part of the output.
    return json.dumps(decision.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
