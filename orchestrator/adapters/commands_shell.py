"""Shell command lines as the simple commands they run, read with tree-sitter's bash grammar.

    parse_script("sudo -E kubectl delete ns prod && echo done")
      -> (SimpleCommand(words=[kubectl, delete, ns, prod], wrappers=("sudo",)),
          SimpleCommand(words=[echo, done]))

Every simple command anywhere in the line counts: in pipelines, `&&`/`||`/`;`
lists, subshells, command substitutions, loops, conditionals, function
bodies, and inside the strings of `sh -c`/`bash -c`/`eval`. Wrappers that run
their arguments as a command (`sudo`, `env`, `nohup`, `timeout`, `xargs`,
...) are unwrapped, so the command they run is judged. A word whose value is
only known when the shell runs (`$x`, `$(...)`, a glob is kept as written) has
no static value, and an `xargs` command gets arguments nobody can see yet.

Why tree-sitter-bash rather than bashlex: bashlex rebuilds its LALR tables on
every import (80-180 ms here, more than the whole 60 ms budget of a
read-only answer) and raises NotImplementedError on `case`, `[[ ]]`,
`$((...))` and `time`, all common in agents' commands; tree-sitter's parser
is C, imports in about 10 ms and marks what it cannot read with ERROR nodes,
which `ParsedScript.errors` reports so the caller can fail closed.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

# How deep `sh -c "bash -c '...'"` may nest before the line counts as unreadable.
_MAX_DEPTH: Final = 6
_SHELLS: Final = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash"})
_DYNAMIC_NODES: Final = frozenset({
    "simple_expansion", "expansion", "command_substitution", "arithmetic_expansion",
    "process_substitution", "brace_expression",
})  # fmt: skip
_WRITE_REDIRECTS: Final = frozenset({">", ">>", "&>", "&>>", ">|"})
_STATEMENTS: Final = frozenset({"pipeline", "command", "list", "redirected_statement"})
_PLAIN: Final = re.compile(r"[A-Za-z0-9_./:=@%+,-]+")


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a command: as written, and its value when the text alone decides it."""

    text: str
    value: str | None

    @property
    def static(self) -> bool:
        """Whether the value is known before the shell runs."""
        return self.value is not None


@dataclass(frozen=True, slots=True)
class Redirect:
    """An output or input redirection of a command (`> file`, `>> file`, `< file`)."""

    operator: str
    target: Word

    @property
    def writes(self) -> bool:
        """Whether the redirection writes the target file."""
        return self.operator in _WRITE_REDIRECTS


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One program run with its arguments, as the shell would start it."""

    words: tuple[Word, ...]
    text: str
    line: int
    assignments: tuple[tuple[str, str | None], ...] = ()
    redirects: tuple[Redirect, ...] = ()
    # Text known to arrive on standard input (a here-document, a here-string, `echo ... |`).
    stdin: str | None = None
    # Standard input comes from another command of a pipeline, unseen.
    piped: bool = False
    # xargs: more arguments arrive at run time from standard input.
    dynamic_tail: bool = False
    # The wrappers it was found inside (`sudo`, `xargs`, `sh -c`), outermost first.
    wrappers: tuple[str, ...] = ()
    # The working directory the line's `cd`s led to; None when a `cd` went somewhere unknown.
    cwd: str | None = None

    @property
    def name(self) -> str | None:
        """The program's name (its base name), None when it is computed at run time."""
        if not self.words or self.words[0].value is None:
            return None
        return self.words[0].value.rsplit("/", 1)[-1]

    @property
    def args(self) -> tuple[Word, ...]:
        """The arguments after the program's name."""
        return self.words[1:]


@dataclass(frozen=True)
class ParsedScript:
    """Every simple command a line may run, and where the parser could not read it."""

    commands: tuple[SimpleCommand, ...]
    errors: tuple[str, ...] = field(default=())


_parser: Parser | None = None


def _get_parser() -> Parser:
    global _parser  # noqa: PLW0603 - one parser per process: building it costs a few ms
    if _parser is None:
        import tree_sitter  # noqa: PLC0415 - only when a command is parsed
        import tree_sitter_bash  # noqa: PLC0415

        _parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
    return _parser


