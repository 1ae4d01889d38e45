"""A record verifiable from the chain: raw-input digests, submission order, chain keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-05-20

* proposals.raw_sha256: the digest of each stored raw input, which every
  decision link from now on covers;
* change_submissions.chain_seq: the latest submission of a change is the
  last one recorded, not the one whose review started last;
* audit_chain.mac and chain_head.mac: HMACs under an optional chain key.

A store that already holds gate rows, recorded before their events carried
everything the rows hold, gets one `gate.adopted` event at the end of its
chain with every gate table's rows (and each raw input's digest): `audit
verify` checks those rows from this event on.
"""

from __future__ import annotations

import hashlib
import sqlalchemy as sa
from alembic import op

from orchestrator.clock import utc_now
from orchestrator.store.gate_common import chain_event
from orchestrator.store.gate_state import ADOPTED_EVENT, adoption_payload

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

HEX64 = sa.String(64)
_BATCH = 200


def upgrade() -> None:
    """Add the columns, fill them for what is recorded, and adopt the gate's state."""
    op.add_column("proposals", sa.Column("raw_sha256", HEX64, nullable=True))
    op.add_column("audit_chain", sa.Column("mac", HEX64, nullable=True))
    op.add_column("chain_head", sa.Column("mac", HEX64, nullable=True))
    op.add_column("change_submissions", sa.Column("chain_seq", sa.Integer(), nullable=True))
    conn = op.get_bind()
    _fill_raw_digests(conn)
    # Submissions so far: in the order their decisions were chained.
    conn.execute(
        sa.text(
            "UPDATE change_submissions SET chain_seq = (SELECT seq FROM audit_chain "
            "WHERE audit_chain.kind = 'decision' "
            "AND audit_chain.ref_id = change_submissions.decision_id)"
        )
    )
    with op.batch_alter_table("change_submissions") as batch:
        batch.alter_column("chain_seq", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("change_submissions_chain_seq_key", ["chain_seq"])
        batch.drop_index("ix_change_submissions_change")
        batch.create_index("ix_change_submissions_change", ["change_id", "chain_seq"])
    _adopt(conn)


def _fill_raw_digests(conn: sa.Connection) -> None:
    query = sa.text(
        "SELECT digest, raw_zlib FROM proposals WHERE digest > :after AND raw_zlib IS NOT NULL "
        "ORDER BY digest LIMIT :n"
    )
    update = sa.text("UPDATE proposals SET raw_sha256 = :sha WHERE digest = :digest")
    after = ""
    while rows := conn.execute(query, {"after": after, "n": _BATCH}).all():
        for row in rows:
            conn.execute(
                update, {"sha": hashlib.sha256(row.raw_zlib).hexdigest(), "digest": row.digest}
            )
        after = rows[-1].digest


def _adopt(conn: sa.Connection) -> None:
    """Chain the gate's state as it stands, when there is a chain to vouch for."""
    head = conn.execute(sa.text("SELECT seq FROM chain_head")).scalar()
    if not head:
        return
    payload = adoption_payload(conn)
    chain_event(conn, ADOPTED_EVENT, ref_id=None, actor=None, payload=payload, at=utc_now())


def downgrade() -> None:
    """The audit store is append-only: revisions are not undone."""
    raise NotImplementedError("the audit store does not downgrade")
