"""Commands of the human gate: `pending`, `approve`, `deny` (and, via controls, the kill switch).

Each command opens the store, reads the clock once, calls one function of
orchestrator.store.governance and prints one result. A refused approval or
deny is a `Refused` error: exit 1 with its one-line reason; usage errors exit 2.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.commands import controls
from orchestrator.commands.gatectx import AsOption, age, say, session
from orchestrator.commands.options import ConfigOption, DbOption

if TYPE_CHECKING:
    from orchestrator.store.governance import Escalation

IdArgument = Annotated[str, typer.Argument(help="Decision id of the escalation, or a prefix.")]


class ListFormat(StrEnum):
    """Output formats of `pending`."""

    text = "text"
    json = "json"


def pending(
    *,
    every: Annotated[
        bool, typer.Option("--all", help="Every escalation, closed ones too, with its status.")
    ] = False,
    output: Annotated[ListFormat, typer.Option(help="Output format.")] = ListFormat.text,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List open escalations: age, tier, required roles and who has signed so far."""
    from orchestrator.models import short_id  # noqa: PLC0415
    from orchestrator.store.governance import list_escalations  # noqa: PLC0415

    with session(db, config) as gate:
        found = list_escalations(gate.store, status=None if every else "pending", now=gate.now)
    if output == ListFormat.json:
        rows = [
            e.model_dump(mode="json")
            | {
                "short_id": short_id(e.decision_id),
                "age": age(e.created_at, gate.now),
                "missing_roles": list(e.missing_roles),
            }
            for e in found
        ]
        say(json.dumps(rows, indent=2, ensure_ascii=False), json=True)
        return
    if not found:
        say("no open escalations" if not every else "no escalations")
        return
    say(_table(found, gate.now, every=every))


def approve(
    *,
    ident: IdArgument,
    as_: AsOption,
    role: Annotated[str, typer.Option("--role", help="The required role you sign for.")],
    comment: Annotated[
        str, typer.Option("--comment", help="What you checked, for the record.")
    ] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Sign an escalation in one required role; exit 1 with the reason when refused."""
    from orchestrator.store.governance import approve as sign  # noqa: PLC0415

    with session(db, config) as gate:
        result = sign(
            gate.store,
            ident,
            name=as_,
            role=role,
            comment=comment,
            identities=gate.identities,
            now=gate.now,
        )
    esc = result.escalation
    if result.completed:
        signers = ", ".join(f"{a.role}: {a.name}" for a in esc.approvals)
        say(f"{esc.decision_id}: approved-by-humans ({signers})")
    else:
        say(
            f"{esc.decision_id}: {result.approval.role} signed by {result.approval.name}; "
            f"still needed: {', '.join(esc.missing_roles)}"
        )


def deny(
    *,
    ident: IdArgument,
    as_: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Deny an escalation: it ends, and nobody can approve it afterwards."""
    from orchestrator.store.governance import deny as refuse  # noqa: PLC0415

    with session(db, config) as gate:
        esc = refuse(
            gate.store, ident, name=as_, reason=reason, identities=gate.identities, now=gate.now
        )
    denial = esc.denial
    say(f"{esc.decision_id}: denied by {denial.name if denial else as_}: {reason}")


def _table(found: list[Escalation], now: str, *, every: bool) -> str:
    from orchestrator.models import short_id  # noqa: PLC0415

    headers = ["DECISION", "SHORT", "AGE", "TIER", "ACTOR", "SIGNED / NEEDED", "EXPIRES"]
    if every:
        headers.insert(2, "STATUS")
    rows = []
    for e in found:
        signed = {a.role: a.name for a in e.approvals}
        roles = e.required_roles or ("any role",)
        sign_off = ", ".join(f"{r}: {signed.get(r, '—')}" for r in roles)
        if not e.required_roles and e.approvals:
            sign_off = ", ".join(f"{a.role}: {a.name}" for a in e.approvals)
        expires = f"in {age(now, e.expires_at)}" if e.status == "pending" else e.expires_at
        row = [
            e.decision_id,
            short_id(e.decision_id),
            age(e.created_at, now),
            e.risk_tier,
            e.actor,
            sign_off,
            expires,
        ]
        if every:
            row.insert(2, e.status)
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    head = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    return "\n".join([head.rstrip(), *(line.rstrip() for line in lines)])


def register(app: typer.Typer) -> None:
    """Add the gate's commands to the app."""
    app.command()(pending)
    app.command()(approve)
    app.command()(deny)
    controls.register(app)
