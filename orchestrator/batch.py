"""Review every input file in a folder: one proposal and one decision per file.

    list_inputs ─▶ prepare (policy, graph, reviewers: once) ─▶ the actor's facts (once)
        ─▶ judge each file: adapt, fan out ──── in this process, or as Ray tasks
        ─▶ settle each decision, one at a time, in file-name order

The steps are those of the gate session (orchestrator/gate/session.py), with
the facts read once for the whole folder.

Each file is reviewed as `commander review FILE` would review it: its own
proposal, decision and change id (actor:environment:file name). Two things
make the batch one repeatable act rather than N reviews racing each other:

* Reviewers see the actor as the batch found it. Its freeze, elevations and
  history are read once, before any file is judged, so no file's verdicts
  depend on another's and they are the same whichever executor produced
  them, in whatever order. A frozen actor's files are adapted and recorded
  as the kill switch's rejections; they meet no reviewer.
* The gate is applied at record time, file by file, in each decision's own
  transaction (`GateSession.settle`): a file's budgets count the files
  recorded before it, and a freeze placed while the batch runs rejects every
  file recorded after it.

A file that cannot be read or adapted, or whose Ray task died with its
worker, fails alone: nothing is recorded for it, the others are, and the
batch exits 1 naming it. Files are read here, where the command runs, and
travel to the cluster as bytes: no node needs the folder.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from orchestrator.adapters.base import read_input
from orchestrator.errors import (
    EXIT_APPROVE,
    EXIT_ESCALATE,
    EXIT_FAILURE,
    EXIT_REJECT,
    CommanderError,
    InputError,
    ReviewRunError,
    UsageError,
)
from orchestrator.executors import ray_missing
from orchestrator.executors.local import LocalExecutor
from orchestrator.gate.identity import locate_input
from orchestrator.gate.session import ActorFacts, ChangeSubmission, GateSession, Panel, judge
from orchestrator.gc_control import paused_gc
from orchestrator.models import Decision, Outcome, Proposal, Verdict
from orchestrator.render import MANY_FORMATS, Reviewed, render_many
from orchestrator.review import ReviewRequest, ReviewSetup, adapt, prepare

if TYPE_CHECKING:
    from orchestrator.render.locations import Sources
    from orchestrator.store import Store

# The four kinds' usual file names. Not recursive: a sub-folder (a chart's
# templates, a module's vendored files) is rarely a change of its own.
INPUT_SUFFIXES: Final = (".json", ".yaml", ".yml", ".diff", ".patch", ".sql")
_OUTCOME_EXIT: Final[dict[Outcome, int]] = {
    "approve": EXIT_APPROVE,
    "escalate": EXIT_ESCALATE,
    "reject": EXIT_REJECT,
}
_SEVERITY: Final[tuple[Outcome, ...]] = ("approve", "escalate", "reject")


def list_inputs(folder: Path, *, besides: Iterable[Path] = ()) -> list[Path]:
    """The input files directly in `folder`, in file-name order; none is a usage error.

    Only the suffixes in INPUT_SUFFIXES count (in any case). Hidden files,
    sub-folders and the files in `besides` (the topology and catalog the
    review itself reads) are left out.
    """
    own = {path.resolve() for path in besides}
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise InputError(str(folder), f"cannot list the folder: {exc.strerror or exc}") from None
    found = [
        path
        for path in entries
        if not path.name.startswith(".")
        and path.suffix.lower() in INPUT_SUFFIXES
        and path.is_file()
        and path.resolve() not in own
    ]
    if not found:
        kinds = ", ".join(f"*{suffix}" for suffix in INPUT_SUFFIXES)
        raise UsageError(f"{folder}: no input files in this folder ({kinds})")
    return sorted(found, key=lambda path: path.name)


@dataclass(frozen=True, kw_only=True)
class FileInput:
    """One file of the batch as read here: its bytes, or why they could not be read."""

    origin: str
    data: bytes = b""
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Judged:
    """A file's proposal and its reviewers' verdicts, not yet a decision; or why there are none."""

    origin: str
    proposal: Proposal | None = None
    verdicts: tuple[Verdict, ...] = ()
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Judge:
    """Adapt one file and fan it out to the reviewers: the pure unit a batch maps over its files.

    It holds only what every file shares (the panel, the actor's facts), so a
    cluster receives it once. Reviewers run in-process wherever the judge
    runs, each under its own timeout.
    """

    panel: Panel
    facts: ActorFacts
    request: ReviewRequest

    def __call__(self, item: FileInput) -> Judged:
        """The file's verdicts; never raises, a failure is the file's own."""
        if item.error is not None:
            return Judged(origin=item.origin, error=item.error)
        try:
            with paused_gc():
                proposal = adapt(self.panel.config, self.request, item.data, item.origin)
                verdicts = judge(self.panel, proposal, self.facts, LocalExecutor())
        except CommanderError as exc:
            return Judged(origin=item.origin, error=str(exc))
        except Exception as exc:  # fail closed: this file fails, the batch goes on
            return Judged(origin=item.origin, error=f"internal error: {type(exc).__name__}: {exc}")
        return Judged(origin=item.origin, proposal=proposal, verdicts=verdicts)


@dataclass(frozen=True, kw_only=True)
class FileResult:
    """What became of one file: its recorded decision, or the one-line error that stopped it."""

    path: Path
    proposal: Proposal | None = None
    decision: Decision | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """Every file of a folder review, in file-name order."""

    files: tuple[FileResult, ...]

    @property
    def failures(self) -> tuple[FileResult, ...]:
        """The files that were not recorded."""
        return tuple(f for f in self.files if f.decision is None)

    @property
    def reviewed(self) -> list[Reviewed]:
        """Every file as the multi-decision reports (SARIF, JUnit, GitHub) take it."""
        return [Reviewed(str(f.path), f.decision, f.proposal, f.error) for f in self.files]

    @property
    def exit_code(self) -> int:
        """1 if any file failed, else the worst outcome's code (reject > escalate > approve)."""
        if self.failures:
            return EXIT_FAILURE
        outcomes = [f.decision.outcome for f in self.files if f.decision is not None]
        return _OUTCOME_EXIT[max(outcomes, key=_SEVERITY.index)]


def run_folder_review(request: ReviewRequest) -> BatchResult:
    """Review every input file in the folder `request.path` and record each decision."""
    if request.executor not in {"local", "ray"}:
        raise UsageError(f"unknown executor {request.executor!r}: use local or ray")
    if request.change_id is not None:
        raise UsageError(
            "--change-id names one change; a folder review gives each file its own "
            "(what the file's change is: see `commander review --help`)"
        )
    settings = request.settings
    read_too = [path for path in (settings.topology, settings.backstage) if path is not None]
    files = list_inputs(Path(request.path), besides=read_too)
    setup = prepare(settings)

    from orchestrator.store import Store  # noqa: PLC0415 - keep SQLAlchemy off the usage-error path

    store = Store.from_settings(settings, create=True)
    try:
        return review_folder(setup, store, request, files)
    finally:
        store.close()


def review_folder(
    setup: ReviewSetup, store: Store, request: ReviewRequest, files: Sequence[Path]
) -> BatchResult:
    """Judge every file with `request.executor`, then record each in the order of `files`."""
    session = GateSession(store, setup)
    submitted = request.submission
    facts = session.actor_facts(submitted.actor, submitted.source)
    judge_each = Judge(
        # Only what judging needs travels: the store's URL may carry a password, the chain
        # key is a secret, and workers never record.
        panel=Panel(config=setup.config, reviewers=tuple(setup.reviewers), context=setup.context),
        facts=facts,
        request=dataclasses.replace(
            request,
            settings=dataclasses.replace(request.settings, database_url="", chain_key=None),
        ),
    )
    max_bytes = setup.config.commander.max_input_bytes
    inputs = (_read(path, max_bytes) for path in files)
    record = _Recorder(session, request, facts)
    # Lazily, in file order: a file is recorded while the cluster judges the ones after it.
    results = [
        record(path, judged)
        for path, judged in zip(files, _judge_all(judge_each, inputs, request), strict=True)
    ]
    return BatchResult(tuple(results))


def _read(path: Path, max_bytes: int) -> FileInput:
    try:
        data, origin = read_input(str(path), max_bytes=max_bytes)
    except InputError as exc:
        return FileInput(origin=str(path), error=str(exc))
    return FileInput(origin=origin, data=data)


def _judge_all(
    judge: Judge, inputs: Iterable[FileInput], request: ReviewRequest
) -> Iterator[Judged | ReviewRunError]:
    """Each file's judgement in file order: here, one by one, or as tasks over the Ray cluster."""
    if request.executor == "local":
        return map(judge, inputs)
    try:
        from orchestrator.executors.ray import map_each  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise ray_missing(exc) from exc
    return map_each(inputs, judge, address=request.settings.ray_address)


@dataclass(frozen=True)
class _Recorder:
    """Decides and records judged files, one at a time, under the gate as it stands then."""

    session: GateSession
    request: ReviewRequest
    facts: ActorFacts

    def __call__(self, path: Path, judged: Judged | ReviewRunError) -> FileResult:
        """Record the file's decision, or say why there is none."""
        if isinstance(judged, ReviewRunError):  # its Ray task died: nothing to decide on
            return FileResult(path=path, error=_naming(path, str(judged)))
        if judged.error is not None or judged.proposal is None:
            return FileResult(path=path, error=_naming(path, judged.error or "no proposal"))
        proposal, submission = judged.proposal, self.request.submission
        if (proposal.actor, proposal.source) != (submission.actor, submission.source):
            # The facts were read for the submitter: never record a proposal judged without its own.
            return FileResult(path=path, error=_naming(path, "the adapter changed the actor"))
        change = ChangeSubmission(
            proposal=proposal, place=locate_input(str(path)), submitter=self.request.submitter
        )
        try:
            settled = self.session.settle(change, judged.verdicts, self.facts)
        except CommanderError as exc:  # the store refused this one: say so, go on with the rest
            return FileResult(path=path, proposal=proposal, error=_naming(path, str(exc)))
        return FileResult(path=path, proposal=proposal, decision=settled.decision)


def _naming(path: Path, message: str) -> str:
    """`message` starting with the file it is about."""
    return message if message.startswith(str(path)) else f"{path}: {message}"


BatchRenderer = Callable[[BatchResult], str]


def batch_renderer(fmt: str, locate: Callable[[Proposal], Sources] | None = None) -> BatchRenderer:
    """How `--output FMT` shows a folder review; markdown describes one decision.

    SARIF, JUnit and GitHub annotations are one report over every file;
    `locate` says where each proposal's files are.
    """
    if fmt == "text":
        return batch_text
    if fmt == "json":
        return batch_json
    if fmt in MANY_FORMATS:
        return lambda result: render_many(
            fmt, result.reviewed, sources=batch_sources(result, locate)
        )
    raise UsageError(
        f"--output {fmt} shows one decision: a folder review writes "
        f"text, json, {', '.join(MANY_FORMATS)}"
    )


def batch_sources(
    result: BatchResult, locate: Callable[[Proposal], Sources] | None
) -> Sources | None:
    """Where the batch's files are: one root, one Terraform configuration for every plan."""
    found = None
    for item in result.files:
        if item.proposal is not None and locate is not None:
            found = locate(item.proposal)
    return found


def batch_json(result: BatchResult) -> str:
    """The decision JSON of every recorded file, as one array in file order."""
    decisions = [f.decision.to_json_dict() for f in result.files if f.decision is not None]
    return json.dumps(decisions, indent=2, ensure_ascii=False) + "\n"


def batch_text(result: BatchResult) -> str:
    """One line per file (file, decision, outcome, tier), then the totals."""
    rows = [
        (f.path.name, f.decision.decision_id, f.decision.outcome, f.decision.risk_tier.value)
        if f.decision is not None
        else (f.path.name, "-", "failed", "-")
        for f in result.files
    ]
    width = max(len(row[0]) for row in rows)
    lines = [
        f"{name.ljust(width)}  {ident:<36}  {outcome:<8}  {tier}"
        for name, ident, outcome, tier in rows
    ]
    counts = Counter(row[2] for row in rows)
    totals = ", ".join(f"{counts[outcome]} {outcome}" for outcome in (*_SEVERITY, "failed"))
    lines.append(f"{len(rows)} file{'' if len(rows) == 1 else 's'}: {totals}")
    return "\n".join(lines) + "\n"
