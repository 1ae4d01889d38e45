"""Wrappers that run their arguments as a command: `sudo`, `env`, `xargs`, `sh -c` ...

    unwrap(SimpleCommand(words=[sudo, -u, pg, psql, -c, ...]))
      -> SimpleCommand(words=[psql, -c, ...], wrappers=("sudo",))

The guard judges the command a wrapper runs, not the wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from orchestrator.adapters.commands_words import SimpleCommand, Word

_SHELLS: Final = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash"})
# Skips a wrapper's own options: the words of the command it runs, None when there is none.
Skipper = Callable[[list[Word]], list[Word] | None]


def unwrap(command: SimpleCommand) -> SimpleCommand | str | None:
    """The command a wrapper runs, a shell string it runs, or None when it is no wrapper."""
    name = command.name
    args = list(command.args)
    if name in _SHELLS:
        return _shell_string(command, args)
    if name == "eval":
        values = [w.value for w in args]
        if all(v is not None for v in values) and values:
            return " ".join(v for v in values if v is not None)
        return None
    if name == "env" and (split := _split_string(command, args)) is not None:
        return split
    skip = _WRAPPERS.get(name or "")
    if skip is None:
        return None
    rest = skip(args)
    if rest is None or not rest:
        return None
    assignments = command.assignments
    if name == "env":
        while rest and rest[0].value is not None and "=" in rest[0].value:
            key, _, value = rest[0].value.partition("=")
            assignments = (*assignments, (key, value))
            rest = rest[1:]
        if not rest:
            return None
    return command._replace(
        words=tuple(rest),
        assignments=assignments,
        wrappers=(*command.wrappers, name or ""),
        dynamic_tail=command.dynamic_tail or name == "xargs",
        piped=command.piped and name != "xargs",
    )


def _shell_string(command: SimpleCommand, args: list[Word]) -> str | None:
    """`sh -c 'STRING'` runs STRING; `bash script.sh` and `sh` alone are not unwrapped."""
    for index, word in enumerate(args):
        value = word.value
        if value is None:
            return None
        if value.startswith("-") and "c" in value.lstrip("-") and not value.startswith("--"):
            if index + 1 < len(args):
                return args[index + 1].value
            return None
        if not value.startswith("-"):
            return None
    return None


def _split_string(command: SimpleCommand, args: list[Word]) -> SimpleCommand | str | None:
    """`env -S 'CMD ARGS'` runs CMD: its string (and any words after it) as a shell line."""
    for index, word in enumerate(args):
        value = word.value
        if value in ("-S", "--split-string"):
            string, rest = args[index + 1 : index + 2], args[index + 2 :]
        elif value is not None and value.startswith(("-S", "--split-string=")):
            inline = value.removeprefix("--split-string=") if value[1] == "-" else value[2:]
            string, rest = [Word(value, inline)], args[index + 1 :]
        else:
            continue
        words = [*string, *rest]
        if not string or any(w.value is None for w in words):
            # a command computed at run time is judged as such, never as a bare `env`
            return command._replace(words=(Word(command.text, None),))
        return " ".join(w.value or "" for w in words)
    return None


def _options(with_value: frozenset[str]) -> Skipper:
    """A wrapper's option skipper: options (those in `with_value` take one), then the command."""

    def skip(args: list[Word]) -> list[Word] | None:
        index = 0
        while index < len(args):
            value = args[index].value
            if value is None:
                return args[index:]
            if value == "--":
                return args[index + 1 :]
            if not value.startswith("-") or value == "-":
                return args[index:]
            index += 2 if value in with_value else 1
        return None

    return skip


def _timeout(args: list[Word]) -> list[Word] | None:
    rest = _options(frozenset({"-s", "--signal", "-k", "--kill-after"}))(args)
    return rest[1:] if rest else None  # the duration comes first


def _watch(args: list[Word]) -> list[Word] | None:
    return _options(frozenset({"-n", "--interval", "-d", "--differences"}))(args)


_WRAPPERS: Final[dict[str, Skipper]] = {
    "sudo": _options(
        frozenset(
            {
                "-u",
                "--user",
                "-g",
                "--group",
                "-h",
                "--host",
                "-p",
                "--prompt",
                "-C",
                "--close-from",
                "-D",
                "--chdir",
                "-r",
                "--role",
                "-t",
                "--type",
                "-T",
                "--command-timeout",
            }
        )
    ),
    "doas": _options(frozenset({"-u", "-C"})),
    "env": _options(frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"})),
    "nohup": _options(frozenset()),
    "time": _options(frozenset({"-f", "--format", "-o", "--output"})),
    "timeout": _timeout,
    "nice": _options(frozenset({"-n", "--adjustment"})),
    "ionice": _options(frozenset({"-c", "--class", "-n", "--classdata", "-p", "--pid"})),
    "stdbuf": _options(frozenset({"-i", "-o", "-e"})),
    "command": _options(frozenset()),
    "builtin": _options(frozenset()),
    "exec": _options(frozenset({"-a"})),
    "caffeinate": _options(frozenset({"-t", "-w"})),
    "watch": _watch,
    "xargs": _options(
        frozenset(
            {
                "-n",
                "--max-args",
                "-I",
                "-i",
                "--replace",
                "-L",
                "--max-lines",
                "-P",
                "--max-procs",
                "-d",
                "--delimiter",
                "-a",
                "--arg-file",
                "-E",
                "-e",
                "-s",
                "--max-chars",
            }
        )
    ),
}
