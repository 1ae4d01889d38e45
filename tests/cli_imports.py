"""What a whole CLI run imports: for tests that keep heavy packages off a path."""

from __future__ import annotations

import json
import subprocess
import sys

_SCRIPT = """
import json, sys
from orchestrator.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit as exc:
    code = exc.code
sys.stderr.write("\\nLOADED=" + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""


def modules_after(argv: list[str], env: dict[str, str]) -> tuple[int, set[str], str]:
    """Run `commander ARGV` in a fresh interpreter: its exit code, modules loaded, and stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(argv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("LOADED=")), None)
    assert line is not None, proc.stderr
    found = json.loads(line.removeprefix("LOADED="))
    return found["code"], set(found["modules"]), proc.stderr


def roots(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules that belong to any of `packages` (a package and its submodules)."""
    return sorted(m for m in modules if m.split(".")[0] in packages)
