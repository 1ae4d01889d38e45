"""Post-incident commands: replay, backtest, incident link/list, scorecard."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.choices import ExecutorName
from orchestrator.commands.audit import (
    ReportFormat,
    SinceOption,
    UntilOption,
    open_store,
    parse_time,
    write,
)
from orchestrator.commands.options import DbOption, ExecutorOption, RayAddressOption, TopologyOption
from orchestrator.errors import EXIT_FAILURE

if TYPE_CHECKING:
    from orchestrator.replay import Candidate

ConfigOption = Annotated[
    str | None,
    typer.Option("--config", help="Candidate policy config directory (env COMMANDER_CONFIG)."),
]
OutputOption = Annotated[ReportFormat, typer.Option(help="Output format.")]


incident_app = typer.Typer(
    help="Record which decided changes caused incidents.", no_args_is_help=True
)


def _candidate(config: str | None, topology: str | None) -> Candidate:
    from orchestrator.replay import Candidate  # noqa: PLC0415
    from orchestrator.settings import resolve  # noqa: PLC0415

    settings = resolve(config=config, topology=topology)
    return Candidate.load(settings.config_dir, settings.topology)


def replay(
    decision_id: Annotated[str, typer.Argument(help="Decision id or a unique prefix of it.")],
    config: ConfigOption = None,
    topology: TopologyOption = None,
    db: DbOption = None,
    output: OutputOption = ReportFormat.text,
) -> None:
    """Re-run a recorded decision's proposal under today's (or a candidate) policy; show the diff.

    The replay is not recorded. Exit 0 whatever changed; the output says what did.
    """
    from orchestrator.render.audit import replay_text  # noqa: PLC0415
    from orchestrator.replay import replay as run_replay  # noqa: PLC0415

    candidate = _candidate(config, topology)
    with open_store(db) as store:
        diff = run_replay(store, decision_id, candidate)
    write(json.dumps(diff.to_json_dict()) if output == ReportFormat.json else replay_text(diff))


def backtest(
    *,
    config: Annotated[str, typer.Option("--config", help="Candidate policy config directory.")],
    since: SinceOption = None,
    until: UntilOption = None,
    topology: TopologyOption = None,
    db: DbOption = None,
    output: OutputOption = ReportFormat.text,
    executor: ExecutorOption = ExecutorName.local,
    ray_address: RayAddressOption = None,
) -> None:
    """Replay every decision in a window under a candidate policy; report those that would flip.

    With --executor ray the replays run as tasks on a Ray cluster; the report is the same.
    Exit 0 when every decision was replayed (flips or not), 1 when some could not be.
    """
    from orchestrator.backtest import backtest as run_backtest  # noqa: PLC0415
    from orchestrator.backtest import backtest_on_ray  # noqa: PLC0415
    from orchestrator.render.audit import backtest_text  # noqa: PLC0415
    from orchestrator.replay import PolicySpec  # noqa: PLC0415
    from orchestrator.settings import resolve  # noqa: PLC0415

    since_at, until_at = parse_time(since, "--since"), parse_time(until, "--until")
    settings = resolve(config=config, topology=topology, ray_address=ray_address)
    spec = PolicySpec(settings.config_dir, settings.topology)
    with open_store(db) as store:
        if executor == ExecutorName.ray:
            report = backtest_on_ray(
                store, spec, since=since_at, until=until_at, address=settings.ray_address
            )
        else:
            report = run_backtest(store, spec, since=since_at, until=until_at)
    write(
        json.dumps(report.to_json_dict()) if output == ReportFormat.json else backtest_text(report)
    )
    if report.unreplayable:
        raise typer.Exit(EXIT_FAILURE)


@incident_app.command("link")
def link(
    incident_id: Annotated[str, typer.Argument(help="The incident's id in your tracker.")],
    decision_id: Annotated[str, typer.Argument(help="Decision id or a unique prefix of it.")],
    by: Annotated[str | None, typer.Option("--by", help="Who records the link.")] = None,
    note: Annotated[str, typer.Option(help="Why this change caused the incident.")] = "",
    db: DbOption = None,
) -> None:
    """Record that the change a decision judged caused an incident (chained, append-only)."""
    from orchestrator.store.incidents import link_incident  # noqa: PLC0415

    with open_store(db) as store:
        ident = store.find(decision_id).decision.decision_id
        recorded, new = link_incident(store, incident_id, ident, linked_by=by, note=note)
    verb = "linked" if new else "already linked"
    write(
        f"{verb}: incident {recorded.incident_id} ← decision {recorded.decision_id} "
        f"(chain seq {recorded.chain_seq}, {recorded.linked_at})"
    )


@incident_app.command("list")
def list_links(
    decision_id: Annotated[
        str | None, typer.Option("--decision", help="Only this decision's incidents.")
    ] = None,
    db: DbOption = None,
    output: OutputOption = ReportFormat.text,
) -> None:
    """List the recorded incident links, oldest first."""
    from orchestrator.render.audit import table  # noqa: PLC0415
    from orchestrator.store.incidents import list_incidents  # noqa: PLC0415

    with open_store(db) as store:
        ident = None if decision_id is None else store.find(decision_id).decision.decision_id
        links = list_incidents(store, decision_id=ident)
    if output == ReportFormat.json:
        write(json.dumps([link.model_dump(mode="json") for link in links]))
    elif not links:
        write("no incidents linked")
    else:
        rows = [
            [x.incident_id, x.decision_id, x.linked_at[:19], x.linked_by or "-", x.note or "-"]
            for x in links
        ]
        write(table(["incident", "decision", "linked (UTC)", "by", "note"], rows))


def scorecard(
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
    output: OutputOption = ReportFormat.text,
) -> None:
    """Per reviewer: how often it flagged changes that caused incidents, and false alarms."""
    from orchestrator.render.audit import scorecard_table  # noqa: PLC0415
    from orchestrator.store.incidents import SCORE_DEFINITIONS  # noqa: PLC0415
    from orchestrator.store.incidents import scorecard as score  # noqa: PLC0415

    window = parse_time(since, "--since"), parse_time(until, "--until")
    with open_store(db) as store:
        scores = score(store, since=window[0], until=window[1])
    if output == ReportFormat.json:
        payload = {
            "schema": "commander.scorecard/v1",
            "definitions": SCORE_DEFINITIONS,
            "reviewers": [s.model_dump(mode="json") for s in scores],
        }
        write(json.dumps(payload))
    else:
        write(scorecard_table(scores, SCORE_DEFINITIONS))


def register(app: typer.Typer) -> None:
    """Add the post-incident commands to the app."""
    app.command()(replay)
    app.command()(backtest)
    app.command()(scorecard)
    app.add_typer(incident_app, name="incident")
