"""Triage: analysis records with an append-only history; VEX statements become analysis records.

- ``analysis`` (the scope of a record) and ``analysis_entry`` (its decisions), both append-only: triggers
  refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
- Every ``vex_statement`` row becomes an entry of the record of its (vulnerability, package, version),
  every system: its status as the analysis state (not_affected → not_affected, affected → exploitable,
  fixed → resolved, under_investigation → in_triage: one to one, so it maps back), justification,
  impact statement and source kept, ``stated_at`` as the decision time, ``created_at`` as the recording
  time, the source as the actor (the table kept no author), aliases merged on the record. Then
  ``vex_statement`` is dropped: VEX is a view of the analysis records from here on.
- ``exposure.vex_excluded`` (bool) becomes ``excluded_by`` (``""`` or the excluding state; rows that were
  excluded become ``not_affected``, the only state VEX could exclude with) and ``analysis_id`` is added;
  the interval's unique key takes ``excluded_by`` in place of the flag.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATE_OF_STATUS = {
    "not_affected": "not_affected",
    "affected": "exploitable",
    "fixed": "resolved",
    "under_investigation": "in_triage",
}
_STATUS_OF_STATE = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "exploitable": "affected",
    "accepted_risk": "affected",
    "resolved": "fixed",
    "in_triage": "under_investigation",
}
_APPEND_ONLY = ("analysis", "analysis_entry")


def scope_key(vulnerability: str, package: str, version: str, system_id: int | None) -> str:
    # A frozen copy of store.queries.triage.scope_key (migrations never import the code they migrate).
    raw = "\x00".join((vulnerability, package, version, "" if system_id is None else str(system_id)))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _create_tables() -> None:
    op.create_table(
        "analysis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("vulnerability", sa.String(length=255), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], name=op.f("fk_analysis_org_id_organization")),
        sa.ForeignKeyConstraint(["system_id"], ["system.id"], name=op.f("fk_analysis_system_id_system")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis")),
        sa.UniqueConstraint("org_id", "scope_key", name=op.f("uq_analysis_org_id_scope_key")),
    )
    with op.batch_alter_table("analysis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_org_id"), ["org_id"], unique=False)
    op.create_table(
        "analysis_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("previous_state", sa.String(length=20), nullable=True),
        sa.Column("justification", sa.String(length=100), nullable=True),
        sa.Column("impact_statement", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approver", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=50), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"], ["analysis.id"], name=op.f("fk_analysis_entry_analysis_id_analysis")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_entry")),
    )
    with op.batch_alter_table("analysis_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_entry_analysis_id"), ["analysis_id"], unique=False)


def _migrate_vex(conn: sa.Connection) -> None:
    vex = sa.table(
        "vex_statement",
        *(
            sa.column(name)
            for name in ("id", "org_id", "vulnerability", "package", "version", "status", "justification")
        ),
        sa.column("aliases", sa.JSON()),
        sa.column("impact_statement"),
        sa.column("source"),
        sa.column("stated_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    analysis = sa.table(
        "analysis",
        sa.column("id"),
        sa.column("org_id"),
        sa.column("vulnerability"),
        sa.column("aliases", sa.JSON()),
        sa.column("package"),
        sa.column("version"),
        sa.column("system_id"),
        sa.column("scope_key"),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    entry = sa.table(
        "analysis_entry",
        *(
            sa.column(name)
            for name in (
                "analysis_id", "state", "previous_state", "justification", "impact_statement", "comment",
                "expires_at", "approver", "actor", "actor_role", "source",
            )
        ),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
    )
    rows = conn.execute(
        sa.select(vex).order_by(
            vex.c.org_id, vex.c.vulnerability, vex.c.package, vex.c.version, vex.c.stated_at,
            vex.c.created_at, vex.c.id,
        )
    ).all()
    scopes: dict[tuple[int, str, str, str], list[Any]] = {}
    for r in rows:
        scopes.setdefault((r.org_id, r.vulnerability, r.package, r.version), []).append(r)
    for (org_id, vulnerability, package, version), statements in scopes.items():
        aliases = sorted({a for s in statements for a in (s.aliases or ())})
        analysis_id = conn.execute(
            analysis.insert()
            .values(
                org_id=org_id,
                vulnerability=vulnerability,
                aliases=aliases,
                package=package,
                version=version,
                system_id=None,
                scope_key=scope_key(vulnerability, package, version, None),
                created_at=min(s.created_at for s in statements),
            )
            .returning(analysis.c.id)
        ).scalar_one()
        previous: str | None = None
        for s in statements:  # in order of their own time: each says what it changed from
            state = _STATE_OF_STATUS.get(s.status, s.status)
            conn.execute(
                entry.insert().values(
                    analysis_id=analysis_id,
                    state=state,
                    previous_state=previous,
                    justification=s.justification,
                    impact_statement=s.impact_statement,
                    comment=None,
                    expires_at=None,
                    approver=None,
                    actor=s.source[:200],
                    actor_role="vex statement",
                    source=s.source,
                    decided_at=s.stated_at,
                    recorded_at=s.created_at,
                )
            )
            previous = state


def _append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION analysis_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'analysis records and their history are append-only: % on % refused', "
            "TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION analysis_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION analysis_append_only()"
            )
        return
    for table in _APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'analysis records and their history are append-only: "
                f"{event} on {table} refused'); END"
            )


def _drop_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION analysis_append_only()")
        return
    for table in _APPEND_ONLY:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{event}")


def upgrade() -> None:
    conn = op.get_bind()
    _create_tables()
    _migrate_vex(conn)
    with op.batch_alter_table("vex_statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vex_statement_org_id"))
    op.drop_table("vex_statement")

    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded_by", sa.String(length=20), server_default="", nullable=False))
        batch_op.add_column(sa.Column("analysis_id", sa.Integer(), nullable=True))
    op.execute("UPDATE exposure SET excluded_by = 'not_affected' WHERE vex_excluded")
    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.drop_constraint("uq_exposure_interval", type_="unique")
        batch_op.drop_column("vex_excluded")
        batch_op.alter_column("excluded_by", server_default=None)
        batch_op.create_unique_constraint(
            "uq_exposure_interval", ["system_id", "package", "vuln_group", "first_seen", "excluded_by"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_exposure_analysis_id_analysis"), "analysis", ["analysis_id"], ["id"]
        )
    _append_only(conn.dialect.name)


def downgrade() -> None:
    """Back to VEX statements: per record without a system and per source, that source's latest entry
    (system-scoped records and the history before it cannot be said in the old table)."""
    conn = op.get_bind()
    _drop_append_only(conn.dialect.name)
    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_exposure_analysis_id_analysis"), type_="foreignkey")
        batch_op.drop_constraint("uq_exposure_interval", type_="unique")
        batch_op.add_column(sa.Column("vex_excluded", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE exposure SET vex_excluded = (excluded_by <> '')")
    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.drop_column("analysis_id")
        batch_op.drop_column("excluded_by")
        batch_op.alter_column("vex_excluded", server_default=None)
        batch_op.create_unique_constraint(
            "uq_exposure_interval", ["system_id", "package", "vuln_group", "first_seen", "vex_excluded"]
        )
    op.create_table(
        "vex_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("vulnerability", sa.String(length=255), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("justification", sa.String(length=100), nullable=True),
        sa.Column("impact_statement", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("stated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_vex_statement_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vex_statement")),
        sa.UniqueConstraint(
            "org_id", "vulnerability", "package", "version", "source",
            name=op.f("uq_vex_statement_org_id_vulnerability_package_version_source"),
        ),
    )
    with op.batch_alter_table("vex_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vex_statement_org_id"), ["org_id"], unique=False)
    a = sa.table(
        "analysis",
        *(sa.column(n) for n in ("id", "org_id", "vulnerability", "package", "version", "system_id")),
        sa.column("aliases", sa.JSON()),
    )
    e = sa.table(
        "analysis_entry",
        *(sa.column(n) for n in ("id", "analysis_id", "state", "justification", "impact_statement", "source")),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
    )
    rows = conn.execute(
        sa.select(
            a.c.org_id, a.c.vulnerability, a.c.aliases, a.c.package, a.c.version, e.c.state,
            e.c.justification, e.c.impact_statement, e.c.source, e.c.decided_at, e.c.recorded_at,
        )
        .select_from(a.join(e, e.c.analysis_id == a.c.id))
        .where(a.c.system_id.is_(None))
        .order_by(e.c.decided_at, e.c.id)
    ).all()
    latest: dict[tuple[Any, ...], Any] = {}
    for r in rows:
        latest[(r.org_id, r.vulnerability, r.package, r.version, r.source)] = r
    vex = sa.table(
        "vex_statement",
        *(sa.column(n) for n in ("org_id", "vulnerability", "package", "version", "status", "justification")),
        sa.column("aliases", sa.JSON()),
        sa.column("impact_statement"),
        sa.column("source"),
        sa.column("stated_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    for r in latest.values():
        conn.execute(
            vex.insert().values(
                org_id=r.org_id,
                vulnerability=r.vulnerability,
                aliases=r.aliases if isinstance(r.aliases, list) else json.loads(r.aliases or "[]"),
                package=r.package,
                version=r.version,
                status=_STATUS_OF_STATE.get(r.state, r.state),
                justification=r.justification,
                impact_statement=r.impact_statement,
                source=r.source,
                stated_at=r.decided_at,
                created_at=r.recorded_at,
            )
        )
    with op.batch_alter_table("analysis_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_entry_analysis_id"))
    op.drop_table("analysis_entry")
    with op.batch_alter_table("analysis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_org_id"))
    op.drop_table("analysis")
