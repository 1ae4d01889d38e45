"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

After adding a revision, set HEAD_REVISION in orchestrator/store/migrate.py to it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | None = ${repr(branch_labels)}
depends_on: str | None = ${repr(depends_on)}


def upgrade() -> None:
    """Bring the schema up to this revision."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """The audit store is append-only: revisions are not undone."""
    raise NotImplementedError("the audit store does not downgrade")
