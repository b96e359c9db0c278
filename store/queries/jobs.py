"""Queries on the durable upload job queue, and on the scheduled jobs' schedule and run history.

Every read that takes an organization scopes by it: another tenant's upload token is "not found",
exactly like one that does not exist.

The queue is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several API workers
take distinct jobs without waiting on each other; SQLite has no row locks (SQLAlchemy renders nothing
for the clause there), and the claim's write transaction (``BEGIN IMMEDIATE``, see
``store.db.Database.write``) serializes claimers instead. A job whose worker died while processing it
is claimed again once its lease has expired.

Scheduled jobs are claimed the same way (:func:`claim_scheduled_job`): their schedule row is locked
with ``SKIP LOCKED``, checked due and free, and given a lease in the claimer's short transaction; the
run happens outside it and :func:`finish_scheduled_job` records it and sets the next due moment.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.compression import DecompressionError, inflate_bounded
from core.errors import NotFoundError
from core.settings import DEFAULT_MAX_SBOM_BYTES
from core.time import utcnow
from store.sql import dialect_insert
from store.sql import table_of as _table
from store.tables.jobs import JobRun, JobSchedule, UploadJob
from store.tables.organizations import Organization


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
    """A job a worker has claimed, with the organization's name and the SBOM bytes.

    ``problem`` says why the stored payload could not be unpacked (then ``data`` is empty): the job
    cannot succeed and should be finished as failed with it, not left to be claimed again."""

    job: JobRow
    org: str
    data: bytes
    problem: str | None = None


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


def claim_upload_job(
    session: Session, now: datetime, stale_before: datetime, *, max_bytes: int = DEFAULT_MAX_SBOM_BYTES
) -> ClaimedJob | None:
    """Claim the oldest queued job (or one whose worker's lease expired) for this transaction's worker.

    On PostgreSQL the row lock with ``SKIP LOCKED`` makes concurrent claimers take different jobs; the
    status change commits with the caller's transaction. The payload is unpacked at most to
    ``max_bytes`` (the SBOM size limit it was checked against when queued); past that, or when it is
    not valid zlib data, the job is returned with its ``problem`` and no data.
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
    try:
        data = inflate_bounded(claimed.payload, max_bytes)
    except DecompressionError as exc:
        return ClaimedJob(
            _job_row(claimed), org.name, b"", f"upload {claimed.token} (stored SBOM): {exc}; refused"
        )
    return ClaimedJob(_job_row(claimed), org.name, data)


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


def last_processed_upload(session: Session, org_id: int, system_name: str) -> datetime | None:
    """When the newest queued upload of a system was processed (``done``: created or unchanged)."""
    job = _table(UploadJob)
    stmt = sa.select(sa.func.max(job.c.finished_at)).where(
        job.c.org_id == org_id, job.c.system_name == system_name, job.c.status == "done"
    )
    found: datetime | None = session.execute(stmt).scalar()
    return found


# --- scheduled jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    name: str
    next_due_at: datetime
    lease_until: datetime | None
    running_since: datetime | None
    running_by: str | None
    last_run_id: int | None
    last_outcome: str | None
    last_finished_at: datetime | None
    last_error: str | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    job: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    counts: dict[str, Any]
    error: str | None
    attempt: int
    trigger: str
    runner: str


_SCHEDULE_COLUMNS = list(ScheduleRow.__dataclass_fields__)
_RUN_COLUMNS = list(RunRow.__dataclass_fields__)


def ensure_schedules(session: Session, names: Sequence[str], now: datetime) -> None:
    """Give every job in ``names`` a schedule row, due ``now``, unless it has one (concurrent callers
    insert it once)."""
    if not names:
        return
    stmt = (
        dialect_insert(session, JobSchedule)
        .values([{"name": n, "next_due_at": now, "consecutive_failures": 0} for n in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    session.execute(stmt)


def claim_scheduled_job(
    session: Session, name: str, now: datetime, *, lease_until: datetime, runner: str, force: bool
) -> int | None:
    """Claim job ``name`` for ``runner`` when it is due (or ``force``) and nobody holds its lease.

    Returns the attempt this run is (1 + the failures since its last success), or ``None`` when the job
    is not due, is leased by a running process, or is locked by a concurrent claimer (PostgreSQL's
    ``SKIP LOCKED``). The lease commits with the caller's transaction.
    """
    t = _table(JobSchedule)
    free = sa.or_(t.c.lease_until.is_(None), t.c.lease_until <= now)
    condition = sa.and_(t.c.name == name, free)
    if not force:
        condition = sa.and_(condition, t.c.next_due_at <= now)
    stmt = sa.select(t.c.consecutive_failures).where(condition).with_for_update(skip_locked=True)
    failures = session.execute(stmt).scalar_one_or_none()
    if failures is None:
        return None
    session.execute(
        sa.update(t)
        .where(t.c.name == name)
        .values(lease_until=lease_until, running_since=now, running_by=runner)
    )
    return int(failures) + 1


def finish_scheduled_job(
    session: Session,
    name: str,
    *,
    started_at: datetime,
    finished_at: datetime,
    outcome: str,
    counts: dict[str, Any],
    error: str | None,
    attempt: int,
    trigger: str,
    runner: str,
    next_due_at: datetime,
) -> int:
    """Record a run, release the job's lease and set when it is next due; returns the run's id.

    A failed run counts one more consecutive failure; a successful one resets the count; a skipped one
    leaves it."""
    run = _table(JobRun)
    run_id = session.execute(
        sa.insert(run)
        .values(
            job=name,
            started_at=started_at,
            finished_at=finished_at,
            outcome=outcome,
            counts=counts,
            error=error,
            attempt=attempt,
            trigger=trigger,
            runner=runner,
        )
        .returning(run.c.id)
    ).scalar_one()
    t = _table(JobSchedule)
    failures: Any = t.c.consecutive_failures
    if outcome == "failed":
        failures = t.c.consecutive_failures + 1
    elif outcome == "ok":
        failures = 0
    session.execute(
        sa.update(t)
        .where(t.c.name == name)
        .values(
            next_due_at=next_due_at,
            lease_until=None,
            running_since=None,
            running_by=None,
            last_run_id=run_id,
            last_outcome=outcome,
            last_finished_at=finished_at,
            last_error=error,
            consecutive_failures=failures,
        )
    )
    return int(run_id)


def job_schedules(session: Session) -> dict[str, ScheduleRow]:
    """Every job's schedule row, by name."""
    t = _table(JobSchedule)
    rows = session.execute(sa.select(*[t.c[c] for c in _SCHEDULE_COLUMNS]))
    return {r.name: ScheduleRow(**r._asdict()) for r in rows}


def job_runs(session: Session, job: str | None = None, *, limit: int = 50) -> list[RunRow]:
    """The newest runs (of ``job``, or of every job), newest first."""
    t = _table(JobRun)
    stmt = sa.select(*[t.c[c] for c in _RUN_COLUMNS]).order_by(t.c.id.desc()).limit(limit)
    if job is not None:
        stmt = stmt.where(t.c.job == job)
    return [RunRow(**r._asdict()) for r in session.execute(stmt)]
