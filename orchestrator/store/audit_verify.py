"""`commander audit verify`: the whole record, in one snapshot, against the chain and its anchors.

verify.py walks the chain; this module opens the snapshot and hands it the
store's chain key and the signed checkpoints the caller trusts.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.store.chain import ChainReport
from orchestrator.store.store import Store
from orchestrator.store.verify import Anchor, verify


def verify_audit(store: Store, *, anchors: Sequence[Anchor] = ()) -> ChainReport:
    """Verify the chain and everything it vouches for; name the first row that disagrees."""
    with store.reading("verify the audit record", snapshot=True) as conn:
        return verify(conn, key=store.chain_key, anchors=anchors)
