"""HCL read structurally (python-hcl2), with the line of every block and attribute.

`read_blocks` parses HCL text into the top-level blocks it declares, each as
the values a plan would show for it: attributes by name, nested blocks as
lists of objects (each with its `__line__`), `jsonencode({...})` as the
object it encodes, a heredoc as its text. Line numbers are those of the text
given, shifted by `first_line`, so a hunk keeps the lines of its file.

A diff shows hunks, not files: `repair` closes the brackets a hunk opens and
opens those it closes (under the enclosing block git names in the hunk
header), so a fragment such as the middle of an `actions = [` list still
parses. What cannot be parsed returns None and the caller falls back to
line patterns.

python-hcl2 is imported on first use: reviewing a plan never pays for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from lark import Tree

LINE_KEY: Final = "__line__"
HEADER: Final = re.compile(r'^(resource|data|module)\s+("[^"]*"|\w+)(?:\s+("[^"]*"|\w+))?\s*\{\s*$')
# Placeholder names for the structure a fragment's enclosing lines would have given.
FRAGMENT_BLOCK: Final = "__fragment"
FRAGMENT_LIST: Final = "__items"
FRAGMENT_CALL: Final = "__call"
_HEREDOC: Final = re.compile(r"^<<-?(\w+)\n(.*)\n\s*\1\s*$", re.DOTALL)
_JSONENCODE: Final = re.compile(r"^\$\{jsonencode\(")


@dataclass(slots=True)
class Block:
    """A top-level block: `resource "type" "name"`, `data "type" "name"`, `module "name"`."""

    kind: str
    type: str
    name: str
    line: int
    end_line: int
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """The block's address as Terraform writes it (`data.` for data sources)."""
        prefix = "data." if self.kind == "data" else "module." if self.kind == "module" else ""
        return (
            f"{prefix}{self.type}.{self.name}" if self.kind != "module" else f"module.{self.name}"
        )


def read_blocks(text: str, first_line: int = 1, *, earliest: int = 1) -> list[Block] | None:
    """The top-level blocks of HCL text, or None when it does not parse.

    Lines are shifted so the text's first line is `first_line`; a line before
    `earliest` (one `repair` put there) is reported as `earliest`.
    """
    import hcl2  # noqa: PLC0415 - only diffs with HCL pay for the parser
    from lark.exceptions import LarkError  # noqa: PLC0415 - comes with hcl2

    try:
        tree = hcl2.parses_to_tree(text)
    except (LarkError, ValueError, RecursionError):
        return None
    lines = _Lines(first_line - 1, earliest)
    try:
        return [_block(node, lines) for node in _children(_body(tree), "block")]
    except (LarkError, ValueError, TypeError, KeyError, RecursionError):
        return None


def repair(lines: list[str], context: str = "") -> tuple[list[str], int] | None:
    """A hunk's lines made parseable: (lines, how many were put before), or None if hopeless.

    Brackets the fragment closes without opening get openers of the kind the
    place calls for (a block in a body, an object in a list); those it opens
    without closing get closers. The outermost is the block `context` names
    (the hunk header's function name, when it is a block header) or a
    placeholder block, unless the fragment starts at the top level itself.
    """
    closers, openers = _balance(lines)
    if closers is None or openers is None:
        return None
    header = context.strip() if HEADER.match(context.strip()) else ""
    first = next((line for line in lines if line.strip()), "")
    at_top = not closers and (HEADER.match(first.strip()) is not None or not first.startswith(" "))
    if at_top and (not first or HEADER.match(first.strip()) or not header):
        return lines + [_CLOSE[o] for o in reversed(openers)], 0
    prefix = [header or f'resource "{FRAGMENT_BLOCK}" "{FRAGMENT_BLOCK}" {{']
    suffix = ["}"]
    wanted = list(reversed(closers))
    if wanted and wanted[0] == ("}", 0):
        wanted, suffix = wanted[1:], []  # a `}` in the first column closes the enclosing block
    place = "body"
    for closer, _ in wanted:
        opener, place = _OPENERS[place][closer]
        prefix.append(opener)
    return prefix + lines + [_CLOSE[o] for o in reversed(openers)] + suffix, len(prefix)


_CLOSE: Final = {"{": "}", "[": "]", "(": ")"}
# What opens a bracket the fragment closes, by where it is: (opener line, the place inside).
_OPENERS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "body": {
        "}": (f"{FRAGMENT_BLOCK} {{", "body"),
        "]": (f"{FRAGMENT_LIST} = [", "list"),
        ")": (f"{FRAGMENT_CALL} = jsonencode(", "list"),
    },
    "list": {"}": ("{", "object"), "]": ("[", "list"), ")": ("jsonencode(", "list")},
    "object": {
        "}": (f"{FRAGMENT_BLOCK} = {{", "object"),
        "]": (f"{FRAGMENT_LIST} = [", "list"),
        ")": (f"{FRAGMENT_CALL} = jsonencode(", "list"),
    },
}


