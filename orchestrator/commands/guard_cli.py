"""`commander guard` in the Typer app: listed in `commander --help`, run by guard.main.

The console script dispatches `guard` before Typer loads (orchestrator/entry.py);
this pass-through serves `python -m orchestrator.cli`-style callers and the help.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `guard` to the app, passing its arguments through untouched."""

    @app.command(
        context_settings={
            "allow_extra_args": True,
            "ignore_unknown_options": True,
            "help_option_names": [],
        },
        add_help_option=False,
    )
    def guard(ctx: typer.Context) -> None:
        """Review one agent tool call (hook JSON on stdin, or -- CMD): allow, ask or deny."""
        from orchestrator.commands.guard import main  # noqa: PLC0415

        raise typer.Exit(main(list(ctx.args)))
