"""Signed checkpoints from the service: on request for a scraper, and on a schedule to a folder.

The service signs with the key `commander serve --checkpoint-key` (or
COMMANDER_CHECKPOINT_KEY) gives it; the key never enters the store. `GET
/v1/audit/checkpoint` answers a freshly signed checkpoint of the chain head,
for a scraper to keep where the database's writers cannot reach; with
`--checkpoint-every`, a thread also writes one into `--checkpoint-dir`
whenever the head has moved since the last.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool

from orchestrator.errors import CheckpointError, CommanderError
from orchestrator.service.auth import Permission
from orchestrator.service.deps import State, require
from orchestrator.store.checkpoints import sign_head, write_checkpoint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from orchestrator.clock import Clock
    from orchestrator.store import Store

log = logging.getLogger("commander.service")
audit_router = APIRouter(prefix="/v1/audit", tags=["audit"])


@audit_router.get(
    "/checkpoint",
    summary="A signed checkpoint of the audit chain's head (seq, hash, time).",
    responses={
        404: {"description": "The service was started without a checkpoint key."},
        409: {"description": "The chain is empty: nothing to sign yet."},
    },
    dependencies=[Depends(require(Permission.METRICS))],
)
async def checkpoint(state: State) -> dict[str, Any]:
    """Sign the head as it stands; keep the answer outside the database."""
    key = state.options.checkpoint_key
    if key is None:
        raise HTTPException(
            404, "this service signs no checkpoints: start it with a checkpoint key"
        )
    try:
        signed = await run_in_threadpool(sign_head, state.store, key, state.clock())
    except CheckpointError as exc:
        raise HTTPException(409, str(exc)) from None
    return signed.to_json_dict()


class CheckpointSchedule:
    """A daemon thread that writes a checkpoint into a folder every period the head moved."""

    def __init__(
        self,
        store: Store,
        key: Ed25519PrivateKey,
        folder: Path,
        every: timedelta,
        clock: Clock,
    ) -> None:
        self._store, self._key, self._folder = store, key, folder
        self._every, self._clock = every, clock
        self._stop = threading.Event()
        self._last_seq = 0
        self._thread = threading.Thread(target=self._run, name="commander-checkpoints", daemon=True)

    def start(self) -> None:
        """Write the first checkpoint now, then one every period."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the checkpoint being written, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def write_once(self) -> Path | None:
        """Sign and write the head unless it has not moved; the file written, if any."""
        signed = sign_head(self._store, self._key, self._clock())
        if signed.seq == self._last_seq:
            return None
        written = write_checkpoint(signed, self._folder)
        self._last_seq = signed.seq
        return written

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.write_once()
            except CommanderError as exc:  # an empty chain, an unreachable store: try again later
                log.warning("checkpoint not written: %s", exc)
            self._stop.wait(self._every.total_seconds())
