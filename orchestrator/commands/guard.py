"""`commander guard`: a gate on an agent's own tool calls.

    commander guard [--format auto|claude-code|codex|gemini|generic] < hook.json
    commander guard [OPTIONS] -- CMD ARGS...      (a shell wrapper: exec CMD only on approve)

The entry point (orchestrator/entry.py) sends `guard` here before Typer or
pydantic is imported: a read-only call is answered from the compiled command
catalog and the shell parser alone, and is not recorded (it changes nothing;
recording every `ls` would bloat the audit chain and cost the store's import
on every call). Anything else is reviewed and recorded like any proposal
(guard_review.py); with COMMANDER_URL set, the running service is asked
instead (guard_remote.py). Every failure fails closed: the hook blocks the
tool, the wrapper never runs the command.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from orchestrator.adapters.commands_calls import Answer, ToolCall, read_call, render_answer
from orchestrator.commands.guard_core import GuardOptions, judge

if TYPE_CHECKING:
    import argparse

    from orchestrator.adapters.commands_classify import Effect

_ENV_URL = "COMMANDER_URL"
_ENV_ACTOR = "COMMANDER_ACTOR"
_ENV_ENVIRONMENT = "COMMANDER_ENVIRONMENT"
_ENV_LOG = "COMMANDER_GUARD_LOG"
_MAX_CALL_BYTES = 16 << 20


def _parser() -> argparse.ArgumentParser:
    import argparse  # noqa: PLC0415 - only when flags are given

    parser = argparse.ArgumentParser(
        prog="commander guard",
        description="Review one tool call of an agent: allow, ask or deny. Reads a pre-tool-use "
        "hook payload on standard input, or wraps a command given after --.",
    )
    parser.add_argument(
        "--format", default="auto", choices=["auto", "claude-code", "codex", "gemini", "generic"]
    )
    parser.add_argument(
        "--actor", help=f"The agent's name (default: the hook's agent, or ${_ENV_ACTOR})."
    )
    parser.add_argument("--source", default="ai-agent", choices=["ai-agent", "automation", "human"])
    parser.add_argument(
        "--environment",
        help=f"Target environment (default: the call's, ${_ENV_ENVIRONMENT}, else production).",
    )
    parser.add_argument("--intent", default="", help="What the agent is working on.")
    parser.add_argument("--config", help="Config directory (or COMMANDER_CONFIG).")
    parser.add_argument("--db", help="Audit store URL (or COMMANDER_DATABASE_URL).")
    parser.add_argument("--topology", help="Topology file (or COMMANDER_TOPOLOGY).")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="On escalate, wait this long for the human gate before answering.",
    )
    parser.add_argument(
        "--log",
        help=f"Append every answer, reviewed or not, to this JSON-lines file (or ${_ENV_LOG}).",
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="-- CMD ARGS: run CMD only if the review approves it.",
    )
    return parser


def main(argv: list[str]) -> int:
    """Run `commander guard`; the return value is the process's exit code."""
    options, command = _options(argv)
    if command:
        return _wrap(command, options)
    fmt = options.format
    try:
        data = sys.stdin.buffer.read(_MAX_CALL_BYTES + 1)
        if len(data) > _MAX_CALL_BYTES:
            raise ValueError("the tool call is over 16 MiB")
        call = read_call(data, "<stdin>", fmt)
        fmt = call.format
        answer = decide(call, options)
    except Exception as exc:  # fail closed: an error blocks the tool, never lets it run
        return _failed(exc, fmt)
    text, code = render_answer(answer, fmt)
    if text:
        sys.stdout.write(text + "\n")
    return code


def _options(argv: list[str]) -> tuple[GuardOptions, list[str]]:
    """The options and the command to wrap; a hook's bare `commander guard` builds no parser."""
    env = os.environ.get
    if not argv:  # argparse costs a few ms of the read-only answer's budget
        found = GuardOptions(
            actor=env(_ENV_ACTOR), environment=env(_ENV_ENVIRONMENT), log=env(_ENV_LOG)
        )
        return found, []
    args = _parser().parse_args(argv)
    options = GuardOptions(
        format=args.format,
        actor=args.actor or env(_ENV_ACTOR),
        source=args.source,
        environment=args.environment or env(_ENV_ENVIRONMENT),
        intent=args.intent,
        config=args.config,
        db=args.db,
        topology=args.topology,
        wait=args.wait,
        log=args.log or env(_ENV_LOG),
    )
    # only the separator goes: a `--` inside CMD is CMD's own (`git checkout -- FILE`)
    return options, args.command[1:] if args.command[:1] == ["--"] else args.command


def decide(call: ToolCall, options: GuardOptions) -> Answer:
    """The answer to one tool call: from the service, or judged here (and logged if asked)."""
    url = os.environ.get(_ENV_URL)
    if url:
        from orchestrator.commands.guard_remote import ask_service  # noqa: PLC0415

        return _logged(ask_service(call, options, url), call, options)
    from orchestrator.adapters.commands_catalog import load_catalog  # noqa: PLC0415
    from orchestrator.places import ENV_CONFIG, cache_location  # noqa: PLC0415

    config = options.config or os.environ.get(ENV_CONFIG) or None
    catalog = load_catalog(config, cache_location())

    def review(found: list[Effect]) -> Answer:
        from orchestrator.commands.guard_review import review_here  # noqa: PLC0415

        return review_here(call, found, options)

    return _logged(judge(call, catalog, review), call, options)


def _logged(answer: Answer, call: ToolCall, options: GuardOptions) -> Answer:
    if options.log:
        from orchestrator.adapters.masking import scrub_text  # noqa: PLC0415 - only with --log

        line = {
            "call": scrub_text(call.shown),
            "tool": call.tool,
            "format": call.format,
            "cwd": call.cwd,
            "session": call.session,
            **answer.document(),
        }
        with open(options.log, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    return answer


def _wrap(command: list[str], options: GuardOptions) -> int:
    """Review CMD, then replace this process with it only on approve."""
    call = ToolCall(
        format="generic",
        tool="shell",
        cwd=os.getcwd(),
        argv=tuple(command),
        actor=options.actor,
        environment=options.environment,
        intent=options.intent,
    )
    try:
        answer = decide(call, options)
    except Exception as exc:  # fail closed: never run the command after an error
        sys.stderr.write(f"commander guard: error: {_one_line(exc)}; not run\n")
        return 1
    if answer.decision != "allow":
        sys.stderr.write(f"commander guard: {answer.decision}: {answer.reason}\n")
        return 3 if answer.decision == "ask" else 4
    sys.stdout.flush()
    return _exec(command)


def _exec(command: list[str]) -> NoReturn:
    try:
        os.execvp(command[0], command)  # noqa: S606 - running the approved command is the point
    except OSError as exc:
        sys.stderr.write(f"commander guard: cannot run {command[0]}: {exc.strerror or exc}\n")
        sys.exit(127)


def _failed(exc: BaseException, fmt: str) -> int:
    reason = f"commander guard could not review this call, so it is blocked: {_one_line(exc)}"
    sys.stderr.write(reason + "\n")
    return 1 if fmt == "generic" else 2  # exit 2 blocks the tool in every hook format


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip().rstrip(":")
