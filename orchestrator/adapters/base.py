"""Where every input enters: read it, decode it, recognise its kind, hand it to its adapter.

    read_input(path) -> bytes ─▶ load_proposal ─▶ decode_text ─▶ detect_kind ─▶ adapter ─▶ Proposal

Adapters are looked up in `_ADAPTERS` and imported on first use, so a review
of a plan never pays for the parsers of the other kinds.
"""

from __future__ import annotations

import codecs
import importlib
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Protocol, cast, get_args

from orchestrator.errors import InputError, UsageError
from orchestrator.gc_control import paused_gc
from orchestrator.models import Proposal, ProposalKind, Source

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_MAX_INPUT_BYTES: Final = 1 << 30
STDIN_NAME: Final = "<stdin>"
_CHUNK: Final = 1 << 20
_UNKNOWN_FORMAT: Final = (
    "not a Terraform plan, Kubernetes manifest, diff or SQL migration (use --kind to say which)"
)


@dataclass(frozen=True, kw_only=True)
class Submission:
    """Who submits an input, why, and for which environment (the raw name given)."""

    source: Source
    actor: str
    intent: str = ""
    environment: str | None = None


@dataclass(frozen=True, kw_only=True)
class AdapterOptions:
    """What an input cannot say about itself, for the adapters that take options."""

    # Kubernetes: review the deletion of every object in the input instead of its apply.
    delete: bool = False
    # Git diffs: configs/diff-paths.yaml as (data, text, origin); None reads the shipped file.
    diff_paths: tuple[Any, str, str] | None = None
    # Tool calls: the config directory holding commands.yaml (None: the shipped one), and
    # where its compiled form is cached (None: nowhere).
    config_dir: Path | None = None
    cache_dir: Path | None = None


class Adapter(Protocol):
    """Turns the decoded text of one input kind into a Proposal."""

    def __call__(
        self,
        text: str,
        origin: str,
        submission: Submission,
        *,
        document: object = None,
        sensitive_keys: tuple[str, ...] | None = None,
        options: AdapterOptions | None = None,  # only for kinds in _TAKES_OPTIONS
    ) -> Proposal: ...


# kind -> "module:function"; a kind without an entry is recognised but not reviewable yet.
_ADAPTERS: Final[dict[str, str]] = {
    "terraform": "orchestrator.adapters.terraform:parse_plan",
    "kubernetes": "orchestrator.adapters.kubernetes:parse_manifests",
    "diff": "orchestrator.adapters.gitdiff:parse_diff",
    "sql": "orchestrator.adapters.sql:parse_sql",
    "command": "orchestrator.adapters.commands:parse_tool_call",
}
_TAKES_OPTIONS: Final = frozenset({"kubernetes", "diff", "sql", "command"})


def read_input(path: str, *, max_bytes: int) -> tuple[bytes, str]:
    """Read a file, or standard input for "-", refusing more than `max_bytes`."""
    if path == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise InputError(STDIN_NAME, "standard input is not available")
        data = _read_bounded(stdin, STDIN_NAME, max_bytes)
        origin = STDIN_NAME
    else:
        origin = path
        try:
            with open(path, "rb") as stream:
                info = os.fstat(stream.fileno())
                if stat.S_ISDIR(info.st_mode):
                    raise InputError(path, "is a directory, not a file")
                if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                    raise InputError(path, _too_large(info.st_size, max_bytes))
                data = _read_bounded(
                    stream, path, max_bytes, size=info.st_size if stat.S_ISREG(info.st_mode) else 0
                )
        except IsADirectoryError:
            raise InputError(path, "is a directory, not a file") from None
        except FileNotFoundError:
            raise InputError(path, "no such file") from None
        except PermissionError:
            raise InputError(path, "cannot read: permission denied") from None
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise InputError(origin, "empty input")
    return data, origin


