"""A tool call as a Proposal: the `command` input kind.

    call_effects(call, scene) -> [Effect]          (commands_classify: the guard's fast path)
    build_proposal(call, effects, submission, ...) -> Proposal   (pydantic: only for changes)

A call whose every effect is read-only or local needs no proposal. Otherwise
each Touch becomes a ResourceChange, and each delegate is read by its own
adapter: a saved Terraform plan (`terraform show -json`), manifests (the
kubernetes adapter, `delete` for `kubectl delete -f`), SQL (the sql adapter
with the client's dialect), a file edit (the gitdiff adapter on the diff the
edit would make). A call whose changes all come from one delegate is that
delegate's proposal; anything else is one proposal of kind `command` holding
every change. Notes (why a command cannot be judged in full) make the
proposal incomplete, so it can never be approved without a human.
Credentials on the command line (`PGPASSWORD=...`, a password in a URL, an
access key) are masked in everything the record keeps.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from orchestrator.adapters.base import AdapterOptions, Submission, load_proposal
from orchestrator.adapters.commands_calls import ToolCall, read_call
from orchestrator.adapters.commands_catalog import load_catalog
from orchestrator.adapters.commands_classify import (
    LOCAL,
    READ_ONLY,
    Delegate,
    Effect,
    Touch,
    call_effects,
    scene_for,
)
from orchestrator.adapters.commands_edits import edit_diff
from orchestrator.adapters.masking import scrub_text
from orchestrator.errors import InputError
from orchestrator.models import (
    Action,
    PlanStatus,
    Proposal,
    ResourceChange,
    canonical_environment,
)

_PLAN_TIMEOUT_SECONDS = 300


def build_proposal(
    call: ToolCall,
    found: list[Effect],
    submission: Submission,
    *,
    diff_paths: tuple[Any, str, str] | None = None,
    max_bytes: int = 1 << 30,
) -> Proposal:
    """One proposal for everything the call's effects change."""
    delegated: list[Proposal] = []
    notes: list[str] = []
    touches: list[Touch] = []
    for effect in found:
        if effect.verdict in (READ_ONLY, LOCAL):
            continue
        notes.extend(effect.notes)
        touches.extend(effect.touches)
        for delegate in effect.delegates:
            proposal, note = _delegate(delegate, call, submission, diff_paths, max_bytes)
            if proposal is not None:
                delegated.append(proposal)
            if note:
                notes.append(note)
    if len(delegated) == 1 and not touches and not notes:
        return delegated[0]
    changes = [_change(t) for t in touches]
    populations: dict[str, int] = {}
    for proposal in delegated:
        changes.extend(proposal.changes)
        notes.extend(proposal.status.notes)
        for rtype, size in proposal.populations.items():
            populations[rtype] = max(populations.get(rtype, 0), size)
    judgeable = all(p.status.judgeable for p in delegated) and not notes
    return Proposal(
        kind="command",
        source=submission.source,
        actor=submission.actor,
        intent=scrub_text(submission.intent),
        environment=canonical_environment(submission.environment),
        environment_name=submission.environment or "production",
        changes=tuple(changes),
        populations=populations,
        relations=tuple(r for p in delegated for r in p.relations),
        status=PlanStatus(complete=judgeable, notes=tuple(dict.fromkeys(notes))),
        input_name="tool-call",
        raw={
            "tool_call": {
                "format": call.format,
                "tool": call.tool,
                "command": scrub_text(call.shown),
                "cwd": call.cwd,
                "session": call.session,
            },
            "commands": [
                scrub_text(e.command) for e in found if e.verdict not in (READ_ONLY, LOCAL)
            ],
        },
    )


def parse_tool_call(
    text: str,
    origin: str,
    submission: Submission,
    *,
    document: object = None,
    sensitive_keys: tuple[str, ...] | None = None,
    options: AdapterOptions | None = None,
) -> Proposal:
    """`commander review --kind command`: a tool call (any hook format, or the generic JSON)
    as the proposal `commander guard` reviews for it."""
    del document, sensitive_keys  # a tool call is read by its own reader
    call = read_call(text.encode("utf-8"), origin)
    given = options or AdapterOptions()
    catalog = load_catalog(given.config_dir, given.cache_dir)
    found = call_effects(call, scene_for(call, catalog))
    return build_proposal(call, found, submission, diff_paths=given.diff_paths)


