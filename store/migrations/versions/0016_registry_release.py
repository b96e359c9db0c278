"""Registry release times of package versions; an advisory's disclosure time and last-resort flag.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

Stored Akrites records get ``disclosed_at`` and ``last_resort_maintainer`` from their raw JSON here, so
that the figures built on them do not wait for the next import (which leaves unchanged records alone).
CSAF records keep no disclosure time until they are imported again: their ``published`` (the document's
``initial_release_date``) stands in for it meanwhile, as the definition allows.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def upgrade() -> None:
    op.create_table(
        "registry_release",
        sa.Column("ecosystem", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=256), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ecosystem", "name", "version", name=op.f("pk_registry_release")),
    )
    with op.batch_alter_table("advisory") as batch:
        batch.add_column(sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("last_resort_maintainer", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    conn = op.get_bind()
    advisory = sa.table(
        "advisory",
        sa.column("id", sa.Integer()),
        sa.column("source", sa.String()),
        sa.column("raw", sa.LargeBinary()),
        sa.column("disclosed_at", sa.DateTime(timezone=True)),
        sa.column("last_resort_maintainer", sa.Boolean()),
    )
    rows = conn.execute(sa.select(advisory.c.id, advisory.c.raw).where(advisory.c.source == "akrites"))
    for pk, raw in rows.fetchall():
        try:
            record = json.loads(zlib.decompress(raw))
        except (zlib.error, ValueError):
            continue
        block = ((record.get("database_specific") or {}) if isinstance(record, dict) else {}).get("akrites")
        if not isinstance(block, dict):
            continue
        conn.execute(
            advisory.update()
            .where(advisory.c.id == pk)
            .values(
                disclosed_at=_moment(block.get("disclosed_at")),
                last_resort_maintainer=block.get("last_resort_maintainer") is True,
            )
        )


def downgrade() -> None:
    op.drop_table("registry_release")
    for column in ("last_resort_maintainer", "disclosed_at"):
        op.execute(sa.text(f"ALTER TABLE advisory DROP COLUMN {column}"))
