"""`commander report --incident ID --html FILE`: the incident page as one file for a postmortem.

The same page `commander serve` shows under /ui/incidents/ID, with its CSS
and graphs inline and no links back to a server, so the file can be
attached to a postmortem document and opened anywhere. The backtest runs
under the policy `--config` names (default: the one in force).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.commands.audit import open_store, write
from orchestrator.commands.options import DbOption, TopologyOption
from orchestrator.errors import UsageError


def report(
    *,
    incident: Annotated[str, typer.Option("--incident", help="The incident's id, as linked.")],
    html: Annotated[Path, typer.Option("--html", help="Write the page to this file.")],
    config: Annotated[
        str | None,
        typer.Option("--config", help="Candidate policy for the backtest (env COMMANDER_CONFIG)."),
    ] = None,
    before: Annotated[
        int, typer.Option(min=0, max=24 * 7, help="Hours before the first linked decision.")
    ] = 0,
    topology: TopologyOption = None,
    db: DbOption = None,
) -> None:
    """Write an incident's page (linked decisions, scorecard, backtest) as self-contained HTML."""
    try:
        from orchestrator.service.ui.pages import render_page  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(
            f"the HTML report needs the service extra ({exc.name} is missing): "
            "pip install 'commander[service]'"
        ) from None
    from orchestrator.render.dot import write_atomically  # noqa: PLC0415
    from orchestrator.replay import PolicySpec  # noqa: PLC0415
    from orchestrator.service.ui.views import incident_view  # noqa: PLC0415
    from orchestrator.settings import resolve  # noqa: PLC0415

    settings = resolve(config=config, topology=topology)
    spec = PolicySpec(settings.config_dir, settings.topology, settings.backstage)
    with open_store(db) as store:
        view = incident_view(store, incident, spec, before=timedelta(hours=before))
    page = render_page("incident.html", v=view, before=before, standalone=True)
    write_atomically(html, page.encode("utf-8"))
    write(f"wrote {html} (incident {incident}: {len(view.links)} linked decisions)")


def register(app: typer.Typer) -> None:
    """Add `report` to the app."""
    app.command()(report)
