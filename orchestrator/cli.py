"""The `commander` command line: thin commands over core functions.

Each command resolves settings, calls one core function and renders. `main`
is the single error boundary: it maps exceptions to the documented exit
codes (0 approve, 3 escalate, 4 reject, 1 failure, 2 usage) and prints one
line, never a traceback. No path through here can exit 0 after a failure.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.choices import LINE_OUTPUTS, ExecutorName, InputKind, OutputFormat
from orchestrator.commands import register_all
from orchestrator.commands.options import (
    BackstageOption,
    ConfigOption,
    DbOption,
    ExecutorOption,
    RayAddressOption,
    SourceDirOption,
    SourceRootOption,
    TopologyOption,
)
from orchestrator.errors import (
    EXIT_APPROVE,
    EXIT_ESCALATE,
    EXIT_FAILURE,
    EXIT_REJECT,
    CommanderError,
)
from orchestrator.models import Decision, Outcome, Source

if TYPE_CHECKING:
    from orchestrator.render import Reviewed
    from orchestrator.render.locations import Locating, Sources

app = typer.Typer(
    name="commander",
    help="Review proposed infrastructure and code changes before they reach production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

OUTCOME_EXIT: dict[Outcome, int] = {
    "approve": EXIT_APPROVE,
    "escalate": EXIT_ESCALATE,
    "reject": EXIT_REJECT,
}


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@app.command()
def review(
    path: Annotated[
        str, typer.Argument(help="Input file, a folder of input files, or - for standard input.")
    ],
    kind: Annotated[
        InputKind, typer.Option(help="Input kind; auto detects it from the content.")
    ] = InputKind.auto,
    source: Annotated[Source, typer.Option(help="Who proposes the change.")] = Source.HUMAN,
    actor: Annotated[
        str, typer.Option(help="Name of the proposing person, agent or job.")
    ] = "unknown",
    intent: Annotated[str, typer.Option(help="The stated purpose of the change.")] = "",
    environment: Annotated[
        str | None, typer.Option(help="Target environment; unknown names count as production.")
    ] = None,
    topology: TopologyOption = None,
    backstage: BackstageOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    output: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.text,
    executor: ExecutorOption = ExecutorName.local,
    ray_address: RayAddressOption = None,
    delete: Annotated[
        bool,
        typer.Option(
            "--delete", help="Kubernetes: review deleting the objects (kubectl delete -f)."
        ),
    ] = False,
    change_id: Annotated[
        str | None,
        typer.Option(
            "--change-id",
            help="Which change this submits (e.g. REPO#PR); a changed plan for the same "
            "change supersedes its open escalation and needs new approvals. Default: "
            "what the change is (ACTOR:ENVIRONMENT:KIND and the plan's configuration, the "
            "objects, the diff's repository and paths, or the migration's path in its "
            "repository).",
        ),
    ] = None,
    submitter: Annotated[
        str | None,
        typer.Option(help="Who submits it; they cannot approve it. Default: the OS user."),
    ] = None,
    source_root: SourceRootOption = None,
    source_dir: SourceDirOption = None,
) -> None:
    """Review a proposed change; exit 0 approve, 3 escalate, 4 reject, 1 failure.

    A folder: every input file in it (*.json, *.yaml, *.yml, *.diff, *.patch,
    *.sql; not hidden, not in sub-folders) is its own decision, recorded in
    file-name order; exit 1 if any file failed, else the worst outcome.
    """
    from orchestrator.adapters.base import Submission  # noqa: PLC0415 - keep --help fast
    from orchestrator.commands.gatectx import login_name  # noqa: PLC0415
    from orchestrator.review import ReviewRequest, run_review  # noqa: PLC0415
    from orchestrator.settings import resolve  # noqa: PLC0415

    request = ReviewRequest(
        path=path,
        kind=kind.value,
        submission=Submission(source=source, actor=actor, intent=intent, environment=environment),
        settings=resolve(
            db=db, config=config, topology=topology, backstage=backstage, ray_address=ray_address
        ),
        executor=executor.value,
        delete=delete,
        change_id=change_id,
        submitter=submitter or login_name(),
    )
    # before any work: a bad flag or a broken --source-dir fails with nothing recorded
    locating = _locating(output, source_root, source_dir)
    if path != "-" and os.path.isdir(path):
        from orchestrator.batch import batch_renderer, run_folder_review  # noqa: PLC0415

        locate = (lambda p: locating.sources(p, _warn)) if locating is not None else None
        render_batch = batch_renderer(output.value, locate)  # before any work: usage is exit 2
        batch = run_folder_review(request)
        for done in batch.files:
            if done.decision is not None:
                _note_superseded(done.decision)
        for failed in batch.failures:
            sys.stderr.write(f"commander: error: {failed.error}\n")
        _write(render_batch(batch))
        if output == OutputFormat.github:
            from orchestrator.batch import batch_sources  # noqa: PLC0415

            _job_summary(batch.reviewed, batch_sources(batch, locate))
        raise typer.Exit(batch.exit_code)

    from orchestrator.render import render  # noqa: PLC0415

    # One review, then the process exits: the cycle collector would only
    # rescan a heap that is about to be freed whole (the service keeps it on).
    gc.disable()
    from orchestrator import interrupts  # noqa: PLC0415

    with interrupts.guarded():
        try:
            result = run_review(request)
        except interrupts.Interrupted:
            sys.stderr.write("commander: interrupted; nothing recorded\n")
            raise typer.Exit(interrupts.EXIT_INTERRUPTED) from None
        _note_superseded(result.decision)
        sources = locating.sources(result.proposal, _warn) if locating is not None else None
        text = render(
            output.value, result.decision, result.proposal, color=_color(), sources=sources
        )
        _write(text)
        if output == OutputFormat.github:
            from orchestrator.render import Reviewed  # noqa: PLC0415

            _job_summary([Reviewed(path, result.decision, result.proposal)], sources)
        if interrupts.interrupted_after_recording():
            sys.stderr.write(
                f"commander: interrupted after decision {result.decision.decision_id} "
                "was recorded; it is reported above\n"
            )
    raise typer.Exit(OUTCOME_EXIT[result.decision.outcome])


@app.command()
def show(
    decision_id: Annotated[str, typer.Argument(help="Decision id or a unique prefix of it.")],
    db: DbOption = None,
    output: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.text,
    source_root: SourceRootOption = None,
    source_dir: SourceDirOption = None,
) -> None:
    """Show a recorded decision as it ends up: its outcome and, if escalated, the gate's state."""
    from orchestrator.commands.audit import load_story  # noqa: PLC0415
    from orchestrator.render import render  # noqa: PLC0415
    from orchestrator.render.final import with_final_state  # noqa: PLC0415

    locating = _locating(output, source_root, source_dir)
    stored, escalation = load_story(decision_id, db)
    sources = locating.sources(stored.proposal, _warn) if locating is not None else None
    shown = render(output.value, stored.decision, stored.proposal, color=_color(), sources=sources)
    _write(with_final_state(output.value, shown, stored.decision, escalation))