def _balance(lines: list[str]) -> tuple[list[tuple[str, int]] | None, list[str] | None]:
    """Closers without openers (with their column, in order) and openers left open.

    Strings, comments and heredocs are skipped.
    """
    closers: list[tuple[str, int]] = []
    stack: list[str] = []
    pairs = {"}": "{", "]": "[", ")": "("}
    heredoc: str | None = None
    in_comment = False
    for line in lines:
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        i, quoted = 0, False
        while i < len(line):
            char = line[i]
            if in_comment:
                if line.startswith("*/", i):
                    in_comment, i = False, i + 1
            elif quoted:
                if char == "\\":
                    i += 1
                elif char == '"':
                    quoted = False
            elif char == '"':
                quoted = True
            elif char == "#" or line.startswith("//", i):
                break
            elif line.startswith("/*", i):
                in_comment = True
            elif line.startswith("<<", i):
                match = re.match(r"<<-?(\w+)\s*$", line[i:])
                if match:
                    heredoc = match[1]
                    break
            elif char in "{[(":
                stack.append(char)
            elif char in "}])":
                if stack:
                    if stack[-1] != pairs[char]:
                        return None, None
                    stack.pop()
                else:
                    closers.append((char, i))
            i += 1
        if quoted:
            return None, None
    return closers, stack


@dataclass(frozen=True, slots=True)
class _Lines:
    """Maps a line of the parsed text to the file's line."""

    shift: int
    earliest: int

    def __call__(self, line: int) -> int:
        return max(line + self.shift, self.earliest)


def _block(node: Tree[Any], lines: _Lines) -> Block:
    labels = [_label(child) for child in _children(node, "identifier", "string")]
    kind = labels[0] if labels else ""
    rtype = labels[1] if len(labels) > 1 else ""
    name = labels[2] if len(labels) > 2 else rtype
    if kind == "module":
        rtype, name = "module", labels[1] if len(labels) > 1 else ""
    meta = node.meta
    return Block(
        kind=kind,
        type=rtype,
        name=name,
        line=lines(meta.line),
        end_line=lines(meta.end_line),
        values=_body_values(_body(node), lines),
    )


def _body_values(body: Tree[Any], lines: _Lines) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for child in body.children:
        if not hasattr(child, "data"):
            continue
        if child.data == "attribute":
            name, value = _attribute(child)
            values[name] = value
        elif child.data == "block":
            labels = [_label(c) for c in _children(child, "identifier", "string")]
            nested = _body_values(_body(child), lines)
            nested[LINE_KEY] = lines(child.meta.line)
            values.setdefault(labels[0] if labels else "", []).append(nested)
    return values


def _attribute(node: Tree[Any]) -> tuple[str, Any]:
    from hcl2.transformer import RuleTransformer  # noqa: PLC0415 - see read_blocks
    from hcl2.utils import SerializationOptions  # noqa: PLC0415 - see read_blocks

    options = SerializationOptions(
        strip_string_quotes=True, with_comments=False, explicit_blocks=False
    )
    rule: Any = RuleTransformer().transform(node)  # an AttributeRule: a name and an expression
    name = str(rule.identifier.serialize(options))
    value = rule.expression.serialize(options)
    if isinstance(value, str):
        heredoc = _HEREDOC.match(value)
        if heredoc:
            return name, heredoc[2]
        if _JSONENCODE.match(value):
            encoded = _jsonencoded(node, options)
            if encoded is not None:
                return name, encoded
    return name, value


def _jsonencoded(node: Tree[Any], options: Any) -> Any:
    """The object or list a `jsonencode(...)` attribute encodes, as plain values."""
    from hcl2.transformer import RuleTransformer  # noqa: PLC0415 - see read_blocks

    for call in node.iter_subtrees_topdown():  # type: ignore[no-untyped-call]
        if call.data != "function_call":
            continue
        names = [c for c in call.children if hasattr(c, "data") and c.data == "identifier"]
        if not names or _label(names[0]) != "jsonencode":
            continue
        for arguments in _children(call, "arguments"):
            for argument in _children(arguments, "expr_term"):
                return _unquote_keys(RuleTransformer().transform(argument).serialize(options))
    return None


def _unquote_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).strip('"'): _unquote_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquote_keys(v) for v in value]
    return value


def _label(node: Any) -> str:
    """The text of an identifier or quoted-string label."""
    parts: list[str] = []
    for token in node.scan_values(lambda t: True):
        if token.type in ("NAME", "STRING_CHARS"):
            parts.append(str(token))
    return "".join(parts)


def _body(node: Tree[Any]) -> Tree[Any]:
    for child in node.children:
        if hasattr(child, "data") and child.data == "body":
            return child
    raise ValueError("a block without a body")


def _children(node: Tree[Any], *names: str) -> list[Tree[Any]]:
    return [c for c in node.children if hasattr(c, "data") and c.data in names]
