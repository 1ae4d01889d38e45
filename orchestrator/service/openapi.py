"""Print the service's OpenAPI document.

    python -m orchestrator.service.openapi > docs/openapi.json

The checked-in copy is what client authors read without running the
service; a test keeps it equal to what the service serves.
"""

from __future__ import annotations

import json
import sys

from orchestrator.service.app import build_app


def document() -> str:
    """The OpenAPI document as stable, indented JSON."""
    return json.dumps(build_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(document())
