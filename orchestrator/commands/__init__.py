"""CLI command groups beyond `review`, `show` and `explain`, one module per area.

Each module exposes `register(app)`, which adds its commands to the main
Typer app; `orchestrator.cli` calls them all. Keeping areas apart keeps
each command thin and each module small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer


def register_all(app: typer.Typer) -> None:
    """Add every command group to the app."""
    # imported here: `commander guard` imports this package and must not pay for Typer
    from orchestrator.commands import audit, gate, guard_cli, policy, report, serve  # noqa: PLC0415

    for module in (gate, audit, serve, policy, guard_cli, report):
        module.register(app)
