"""The `commander` console script: `guard` is dispatched before the rest of the CLI loads.

`commander guard` sits on every tool call of an agent, so it must not pay for
Typer, pydantic or SQLAlchemy on a read-only call; every other command goes
to the Typer app in orchestrator.cli.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line."""
    if sys.argv[1:2] == ["guard"]:
        from orchestrator.commands.guard import main as guard  # noqa: PLC0415

        sys.exit(guard(sys.argv[2:]))
    from orchestrator.cli import main as cli  # noqa: PLC0415

    cli()