@app.command()
def explain(
    decision_id: Annotated[str, typer.Argument(help="Decision id or a unique prefix of it.")],
    db: DbOption = None,
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph",
            metavar="FILE",
            help="Also write the blast-radius subgraph as FILE.dot, and FILE.svg with Graphviz.",
        ),
    ] = None,
) -> None:
    """Tell the whole story of a decision: each reviewer's view and the rule that decided."""
    from orchestrator.commands.audit import load_story  # noqa: PLC0415
    from orchestrator.render.explain import render_explain  # noqa: PLC0415

    stored, escalation = load_story(decision_id, db)
    if graph is not None:
        from pathlib import Path  # noqa: PLC0415

        from orchestrator.render.dot import write_graph  # noqa: PLC0415

        written = write_graph(stored.decision, stored.proposal, Path(graph))
        note = "" if len(written) > 1 else " (Graphviz `dot` is not on PATH: no SVG)"
        sys.stderr.write(f"commander: wrote {' and '.join(map(str, written))}{note}\n")
    _write(render_explain(stored.decision, stored.proposal, color=_color(), escalation=escalation))


def _locating(
    output: OutputFormat, source_root: str | None, source_dir: str | None
) -> Locating | None:
    """Where files are, for the outputs that point at lines; None for the others."""
    if output not in LINE_OUTPUTS:
        return None
    from orchestrator.render.locations import Locating  # noqa: PLC0415

    return Locating.from_flags(source_root, source_dir)


def _job_summary(reviewed: list[Reviewed], sources: Sources | None) -> None:
    """Append the decisions' Markdown to GitHub's job summary, when running in a workflow."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from orchestrator.render.github import github_summary  # noqa: PLC0415

    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(github_summary(reviewed, sources))
    except OSError as exc:  # the annotations are out; a summary that cannot be written is said
        _warn(f"cannot write the job summary to {target}: {exc.strerror or exc}")


def _note_superseded(decision: Decision) -> None:
    """Say on stderr which escalations this submission cancelled: never silently."""
    from orchestrator.render import supersession_lines  # noqa: PLC0415

    for line in supersession_lines(decision):
        sys.stderr.write(f"commander: note: decision {decision.decision_id} {line}\n")


def _warn(message: str) -> None:
    sys.stderr.write(f"commander: warning: {message}\n")


def _write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


# The commands defined in this module. Running one of them builds only these
# three: Typer inspects every registered command's signature before it runs
# any, and the other groups' modules cost more to import than a review's parse.
OWN_COMMANDS = frozenset({"review", "show", "explain"})
_registered = False


def _register_rest(args: list[str]) -> None:
    """Add the other command groups, unless `args` runs one of this module's commands."""
    global _registered  # noqa: PLW0603 - once per process, however often main runs
    if _registered or (args and args[0] in OWN_COMMANDS):
        return
    register_all(app)
    _registered = True


def complete_app() -> typer.Typer:
    """The CLI with every command group registered (for help and the README's tables)."""
    _register_rest([])
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every outcome to an exit code.

    Typer exits by itself for usage errors (2) and for the outcome codes the
    commands raise; everything else that escapes a command ends here.
    """
    try:
        _register_rest(sys.argv[1:] if argv is None else argv)
        app(args=argv)
    except CommanderError as exc:
        sys.stderr.write(f"commander: error: {exc}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:  # fail closed: an unexpected error is a failure, never approve
        sys.stderr.write(f"commander: internal error: {type(exc).__name__}: {exc}\n")
        sys.exit(EXIT_FAILURE)
    # A command that returns without raising typer.Exit has nothing to report.
    sys.exit(EXIT_APPROVE)
