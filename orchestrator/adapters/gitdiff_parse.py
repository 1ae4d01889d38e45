"""Parse unified diffs: `git diff`, `git format-patch` mailboxes and plain `diff -u` output.

Each file section becomes a `FilePatch` with its old and new path, status
(added, deleted, modified, renamed, copied), whether its content is binary,
and its added and removed lines with their line numbers. Hunks are counted
as their headers say, so a truncated or hand-edited hunk is an error naming
its line, not a silently shorter change. Combined (merge) diffs are refused.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Final, Literal

from orchestrator.adapters.gitdiff_paths import header_path, quoted, strip_prefix, unquote
from orchestrator.errors import InputError

Status = Literal["added", "deleted", "modified", "renamed", "copied"]

_HUNK: Final = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)")
_MBOX_FROM: Final = re.compile(r"^From [0-9a-f]{7,64} ")
_LOOKS: Final = re.compile(
    r"^diff --(?:git|cc|combined) \S|^--- \S[^\n]*\r?\n\+\+\+ \S[^\n]*\r?\n@@ -\d", re.MULTILINE
)


def looks_like_diff(text: str) -> bool:
    """Whether text holds a git or unified diff (a `diff --git` line or a ---/+++/@@ triple)."""
    return _LOOKS.search(text) is not None


@dataclass(slots=True)
class Hunk:
    """One hunk: the function name git puts in its header, where it starts, its lines in order.

    `lines` keeps context lines too (marker " "), so the post-image (context and
    added lines) and the pre-image (context and removed lines) can be read whole.
    """

    context: str
    old_start: int
    new_start: int
    lines: list[tuple[str, str]] = field(default_factory=list)

    def image(self, side: str) -> list[tuple[int, str, bool]]:
        """One side's lines: "new" (context and added) or "old" (context and removed), each
        with its line number and whether the hunk changes it."""
        keep = "+" if side == "new" else "-"
        number = self.new_start if side == "new" else self.old_start
        found = []
        for marker, body in self.lines:
            if marker in (" ", keep):
                found.append((number, body, marker == keep))
                number += 1
        return found


@dataclass(slots=True)
class FilePatch:
    """What one file section of a diff says."""

    old_path: str | None
    new_path: str | None
    line: int
    status: Status = "modified"
    binary: bool = False
    similarity: int | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    added: list[tuple[int, str]] = field(default_factory=list)
    removed: list[tuple[int, str]] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The file's address: its new path, or its old one when it is deleted."""
        return self.new_path or self.old_path or "?"


@dataclass(slots=True)
class ParsedDiff:
    """Every file section of a diff and, for a mailbox, the patches' subjects."""

    files: list[FilePatch] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    mailbox: bool = False


def parse_diff_text(text: str, origin: str) -> ParsedDiff:
    """Parse every file section; errors name the diff's line."""
    lines = text.split("\n")
    parsed = ParsedDiff()
    current: FilePatch | None = None
    # A `diff --git` section whose ---/+++ lines may still follow its extended headers.
    awaiting: FilePatch | None = None
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        if _MBOX_FROM.match(line):
            parsed.mailbox = True
            i = _mail_headers(lines, i + 1, parsed)
            current = awaiting = None
            continue
        if line.startswith(("diff --cc ", "diff --combined ")):
            raise InputError(
                origin,
                "a combined (merge) diff cannot be reviewed: diff against one parent",
                where=f"line {i + 1}",
            )
        if line.startswith("diff --git "):
            current = awaiting = _git_header(line, i + 1, origin)
            parsed.files.append(current)
            i = _extended_headers(lines, i + 1, current, origin)
            continue
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old = header_path(line[4:], origin, i + 1)
            new = header_path(lines[i + 1].removesuffix("\r")[4:], origin, i + 2)
            if awaiting is None:
                awaiting = FilePatch(old_path=old, new_path=new, line=i + 1)
                parsed.files.append(awaiting)
            current, awaiting = awaiting, None
            current.old_path, current.new_path = old, new
            _settle_status(current)
            i += 2
            continue
        if line.startswith("@@ "):
            if current is None:
                raise InputError(origin, "a hunk before any file header", where=f"line {i + 1}")
            awaiting = None
            i = _hunk(lines, i, current, origin)
            continue
        i += 1
    return parsed


def _mail_headers(lines: list[str], i: int, parsed: ParsedDiff) -> int:
    """Read one patch email's headers; keep its subject without the [PATCH n/m] tag."""
    subject: list[str] = []
    in_subject = False
    while i < len(lines) and lines[i].strip():
        line = lines[i].removesuffix("\r")
        if line.lower().startswith("subject:"):
            subject, in_subject = [line[8:].strip()], True
        elif in_subject and line[:1] in (" ", "\t"):
            subject.append(line.strip())
        else:
            in_subject = False
        i += 1
    if subject:
        raw = " ".join(subject)
        # an undecodable subject stays encoded: it is context, not something to fail on
        with contextlib.suppress(HeaderParseError, LookupError, UnicodeDecodeError):
            raw = str(make_header(decode_header(raw)))
        parsed.subjects.append(re.sub(r"^(?:\[[^\]]*\]\s*)+", "", raw).strip())
    return i


