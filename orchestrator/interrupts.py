"""Ctrl-C during `commander review`: either nothing is recorded, or the decision is reported.

A SIGINT before the decision's write begins stops the review: nothing is in
the store and the process exits 130 ("interrupted; nothing recorded"). Once
the write has begun the signal waits for it; when the write commits, the
decision exists, so the command finishes printing it and exits with the
decision's own code (a CI job must not read "interrupted" for a change the
audit trail shows as escalated). A write that fails with a signal waiting
still exits 130.

Only the single-file CLI review installs the handler (`guarded`); elsewhere
(the service's threads, folder reviews) `recording` changes nothing.

Test hook: with `COMMANDER_TEST_PAUSE=before-record` or `after-record`, and
only while pytest runs the process (`PYTEST_CURRENT_TEST` set), the review
writes "commander: test pause at POINT" to stderr and waits up to ten
seconds there, so a test can send a real SIGINT at a known moment.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process stopped by Ctrl-C
_PAUSE_SECONDS = 10.0


class _State:
    installed = False
    holding = False  # a decision's write is under way: a signal waits
    recorded = False  # the decision is in the store: a signal is only noted
    waiting = False  # a signal arrived while holding or after recording


_state = _State()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C before the decision was recorded: nothing was written."""


@contextmanager
def guarded() -> Iterator[None]:
    """Handle SIGINT as the module says for the duration of one CLI review."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _state.installed, _state.holding, _state.recorded, _state.waiting = True, False, False, False
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _state.installed = False


@contextmanager
def recording() -> Iterator[None]:
    """The decision's write: a SIGINT waits for it; after it commits, the review goes on."""
    if not _state.installed:
        yield
        return
    _pause("before-record")
    _state.holding = True
    try:
        yield
    except BaseException:
        _state.holding = False
        if _state.waiting:
            raise Interrupted from None  # nothing was recorded: stop as asked
        raise
    _state.holding = False
    _state.recorded = True
    _pause("after-record")


def interrupted_after_recording() -> bool:
    """Whether a SIGINT arrived once the decision was being or had been recorded."""
    return _state.waiting and _state.recorded


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    if _state.holding or _state.recorded:
        _state.waiting = True
        return
    raise Interrupted


def _pause(point: str) -> None:
    if os.environ.get("COMMANDER_TEST_PAUSE") != point or "PYTEST_CURRENT_TEST" not in os.environ:
        return
    sys.stderr.write(f"commander: test pause at {point}\n")
    sys.stderr.flush()
    deadline = time.monotonic() + _PAUSE_SECONDS
    while time.monotonic() < deadline and not _state.waiting:
        time.sleep(0.02)