def parse_script(source: str, *, cwd: str | None = None) -> ParsedScript:
    """Parse a command line (or a script) into the simple commands it may run."""
    walker = _Walker(cwd)
    walker.script(source, depth=0, wrappers=())
    return ParsedScript(tuple(walker.commands), tuple(walker.errors))


def from_argv(argv: list[str], *, cwd: str | None = None) -> ParsedScript:
    """The commands an argument vector runs (`guard -- CMD ARGS`): no shell reads it."""
    walker = _Walker(cwd)
    words = tuple(Word(a, a) for a in argv)
    walker.emit(SimpleCommand(words=words, text=" ".join(argv), line=1, cwd=cwd), depth=0)
    return ParsedScript(tuple(walker.commands), tuple(walker.errors))


class _Walker:
    """Collects simple commands in source order, unwrapping wrappers as it goes."""

    def __init__(self, cwd: str | None) -> None:
        self.commands: list[SimpleCommand] = []
        self.errors: list[str] = []
        self.cwd = cwd

    def script(self, source: str, *, depth: int, wrappers: tuple[str, ...]) -> None:
        if depth > _MAX_DEPTH:
            self.errors.append(f"shell strings nested more than {_MAX_DEPTH} deep")
            return
        data = source.encode("utf-8", errors="surrogateescape")
        tree = _get_parser().parse(data)
        for node in _errors(tree.root_node):
            row, col = node.start_point
            self.errors.append(f"cannot parse the shell syntax at line {row + 1} column {col + 1}")
        self._walk(tree.root_node, depth=depth, wrappers=wrappers, stdin=None, piped=False)

    def _walk(
        self, node: Node, *, depth: int, wrappers: tuple[str, ...], stdin: str | None, piped: bool
    ) -> None:
        kind = node.type
        if kind == "command":
            self._command(node, depth=depth, wrappers=wrappers, stdin=stdin, piped=piped)
            return
        if kind == "redirected_statement":
            self._redirected(node, depth=depth, wrappers=wrappers, piped=piped)
            return
        if kind == "pipeline":
            self._pipeline(node, depth=depth, wrappers=wrappers)
            return
        for child in node.named_children:
            self._walk(child, depth=depth, wrappers=wrappers, stdin=None, piped=False)

    def _pipeline(self, node: Node, *, depth: int, wrappers: tuple[str, ...]) -> None:
        fed: str | None = None
        for position, stage in enumerate(node.named_children):
            self._walk(stage, depth=depth, wrappers=wrappers, stdin=fed, piped=position > 0)
            fed = _static_output(self.commands[-1]) if self.commands and stage.type in {
                "command", "redirected_statement"
            } else None

    def _redirected(
        self, node: Node, *, depth: int, wrappers: tuple[str, ...], piped: bool
    ) -> None:
        body = node.child_by_field_name("body")
        redirects: list[Redirect] = []
        rest: list[Node] = []
        stdin: str | None = None
        for index, child in enumerate(node.children):
            if node.field_name_for_child(index) != "redirect" and child.type not in (
                "heredoc_redirect", "herestring_redirect", "file_redirect",
            ):  # fmt: skip
                continue
            found, text = _redirect(child)
            redirects.extend(found)
            stdin = text if text is not None else stdin
            # a here-document may carry the rest of a pipeline (`cat <<EOF | psql`)
            rest.extend(c for c in child.named_children if c.type in _STATEMENTS)
        fed: str | None = None
        if body is not None:
            before = len(self.commands)
            self._walk(body, depth=depth, wrappers=wrappers, stdin=stdin, piped=piped)
            if body.type == "command" and len(self.commands) > before:
                first = self.commands[before]
                # tree-sitter-bash drops a lone word before a here-document (`-f - <<EOF`)
                lost = self._gap_words(node, body)
                first = replace(
                    first, words=first.words + lost, redirects=first.redirects + tuple(redirects)
                )
                self.commands[before] = first
                fed = _static_output(first)
        for inner in rest:
            stages = inner.named_children if inner.type == "pipeline" else [inner]
            for stage in stages:
                before = len(self.commands)
                self._walk(stage, depth=depth, wrappers=wrappers, stdin=fed, piped=True)
                fed = _static_output(self.commands[-1]) if len(self.commands) > before else None

    def _gap_words(self, node: Node, body: Node) -> tuple[Word, ...]:
        """Plain words between a command and its first redirection that no node covers."""
        following = [c for c in node.children if c.start_byte >= body.end_byte]
        end = following[0].start_byte if following else node.end_byte
        gap = (node.text or b"")[body.end_byte - node.start_byte : end - node.start_byte]
        words = []
        for token in gap.decode("utf-8", errors="surrogateescape").split():
            if not _PLAIN.fullmatch(token):
                self.errors.append(f"cannot parse the shell syntax near {token!r}")
                return ()
            words.append(Word(token, token))
        return tuple(words)

    def _command(
        self, node: Node, *, depth: int, wrappers: tuple[str, ...], stdin: str | None, piped: bool
    ) -> None:
        words: list[Word] = []
        assignments: list[tuple[str, str | None]] = []
        redirects: list[Redirect] = []
        for index, child in enumerate(node.children):
            field_name = node.field_name_for_child(index)
            if child.type == "variable_assignment":
                name = child.child_by_field_name("name")
                value = child.child_by_field_name("value")
                assignments.append(
                    (_text(name) if name else "", word_of(value).value if value else "")
                )
                # the value may hide commands: x=$(aws ec2 terminate-instances ...)
                self._nested(child, depth=depth, wrappers=wrappers)
            elif field_name in ("name", "argument"):
                target = child.named_children[0] if child.type == "command_name" else child
                words.append(word_of(target))
                self._nested(target, depth=depth, wrappers=wrappers)
            elif child.type in ("herestring_redirect", "file_redirect", "heredoc_redirect"):
                found, text = _redirect(child)
                redirects.extend(found)
                stdin = text if text is not None else stdin
        if not words:
            return
        line = node.start_point[0] + 1
        self.emit(
            SimpleCommand(
                words=tuple(words),
                text=_text(node),
                line=line,
                assignments=tuple(assignments),
                redirects=tuple(redirects),
                stdin=stdin,
                piped=piped,
                wrappers=wrappers,
                cwd=self.cwd,
            ),
            depth=depth,
        )

    def _nested(self, node: Node, *, depth: int, wrappers: tuple[str, ...]) -> None:
        """Commands inside a word: `$(...)`, backticks, `<(...)`."""
        for child in _descendants(node):
            if child.type in ("command_substitution", "process_substitution"):
                for inner in child.named_children:
                    self._walk(inner, depth=depth, wrappers=(*wrappers, "$(...)"), stdin=None,
                               piped=False)  # fmt: skip

    def emit(self, command: SimpleCommand, *, depth: int) -> None:
        """Record a command, or the command a wrapper runs, and follow `cd`."""
        inner = unwrap(command)
        if inner is None:
            self._follow_cd(command)
            self.commands.append(command)
            return
        if isinstance(inner, str):  # a shell string: sh -c '...', eval '...'
            self.script(inner, depth=depth + 1, wrappers=(*command.wrappers, command.name or "sh"))
            return
        self.emit(inner, depth=depth)

    def _follow_cd(self, command: SimpleCommand) -> None:
        if command.name not in ("cd", "pushd") or command.wrappers:
            return
        targets = [w for w in command.args if not (w.value or "").startswith("-")]
        if not targets:
            self.cwd = None if self.cwd is None else _home()
            return
        target = targets[0].value
        if target is None or self.cwd is None:
            self.cwd = None
            return
        self.cwd = join_path(self.cwd, target)


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
    return replace(
        command,
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


def _options(with_value: frozenset[str], *, stop_at_first: bool = True):  # type: ignore[no-untyped-def]
    """A wrapper's option skipper: options (some taking a value), then the command."""

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
        return None if stop_at_first else []

    return skip


def _timeout(args: list[Word]) -> list[Word] | None:
    rest = _options(frozenset({"-s", "--signal", "-k", "--kill-after"}))(args)
    return rest[1:] if rest else None  # the duration comes first


def _watch(args: list[Word]) -> list[Word] | None:
    return _options(frozenset({"-n", "--interval", "-d", "--differences"}))(args)


_WRAPPERS: Final = {
    "sudo": _options(frozenset({"-u", "--user", "-g", "--group", "-h", "--host", "-p",
                                "--prompt", "-C", "--close-from", "-D", "--chdir", "-r",
                                "--role", "-t", "--type", "-T", "--command-timeout"})),
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
    "xargs": _options(frozenset({"-n", "--max-args", "-I", "-i", "--replace", "-L",
                                 "--max-lines", "-P", "--max-procs", "-d", "--delimiter",
                                 "-a", "--arg-file", "-E", "-e", "-s", "--max-chars"})),
}  # fmt: skip


def _static_output(command: SimpleCommand) -> str | None:
    """What `echo`/`printf`/`cat <<EOF` writes to the next stage of a pipeline, when fixed."""
    if command.name in ("echo", "printf") and all(w.static for w in command.args):
        return " ".join(w.value or "" for w in command.args if not (w.value or "").startswith("-"))
    if command.name == "cat" and not command.args and command.stdin is not None:
        return command.stdin
    return None


def _redirect(node: Node) -> tuple[list[Redirect], str | None]:
    """The redirections of one redirect node, and the text it feeds to standard input."""
    if node.type == "heredoc_redirect":
        bodies = [c for c in node.named_children if c.type == "heredoc_body"]
        expands = not any(c.type == "heredoc_start" and _text(c)[:1] in "'\"" for c in
                          node.named_children)  # fmt: skip
        nested: list[Redirect] = []
        for child in node.named_children:
            if child.type == "file_redirect":
                nested.extend(_redirect(child)[0])
        if not bodies:
            return nested, ""
        body = bodies[0]
        dynamic = expands and any(c.type in _DYNAMIC_NODES for c in _descendants(body))
        return nested, None if dynamic else _text(body)
    if node.type == "herestring_redirect":
        targets = [c for c in node.named_children if c.type != "file_descriptor"]
        return [], word_of(targets[0]).value if targets else None
    destination = node.child_by_field_name("destination")
    operator = next((c.type for c in node.children if not c.is_named), "")
    if destination is None or operator in (">&", "<&", ">&-", "<&-"):
        return [], None
    return [Redirect(operator, word_of(destination))], None


def word_of(node: Node) -> Word:
    """A word node's text and, when no expansion decides it, its value."""
    value = _value(node)
    return Word(_text(node), value)


def _value(node: Node) -> str | None:
    kind = node.type
    if kind in _DYNAMIC_NODES:
        return None
    if kind == "word":
        return _unescape_word(_text(node))
    if kind in ("number", "variable_name", "heredoc_body", "string_content"):
        return _text(node)
    if kind == "raw_string":
        return _text(node)[1:-1]
    if kind == "ansi_c_string":
        raw = _text(node)[2:-1]
        try:
            return codecs.decode(raw.encode("latin-1", "backslashreplace"), "unicode_escape")
        except (UnicodeDecodeError, ValueError):
            return None
    if kind in ("string", "translated_string"):
        parts: list[str] = []
        for child in node.named_children:
            part = _value(child)
            if part is None:
                return None
            parts.append(_unescape_double(part) if child.type == "string_content" else part)
        return "".join(parts)
    if kind == "concatenation":
        pieces = [_value(child) for child in node.named_children]
        return None if any(p is None for p in pieces) else "".join(p or "" for p in pieces)
    return None


def _unescape_word(text: str) -> str:
    out, escaped = [], False
    for ch in text:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(ch)
    return "".join(out)


def _unescape_double(text: str) -> str:
    # Inside double quotes a backslash escapes only $ ` " \ and newline.
    out, index = [], 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text) and text[index + 1] in '$`"\\\n':
            out.append(text[index + 1])
            index += 2
            continue
        out.append(ch)
        index += 1
    return "".join(out)


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="surrogateescape")


def _descendants(node: Node) -> Iterator[Node]:
    stack = list(reversed(node.named_children))
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def _errors(root: Node) -> Iterator[Node]:
    if not root.has_error:
        return
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            yield node
            continue
        stack.extend(c for c in node.children if c.has_error or c.is_missing)


def _home() -> str:
    import os  # noqa: PLC0415 - rarely needed

    return os.path.expanduser("~")


def join_path(base: str, target: str) -> str:
    """`target` resolved against `base`, with `~` expanded and `.`/`..` folded (no file access)."""
    import posixpath  # noqa: PLC0415

    if target == "~" or target.startswith("~/"):
        target = _home() + target[1:]
    joined = target if target.startswith("/") else posixpath.join(base, target)
    return posixpath.normpath(joined)
