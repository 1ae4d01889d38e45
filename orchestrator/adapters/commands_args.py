"""Reading a command's arguments: its positional words, option values and flags."""

from __future__ import annotations

from orchestrator.adapters.commands_words import Word


def positionals(
    args: tuple[Word, ...] | list[Word], with_value: frozenset[str] = frozenset()
) -> list[str]:
    """The non-option arguments (an unknown value reads as `?`), skipping options' values."""
    out: list[str] = []
    skip = False
    for word in args:
        value = word.value
        if skip:
            skip = False
            continue
        if value is None:
            out.append("?")
            continue
        if value.startswith("-") and value != "-":
            if value in with_value:
                skip = True
            continue
        out.append(value)
    return out


def option_values(args: tuple[Word, ...], names: frozenset[str]) -> list[str | None]:
    """Every value given to any of the options `names` (`-n x`, `--name=x`, `-nx`)."""
    found: list[str | None] = []
    for index, word in enumerate(args):
        value = word.value
        if value is None:
            continue
        if value in names:
            found.append(args[index + 1].value if index + 1 < len(args) else None)
            continue
        head, sep, tail = value.partition("=")
        if sep and head in names:
            found.append(tail)
            continue
        for name in names:
            if (
                len(name) == 2
                and name[0] == "-"
                and value.startswith(name)
                and len(value) > 2
                and not value.startswith("--")
            ):
                found.append(value[2:])
    return found


def has_flag(args: tuple[Word, ...], *flags: str) -> bool:
    """Whether any of the flags is given (`-f`, also inside a short group like `-rf`)."""
    for word in args:
        value = word.value or ""
        if value in flags or value.split("=", 1)[0] in flags:
            return True
        if value.startswith("-") and not value.startswith("--"):
            letters = value[1:]
            if (
                any(len(f) == 2 and f[0] == "-" and f[1] in letters for f in flags)
                and letters.isalpha()
            ):
                return True
    return False
