"""`commander policy test|eval`: check policies before they judge a change.

`test [DIR]` runs the `*_test.rego` suites under DIR as `opa test` does, and
the YAML fixtures (`*_test.yaml`) through every reviewer and the commander;
one line per test and a summary; exit 0 when every test passes, 1 when one
fails or errs, or when DIR holds no test at all. `eval FILE --input PATH`
prints what each rule of FILE is for an input, on the input a review gives
the policy, for debugging.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.choices import InputKind, OutputFormat
from orchestrator.commands.options import ConfigOption, TopologyOption
from orchestrator.errors import EXIT_FAILURE, UsageError
from orchestrator.models import Source

policy_app = typer.Typer(
    help="Test and debug policies: Rego suites, YAML fixtures, rule values.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
_FORMATS = (OutputFormat.text, OutputFormat.json)


@policy_app.command("test")
def run_tests(
    directory: Annotated[
        str | None,
        typer.Argument(help="Folder of policies, tests and fixtures; default the config's."),
    ] = None,
    *,
    config: ConfigOption = None,
    topology: TopologyOption = None,
    output: Annotated[OutputFormat, typer.Option(help="text or json.")] = OutputFormat.text,
) -> None:
    """Run the Rego test suites (*_test.rego) and YAML fixtures (*_test.yaml); exit 1 on failure."""
    from orchestrator.config import load_config, shipped_config_dir  # noqa: PLC0415
    from orchestrator.policies.rego_tests import run_rego_tests  # noqa: PLC0415
    from orchestrator.policy_fixtures import (  # noqa: PLC0415
        fixture_files,
        input_files,
        run_fixtures,
        with_policies,
    )
    from orchestrator.settings import resolve  # noqa: PLC0415

    if output not in _FORMATS:
        raise UsageError("policy test writes text or json")
    settings = resolve(config=config, topology=topology)
    loaded = load_config(settings.config_dir)
    folder = (
        Path(directory) if directory else _policies_folder(loaded.directory, shipped_config_dir())
    )
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    reports = run_rego_tests(folder, exclude=input_files(folder))
    fixtures = fixture_files(folder)
    if fixtures:
        from orchestrator.graph import DependencyGraph  # noqa: PLC0415
        from orchestrator.review import build_context  # noqa: PLC0415

        if directory:
            loaded = with_policies(loaded, folder)
        graph = DependencyGraph.load(
            settings.topology,
            catalog=settings.backstage,
            cache=settings.cache_dir,
            owns_by_name=loaded.commander.backstage.owns,
        )
        reviewers, context = build_context(loaded, graph)
        reports += run_fixtures(fixtures, loaded, reviewers, context)
    counts = {s: sum(r.status == s for r in reports) for s in ("pass", "fail", "error", "skip")}
    if output == OutputFormat.json:
        sys.stdout.write(json.dumps([r.to_json_dict() for r in reports], indent=2) + "\n")
    else:
        for report in reports:
            line = f"{report.status.upper():<5} {report.name} ({report.where})"
            line += f": {report.detail}" if report.detail else f" {report.duration_ms:.1f} ms"
            sys.stdout.write(line + "\n")
        sys.stdout.write(
            f"policy tests in {folder}: {counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['error']} errors, {counts['skip']} skipped\n"
        )
    if not reports:
        sys.stderr.write(f"commander: error: {folder}: no *_test.rego or *_test.yaml tests\n")
    failed = counts["fail"] or counts["error"] or not reports
    raise typer.Exit(EXIT_FAILURE if failed else 0)


def _policies_folder(config_dir: Path, shipped: Path) -> Path:
    own = config_dir / "policies"
    return own if own.is_dir() else shipped / "policies"


@policy_app.command("eval")
def eval_rules(
    file: Annotated[str, typer.Argument(help="The .rego file whose rules to show.")],
    *,
    input_path: Annotated[
        str, typer.Option("--input", help="Input as `commander review` reads it; - for stdin.")
    ],
    kind: Annotated[InputKind, typer.Option(help="Input kind.")] = InputKind.auto,
    source: Annotated[Source, typer.Option(help="Who proposes the change.")] = Source.HUMAN,
    actor: Annotated[str, typer.Option(help="The proposing person, agent or job.")] = "unknown",
    intent: Annotated[str, typer.Option(help="The stated purpose.")] = "",
    environment: Annotated[str | None, typer.Option(help="Target environment.")] = None,
    config: ConfigOption = None,
    output: Annotated[OutputFormat, typer.Option(help="text or json.")] = OutputFormat.text,
) -> None:
    """Show what each rule of a .rego file is for an input (the folder's other files load too)."""
    from orchestrator.adapters.base import (  # noqa: PLC0415
        AdapterOptions,
        Submission,
        load_proposal,
        read_input,
    )
    from orchestrator.agents import AgentRegistry  # noqa: PLC0415
    from orchestrator.config import load_config  # noqa: PLC0415
    from orchestrator.policies.rego_bundle import is_test_file  # noqa: PLC0415
    from orchestrator.policies.rego_input import aliases_read, policy_inputs  # noqa: PLC0415
    from orchestrator.policies.rego_tests import read_text, rego_files, rule_values  # noqa: PLC0415
    from orchestrator.settings import resolve  # noqa: PLC0415

    if output not in _FORMATS:
        raise UsageError("policy eval writes text or json")
    policy = Path(file)
    if not policy.is_file() or policy.suffix != ".rego":
        raise UsageError(f"{file}: not a .rego file")
    loaded = load_config(resolve(config=config).config_dir)
    data, origin = read_input(input_path, max_bytes=loaded.commander.max_input_bytes)
    submission = Submission(source=source, actor=actor, intent=intent, environment=environment)
    options = AdapterOptions(diff_paths=loaded.diff_paths)
    proposal = load_proposal(data, origin, submission, kind=kind.value, options=options)
    registry = (
        AgentRegistry.from_text(*loaded.agents_source)
        if loaded.agents_source
        else AgentRegistry.none()
    )
    judged = registry.profile(proposal.actor, proposal.source).kind
    library = [p for p in rego_files(policy.parent) if not is_test_file(p.name)]
    aliases = aliases_read(read_text(p) for p in [policy, *library])
    inputs = policy_inputs(proposal, source=judged, aliases=aliases)
    rows = []
    for index, item in enumerate(inputs):
        for value in rule_values(policy, item.document, library=library, views=item.views):
            rows.append((index, value))
    if output == OutputFormat.json:
        listed = [{"input": i, **v.to_json_dict()} for i, v in rows]
        sys.stdout.write(json.dumps(listed, indent=2) + "\n")
    else:
        for i, value in rows:
            prefix = f"[input {i}] " if len(inputs) > 1 else ""
            sys.stdout.write(f"{prefix}{value.ref} = {value.shown()}    # {value.where}\n")
    raise typer.Exit(EXIT_FAILURE if any(v.error for _, v in rows) else 0)


def register(app: typer.Typer) -> None:
    """Add `commander policy` to the app."""
    app.add_typer(policy_app, name="policy")
