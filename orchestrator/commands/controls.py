"""Commands of the kill switch and of elevations: freeze, thaw, frozen; elevate, elevations.

`freeze` takes effect at once: the actor's next review is rejected before any
reviewer runs, and its open escalations are cancelled in the same
transaction. `elevate` grants an actor more room until a time, recorded with
who granted it and why.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from orchestrator.commands.gatectx import AsOption, say, session
from orchestrator.commands.options import ConfigOption, DbOption
from orchestrator.errors import UsageError

ActorArgument = Annotated[
    str | None, typer.Argument(help="The actor (agent, job or person) by name.")
]
AllAgentsOption = Annotated[
    bool,
    typer.Option(
        "--all-ai-agents",
        help="Every AI agent: declared, registered, or judged as one (agents.yaml).",
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, for the record.")]


def _target(actor: str | None, all_ai_agents: bool) -> str | None:
    """The actor named, or None for every AI agent; exactly one of the two."""
    if (actor is None) == (not all_ai_agents):
        raise UsageError("name one ACTOR or give --all-ai-agents")
    return actor


def freeze(
    *,
    as_: AsOption,
    reason: ReasonOption,
    actor: ActorArgument = None,
    all_ai_agents: AllAgentsOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stop an actor: its reviews are rejected at once and its open escalations cancelled."""
    from orchestrator.store.governance import freeze as stop  # noqa: PLC0415

    target = _target(actor, all_ai_agents)
    with session(db, config, writes=True) as gate:
        done = stop(
            gate.store, target, by=as_, reason=reason, identities=gate.identities, now=gate.now
        )
    whom = target or "every AI agent"
    f = done.freeze
    if not done.created:
        say(f"{whom} was already frozen by {f.frozen_by} at {f.frozen_at}: {f.reason}")
        return
    cancelled = f"; cancelled {len(done.cancelled)} open escalation(s)" if done.cancelled else ""
    listed = "".join(f"\n  cancelled {i}" for i in done.cancelled)
    say(f"froze {whom} at {f.frozen_at}{cancelled}{listed}")


def thaw(
    *,
    as_: AsOption,
    actor: ActorArgument = None,
    all_ai_agents: AllAgentsOption = False,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Lift a freeze: the actor's next review is judged normally again."""
    from orchestrator.store.governance import thaw as lift  # noqa: PLC0415

    target = _target(actor, all_ai_agents)
    with session(db, config, writes=True) as gate:
        lifted = lift(
            gate.store, target, by=as_, reason=reason, identities=gate.identities, now=gate.now
        )
    say(f"thawed {target or 'every AI agent'} (frozen by {lifted.frozen_by} at {lifted.frozen_at})")


def frozen(*, db: DbOption = None, config: ConfigOption = None) -> None:
    """List the freezes in force."""
    from orchestrator.guards import ALL_AI_AGENTS  # noqa: PLC0415
    from orchestrator.store.governance import list_freezes  # noqa: PLC0415

    with session(db, config) as gate:
        found = list_freezes(gate.store)
    if not found:
        say("nobody is frozen")
    for f in found:
        whom = "every AI agent" if f.target == ALL_AI_AGENTS else f.target
        say(f"{whom}: frozen by {f.frozen_by} at {f.frozen_at}: {f.reason}")


def elevate(
    *,
    actor: Annotated[str, typer.Argument(help="The actor to grant more room.")],
    as_: AsOption,
    reason: ReasonOption,
    until: Annotated[
        str, typer.Option("--until", help="ISO 8601 time, HH:MM (UTC, today) or a span: 2h.")
    ],
    categories: Annotated[
        str, typer.Option("--categories", help="Change categories, comma-separated: iam,infra.")
    ] = "",
    environments: Annotated[
        str, typer.Option("--environments", help="Environments, comma-separated: staging.")
    ] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Grant an actor time-bound access to more categories or environments."""
    from orchestrator.config import known_categories  # noqa: PLC0415
    from orchestrator.store.governance import grant_elevation  # noqa: PLC0415

    with session(db, config, writes=True) as gate:
        known = known_categories(gate.config)
        named = [c.strip().lower() for c in categories.split(",") if c.strip()]
        if unknown := [c for c in named if c not in known]:
            raise UsageError(
                f"--categories: {unknown[0]!r} is not a category of this policy "
                f"(known: {', '.join(sorted(known))})"
            )
        granted = grant_elevation(
            gate.store,
            actor,
            categories=[categories],
            environments=[environments],
            until=until,
            by=as_,
            reason=reason,
            identities=gate.identities,
            max_span=gate.config.commander.gate.max_elevation,
            now=gate.now,
        )
    scope = ", ".join([*granted.categories, *granted.environments])
    say(f"{granted.elevation_id}: {granted.actor} may touch {scope} until {granted.until}")


def elevations(
    *,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor's.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Expired and revoked ones too.")] = False,
    output: Annotated[str, typer.Option(help="text or json.")] = "text",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List elevations in force (or every one ever granted)."""
    from orchestrator.store.governance import list_elevations  # noqa: PLC0415

    if output not in ("text", "json"):
        raise UsageError(f"--output {output!r}: use text or json")
    with session(db, config) as gate:
        found = list_elevations(gate.store, actor=actor, every=every, now=gate.now)
    if output == "json":
        say(
            json.dumps([r.model_dump(mode="json") for r in found], indent=2, ensure_ascii=False),
            json=True,
        )
        return
    if not found:
        say("no elevations in force" if not every else "no elevations")
    for r in found:
        e = r.elevation
        scope = ", ".join([*e.categories, *e.environments])
        say(
            f"{e.elevation_id}  {r.status:<7}  {e.actor}: {scope} until {e.until} "
            f"(granted by {e.granted_by}: {e.reason})"
        )


def revoke_elevation(
    *,
    elevation_id: Annotated[str, typer.Argument(help="The elevation's id (elv-…).")],
    as_: AsOption,
    reason: ReasonOption,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """End an elevation before its time."""
    from orchestrator.store.governance import revoke_elevation as revoke  # noqa: PLC0415

    with session(db, config, writes=True) as gate:
        record = revoke(
            gate.store,
            elevation_id,
            by=as_,
            reason=reason,
            identities=gate.identities,
            now=gate.now,
        )
    say(f"{elevation_id}: revoked by {record.revoked_by} at {record.revoked_at}")


def register(app: typer.Typer) -> None:
    """Add the kill switch's and the elevations' commands to the app."""
    for command in (freeze, thaw, frozen, elevate, elevations):
        app.command()(command)
    app.command("revoke-elevation")(revoke_elevation)
