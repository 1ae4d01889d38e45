"""A cache of parsed topology files, keyed by their content, so each is parsed once.

Parsing a 100,000-service topology and building its graph costs about 0.4 s
a review; loading the built graph back with `marshal` costs 0.07 s. The key is the
SHA-256 of the file's bytes, so an edited file is never served stale. The
cache holds only what commander itself wrote into the user's own cache
directory, in a form (`marshal` of plain lists, strings and ints) that
runs no code; a file that does not load, or has another format version or
another key inside, is ignored and rebuilt. Failing to write is not an
error: the cache only saves time. Entries are marshalled tuples
`(FORMAT_VERSION, kind, content hash, payload)`; `kind` says whose payload.
The parsed policy files (config.py) are kept here the same way, under their
own `family` of entries, pruned apart from the topologies'.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

# Bump when the shape of a payload (`topology._encode`, `cache.graph_state`) changes.
FORMAT_VERSION = 2
# Smaller files parse about as fast as they hash and load: not worth a file in the cache.
# Measured: a 1,000-service topology (0.1 MB) builds in 8 ms from JSON and 100 ms from
# YAML, and loads from its entry in 2 ms; at 1 KiB the JSON parse and the entry cost alike.
MIN_BYTES = 1 << 10
# Old entries beyond these many (edited topologies) are removed when a new one is written.
KEEP = 4
_PREFIX = "topology-"  # then the kind of entry and the content hash
_SUFFIX = ".marshal"

T = TypeVar("T")


def cached(
    data: bytes,
    cache: Path | None,
    kind: str,
    build: Callable[[], T],
    *,
    encode: Callable[[T], object],
    decode: Callable[[Any], T | None],
    family: str = _PREFIX,
    min_bytes: int | None = None,
) -> T:
    """`build()`, or what `decode` makes of its `encode`d form stored for exactly these bytes.

    `decode` returns None for a form it does not recognise: the entry is rebuilt.
    `family` prefixes the entries' names; each family keeps its newest `KEEP`.
    `min_bytes` (default `MIN_BYTES`): smaller data is built, not cached.
    """
    if cache is None or len(data) < (MIN_BYTES if min_bytes is None else min_bytes):
        return build()
    key = hashlib.sha256(data).hexdigest()
    entry = cache / f"{family}{kind}-{key}{_SUFFIX}"
    stored = _load(entry, kind, key)
    if stored is not None:
        found = decode(stored[0])
        if found is not None:
            with contextlib.suppress(OSError):
                os.utime(entry)  # recently used: pruning keeps the newest
            return found
    value = build()
    _store(entry, (FORMAT_VERSION, kind, key, encode(value)), family)
    return value


def _load(entry: Path, kind: str, key: str) -> tuple[Any] | None:
    try:
        # Our own file in our own cache directory; marshal runs no code.
        value: Any = marshal.loads(entry.read_bytes())  # noqa: S302
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if type(value) is not tuple or len(value) != 4 or value[:3] != (FORMAT_VERSION, kind, key):
        return None
    return (value[3],)


def _store(entry: Path, content: tuple[object, ...], family: str) -> None:
    try:
        blob = marshal.dumps(cast(Any, content))
    except ValueError:
        return  # a value marshal cannot hold: parse each time
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=_SUFFIX)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        # Atomic: a reader sees the old entry, no entry, or the whole new one.
        os.replace(temp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return
    _prune(entry.parent, family)


def _prune(cache: Path, family: str) -> None:
    """Keep the newest `KEEP` entries of a family: each edit of a file leaves one behind."""
    try:
        entries = sorted(
            cache.glob(f"{family}*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # another process pruned first
