"""Commit trailer commands: `trailer ID` prints them, `verify-commit REV` checks a commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.commands.audit import ReportFormat, open_store, write
from orchestrator.commands.options import DbOption
from orchestrator.errors import EXIT_FAILURE


def trailer(
    decision_id: Annotated[str, typer.Argument(help="Decision id or a unique prefix of it.")],
    db: DbOption = None,
) -> None:
    """Print the git trailers of an approved decision, for the commit that applies its change."""
    from orchestrator.trailers import escalation_for, trailers_for  # noqa: PLC0415

    with open_store(db) as store:
        decision = store.find(decision_id).decision
        trailers = trailers_for(decision, escalation_for(store, decision))
    write("\n".join(trailers.lines()))


def verify_commit(
    rev: Annotated[str, typer.Argument(help="The commit to check (any git revision).")],
    repo: Annotated[
        Path, typer.Option("--repo", help="The git repository (default: the current directory).")
    ] = Path(),
    db: DbOption = None,
    output: Annotated[ReportFormat, typer.Option(help="Output format.")] = ReportFormat.text,
) -> None:
    """Check a commit's review trailers against the audit store; exit 1 unless they all hold."""
    from orchestrator.trailers import verify_commit as check_commit  # noqa: PLC0415

    with open_store(db) as store:
        found = check_commit(store, rev, repo)
    if output == ReportFormat.json:
        write(json.dumps(found.model_dump() | {"ok": found.ok}))
    elif found.ok:
        write(f"commit {found.commit[:12]}: verified against decision {found.decision_id}")
    else:
        lines = [f"commit {found.commit[:12]}: NOT verified", *(f"  - {p}" for p in found.problems)]
        write("\n".join(lines))
    if not found.ok:
        raise typer.Exit(EXIT_FAILURE)


def register(app: typer.Typer) -> None:
    """Add the trailer commands to the app."""
    app.command()(trailer)
    app.command("verify-commit")(verify_commit)