def _git_header(line: str, number: int, origin: str) -> FilePatch:
    rest = line[len("diff --git ") :]
    if rest.startswith('"'):
        old, remainder = quoted(rest, origin, number)
        new = unquote(remainder.strip(), origin, number)
    else:
        # Unquoted paths may hold spaces: prefer the split where both sides name one path.
        half = (len(rest) - 1) // 2
        if (
            len(rest) % 2 == 1
            and rest[half] == " "
            and strip_prefix(rest[:half]) == strip_prefix(rest[half + 1 :])
        ):
            old, new = rest[:half], rest[half + 1 :]
        else:
            cut = rest.find(" b/")
            old, new = (rest[:cut], rest[cut + 1 :]) if cut > 0 else rest.partition(" ")[::2]
    return FilePatch(old_path=strip_prefix(old), new_path=strip_prefix(new), line=number)


def _extended_headers(lines: list[str], i: int, patch: FilePatch, origin: str) -> int:
    """Read the lines between `diff --git` and the first hunk (or the next file)."""
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        if line.startswith(("diff --git ", "@@ ", "--- ")) or _MBOX_FROM.match(line):
            break
        key, _, value = line.partition(" ")
        if line.startswith("new file mode "):
            patch.status, patch.old_path, patch.new_mode = "added", None, line.rsplit(" ", 1)[1]
        elif line.startswith("deleted file mode "):
            patch.status, patch.new_path, patch.old_mode = "deleted", None, line.rsplit(" ", 1)[1]
        elif key in ("old", "new") and value.startswith("mode "):
            setattr(patch, f"{key}_mode", value[5:].strip())
        elif line.startswith(("rename from ", "copy from ")):
            patch.old_path = unquote(line.split(" ", 2)[2], origin, i + 1)
            patch.status = "renamed" if key == "rename" else "copied"
        elif line.startswith(("rename to ", "copy to ")):
            patch.new_path = unquote(line.split(" ", 2)[2], origin, i + 1)
        elif line.startswith(("similarity index ", "dissimilarity index ")):
            digits = line.rsplit(" ", 1)[1].rstrip("%")
            patch.similarity = int(digits) if digits.isdigit() else None
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            patch.binary = True
            i = _skip_binary(lines, i + 1) if line == "GIT binary patch" else i + 1
            continue
        elif line.startswith("index ") or not line.strip():
            pass
        else:
            break  # a mailbox's trailing signature or text between patches
        i += 1
    return i


def _skip_binary(lines: list[str], i: int) -> int:
    """Skip the base85 blocks of a `GIT binary patch` (forward and reverse)."""
    while i < len(lines) and lines[i].startswith(("literal ", "delta ")):
        i += 1
        while i < len(lines) and lines[i].strip():
            i += 1
        i += 1  # the blank line ending the block
    return i


def _hunk(lines: list[str], i: int, patch: FilePatch, origin: str) -> int:
    start = i + 1
    match = _HUNK.match(lines[i])
    if match is None:
        raise InputError(origin, f"malformed hunk header {lines[i][:60]!r}", where=f"line {start}")
    old_line, new_line = int(match[1]), int(match[3])
    old_left = 1 if match[2] is None else int(match[2])
    new_left = 1 if match[4] is None else int(match[4])
    hunk = Hunk(context=match[5], old_start=old_line, new_start=new_line)
    patch.hunks.append(hunk)
    i += 1
    while old_left > 0 or new_left > 0:
        if i >= len(lines):
            raise InputError(
                origin, "the diff ends inside a hunk (truncated?)", where=f"hunk at line {start}"
            )
        line = lines[i].removesuffix("\r")
        marker, body = line[:1], line[1:]
        if marker in ("+", "-", " ", ""):
            hunk.lines.append((marker or " ", body))
        if marker == "+" and new_left > 0:
            patch.added.append((new_line, body))
            new_line, new_left = new_line + 1, new_left - 1
        elif marker == "-" and old_left > 0:
            patch.removed.append((old_line, body))
            old_line, old_left = old_line + 1, old_left - 1
        elif marker in (" ", "") and old_left > 0 and new_left > 0:
            # some tools strip the trailing blank of an empty context line
            old_line, new_line = old_line + 1, new_line + 1
            old_left, new_left = old_left - 1, new_left - 1
        elif marker != "\\":  # "\ No newline at end of file" counts as nothing
            raise InputError(
                origin,
                f"the hunk holds fewer lines than its header says (line {i + 1}: {line[:40]!r})",
                where=f"hunk at line {start}",
            )
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):
        i += 1
    return i


def _settle_status(patch: FilePatch) -> None:
    if patch.status in ("renamed", "copied"):
        return
    if patch.old_path is None:
        patch.status = "added"
    elif patch.new_path is None:
        patch.status = "deleted"
