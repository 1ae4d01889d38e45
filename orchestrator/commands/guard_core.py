"""The guard's one decision, shared by `commander guard` and `POST /v1/guard`.

    judge(call, options, catalog, review) -> Answer

A call whose every command only reads or stays in the working tree is
allowed at once and not recorded (it changes nothing; recording every `ls`
would bloat the audit chain and cost the store's import on every call). An
unknown command gets the catalog's `unknown` answer when that is not `ask`.
Anything else goes to `review`: the CLI reviews and records it in its own
store, the service in its open one (guard_review.py). Light imports only:
the read-only answer must not pay for pydantic or SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from orchestrator.adapters.commands_calls import Answer, ToolCall

if TYPE_CHECKING:
    from collections.abc import Callable

    from orchestrator.adapters.commands_catalog import Catalog
    from orchestrator.adapters.commands_classify import Effect

    Review = Callable[[list[Effect]], Answer]


class GuardOptions(NamedTuple):
    """How the guard was asked: by the CLI's flags, or the service's query."""

    format: str = "auto"
    actor: str | None = None
    source: str = "ai-agent"
    environment: str | None = None
    intent: str = ""
    config: str | None = None
    db: str | None = None
    topology: str | None = None
    wait: float = 0.0
    log: str | None = None


def judge(call: ToolCall, catalog: Catalog, review: Review) -> Answer:
    """Allow what changes nothing, answer unknown commands as configured, review the rest."""
    # imported here: `commander guard` with COMMANDER_URL set never judges, and skips them
    from orchestrator.adapters.commands_classify import (  # noqa: PLC0415
        LOCAL,
        READ_ONLY,
        UNKNOWN,
        call_effects,
        scene_for,
    )

    found = call_effects(call, scene_for(call, catalog))
    changing = [e for e in found if e.verdict not in (READ_ONLY, LOCAL)]
    if not changing:
        kinds = " and ".join(sorted({e.verdict for e in found}) or [READ_ONLY])
        shown = call.shown[:200]
        return Answer(
            "allow", f"{kinds}: {shown} changes nothing outside the working tree; not recorded"
        )
    if all(e.verdict == UNKNOWN for e in changing) and catalog.unknown != "ask":
        reasons = "; ".join(e.reason for e in changing)
        verdict = "allow" if catalog.unknown == "allow" else "deny"
        why = f"the catalog answers {catalog.unknown}; not reviewed"
        return Answer(verdict, f"unknown command ({reasons}): {why}")
    return review(found)