def _read_bounded(stream: BinaryIO, origin: str, max_bytes: int, *, size: int = 0) -> bytes:
    # Chunked so that an endless pipe stops at the limit instead of filling memory. A
    # file whose `size` is known is read in one piece, so a large plan is copied once.
    chunks: list[bytes] = []
    read = 0
    want = size + 1 if size else _CHUNK  # one byte more shows a file that grew meanwhile
    while chunk := stream.read(min(want, max_bytes + 1 - read)):
        chunks.append(chunk)
        read += len(chunk)
        if read > max_bytes:
            raise InputError(origin, _too_large(None, max_bytes))
        want = _CHUNK
    return b"".join(chunks)


def _too_large(size: int | None, max_bytes: int) -> str:
    limit = f"the {human_size(max_bytes)} limit (max_input_bytes in commander.yaml)"
    if size is None:
        return f"input is over {limit}"
    return f"input is {human_size(size)}, over {limit}"


_UNITS: Final = ("B", "KB", "MB", "GB", "TB")


def human_size(size: int) -> str:
    """Format a byte count the way limits are written: 512 B, 1.0 GB (binary units)."""
    exponent = min(max(size.bit_length() - 1, 0) // 10, len(_UNITS) - 1)
    if exponent == 0:
        return f"{size} B"
    return f"{size / (1 << (10 * exponent)):.1f} {_UNITS[exponent]}"


_BOMS: Final = (
    # UTF-32 LE first: its BOM starts with the UTF-16 LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def decode_text(data: bytes, origin: str) -> str:
    """Decode UTF-8 (with or without BOM), or UTF-16/UTF-32 as Windows tools write them."""
    codec, label, skip = _sniff_encoding(data)
    try:
        # A memoryview skips the BOM without copying a file of hundreds of MB.
        return str(memoryview(data)[skip:], codec)
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        raise InputError(
            origin, f"not valid {label} text at byte offset {offset} ({exc.reason})"
        ) from None


def _sniff_encoding(data: bytes) -> tuple[str, str, int]:
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            return codec, label, len(bom)
    # Without a BOM, text that starts with an ASCII character shows its width in NULs.
    head = data[:4]
    if len(head) == 4 and head[0] and not any(head[1:]):
        return "utf-32-le", "UTF-32", 0
    if len(head) == 4 and not any(head[:3]) and head[3]:
        return "utf-32-be", "UTF-32", 0
    if len(head) >= 2 and head[0] and not head[1]:
        return "utf-16-le", "UTF-16", 0
    if len(head) >= 2 and not head[0] and head[1]:
        return "utf-16-be", "UTF-16", 0
    return "utf-8", "UTF-8", 0


_JSON_START = re.compile(r"\s*[\[{]")


def looks_like_json(text: str) -> bool:
    """Whether the text starts like a JSON object or array (a cheap sniff, no parse)."""
    return _JSON_START.match(text) is not None


def load_json(text: str, origin: str) -> Any:
    """Parse JSON text, reporting where it breaks."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            origin, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise InputError(origin, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise InputError(origin, "invalid JSON: nested too deeply") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _is_terraform_plan(document: object) -> bool:
    return (
        isinstance(document, dict)
        and "format_version" in document
        and any(key in document for key in _PLAN_KEYS)
    )


_PLAN_KEYS: Final = (
    "resource_changes", "planned_values", "prior_state", "configuration", "terraform_version",
)  # fmt: skip


def _is_kubernetes_document(document: object) -> bool:
    # `kubectl get -o json` writes one object or a List; a bare array of objects is accepted too.
    items = document if isinstance(document, list) else [document]
    return bool(items) and all(
        isinstance(item, dict) and ("apiVersion" in item or "kind" in item) for item in items
    )


# Checked in order; the first that claims a parsed JSON document names its kind.
_DOCUMENT_KINDS: Final[tuple[tuple[ProposalKind, Callable[[object], bool]], ...]] = (
    ("terraform", _is_terraform_plan),
    ("kubernetes", _is_kubernetes_document),
)
# Checked in order on text that is not JSON, by content alone ("module:function", imported
# on first use). A diff goes first: the files it changes may hold manifests or SQL.
_TEXT_KINDS: Final[tuple[tuple[ProposalKind, str], ...]] = (
    ("diff", "orchestrator.adapters.gitdiff_parse:looks_like_diff"),
    ("kubernetes", "orchestrator.adapters.kubernetes_objects:looks_like_manifest"),
    ("sql", "orchestrator.adapters.sql_split:looks_like_sql"),
)


def _resolve(target: str) -> Any:
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)


def detect_kind_from_document(document: object) -> ProposalKind | None:
    """The kind of an already parsed JSON document, or None."""
    return next((kind for kind, claims in _DOCUMENT_KINDS if claims(document)), None)


def detect_kind(text: str, document: object = None) -> ProposalKind | None:
    """The kind of a decoded input; pass `document` when the JSON is already parsed."""
    if document is None and looks_like_json(text):
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return None
    if document is not None:
        return detect_kind_from_document(document)
    return next((kind for kind, claims in _TEXT_KINDS if _resolve(claims)(text)), None)


def load_proposal(
    data: bytes,
    origin: str,
    submission: Submission,
    *,
    kind: str = "auto",
    sensitive_keys: tuple[str, ...] | None = None,
    options: AdapterOptions | None = None,
) -> Proposal:
    """Decode an input, recognise (or take) its kind and build its Proposal."""
    kinds = get_args(ProposalKind)
    if kind != "auto" and kind not in kinds:
        raise UsageError(f"unknown kind {kind!r}: use auto, {', '.join(kinds)}")
    with paused_gc():
        return _load(data, origin, submission, kind, sensitive_keys, options=options)


def _load(
    data: bytes,
    origin: str,
    submission: Submission,
    kind: str,
    sensitive_keys: tuple[str, ...] | None,
    *,
    options: AdapterOptions | None = None,
) -> Proposal:
    text = decode_text(data, origin)
    if not text or text.isspace():
        raise InputError(origin, "empty input")
    document = None
    if kind == "auto":
        if looks_like_json(text):
            document = load_json(text, origin)
        chosen = detect_kind(text, document)
        if chosen is None:
            raise InputError(origin, _UNKNOWN_FORMAT)
    else:
        chosen = cast(ProposalKind, kind)
    if options is not None and options.delete and chosen != "kubernetes":
        raise UsageError(f"--delete applies to Kubernetes manifests, not to {chosen} input")
    target = _ADAPTERS.get(chosen)
    if target is None:
        raise InputError(origin, f"{chosen} input is not supported yet")
    adapter = cast(Adapter, _resolve(target))
    extra = {"options": options} if options is not None and chosen in _TAKES_OPTIONS else {}
    return adapter(
        text, origin, submission, document=document, sensitive_keys=sensitive_keys, **extra
    )


def type_name(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def child_path(parent: str, step: str | int) -> str:
    """Extend a JSON path: `resource_changes[3]`, `change.actions`, `variables["a.b"]`."""
    if isinstance(step, int):
        return f"{parent}[{step}]"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", step):
        return f"{parent}[{json.dumps(step)}]"
    return f"{parent}.{step}" if parent else step


def json_path(steps: Iterable[str | int]) -> str:
    """Spell a path kept as steps, as `child_path` would have built it: `a.b[3]`.

    Readers of large documents keep the steps and spell them only for an error.
    """
    text = ""
    for step in steps:
        text = child_path(text, step)
    return text


def expect_object(value: object, origin: str, where: str) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else fail naming the place."""
    if not isinstance(value, dict):
        raise InputError(origin, f"expected an object, got {type_name(value)}", where=where)
    return value


def expect_list(value: object, origin: str, where: str) -> list[Any]:
    """Return `value` if it is a JSON array, else fail naming the place."""
    if not isinstance(value, list):
        raise InputError(origin, f"expected a list, got {type_name(value)}", where=where)
    return value


def optional_str(value: object, origin: str, where: str) -> str | None:
    """Return `value` if it is a string or null, else fail naming the place."""
    if value is not None and not isinstance(value, str):
        raise InputError(origin, f"expected a string, got {type_name(value)}", where=where)
    return value


def optional_bool(value: object, origin: str, where: str, *, default: bool) -> bool:
    """Return `value` if it is a boolean, `default` if absent, else fail naming the place."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InputError(origin, f"expected a boolean, got {type_name(value)}", where=where)
    return value
