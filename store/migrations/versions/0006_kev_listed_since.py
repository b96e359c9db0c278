"""``kev_entry.listed_since``: when the stored KEV catalog first listed each CVE.

The catalog table is replaced on every changed import; the column carries each CVE's first listing
across replacements, so the CRA register's "exploited known at" no longer depends on the feed's last
fetch time. Rows stored before this revision take the catalog's recorded fetch time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kev_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listed_since", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE kev_entry SET listed_since = (SELECT fetched_at FROM feed_state WHERE name = 'kev')"
    )


def downgrade() -> None:
    with op.batch_alter_table("kev_entry", schema=None) as batch_op:
        batch_op.drop_column("listed_since")
