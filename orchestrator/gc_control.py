"""Keep Python's cycle collector out of the way of big, acyclic work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while a large, acyclic document is parsed and built.

    Every container json.loads and the adapters create counts towards the
    collector's thresholds, so a 10,000-change plan triggers dozens of full
    collections over an ever larger heap; pausing halves the time to read it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