def _change(touch: Touch) -> ResourceChange:
    after: dict[str, Any] = {key: scrub_text(value) for key, value in touch.facts}
    return ResourceChange(
        address=scrub_text(touch.address),
        type=touch.type,
        action=Action(touch.action),
        namespace=touch.namespace,
        previous_address=touch.previous_address,
        importing=touch.importing,
        raw_actions=(touch.action,),
        after=after or None,
    )


def _delegate(
    delegate: Delegate,
    call: ToolCall,
    submission: Submission,
    diff_paths: tuple[Any, str, str] | None,
    max_bytes: int,
) -> tuple[Proposal | None, str | None]:
    """The delegate's proposal, or a note saying why it cannot be read."""
    if delegate.kind == "terraform-plan":
        return _plan(delegate, submission, max_bytes), None
    if delegate.kind == "diff":
        text = edit_diff(delegate, call)
        if text is None:
            return None, (
                f"command.unseen-content: writes {delegate.path} with content "
                "nobody can see before it runs"
            )
        if not text.strip():
            return None, None
        options = AdapterOptions(diff_paths=diff_paths)
        return load_proposal(
            text.encode(), f"edit of {delegate.path}", submission, kind="diff", options=options
        ), None
    text = delegate.text
    origin = delegate.path or "<stdin>"
    if text is None:
        if (
            delegate.path is None
            or delegate.path.startswith(("http://", "https://"))
            or not os.path.isfile(delegate.path)
        ):
            return None, (
                f"command.unseen-input: the {delegate.kind} input "
                f"{delegate.path or '(standard input)'} cannot be read before it runs"
            )
        text = _read(delegate.path, max_bytes)
    if delegate.kind == "sql" and delegate.dialect and "-- dialect:" not in text:
        text = f"-- dialect: {delegate.dialect}\n{text}"
    manifests = AdapterOptions(delete=delegate.delete) if delegate.kind == "kubernetes" else None
    return load_proposal(
        text.encode(), origin, submission, kind=delegate.kind, options=manifests
    ), None


def _read(path: str, max_bytes: int) -> str:
    try:
        with open(path, "rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(path, "input is over the max_input_bytes limit")
    return data.decode("utf-8", errors="replace")


def _plan(delegate: Delegate, submission: Submission, max_bytes: int) -> Proposal:
    """A saved plan as `terraform show -json` writes it; plan-first plans into a temp file."""
    program = delegate.program or "terraform"
    path = delegate.path or "."
    with tempfile.TemporaryDirectory(prefix="commander-plan-") as scratch:
        if os.path.isdir(path):  # plan-first: plan the directory as the apply would
            planned = str(Path(scratch) / "tfplan")
            _run([program, "plan", "-input=false", f"-out={planned}", *delegate.args], path)
            directory, plan = path, planned
        else:
            directory, plan = os.path.dirname(path) or ".", path
            if not os.path.isfile(plan):
                raise InputError(plan, "the saved plan file does not exist")
        shown = _run([program, "show", "-json", plan], directory)
    if len(shown) > max_bytes:
        raise InputError(plan, "the plan is over the max_input_bytes limit")
    return load_proposal(shown, f"{program} show -json {plan}", submission, kind="terraform")


def _run(argv: list[str], cwd: str) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603 - the user's own terraform, argv without a shell
            argv, cwd=cwd, capture_output=True, timeout=_PLAN_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise InputError(argv[0], "not found on PATH: cannot read the saved plan") from None
    except subprocess.TimeoutExpired:
        raise InputError(
            " ".join(argv[:2]), f"did not finish in {_PLAN_TIMEOUT_SECONDS}s"
        ) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or ["?"]
        raise InputError(" ".join(argv[:2]), f"exited {done.returncode}: {detail[0]}")
    return done.stdout
