"""Where each Terraform resource is written: plan addresses to `.tf` files and lines.

A plan names resources by address (`module.a.aws_iam_role.x["k"]`) but not
by file. `TerraformSources.scan(DIR, root)` parses the root module's `.tf`
files with python-hcl2 and follows every `module` block whose `source` is a
local path (`./modules/a`), so each configuration address — the plan's
address without instance keys — maps to the file and lines of its block.
A resource inside a module from a registry or git maps to the `module` block
that calls it: the closest line in this repository.

Paths are relative to `root` (the repository), POSIX style, as SARIF and
GitHub's annotations want them. Used only by the outputs that point at lines
(SARIF, JUnit, GitHub), so a review that prints text never parses HCL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from orchestrator.errors import InputError
from orchestrator.models import SourceLocation

# A module tree deeper than this is a cycle of local sources or a mistake.
MAX_MODULE_DEPTH: Final = 32
_LOCAL_SOURCE = re.compile(r"^\.\.?(?:/|$)")
# One index of an address: ["key"] (with escapes), [0] or [*].
_INDEX = r'\[(?:"(?:[^"\\]|\\.)*"|\d+|\*)\]'
_INDEXES = re.compile(_INDEX)
_MODULE_CALL = re.compile(r"^(?:module\.[^.]+\.)+")


def config_address(address: str) -> str:
    """The configuration address of a resource instance: its address without instance keys."""
    return _INDEXES.sub("", address)


@dataclass
class TerraformSources:
    """Configuration addresses (`module.a.aws_s3_bucket.logs`) and where their blocks are."""

    blocks: dict[str, SourceLocation] = field(default_factory=dict)

    @classmethod
    def scan(cls, source_dir: Path, root: Path) -> TerraformSources:
        """Parse the module in `source_dir` and its local modules; paths relative to `root`."""
        found = cls()
        found._module(source_dir.resolve(), root.resolve(), "", depth=0)
        return found

    def locate(self, address: str) -> SourceLocation | None:
        """The block of a resource, or of the nearest module call that holds it (a remote one)."""
        key = config_address(address)
        hit = self.blocks.get(key)
        if hit is not None:
            return hit
        calls = _MODULE_CALL.match(key)
        prefix = calls.group(0) if calls else ""
        parts = prefix.split(".")[:-1]  # module, a, module, b
        for end in range(len(parts), 0, -2):
            hit = self.blocks.get(".".join(parts[:end]))
            if hit is not None:
                return hit
        return None

    def _module(self, folder: Path, root: Path, prefix: str, *, depth: int) -> None:
        if depth > MAX_MODULE_DEPTH:
            raise InputError(str(folder), f"modules nest deeper than {MAX_MODULE_DEPTH} levels")
        for path in sorted(folder.glob("*.tf")):
            relative = _relative(path, root)
            for kind, labels, start, end, source in _blocks(path):
                where = SourceLocation(path=relative, line=start, end_line=end)
                if kind == "resource" and len(labels) == 2:
                    self.blocks.setdefault(f"{prefix}{labels[0]}.{labels[1]}", where)
                elif kind == "data" and len(labels) == 2:
                    self.blocks.setdefault(f"{prefix}data.{labels[0]}.{labels[1]}", where)
                elif kind == "module" and len(labels) == 1:
                    call = f"{prefix}module.{labels[0]}"
                    self.blocks.setdefault(call, where)
                    if source is not None and _LOCAL_SOURCE.match(source):
                        child = (folder / source).resolve()
                        if child.is_dir():
                            self._module(child, root, call + ".", depth=depth + 1)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()  # a module outside the repository keeps its absolute path


def _blocks(path: Path) -> list[tuple[str, list[str], int, int, str | None]]:
    """Each top-level block of a `.tf` file: type, labels, first and last line, `source`."""
    import hcl2  # noqa: PLC0415 - Lark's grammar loads in ~0.2 s: only for outputs with lines
    from lark.exceptions import LarkError  # noqa: PLC0415

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    try:
        tree = hcl2.parses_to_tree(text)
    except LarkError as exc:
        line = getattr(exc, "line", None)
        raise InputError(
            str(path),
            "not valid HCL: " + str(exc).splitlines()[0],
            where=f"line {line}" if isinstance(line, int) and line > 0 else None,
        ) from None
    body = next((c for c in tree.children if getattr(c, "data", None) == "body"), None)
    found = []
    for block in getattr(body, "children", ()):
        if getattr(block, "data", None) != "block":
            continue
        parts = block.children
        kind = _text(parts[0])
        labels = [
            _text(p) for p in parts[1:] if getattr(p, "data", None) in ("string", "identifier")
        ]
        inner = next((p for p in parts if getattr(p, "data", None) == "body"), None)
        found.append((kind, labels, block.meta.line, block.meta.end_line, _source(inner)))
    return found


def _source(body: Any) -> str | None:
    """The literal `source = "…"` of a module block, if it has one."""
    for attribute in getattr(body, "children", ()):
        if getattr(attribute, "data", None) != "attribute":
            continue
        name, *rest = [c for c in attribute.children if hasattr(c, "data")]
        if _text(name) == "source" and rest:
            strings = [s for s in rest[0].iter_subtrees() if s.data == "string"]
            if len(strings) == 1:
                return _text(strings[0])
    return None


def _text(node: Any) -> str:
    """The text of an identifier or a plain string literal (its parts joined)."""
    if hasattr(node, "data"):
        return "".join(
            str(t) for t in node.scan_values(lambda v: getattr(v, "type", "") != "DBLQUOTE")
        ).strip('"')
    return str(node)
