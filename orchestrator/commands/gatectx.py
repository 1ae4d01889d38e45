"""What the gate's commands share: the store, the policy, who is who, and the clock.

The clock (orchestrator/clock.py) is read here, at the edge, and handed to
the store functions as an ISO 8601 `now`; identities come from the gate
section of commander.yaml and from the agent registry (agents.yaml), whose
ai-agent and automation actors may approve, deny, thaw and grant nothing.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.clock import iso_micros, utc_now

if TYPE_CHECKING:
    from orchestrator.config import LoadedConfig
    from orchestrator.store import Store
    from orchestrator.store.governance import Identities

AsOption = Annotated[str, typer.Option("--as", help="Your name, as recorded in the audit chain.")]


@dataclass(frozen=True)
class GateSession:
    """An open store with the policy and identities it is judged by, at one moment."""

    store: Store
    config: LoadedConfig
    identities: Identities
    now: str


def clock() -> str:
    """The current UTC time, ISO 8601 with microseconds."""
    return iso_micros(utc_now())


@contextmanager
def session(db: str | None, config: str | None, *, writes: bool = False) -> Iterator[GateSession]:
    """Open the store and load the policy the flags and environment name.

    `writes`: the command records an act of its own (freeze, thaw, elevate, revoke) and
    may start a store; the others (pending, approve, deny: an escalation must be there
    already) find none where there is none.
    """
    from orchestrator.config import load_config  # noqa: PLC0415 - keep --help fast
    from orchestrator.settings import resolve  # noqa: PLC0415
    from orchestrator.store import Store  # noqa: PLC0415

    settings = resolve(db=db, config=config)
    loaded = load_config(settings.config_dir)
    people = identities(loaded)
    store = Store.from_settings(settings, create=writes)
    try:
        yield GateSession(store=store, config=loaded, identities=people, now=clock())
    finally:
        store.close()


def identities(config: LoadedConfig) -> Identities:
    """Registered kinds from agents.yaml (when there is one) and the configured approvers."""
    from orchestrator.agents import AgentsFile  # noqa: PLC0415
    from orchestrator.store.governance import Identities  # noqa: PLC0415
    from orchestrator.yamlfile import parse_yaml, validate_model  # noqa: PLC0415

    kinds = {}
    if config.agents_source is not None:
        text, origin = config.agents_source
        parsed = validate_model(parse_yaml(text, origin) or {}, text, origin, AgentsFile)
        kinds = {str(name): record.kind for name, record in parsed.actors.items()}
    return Identities.of(kinds, config.commander.gate.approvers)


def login_name() -> str | None:
    """The operating-system user running commander: who submitted a review by default."""
    try:
        return getpass.getuser() or None
    except (OSError, KeyError):  # no login name in some containers
        return None


def say(text: str, *, json: bool = False) -> None:
    """Print one result line (or block, or `json` document), input controls shown escaped."""
    from orchestrator.render.sanitise import printable  # noqa: PLC0415

    text = printable(text, json=json)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def age(since: str, now: str) -> str:
    """How long ago `since` was, as 3d4h, 2h5m or 40s."""
    from orchestrator.guards import show_duration  # noqa: PLC0415
    from orchestrator.store.chain import parse_utc  # noqa: PLC0415

    span = parse_utc(now) - parse_utc(since)
    seconds = max(0, int(span.total_seconds()))
    shown = show_duration(span.__class__(seconds=seconds))
    # Two units are enough to read at a glance.
    units = [i for i, c in enumerate(shown) if c.isalpha()]
    return shown[: units[1] + 1] if len(units) > 1 else shown
