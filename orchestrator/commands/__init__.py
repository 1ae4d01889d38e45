"""CLI command groups beyond `review`, `show` and `explain`, one module per area.

Each module exposes `register(app)`, which adds its commands to the main
Typer app; `orchestrator.cli` calls them all. Keeping areas apart keeps
each command thin and each module small.
"""

from __future__ import annotations

import typer

from orchestrator.commands import audit, gate, policy, serve


def register_all(app: typer.Typer) -> None:
    """Add every command group to the app."""
    for module in (gate, audit, serve, policy):
        module.register(app)
