"""Queries of the API layer: API keys, dashboard sessions, system attributes and the upload job queue.

Every read that takes an organization scopes by it: another tenant's key, session, system or upload
token is "not found", exactly like one that does not exist.

The upload queue is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several API
workers take distinct jobs without waiting on each other; SQLite has no row locks (SQLAlchemy renders
nothing for the clause there), and the claim's write transaction (``BEGIN IMMEDIATE``, see
``store.db.write_session``) serializes claimers instead. A job whose worker died while processing it is
claimed again once its lease has expired.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import ConflictError, NotFoundError
from store.api_models import ApiKey, DashboardSession, UploadJob
from store.models import Organization, Snapshot, System, utcnow
from store.queries import get_organization
from store.sql import table_of as _table

# --- API keys ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyRow:
    """An API key with its organization's name (never the secret, which is not stored)."""

    id: int
    org_id: int
    org: str
    name: str
    role: str
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _key_row(key: ApiKey, org_name: str) -> KeyRow:
    return KeyRow(
        id=cast(int, key.id),
        org_id=key.org_id,
        org=org_name,
        name=key.name,
        role=key.role,
        prefix=key.prefix,
        key_hash=key.key_hash,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def insert_api_key(
    session: Session, org: Organization, *, name: str, role: str, prefix: str, key_hash: str
) -> KeyRow:
    assert org.id is not None
    key = ApiKey(org_id=org.id, name=name, role=role, prefix=prefix, key_hash=key_hash, created_at=utcnow())
    session.add(key)
    session.flush()
    return _key_row(key, org.name)


def find_key_by_prefix(session: Session, prefix: str) -> KeyRow | None:
    """The key with this lookup prefix, revoked or not (the caller decides)."""
    row = session.exec(
        select(ApiKey, Organization.name)
        .join(Organization, col(Organization.id) == ApiKey.org_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    return None if row is None else _key_row(row[0], row[1])


def touch_api_key(session: Session, key_id: int, now: datetime, not_since: datetime) -> None:
    """Record a use of the key, at most once per interval (``last_used_at`` older than ``not_since``).

    Throttled because a write per request would serialize every read request on SQLite's single writer.
    """
    key = _table(ApiKey)
    session.execute(
        sa.update(key)
        .where(key.c.id == key_id)
        .where(sa.or_(key.c.last_used_at.is_(None), key.c.last_used_at < not_since))
        .values(last_used_at=now)
    )


def list_api_keys(session: Session, org_name: str) -> list[KeyRow]:
    org = get_organization(session, org_name)
    keys = session.exec(select(ApiKey).where(ApiKey.org_id == org.id).order_by(col(ApiKey.id)))
    return [_key_row(k, org.name) for k in keys]


def revoke_api_key(session: Session, org_name: str, key_id: int, now: datetime) -> KeyRow:
    """Revoke a key of ``org_name`` (idempotent: an already revoked key keeps its first revocation time)."""
    org = get_organization(session, org_name)
    key = session.exec(select(ApiKey).where(ApiKey.id == key_id, ApiKey.org_id == org.id)).first()
    if key is None:
        raise NotFoundError(f"API key {key_id} does not exist in organization {org_name!r}")
    if key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
        session.flush()
        # Signed-in browsers of a revoked key are signed out at once.
        sessions = _table(DashboardSession)
        session.execute(sa.delete(sessions).where(sessions.c.key_id == key_id))
    return _key_row(key, org.name)


# --- dashboard sessions --------------------------------------------------------------------------


def insert_dashboard_session(
    session: Session, *, token_hash: str, key_id: int, csrf_token: str, now: datetime, expires_at: datetime
) -> None:
    table = _table(DashboardSession)
    # Expired sessions are removed whenever someone signs in, so the table never grows without bound.
    session.execute(sa.delete(table).where(table.c.expires_at < now))
    session.execute(
        sa.insert(table).values(
            token_hash=token_hash, key_id=key_id, csrf_token=csrf_token, created_at=now, expires_at=expires_at
        )
    )


def find_dashboard_session(session: Session, token_hash: str, now: datetime) -> tuple[KeyRow, str] | None:
    """The key behind a live session and the session's CSRF token; ``None`` if expired or revoked."""
    row = session.exec(
        select(DashboardSession, ApiKey, Organization.name)
        .join(ApiKey, col(ApiKey.id) == DashboardSession.key_id)
        .join(Organization, col(Organization.id) == ApiKey.org_id)
        .where(
            DashboardSession.token_hash == token_hash,
            DashboardSession.expires_at > now,
            col(ApiKey.revoked_at).is_(None),
        )
    ).first()
    if row is None:
        return None
    dash, key, org_name = row
    return _key_row(key, org_name), dash.csrf_token


def delete_dashboard_session(session: Session, token_hash: str) -> None:
    table = _table(DashboardSession)
    session.execute(sa.delete(table).where(table.c.token_hash == token_hash))


# --- systems -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SystemRow:
    """A system with its attributes and the span of its snapshots."""

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


SYSTEM_ATTRIBUTES = ("environment", "internet_exposed", "criticality", "cadence_days")


def system_rows(session: Session, org_name: str, name: str | None = None) -> list[SystemRow]:
    """The systems of ``org_name`` (or the one named ``name``) with attributes and snapshot span."""
    org = get_organization(session, org_name)
    system, snapshot = _table(System), _table(Snapshot)
    stmt = (
        sa.select(
            system.c.name,
            system.c.environment,
            system.c.internet_exposed,
            system.c.criticality,
            system.c.cadence_days,
            system.c.release_label,
            system.c.created_at,
            sa.func.count(snapshot.c.id),
            sa.func.min(snapshot.c.observed_at),
            sa.func.max(snapshot.c.observed_at),
        )
        .select_from(system.outerjoin(snapshot, snapshot.c.system_id == system.c.id))
        .where(system.c.org_id == org.id)
        .group_by(system.c.id)
        .order_by(system.c.name)
    )
    if name is not None:
        stmt = stmt.where(system.c.name == name)
    rows = [SystemRow(*row) for row in session.execute(stmt)]
    if name is not None and not rows:
        raise NotFoundError(f"system {name!r} does not exist in organization {org_name!r}")
    return rows


def create_system(session: Session, org: Organization, name: str, attributes: dict[str, Any]) -> None:
    """Create a system with the given attributes; a name already taken in ``org`` is a conflict."""
    assert org.id is not None
    if session.exec(select(System.id).where(System.org_id == org.id, System.name == name)).first():
        raise ConflictError(f"system {name!r} already exists in organization {org.name!r}")
    values = {k: v for k, v in attributes.items() if k in SYSTEM_ATTRIBUTES and v is not None}
    session.add(System(org_id=org.id, name=name, created_at=utcnow(), **values))
    session.flush()


def update_system(session: Session, org_name: str, name: str, attributes: dict[str, Any]) -> None:
    """Set the given attributes (only those in ``SYSTEM_ATTRIBUTES``) of a system of ``org_name``."""
    org = get_organization(session, org_name)
    values = {k: v for k, v in attributes.items() if k in SYSTEM_ATTRIBUTES and v is not None}
    system = _table(System)
    found = session.execute(
        sa.select(system.c.id).where(system.c.org_id == org.id, system.c.name == name)
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"system {name!r} does not exist in organization {org_name!r}")
    if values:
        session.execute(sa.update(system).where(system.c.id == found).values(**values))


def system_names(session: Session, org_id: int) -> list[str]:
    system = _table(System)
    return list(session.execute(sa.select(system.c.name).where(system.c.org_id == org_id)).scalars())


# --- upload jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobRow:
    """An upload job without its payload."""

    id: int
    token: str
    org_id: int
    system_name: str
    release_label: str | None
    source: str
    observed_at: datetime | None
    status: str
    attempts: int
    error: str | None
    result: str | None
    snapshot_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job a worker has claimed, with the organization's name and the SBOM bytes."""

    job: JobRow
    org: str
    data: bytes


_JOB_COLUMNS = list(JobRow.__dataclass_fields__)


def _job_row(job: UploadJob) -> JobRow:
    return JobRow(**{f: getattr(job, f) for f in _JOB_COLUMNS})


def insert_upload_job(
    session: Session,
    *,
    token: str,
    org_id: int,
    system_name: str,
    release_label: str | None,
    source: str,
    observed_at: datetime | None,
    data: bytes,
) -> JobRow:
    job = UploadJob(
        token=token,
        org_id=org_id,
        system_name=system_name,
        release_label=release_label,
        source=source,
        observed_at=observed_at,
        payload=zlib.compress(data, 6),
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return _job_row(job)


def claim_upload_job(session: Session, now: datetime, stale_before: datetime) -> ClaimedJob | None:
    """Claim the oldest queued job (or one whose worker's lease expired) for this transaction's worker.

    On PostgreSQL the row lock with ``SKIP LOCKED`` makes concurrent claimers take different jobs; the
    status change commits with the caller's transaction.
    """
    job = _table(UploadJob)
    claimable = sa.or_(
        job.c.status == "queued",
        sa.and_(job.c.status == "processing", job.c.started_at < stale_before),
    )
    stmt = sa.select(job.c.id).where(claimable).order_by(job.c.id).limit(1).with_for_update(skip_locked=True)
    job_id = session.execute(stmt).scalar_one_or_none()
    if job_id is None:
        return None
    session.execute(
        sa.update(job)
        .where(job.c.id == job_id)
        .values(status="processing", started_at=now, attempts=job.c.attempts + 1)
    )
    claimed = session.get_one(UploadJob, job_id)
    session.refresh(claimed)
    org = session.get_one(Organization, claimed.org_id)
    return ClaimedJob(_job_row(claimed), org.name, zlib.decompress(claimed.payload))


def finish_upload_job(
    session: Session,
    job_id: int,
    *,
    status: str,
    now: datetime,
    result: str | None = None,
    snapshot_id: int | None = None,
    error: str | None = None,
) -> None:
    """Record a job's outcome; a finished job's payload is emptied (the snapshot keeps the bytes)."""
    job = _table(UploadJob)
    values: dict[str, Any] = {"status": status, "error": error, "result": result, "snapshot_id": snapshot_id}
    if status in ("done", "failed"):
        values |= {"finished_at": now, "payload": b""}
    session.execute(sa.update(job).where(job.c.id == job_id).values(**values))


def get_upload_job(session: Session, org_name: str, token: str) -> JobRow:
    """An upload job of ``org_name`` by its token (another tenant's token is "not found")."""
    stmt = (
        select(UploadJob)
        .join(Organization, col(Organization.id) == UploadJob.org_id)
        .where(UploadJob.token == token, Organization.name == org_name)
    )
    job = session.exec(stmt).first()
    if job is None:
        raise NotFoundError(f"upload {token} does not exist in organization {org_name!r}")
    return _job_row(job)


def count_jobs_by_status(session: Session) -> dict[str, int]:
    job = _table(UploadJob)
    rows = session.execute(sa.select(job.c.status, sa.func.count()).group_by(job.c.status))
    return {status: int(count) for status, count in rows}
