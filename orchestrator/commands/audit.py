"""Commands of the audit area: `audit verify` and `audit query`; registers the others.

Each command resolves settings, calls one core function in orchestrator/store
or orchestrator/replay.py, and renders. Imports are local so `--help` stays fast.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.commands.options import DbOption
from orchestrator.errors import EXIT_FAILURE, UsageError

if TYPE_CHECKING:
    from orchestrator.store import Store, StoredDecision
    from orchestrator.store.governance import Escalation

SinceOption = Annotated[
    str | None,
    typer.Option(
        help="From this time on: ISO 8601 (2026-05-01, 2026-05-01T10:00Z) or 7d, 24h, 30m ago."
    ),
]
UntilOption = Annotated[str | None, typer.Option(help="Before this time (same forms as --since).")]
_AGO = re.compile(r"(?P<n>\d+)(?P<unit>[smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

audit_app = typer.Typer(
    help="Verify the audit chain and query recorded decisions.", no_args_is_help=True
)


class RowFormat(StrEnum):
    """Output formats of `audit query`."""

    table = "table"
    jsonl = "jsonl"


class OutcomeChoice(StrEnum):
    """Outcomes `--outcome` accepts."""

    approve = "approve"
    escalate = "escalate"
    reject = "reject"


class TierChoice(StrEnum):
    """Risk tiers `--tier` accepts."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ReportFormat(StrEnum):
    """Output formats of reports."""

    text = "text"
    json = "json"


@contextmanager
def open_store(db: str | None) -> Iterator[Store]:
    """The audit store the flags and environment name, closed afterwards."""
    from orchestrator.settings import resolve  # noqa: PLC0415
    from orchestrator.store import Store  # noqa: PLC0415

    settings = resolve(db=db)
    store = Store.from_settings(settings)  # read commands never create a store
    try:
        yield store
    finally:
        store.close()


def load_story(decision_id: str, db: str | None) -> tuple[StoredDecision, Escalation | None]:
    """A recorded decision (by id or unique prefix) and, when it escalated, its escalation."""
    from orchestrator.store.governance import get_escalation  # noqa: PLC0415

    with open_store(db) as store:
        stored = store.find(decision_id)
        if stored.decision.outcome != "escalate":
            return stored, None
        return stored, get_escalation(store, stored.decision.decision_id)


def parse_time(value: str | None, flag: str, *, now: datetime | None = None) -> datetime | None:
    """A --since/--until value as naive UTC: ISO 8601, or a duration ago (7d, 24h, 30m)."""
    if value is None:
        return None
    text = value.strip()
    ago = _AGO.fullmatch(text)
    if ago:
        moment = (now or datetime.now(UTC)) - timedelta(
            seconds=int(ago["n"]) * _UNIT_SECONDS[ago["unit"]]
        )
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"{flag} {value!r}: give an ISO 8601 time (2026-05-01T10:00Z) or a duration "
                "ago (30m, 24h, 7d)"
            ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def write(text: str, *, json: bool = False) -> None:
    """Print `text` (a `json` document) with one trailing newline, input controls shown escaped."""
    from orchestrator.render.sanitise import printable  # noqa: PLC0415

    text = printable(text, json=json)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


@audit_app.command("verify")
def verify(
    db: DbOption = None,
    output: Annotated[ReportFormat, typer.Option(help="Output format.")] = ReportFormat.text,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            "--checkpoints",
            help="A signed checkpoint, or a folder of them: the chain must extend each one.",
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The key checkpoints are signed with (default: $COMMANDER_CHECKPOINT_PUBLIC_KEY).",
        ),
    ] = None,
) -> None:
    """Walk the hash chain and every record it covers; exit 1 at the first row that differs."""
    from orchestrator.commands.checkpoint import anchors  # noqa: PLC0415
    from orchestrator.store.audit_verify import verify_audit  # noqa: PLC0415

    trusted = anchors(checkpoints, public_key) if checkpoints is not None else []
    with open_store(db) as store:
        report = verify_audit(store, anchors=trusted)
    if output == ReportFormat.json:
        write(json.dumps(report.model_dump(mode="json") | {"message": report.message}))
    else:
        write(report.message)
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


@audit_app.command("query")
def query(
    *,
    actor: Annotated[str | None, typer.Option(help="Proposed by this actor.")] = None,
    resource: Annotated[
        str | None,
        typer.Option(help="Changing this address; * matches any run of characters, ? one."),
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="Whose blast radius reached this service.")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="approve, escalate or reject.")] = None,
    tier: Annotated[str | None, typer.Option(help="low, medium, high or critical.")] = None,
    dissenter: Annotated[
        str | None,
        typer.Option(
            help="Where this reviewer dissented: its stance differed from the weighted "
            "majority (the decision's minority opinion)."
        ),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    db: DbOption = None,
    output: Annotated[RowFormat, typer.Option(help="Output format.")] = RowFormat.table,
) -> None:
    """List recorded decisions matching every filter given, newest first."""
    from pydantic import ValidationError  # noqa: PLC0415

    from orchestrator.render.audit import decisions_table  # noqa: PLC0415
    from orchestrator.store.audit import AuditFilter, query_decisions  # noqa: PLC0415

    try:
        # Typer hands an optional enum over as its plain value; the model checks either.
        wanted = AuditFilter.model_validate(
            {
                "actor": actor,
                "resource": resource,
                "service": service,
                "outcome": outcome,
                "tier": tier,
                "dissenter": dissenter,
                "since": parse_time(since, "--since"),
                "until": parse_time(until, "--until"),
                "limit": limit,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UsageError(f"--{first['loc'][0]}: {first['msg']}") from None
    with open_store(db) as store:
        found = query_decisions(store, wanted)
    if output == RowFormat.jsonl:
        if found:
            write("".join(d.model_dump_json() + "\n" for d in found), json=True)
    else:
        write(decisions_table(found))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the app."""
    from orchestrator.commands import checkpoint, postincident, trailer  # noqa: PLC0415

    checkpoint.register(audit_app)
    app.add_typer(audit_app, name="audit")
    postincident.register(app)
    trailer.register(app)
