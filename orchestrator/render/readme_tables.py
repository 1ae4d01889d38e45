"""The README's generated tables: exit codes, `review`'s options and every command.

    python -m orchestrator.render.readme_tables           # rewrite README.md's marked tables
    python -m orchestrator.render.readme_tables --check   # exit 1 naming a stale table

Each table sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`
in README.md and is written from the code it describes (the exit-code
constants, the Typer app), so the README cannot drift from the CLI: a test
compares the checked-in README with this output.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer

from orchestrator import errors, interrupts

README = Path(__file__).resolve().parents[2] / "README.md"

# What each exit code means, in the order the README lists them.
_EXIT_MEANINGS: dict[str, str] = {
    "EXIT_APPROVE": "approve",
    "EXIT_ESCALATE": "escalate: the roles in `required_approvals` must sign off",
    "EXIT_REJECT": "reject",
    "EXIT_FAILURE": "the input or the review failed, or an extra it needs is not installed "
    "(never 0 on failure)",
    "EXIT_USAGE": "wrong usage",
    "EXIT_INTERRUPTED": "interrupted (Ctrl-C) before the decision was recorded: nothing was; "
    "once it is recorded, the decision is printed and its own code returned",
}


def exit_codes() -> str:
    """The exit-code table; every EXIT_ constant must have a meaning here."""
    codes = {k: v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    codes["EXIT_INTERRUPTED"] = interrupts.EXIT_INTERRUPTED
    if missing := sorted(set(codes) - set(_EXIT_MEANINGS)):
        raise ValueError(f"exit codes without a meaning in readme_tables: {missing}")
    rows = [f"| {codes[name]} | {meaning} |" for name, meaning in _EXIT_MEANINGS.items()]
    return "\n".join(["| exit code | meaning |", "|---|---|", *rows])


def review_options() -> str:
    """Every option of `commander review` as its --help shows it: the flag, values, help."""
    from typer._click.core import Context  # noqa: PLC0415 - Typer's own click

    command = _cli().commands["review"]
    ctx = Context(command, info_name="review")
    rows = ["| option | what |", "|---|---|"]
    for param in command.params:
        if param.param_type_name != "option" or param.hidden:
            continue
        record = param.get_help_record(ctx)
        if record is not None:
            rows.append(f"| `{_cell(record[0])}` | {_cell(record[1])} |")
    return "\n".join(rows)


def commands() -> str:
    """Every command and sub-command, with the first line of its help."""
    rows = ["| command | what it does |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(text)} |" for name, text in _walk(_cli(), "commander")]
    return "\n".join(rows)


SECTIONS: dict[str, Callable[[], str]] = {
    "exit-codes": exit_codes,
    "review-options": review_options,
    "commands": commands,
}


# Typer carries its own copy of click: its objects are read by what they have, not their class.
def _cli() -> Any:
    from orchestrator.cli import complete_app  # noqa: PLC0415 - the whole CLI, only to document it

    return typer.main.get_command(complete_app())


def _walk(group: Any, prefix: str) -> Iterator[tuple[str, str]]:
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        if hasattr(command, "commands"):
            yield from _walk(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", (command.help or "").strip().split("\n")[0]


def _cell(text: str) -> str:
    """Help text as one table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _marked(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated:{name} -->\n)(.*?)(<!-- /generated:{name} -->)", flags=re.DOTALL
    )


def _section(text: str, name: str) -> str | None:
    found = _marked(name).search(text)
    return found[2] if found else None


def render_readme(text: str) -> str:
    """The README text with every marked table written afresh."""
    for name, make in SECTIONS.items():
        pattern = _marked(name)
        if not pattern.search(text):
            raise ValueError(f"README.md has no <!-- generated:{name} --> section")
        table = make() + "\n"
        text = pattern.sub(lambda m, t=table: m[1] + t + m[3], text)  # type: ignore[misc]
    return text


def main(argv: list[str]) -> int:
    """Rewrite README.md, or with --check say which table is stale (exit 1)."""
    text = README.read_text(encoding="utf-8")
    fresh = render_readme(text)
    if "--check" in argv:
        if fresh != text:
            stale = [n for n, make in SECTIONS.items() if _section(text, n) != make() + "\n"]
            sys.stderr.write(f"README.md: stale generated tables: {', '.join(stale)}\n")
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
