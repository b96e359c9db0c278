"""Queries on systems, their snapshots and the component sets the snapshots point at.

One row type per thing read: ``SystemRow`` wherever systems are listed (the API, the CLI, exports,
exposure reports), ``SnapshotRow`` for snapshots. Every read that takes an organization name scopes by
it, so one tenant never sees another's systems or snapshots.

Writes are set-based, never a Python loop of ORM adds: a set's package versions go to a temporary
staging table in one executemany, and two ``INSERT … SELECT`` statements upsert them
(``ON CONFLICT DO NOTHING``, on both dialects) and link them to the set (see ``_store_members``).

Raw SBOM bytes are compressed with zlib (level 6) before storage. Measured here on the 349 kB
Dependency-Track BOM: zlib-6 4.4× in 5 ms, lzma-6 5.4× in 74 ms; for the 50 MB size limit lzma would
add seconds to an upload for 20 % less space, so zlib it is (the ``compression`` column leaves room
to change that per row).

Lists of ids are sent in chunks (``_CHUNK``) to stay under SQLite's bound-parameter limit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shlex
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.compression import DecompressionError, inflate_bounded
from core.errors import ConflictError, InputError, NotFoundError, StorageError
from core.packages import PackageRef
from core.settings import DEFAULT_MAX_SBOM_BYTES
from core.systems import criticality_problem, normalized_tags, owner_problem, tags_problem
from core.text import system_name_problem
from core.time import require_utc, rfc3339, utcnow
from store.queries.changes import lock_systems, mark_at_commit
from store.queries.organizations import get_organization, organization_id
from store.sql import chunks, rows_of, storable_id
from store.sql import dialect_insert as _insert
from store.sql import table_of as _table
from store.tables.cra import CraCaseRow, CraPresenceRow
from store.tables.exposures import ExposureRow, ExposureState
from store.tables.jobs import UploadJob
from store.tables.notifications import Event
from store.tables.organizations import Organization
from store.tables.packages import PackageVersion
from store.tables.systems import ComponentSet, ComponentSetMember, NotAssessableComponent, Snapshot, System
from store.tables.triage import AnalysisRow

COMPRESSION = "zlib"
_CHUNK = 900


@functools.cache
def _pv_stage(dialect: str) -> sa.Table:
    """The staging table's definition (see _staging_table), not part of the schema: not on
    SQLModel.metadata, so migrations never see it. One per dialect: a ``postgresql_*`` option makes
    SQLAlchemy load its PostgreSQL dialect (~20 ms of a command's start) even on SQLite."""
    options: dict[str, Any] = {"postgresql_on_commit": "DROP"} if dialect == "postgresql" else {}
    return sa.Table(
        "pv_stage",
        sa.MetaData(),
        sa.Column("ecosystem", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("purl", sa.String(), nullable=False),
        prefixes=["TEMPORARY"],
        **options,
    )


@dataclass(frozen=True, slots=True)
class UnassessedComponent:
    """A component kept in a set although it cannot be matched, with the stable reason code."""

    name: str
    version: str | None
    purl: str | None
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class NewSnapshot:
    """Everything a snapshot row needs, prepared (parsed, classified, hashed) before any write."""

    observed_at: datetime
    format: str
    spec_version: str
    serial_number: str | None
    subject: str | None
    sha256: str
    raw: bytes
    quality: list[dict[str, Any]]
    packages: Sequence[PackageRef]
    unassessed: Sequence[UnassessedComponent]
    component_count: int
    release_label: str | None = None


@dataclass(frozen=True, slots=True)
class SystemRow:
    """A system with its attributes and the span of its snapshots (``None``/0 without snapshots)."""

    id: int
    name: str
    environment: str
    internet_exposed: bool
    criticality: str
    cadence_days: int
    release_label: str | None
    created_at: datetime
    snapshot_count: int
    first_observed_at: datetime | None
    last_observed_at: datetime | None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    decommissioned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SystemCounts:
    """What deleting a system would delete with it, and what keeps it from being deleted."""

    snapshots: int
    exposures: int
    upload_jobs: int
    # Records kept as evidence, which refuse the deletion: system-scoped analysis records (append-only
    # by trigger) and the manufacturer's CRA Article 14 records about the system.
    analyses: int
    cra_cases: int


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """A snapshot without its raw bytes and quality flags."""

    id: int
    observed_at: datetime
    received_at: datetime
    format: str
    spec_version: str
    component_count: int
    not_assessable_count: int
    component_set_id: int
    sha256: str
    release_label: str | None


@dataclass(frozen=True, slots=True)
class SnapshotComponents:
    packages: list[PackageRef]
    unassessed: list[UnassessedComponent]


# --- systems -------------------------------------------------------------------------------------


SYSTEM_ATTRIBUTES = ("environment", "internet_exposed", "criticality", "cadence_days", "owner", "tags")


def _checked(name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """The settable attributes given (``None``: left as they are), validated by the ``core.systems``
    rules and in stored form (an empty owner clears it; tags de-duplicated and sorted)."""
    values = {k: v for k, v in attributes.items() if k in SYSTEM_ATTRIBUTES and v is not None}
    where = f"system {name!r}"
    if "criticality" in values and (problem := criticality_problem(values["criticality"])):
        raise InputError(f"{where}: criticality", problem)
    if "owner" in values:
        if problem := owner_problem(values["owner"]):
            raise InputError(f"{where}: owner", problem)
        values["owner"] = values["owner"].strip() or None
    if "tags" in values:
        if problem := tags_problem(values["tags"]):
            raise InputError(f"{where}: tags", problem)
        values["tags"] = normalized_tags(values["tags"])
    return values


def refuse_decommissioned(system: System, org_name: str) -> None:
    """A ``ConflictError`` for a decommissioned system: nothing is uploaded to it until recommissioned."""
    if system.decommissioned_at is not None:
        raise ConflictError(
            f"system {system.name!r} of organization {org_name!r} was decommissioned at "
            f"{rfc3339(system.decommissioned_at)}; uploads to it are refused until it is recommissioned "
            f"(patchgap systems recommission {shlex.quote(system.name)}, "
            f"or POST /api/v1/systems/{system.name}/recommission)"
        )


def refuse_uploads_to(session: Session, org_name: str, name: str) -> None:
    """Refuse an upload to the system ``name`` of ``org_name`` when it is decommissioned (nothing when
    the organization or the system does not exist yet: an upload may create them)."""
    org = session.exec(select(Organization).where(Organization.name == org_name)).first()
    if org is None or org.id is None or "\x00" in name:
        return
    system = find_system(session, org.id, name)
    if system is not None:
        refuse_decommissioned(system, org_name)


def find_system(session: Session, org_id: int, name: str) -> System | None:
    return session.exec(select(System).where(System.org_id == org_id, System.name == name)).first()


def get_system(session: Session, org_name: str, name: str) -> System:
    org = get_organization(session, org_name)
    assert org.id is not None
    system = find_system(session, org.id, name)
    if system is None:
        raise NotFoundError(f"system {name!r} does not exist in organization {org_name!r}")
    return system


def _refuse_bad_name(name: str, problem: str | None) -> None:
    # Every way a system comes to exist (POST /systems, a Dependency-Track upload with autoCreate,
    # ``patchgap ingest --system``) ends here, so one rule decides which names a system may have.
    if problem:
        raise InputError(f"system {name!r}", problem)


def get_or_create_system(
    session: Session, org: Organization, name: str, *, environment: str | None = None
) -> System:
    """The system ``name`` of ``org``, created on first use.

    ``environment`` is set when the system is created. Given for an existing system with another
    environment it is a ``ConflictError``: SBOMs of a staging deployment must not slip into the
    timeline of the production system of the same name.
    """
    assert org.id is not None
    problem = system_name_problem(name)
    # A system named before the rule existed keeps working; a NUL cannot even be looked up on PostgreSQL.
    system = None if problem and "\x00" in name else find_system(session, org.id, name)
    if system is None:
        _refuse_bad_name(name, problem)
        values: dict[str, Any] = {"org_id": org.id, "name": name, "created_at": utcnow()}
        if environment is not None:
            values["environment"] = environment
        defaults = {
            "internet_exposed": False,
            "criticality": "medium",
            "cadence_days": 7,
            "environment": "prod",
        }
        session.execute(_insert(session, System).values({**defaults, **values}).on_conflict_do_nothing())
        system = find_system(session, org.id, name)
        assert system is not None
        assert system.id is not None
        mark_at_commit(session, org.id, [system.id])
    refuse_decommissioned(system, org.name)
    if environment is not None and system.environment != environment:
        raise ConflictError(
            f"system {name!r} of organization {org.name!r} is in environment {system.environment!r}, "
            f"not {environment!r}"
        )
    return system


def _attribute_columns() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A ``SystemRow``'s columns of the system table: those before its snapshot span, those after."""
    system = _table(System)
    head = (
        system.c.id,
        system.c.name,
        system.c.environment,
        system.c.internet_exposed,
        system.c.criticality,
        system.c.cadence_days,
        system.c.release_label,
        system.c.created_at,
    )
    # Tags as text, decoded only when not empty: decoding 10,000 JSON values costs more than the rest.
    return head, (system.c.owner, sa.cast(system.c.tags, sa.Text), system.c.decommissioned_at)


def _systems(org_id: int, ids: Sequence[int] | None = None) -> sa.Select[Any]:
    """The ``SystemRow`` columns of an organization's systems, by name (the snapshot spans of ``ids``
    only, when given)."""
    system, snapshot = _table(System), _table(Snapshot)
    spans_of = sa.select(
        snapshot.c.system_id,
        sa.func.count(snapshot.c.id).label("count"),
        sa.func.min(snapshot.c.observed_at).label("first"),
        sa.func.max(snapshot.c.observed_at).label("last"),
    ).group_by(snapshot.c.system_id)
    if ids is not None:
        spans_of = spans_of.where(snapshot.c.system_id.in_(ids))
    spans = spans_of.subquery()
    head, tail = _attribute_columns()
    return (
        sa.select(*head, sa.func.coalesce(spans.c.count, 0), spans.c.first, spans.c.last, *tail)
        .select_from(system.outerjoin(spans, spans.c.system_id == system.c.id))
        .where(system.c.org_id == org_id)
        .order_by(system.c.name)
    )


# A system's snapshot span: (how many, the first observed, the last observed).
Span = tuple[int, datetime | None, datetime | None]


def snapshot_spans(session: Session, org_id: int, ids: Sequence[int] | None = None) -> dict[int, Span]:
    """System id → its :data:`Span` (the organization's systems, or those of ``ids`` that are its; those
    without snapshots are left out)."""
    system, snapshot = _table(System), _table(Snapshot)
    stmt = (
        sa.select(
            snapshot.c.system_id,
            sa.func.count(snapshot.c.id),
            sa.func.min(snapshot.c.observed_at),
            sa.func.max(snapshot.c.observed_at),
        )
        .join(system, system.c.id == snapshot.c.system_id)
        .where(system.c.org_id == org_id)
        .group_by(snapshot.c.system_id)
    )
    parts = [stmt]
    if ids is not None:
        parts = [stmt.where(snapshot.c.system_id.in_(c)) for c in chunks(sorted(set(ids)), _CHUNK)]
    return {int(r[0]): (int(r[1]), r[2], r[3]) for part in parts for r in session.execute(part)}


# What :func:`org_systems_spanned` keeps of a system between calls: its raw attributes and span, and
# the row built from them.
KeptSystem = tuple[tuple[Any, ...], SystemRow]


def org_systems_spanned(
    session: Session,
    org_id: int,
    spans: Mapping[int, Span],
    kept: Mapping[int, KeptSystem] | None = None,
    only: Sequence[int] | None = None,
) -> tuple[list[SystemRow], dict[int, KeptSystem]]:
    """:func:`org_systems`, with the snapshot spans given (a system missing from ``spans`` has none)
    instead of aggregated from every snapshot, for a caller that keeps them per system; and what to
    keep for the next call. The attributes are read raw (times and tags not decoded), and a system
    whose raw attributes and span are those ``kept`` reuses its row: only the others are decoded.

    ``only``: the caller knows that the organization's systems are those ``kept`` (none added or
    deleted since) and that no other system's attributes changed; only these are read again (every
    system is when one of them was renamed or deleted: the order is by name)."""
    system = _table(System)
    head, tail = _attribute_columns()
    columns = (*head, *tail)
    times = (system.c.created_at, system.c.decommissioned_at)
    raw = [sa.type_coerce(c, sa.Text) if any(c is t for t in times) else c for c in columns]
    none: Span = (0, None, None)
    found: list[tuple[int, tuple[tuple[Any, ...], Span]]] | None = None
    if only is not None and kept is not None:
        fresh = {
            r[0]: tuple(r)
            for chunk in chunks(sorted(set(only)), _CHUNK)
            for r in session.execute(sa.select(*raw).where(system.c.org_id == org_id, system.c.id.in_(chunk)))
        }
        # Each still there, under the name it had (index 1: the name).
        if all(sid in kept and sid in fresh and fresh[sid][1] == kept[sid][0][0][1] for sid in only):
            found = [
                (sid, (fresh[sid] if sid in fresh else k[0][0], spans.get(sid, none)))
                for sid, k in kept.items()
            ]
    if found is None:
        found = [
            (r[0], (tuple(r), spans.get(r[0], none)))
            for r in session.execute(sa.select(*raw).where(system.c.org_id == org_id).order_by(system.c.name))
        ]
    kept = kept or {}
    missing = {sid for sid, key in found if sid not in kept or kept[sid][0] != key}
    built: dict[int, SystemRow] = {}
    for chunk in chunks(sorted(missing), _CHUNK):
        stmt = sa.select(*columns).where(system.c.org_id == org_id, system.c.id.in_(chunk))
        built.update(
            {r[0]: _system_row((*r[:8], *spans.get(r[0], none), *r[8:])) for r in session.execute(stmt)}
        )
    out: list[SystemRow] = []
    keep: dict[int, KeptSystem] = {}
    for sid, key in found:
        row = built.get(sid) if sid in missing else kept[sid][1]
        if row is not None:  # a system gone between the two reads is left out
            out.append(row)
            keep[sid] = (key, row)
    return out, keep


def system_count(session: Session, org_id: int) -> int:
    """How many systems the organization has."""
    system = _table(System)
    stmt = sa.select(sa.func.count()).select_from(system).where(system.c.org_id == org_id)
    return int(session.execute(stmt).scalar_one())


def _tags(text: str | None) -> tuple[str, ...]:
    return () if text is None or text == "[]" else tuple(json.loads(text))


def _system_row(r: Sequence[Any]) -> SystemRow:
    return SystemRow(
        r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7], int(r[8]), r[9], r[10],
        r[11], _tags(r[12]), r[13],
    )  # fmt: skip


def list_systems(session: Session, org_name: str, name: str | None = None) -> list[SystemRow]:
    """The systems of ``org_name`` (or the one named ``name``) with attributes and snapshot span."""
    org_id = organization_id(session, org_name)
    stmt = _systems(org_id)
    if name is not None:
        stmt = stmt.where(_table(System).c.name == name)
    rows = [_system_row(r) for r in session.execute(stmt)]
    if name is not None and not rows:
        raise NotFoundError(f"system {name!r} does not exist in organization {org_name!r}")
    return rows


def org_systems(
    session: Session, org_id: int, name: str | None = None, *, ids: Sequence[int] | None = None
) -> list[SystemRow]:
    """The systems of the organization with this id (as :func:`list_systems`), or the one named, or
    those of ``ids`` that belong to it (their snapshot spans only are aggregated)."""
    if ids is not None:
        out: list[SystemRow] = []
        for chunk in chunks(sorted(set(ids)), _CHUNK):
            stmt = _systems(org_id, chunk).where(_table(System).c.id.in_(chunk))
            out.extend(_system_row(r) for r in session.execute(stmt))
        return sorted(out, key=lambda s: s.name)
    stmt = _systems(org_id)
    if name is not None:
        stmt = stmt.where(_table(System).c.name == name)
    return [_system_row(r) for r in session.execute(stmt)]


def org_system_ids(session: Session, org_id: int, name: str | None = None) -> list[int]:
    """The ids of the organization's systems (or of the one named), by name."""
    system = _table(System)
    stmt = sa.select(system.c.id).where(system.c.org_id == org_id).order_by(system.c.name)
    if name is not None:
        stmt = stmt.where(system.c.name == name)
    return list(session.execute(stmt).scalars())


def create_system(session: Session, org: Organization, name: str, attributes: dict[str, Any]) -> None:
    """Create a system with the given attributes; a name already taken in ``org`` is a conflict."""
    assert org.id is not None
    _refuse_bad_name(name, system_name_problem(name))
    if session.exec(select(System.id).where(System.org_id == org.id, System.name == name)).first():
        raise ConflictError(f"system {name!r} already exists in organization {org.name!r}")
    values = _checked(name, attributes)
    created = System(org_id=org.id, name=name, created_at=utcnow(), **values)
    session.add(created)
    session.flush()
    assert created.id is not None
    mark_at_commit(session, org.id, [created.id])


def update_system(session: Session, org_name: str, name: str, attributes: dict[str, Any]) -> None:
    """Set the given attributes (only those in ``SYSTEM_ATTRIBUTES``) of a system of ``org_name``."""
    org = get_organization(session, org_name)
    values = _checked(name, attributes)
    system = _table(System)
    found = session.execute(
        sa.select(system.c.id).where(system.c.org_id == org.id, system.c.name == name)
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"system {name!r} does not exist in organization {org_name!r}")
    if values:
        session.execute(sa.update(system).where(system.c.id == found).values(**values))
        assert org.id is not None
        mark_at_commit(session, org.id, [found])


def set_decommissioned(session: Session, org_name: str, name: str, at: datetime | None) -> int:
    """Mark a system of ``org_name`` decommissioned at ``at`` (``None``: active again); returns its id.

    Every snapshot must lie at or before the moment: a system cannot have run after it left service,
    and its timeline closes its open exposures there (``reports.timeline``).
    """
    target = get_system(session, org_name, name)
    assert target.id is not None
    if at is not None:
        snapshot = _table(Snapshot)
        last = session.execute(
            sa.select(sa.func.max(snapshot.c.observed_at)).where(snapshot.c.system_id == target.id)
        ).scalar_one_or_none()
        if last is not None and require_utc(last) > at:
            raise InputError(
                f"system {name!r}: decommissioned at",
                f"{rfc3339(at)} is before its last snapshot ({rfc3339(require_utc(last))})",
            )
    system = _table(System)
    session.execute(sa.update(system).where(system.c.id == target.id).values(decommissioned_at=at))
    mark_at_commit(session, target.org_id, [target.id])
    return target.id


def system_counts(session: Session, system_id: int) -> SystemCounts:
    """How many snapshots, exposure rows, upload jobs and system-scoped analysis records a system has."""
    target = session.get(System, system_id)
    assert target is not None
    snapshot, exposure, job, analysis, case = (
        _table(Snapshot),
        _table(ExposureRow),
        _table(UploadJob),
        _table(AnalysisRow),
        _table(CraCaseRow),
    )

    def count(stmt: sa.Select[Any]) -> int:
        return int(session.execute(stmt).scalar_one())

    return SystemCounts(
        count(sa.select(sa.func.count()).select_from(snapshot).where(snapshot.c.system_id == system_id)),
        count(sa.select(sa.func.count()).select_from(exposure).where(exposure.c.system_id == system_id)),
        count(
            sa.select(sa.func.count())
            .select_from(job)
            .where(job.c.org_id == target.org_id, job.c.system_name == target.name)
        ),
        count(sa.select(sa.func.count()).select_from(analysis).where(analysis.c.system_id == system_id)),
        count(sa.select(sa.func.count()).select_from(case).where(case.c.system_id == system_id)),
    )


def delete_system(session: Session, system_id: int) -> None:
    """Delete a system with its snapshots, exposure rows and build state, CRA presence facts and
    upload jobs, in the caller's transaction. Component sets stay (other snapshots may share them);
    events about it stay, detached (their ``system_id`` becomes NULL). The caller has checked that no
    analysis record or CRA case names the system (:class:`SystemCounts`)."""
    target = session.get(System, system_id)
    assert target is not None
    lock_systems(session, [system_id])  # before its build state (``store.queries.changes``: lock order)
    snapshot, job, event = _table(Snapshot), _table(UploadJob), _table(Event)
    # The foreign keys cascade on PostgreSQL and SQLite alike (store.db turns them on); these tables
    # are named anyway so that the deletion does not depend on a pragma.
    for table in (_table(ExposureRow), _table(ExposureState), _table(CraPresenceRow)):
        session.execute(sa.delete(table).where(table.c.system_id == system_id))
    session.execute(sa.update(event).where(event.c.system_id == system_id).values(system_id=None))
    session.execute(sa.delete(job).where(job.c.org_id == target.org_id, job.c.system_name == target.name))
    session.execute(sa.delete(snapshot).where(snapshot.c.system_id == system_id))
    session.execute(sa.delete(_table(System)).where(_table(System).c.id == system_id))
    # No row carries the change: the organization's clock moves, and readers notice the system gone.
    mark_at_commit(session, target.org_id)


def system_names(session: Session, org_id: int) -> list[str]:
    system = _table(System)
    return list(session.execute(sa.select(system.c.name).where(system.c.org_id == org_id)).scalars())


def names_by_id(session: Session, org_id: int, ids: Sequence[int] | None = None) -> dict[int, str]:
    """System id → name, of the organization's systems (or of those of ``ids`` that are its)."""
    system = _table(System)
    stmt = sa.select(system.c.id, system.c.name).where(system.c.org_id == org_id)
    return {r[0]: r[1] for r in rows_of(session, stmt, system.c.id, ids, _CHUNK)}


def system_orgs(session: Session, system_ids: Sequence[int]) -> dict[int, int]:
    """System id → organization id."""
    system = _table(System)
    out: dict[int, int] = {}
    for chunk in chunks(system_ids, _CHUNK):
        stmt = sa.select(system.c.id, system.c.org_id).where(system.c.id.in_(chunk))
        out.update({r[0]: r[1] for r in session.execute(stmt)})
    return out


# --- snapshots -----------------------------------------------------------------------------------


def find_snapshot_by_sha(session: Session, system_id: int, sha256: str) -> Snapshot | None:
    return session.exec(
        select(Snapshot).where(Snapshot.system_id == system_id, Snapshot.sha256 == sha256)
    ).first()


def list_snapshots(session: Session, org_name: str, system_name: str) -> list[SnapshotRow]:
    """The snapshots of one system in observed order (ties broken by arrival), whatever the upload order."""
    system = get_system(session, org_name, system_name)
    rows = session.exec(
        select(Snapshot)
        .where(Snapshot.system_id == system.id)
        .order_by(col(Snapshot.observed_at), col(Snapshot.id))
    )
    return [_snapshot_row(s) for s in rows]


def _snapshot_row(s: Snapshot) -> SnapshotRow:
    return SnapshotRow(
        id=cast(int, s.id),
        observed_at=s.observed_at,
        received_at=s.received_at,
        format=s.format,
        spec_version=s.spec_version,
        component_count=s.component_count,
        not_assessable_count=s.not_assessable_count,
        component_set_id=s.component_set_id,
        sha256=s.sha256,
        release_label=s.release_label,
    )


def snapshot_of(session: Session, org_name: str, snapshot_id: int) -> tuple[str, SnapshotRow]:
    """The name of its system and the row of one snapshot of ``org_name`` (another tenant's: not found)."""
    snapshot = get_snapshot(session, org_name, snapshot_id)
    name = session.exec(select(System.name).where(System.id == snapshot.system_id)).one()
    return name, _snapshot_row(snapshot)


def get_snapshot(session: Session, org_name: str, snapshot_id: int) -> Snapshot:
    """A snapshot by id, only if it belongs to ``org_name`` (another tenant's id is "not found")."""
    if not storable_id(snapshot_id):
        raise NotFoundError(f"snapshot {snapshot_id} does not exist in organization {org_name!r}")
    stmt = (
        select(Snapshot)
        .join(System, col(System.id) == Snapshot.system_id)
        .join(Organization, col(Organization.id) == System.org_id)
        .where(Snapshot.id == snapshot_id, Organization.name == org_name)
    )
    snapshot = session.exec(stmt).first()
    if snapshot is None:
        raise NotFoundError(f"snapshot {snapshot_id} does not exist in organization {org_name!r}")
    return snapshot


def latest_snapshot(session: Session, org_name: str, system_name: str) -> Snapshot:
    """The system's snapshot with the latest ``observed_at`` (ties: the last received)."""
    org_id = organization_id(session, org_name)
    system = session.exec(select(System).where(System.org_id == org_id, System.name == system_name)).first()
    if system is None:
        raise NotFoundError(f"system {system_name!r} does not exist in organization {org_name!r}")
    snapshot = session.exec(
        select(Snapshot)
        .where(Snapshot.system_id == system.id)
        .order_by(col(Snapshot.observed_at).desc(), col(Snapshot.id).desc())
        .limit(1)
    ).first()
    if snapshot is None:
        raise NotFoundError(f"system {system_name!r} of organization {org_name!r} has no snapshot")
    return snapshot


def latest_snapshot_ids(session: Session, org_name: str) -> dict[str, int]:
    """System name -> id of its latest snapshot, for every system of the organization that has one."""
    org_id = organization_id(session, org_name)
    snap, system = _table(Snapshot), _table(System)
    ranked = (
        sa.select(
            system.c.name,
            snap.c.id,
            sa.func.row_number()
            .over(partition_by=snap.c.system_id, order_by=(snap.c.observed_at.desc(), snap.c.id.desc()))
            .label("rank"),
        )
        .select_from(snap.join(system, system.c.id == snap.c.system_id))
        .where(system.c.org_id == org_id)
        .subquery()
    )
    rows = session.execute(sa.select(ranked.c.name, ranked.c.id).where(ranked.c.rank == 1))
    return {str(name): int(snapshot_id) for name, snapshot_id in sorted(rows)}


def snapshot_rows(session: Session, system_ids: Sequence[int]) -> list[tuple[int, str, datetime, int]]:
    """(system id, snapshot sha256, observed_at, component set id) of every snapshot of the systems."""
    snapshot = _table(Snapshot)
    out: list[tuple[int, str, datetime, int]] = []
    for chunk in chunks(system_ids, _CHUNK):
        stmt = sa.select(
            snapshot.c.system_id, snapshot.c.sha256, snapshot.c.observed_at, snapshot.c.component_set_id
        ).where(snapshot.c.system_id.in_(chunk))
        out.extend((r[0], r[1], r[2], r[3]) for r in session.execute(stmt))
    return out


def snapshot_components(session: Session, org_name: str, snapshot_id: int) -> SnapshotComponents:
    """The package versions and the not-assessable components of one snapshot of ``org_name``."""
    snapshot = get_snapshot(session, org_name, snapshot_id)
    pv_stmt = (
        select(PackageVersion)
        .join(ComponentSetMember, col(ComponentSetMember.package_version_id) == PackageVersion.id)
        .where(ComponentSetMember.set_id == snapshot.component_set_id)
        .order_by(PackageVersion.ecosystem, PackageVersion.name, PackageVersion.version, PackageVersion.purl)
    )
    packages = [PackageRef(p.ecosystem, p.name, p.version, p.purl) for p in session.exec(pv_stmt)]
    na_stmt = (
        select(NotAssessableComponent)
        .where(NotAssessableComponent.set_id == snapshot.component_set_id)
        .order_by(col(NotAssessableComponent.id))
    )
    unassessed = [
        UnassessedComponent(n.name, n.version, n.purl, n.reason, n.detail) for n in session.exec(na_stmt)
    ]
    return SnapshotComponents(packages, unassessed)


def snapshot_raw(snapshot: Snapshot, *, max_bytes: int = DEFAULT_MAX_SBOM_BYTES) -> bytes:
    """The SBOM bytes exactly as uploaded, unpacked at most to ``max_bytes`` (the SBOM size limit: no
    SBOM over it was stored); a StorageError naming the snapshot past that limit or for a corrupt blob."""
    if snapshot.compression != COMPRESSION:  # pragma: no cover - only one scheme written so far
        raise ValueError(f"snapshot {snapshot.id}: unknown compression {snapshot.compression!r}")
    try:
        return inflate_bounded(snapshot.raw, max_bytes)
    except DecompressionError as exc:
        raise StorageError(f"snapshot {snapshot.id} (stored SBOM): {exc}; refused", transient=False) from None


def insert_snapshot(session: Session, system: System, new: NewSnapshot) -> Snapshot | None:
    """Store a snapshot and, unless an identical set exists, its component set.

    Returns ``None`` when the system already has a snapshot with these bytes (also when a concurrent
    upload of the same bytes committed first): the caller reports "unchanged".
    """
    component_set_id = _store_component_set(session, new.packages, new.unassessed)
    values = {
        "system_id": system.id,
        "observed_at": new.observed_at,
        "received_at": utcnow(),
        "format": new.format,
        "spec_version": new.spec_version,
        "serial_number": new.serial_number,
        "subject": new.subject,
        "sha256": new.sha256,
        "raw": zlib.compress(new.raw, 6),
        "raw_size": len(new.raw),
        "compression": COMPRESSION,
        "quality": new.quality,
        "component_set_id": component_set_id,
        "release_label": new.release_label,
        "component_count": new.component_count,
        "not_assessable_count": len(new.unassessed),
    }
    stmt = (
        _insert(session, Snapshot)
        .values(values)
        .on_conflict_do_nothing(index_elements=["system_id", "sha256"])
        .returning(_table(Snapshot).c.id)
    )
    snapshot_id = session.execute(stmt).scalar_one_or_none()
    if snapshot_id is None:
        return None
    assert system.id is not None
    mark_at_commit(session, system.org_id, [system.id])
    return session.get_one(Snapshot, snapshot_id)


# --- component sets ------------------------------------------------------------------------------


def component_set_digest(packages: Iterable[PackageRef], unassessed: Iterable[UnassessedComponent]) -> str:
    """SHA-256 over the sorted identities of a set: equal content, equal digest, whatever the order.

    Package versions count once (a set links each distinct one); not-assessable components count with
    their multiplicity, as they are stored row by row.
    """
    items: list[tuple[str, ...]] = sorted({("p", p.ecosystem, p.name, p.version, p.purl) for p in packages})
    items += sorted(("u", u.name, u.version or "", u.purl or "", u.reason) for u in unassessed)
    encoded = json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _store_component_set(
    session: Session, packages: Sequence[PackageRef], unassessed: Sequence[UnassessedComponent]
) -> int:
    distinct = sorted({(p.ecosystem, p.name, p.version, p.purl) for p in packages})
    digest = component_set_digest(packages, unassessed)
    set_table = _table(ComponentSet)
    existing = session.execute(sa.select(set_table.c.id).where(set_table.c.digest == digest)).scalar()
    if existing is not None:
        return int(existing)
    stmt = (
        _insert(session, ComponentSet)
        .values(digest=digest, package_count=len(distinct), not_assessable_count=len(unassessed))
        .on_conflict_do_nothing(index_elements=["digest"])
        .returning(set_table.c.id)
    )
    set_id = session.execute(stmt).scalar_one_or_none()
    if set_id is None:
        # A concurrent transaction stored the same set and committed while we waited on its row.
        winner = sa.select(set_table.c.id).where(set_table.c.digest == digest)
        return int(session.execute(winner).scalar_one())
    if distinct:
        _store_members(session, int(set_id), distinct)
    if unassessed:
        _insert_rows(
            session,
            _table(NotAssessableComponent),
            ["set_id", "name", "version", "purl", "reason", "detail"],
            [(set_id, u.name, u.version, u.purl, u.reason, u.detail) for u in unassessed],
        )
    return int(set_id)


def _insert_rows(
    session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows with one statement per database round trip.

    SQLite runs an executemany of one prepared statement in C. psycopg would send an executemany row by
    row (pipelined, still 10,000 statements for 10,000 rows), so PostgreSQL gets one ``INSERT … SELECT
    FROM unnest(array, array, …)`` with one array parameter per column instead.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        # The driver's own executemany of tuples: SQLAlchemy's would first build and process a
        # parameter dictionary per row (~20 ms of the 10,000 rows of a large SBOM's staging insert).
        # The columns here are plain text and integers, which need no conversion on the way in.
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - constant names
        session.connection().exec_driver_sql(sql, [tuple(row) for row in rows])
        return
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - only PostgreSQL needs it (store.sql)

    arrays = {f"c{i}": list(values) for i, values in enumerate(zip(*rows, strict=True))}
    unnest = (
        sa.func.unnest(
            *(
                sa.bindparam(f"c{i}", value=arrays[f"c{i}"], type_=postgresql.ARRAY(table.c[name].type))
                for i, name in enumerate(columns)
            )
        )
        .table_valued(*(f"c{i}" for i in range(len(columns))))
        .render_derived()
    )
    session.execute(sa.insert(table).from_select(list(columns), sa.select(*unnest.c)))


def _staging_table(session: Session) -> sa.Table:
    """The session-local table that carries a set's package-version keys into SQL.

    A temporary table, so nothing is left for other connections to see; on PostgreSQL it is dropped at
    commit, on SQLite emptied before each use (SQLite temporary tables live as long as the connection).
    """
    stage = _pv_stage(session.get_bind().dialect.name)
    stage.create(session.connection(), checkfirst=True)
    session.execute(stage.delete())
    return stage


def _store_members(session: Session, set_id: int, keys: Sequence[tuple[str, str, str, str]]) -> None:
    """Upsert the set's package versions and link them to the set, without their ids visiting Python.

    The keys go to a staging table in one executemany; then one ``INSERT … SELECT … ON CONFLICT DO
    NOTHING`` adds the package versions not stored yet, and one ``INSERT … SELECT`` joining on the full
    unique key links them all. Measured on SQLite with 10,000 keys: about half the time of upserting
    and reading the ids back with ``IN`` queries.
    """
    stage = _staging_table(session)
    _insert_rows(session, stage, ["ecosystem", "name", "version", "purl"], keys)
    pv = _table(PackageVersion)
    columns = ["purl", "ecosystem", "name", "version"]
    upsert = (
        _insert(session, PackageVersion)
        # "WHERE true": SQLite's documented way to keep INSERT … SELECT … ON CONFLICT unambiguous.
        .from_select(columns, sa.select(*(stage.c[c] for c in columns)).where(sa.true()))
        .on_conflict_do_nothing(index_elements=columns)
    )
    session.execute(upsert)
    same_key = sa.and_(*(pv.c[c] == stage.c[c] for c in columns))
    link = sa.insert(_table(ComponentSetMember)).from_select(
        ["set_id", "package_version_id"],
        sa.select(sa.literal(set_id, sa.Integer()), pv.c.id).select_from(stage.join(pv, same_key)),
    )
    session.execute(link)
    member = _table(ComponentSetMember)
    # Not the INSERT's rowcount: psycopg through SQLAlchemy reports -1 for INSERT … SELECT.
    count = sa.select(sa.func.count()).select_from(member).where(member.c.set_id == set_id)
    linked = session.execute(count).scalar_one()
    if linked != len(keys):  # pragma: no cover - the upsert above guarantees every key exists
        raise RuntimeError(f"component set {set_id}: {len(keys)} package versions, {linked} linked")


def last_snapshots_at(
    session: Session, org_id: int, moment: datetime, ids: Sequence[int] | None = None
) -> dict[int, datetime]:
    """System id → its newest snapshot observed at or before ``moment`` (systems of the organization,
    or of those of ``ids`` that are its, with one): one seek of the (system, observed) index per system
    (a fifth of the time of grouping every snapshot up to the moment, at 10,000 systems)."""
    snapshot, system = _table(Snapshot), _table(System)
    newest = (
        sa.select(sa.func.max(snapshot.c.observed_at))
        .where(snapshot.c.system_id == system.c.id, snapshot.c.observed_at <= moment)
        .scalar_subquery()
    )
    stmt = sa.select(system.c.id, newest).where(system.c.org_id == org_id)
    parts = [stmt]
    if ids is not None:
        parts = [stmt.where(system.c.id.in_(c)) for c in chunks(sorted(set(ids)), _CHUNK)]
    return {int(sid): when for part in parts for sid, when in session.execute(part) if when is not None}
