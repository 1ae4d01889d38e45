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

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, NamedTuple

from orchestrator.adapters.commands_words import (
    DYNAMIC_NODES,
    Redirect,
    SimpleCommand,
    Word,
    descendants,
    join_path,
    node_text,
    word_of,
)
from orchestrator.adapters.commands_wrappers import unwrap

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

# How deep `sh -c "bash -c '...'"` may nest before the line counts as unreadable.
_MAX_DEPTH: Final = 6
_STATEMENTS: Final = frozenset({"pipeline", "command", "list", "redirected_statement"})
_PLAIN: Final = re.compile(r"[A-Za-z0-9_./:=@%+,-]+")


class ParsedScript(NamedTuple):
    """Every simple command a line may run, and where the parser could not read it."""

    commands: tuple[SimpleCommand, ...]
    errors: tuple[str, ...] = ()


_parser: Parser | None = None


def _get_parser() -> Parser:
    global _parser  # noqa: PLW0603 - one parser per process: building it costs a few ms
    if _parser is None:
        import tree_sitter  # noqa: PLC0415 - only when a command is parsed

        _parser = tree_sitter.Parser(tree_sitter.Language(_bash_grammar()))
    return _parser


def _bash_grammar() -> object:
    """tree-sitter-bash's grammar, loaded from its extension module alone.

    The package's __init__ imports importlib.resources (tempfile, shutil,
    random ...) for its query files, which costs about as much as the parser
    itself; the guard needs only the grammar. Falls back to the package.
    """
    from importlib.machinery import PathFinder  # noqa: PLC0415
    from importlib.util import module_from_spec  # noqa: PLC0415

    package = PathFinder.find_spec("tree_sitter_bash")
    places = list(package.submodule_search_locations or ()) if package else []
    spec = PathFinder.find_spec("tree_sitter_bash._binding", places) if places else None
    if spec is None or spec.loader is None:
        import tree_sitter_bash  # noqa: PLC0415

        return tree_sitter_bash.language()
    binding = module_from_spec(spec)
    spec.loader.exec_module(binding)
    return binding.language()


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
            fed = (
                _static_output(self.commands[-1])
                if self.commands and stage.type in {"command", "redirected_statement"}
                else None
            )

    def _redirected(
        self, node: Node, *, depth: int, wrappers: tuple[str, ...], piped: bool
    ) -> None:
        body = node.child_by_field_name("body")
        redirects: list[Redirect] = []
        rest: list[Node] = []
        stdin: str | None = None
        for index, child in enumerate(node.children):
            if node.field_name_for_child(index) != "redirect" and child.type not in (
                "heredoc_redirect",
                "herestring_redirect",
                "file_redirect",
            ):
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
                first = first._replace(
                    words=first.words + lost, redirects=first.redirects + tuple(redirects)
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
                    (node_text(name) if name else "", word_of(value).value if value else "")
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
                text=node_text(node),
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
        for child in descendants(node):
            if child.type in ("command_substitution", "process_substitution"):
                for inner in child.named_children:
                    self._walk(
                        inner, depth=depth, wrappers=(*wrappers, "$(...)"), stdin=None, piped=False
                    )

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
            self.cwd = None if self.cwd is None else os.path.expanduser("~")
            return
        target = targets[0].value
        if target is None or self.cwd is None:
            self.cwd = None
            return
        self.cwd = join_path(self.cwd, target)


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
        expands = not any(
            c.type == "heredoc_start" and node_text(c)[:1] in "'\"" for c in node.named_children
        )
        nested: list[Redirect] = []
        for child in node.named_children:
            if child.type == "file_redirect":
                nested.extend(_redirect(child)[0])
        if not bodies:
            return nested, ""
        body = bodies[0]
        dynamic = expands and any(c.type in DYNAMIC_NODES for c in descendants(body))
        return nested, None if dynamic else node_text(body)
    if node.type == "herestring_redirect":
        targets = [c for c in node.named_children if c.type != "file_descriptor"]
        return [], word_of(targets[0]).value if targets else None
    destination = node.child_by_field_name("destination")
    operator = next((c.type for c in node.children if not c.is_named), "")
    if destination is None or operator in (">&", "<&", ">&-", "<&-"):
        return [], None
    return [Redirect(operator, word_of(destination))], None


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
