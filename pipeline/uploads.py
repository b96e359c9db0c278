"""SBOM uploads through the API: synchronous (native route) and queued (Dependency-Track-compatible).

- ``ingest_upload``: the native route's use-case: ingest one SBOM now (``pipeline.ingest.ingest_sbom``),
  then match the fleet's new package versions, so the caller learns at once whether the SBOM was
  accepted and gets the reader's message if not.
- ``queue_checked_upload``: the Dependency-Track route's use-case: the SBOM is read as the worker will
  read it (``check_sbom``; a refused one is the caller's 400, nothing stored), then ``enqueue_upload``
  writes the bytes to the ``upload_job`` table in one short transaction and returns a token; a worker
  ingests them later. An accepted upload therefore survives a restart of the server.
- ``run_pending`` / ``UploadWorker``: take jobs from the queue one by one (``claim_next``), ingest
  them and record the outcome. Several workers (threads, or API processes on PostgreSQL) may run at
  once: each claim is its own transaction using ``FOR UPDATE SKIP LOCKED`` (see ``store.queries.jobs``),
  so no job is processed twice while its worker lives; a worker that dies mid-job leaves the job
  ``processing`` until its lease expires, when another worker takes it again.

Dependency-Track identifies projects by UUID. A system's ``project_uuid`` is derived from the
organization and system names (UUID version 5), so it is stable, needs no column, and is known before
the system is created by the first upload.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import InputError, NotFoundError, PatchgapError, SbomError, StorageError
from core.settings import DEFAULT_MAX_SBOM_BYTES
from core.text import text_problem
from core.time import utcnow
from pipeline.events import upload_failed
from pipeline.ingest import IngestResult, ingest_sbom, prepare_snapshot
from pipeline.match import match_new
from store.db import Database
from store.queries.jobs import (
    ClaimedJob,
    JobRow,
    claim_upload_job,
    finish_upload_job,
    get_upload_job,
    insert_upload_job,
)
from store.queries.organizations import get_organization
from store.queries.systems import get_or_create_system, refuse_uploads_to, system_names

__all__ = [
    "ClaimedJob",
    "JobRow",
    "QueuedUpload",
    "UploadWorker",
    "check_sbom",
    "claim_next",
    "enqueue_upload",
    "ingest_upload",
    "process_job",
    "project_uuid",
    "queue_checked_upload",
    "resolve_project",
    "run_pending",
    "system_for_project",
    "upload_status",
]

log = logging.getLogger(__name__)

# A job "processing" for longer than this is taken to belong to a dead worker and claimed again.
DEFAULT_LEASE = timedelta(minutes=10)
# Database errors (a lock timeout, a lost connection) are retried; bad SBOMs never are.
MAX_ATTEMPTS = 3
_PROJECT_NAMESPACE = uuid.UUID("6f0f5a52-4d3c-4f8e-9b51-0c7f3b3a9d21")


def project_uuid(org: str, system: str) -> str:
    """The Dependency-Track ``projectUuid`` of a system: stable, derived from the two names."""
    return str(uuid.uuid5(_PROJECT_NAMESPACE, f"{org}\x00{system}"))


def system_for_project(db: Database, org: str, project: str) -> str:
    """The name of the system of ``org`` whose ``project_uuid`` is ``project``."""
    with db.read() as session:
        organization = get_organization(session, org)
        assert organization.id is not None
        names = system_names(session, organization.id)
    wanted = project.strip().lower()
    for name in names:
        if project_uuid(org, name) == wanted:
            return name
    raise NotFoundError(f"project {project} does not exist in organization {org!r}")


def match_after_ingest(db: Database) -> None:
    """Bring fleet matching up to date after new snapshots: the new package versions are matched."""
    match_new(db)


def ingest_upload(
    db: Database,
    *,
    org: str,
    system: str,
    data: bytes,
    source: str,
    max_bytes: int,
    observed_at: datetime | None = None,
    release_label: str | None = None,
) -> IngestResult:
    """Ingest an uploaded SBOM now and match what it brought (the native upload route)."""
    result = ingest_sbom(
        db,
        org=org,
        system=system,
        data=data,
        source=source,
        observed_at=observed_at,
        max_bytes=max_bytes,
        release_label=release_label,
    )
    if result.status == "created":
        match_after_ingest(db)
    return result


@dataclass(frozen=True, slots=True)
class QueuedUpload:
    token: str
    project_uuid: str


def enqueue_upload(
    db: Database,
    *,
    org_id: int,
    org: str,
    system: str,
    data: bytes,
    source: str,
    max_bytes: int,
    release_label: str | None = None,
    observed_at: datetime | None = None,
) -> QueuedUpload:
    """Queue an SBOM for a worker (refusing an empty or oversized one now, before it is stored)."""
    if not data.strip():
        raise SbomError(source, "empty SBOM")
    if len(data) > max_bytes:
        raise SbomError(source, f"larger than the limit of {max_bytes} bytes")
    token = str(uuid.uuid4())
    with db.write() as session:
        insert_upload_job(
            session,
            token=token,
            org_id=org_id,
            system_name=system,
            release_label=release_label,
            source=source,
            observed_at=observed_at,
            data=data,
        )
    return QueuedUpload(token, project_uuid(org, system))


def check_sbom(data: bytes, source: str, *, max_bytes: int) -> None:
    """Refuse (``SbomError``, the reader's message) an SBOM the worker would refuse, storing nothing.

    The worker's steps before it writes (``pipeline.ingest.prepare_snapshot``): format detection, the
    format's reader, the observed moment (an SBOM without a timestamp of its own counts as observed
    now, as the worker counts it observed when it was uploaded).
    """
    prepare_snapshot(data, source, max_bytes=max_bytes, default_observed_at=utcnow())


def queue_checked_upload(
    db: Database,
    *,
    org_id: int,
    org: str,
    project: str | None,
    name: str | None,
    version: str | None,
    auto_create: bool,
    data: bytes,
    source: str,
    max_bytes: int,
) -> QueuedUpload:
    """The Dependency-Track upload: read the SBOM, then find (or create) its system and queue it.

    The SBOM is read first, so one no reader accepts creates no system and queues nothing: the client
    is told at once (as Dependency-Track refuses an invalid BOM since 4.11), not by a job failing later.
    """
    check_sbom(data, source, max_bytes=max_bytes)
    # projectVersion may be a form field, which api.deps does not check: a NUL would reach the database.
    if (problem := text_problem(version or "", "release label", single_line=True)) is not None:
        raise InputError(source, problem)
    system = resolve_project(db, org=org, project=project, name=name, auto_create=auto_create)
    return enqueue_upload(
        db,
        org_id=org_id,
        org=org,
        system=system,
        data=data,
        source=source,
        max_bytes=max_bytes,
        release_label=version or None,
    )


def upload_status(db: Database, org: str, token: str) -> JobRow:
    """The state of one queued upload of ``org`` (another organization's token is "not found")."""
    with db.read() as session:
        return get_upload_job(session, org, token)


def claim_next(
    db: Database, *, lease: timedelta = DEFAULT_LEASE, max_bytes: int = DEFAULT_MAX_SBOM_BYTES
) -> ClaimedJob | None:
    """Claim one job in its own committed transaction, so other workers see it taken at once.

    Its payload is unpacked at most to ``max_bytes``; a payload past that (or corrupt) comes back as
    the job's ``problem``, which :func:`process_job` records as the job's failure."""
    now = utcnow()
    with db.write() as session:
        return claim_upload_job(session, now, now - lease, max_bytes=max_bytes)


def process_job(db: Database, claimed: ClaimedJob, *, max_bytes: int) -> str:
    """Ingest a claimed job and record its outcome; returns the job's new status."""
    job = claimed.job
    if claimed.problem is not None:
        return _finish(db, job, "failed", error=claimed.problem)
    try:
        result = ingest_sbom(
            db,
            org=claimed.org,
            system=job.system_name,
            data=claimed.data,
            source=job.source,
            observed_at=job.observed_at,
            # Dependency-Track clients upload at deploy time and send no date: an SBOM without a
            # timestamp of its own is taken as observed when it was uploaded.
            default_observed_at=job.created_at,
            max_bytes=max_bytes,
            release_label=job.release_label,
        )
    except StorageError as exc:
        if not exc.transient:  # the database refused these values: the same job would fail again
            log.warning("upload %s: refused by the database: %s", job.token, exc)
            return _finish(db, job, "failed", error=f"refused by the database: {exc}")
        log.warning("upload %s: database error on attempt %d: %s", job.token, job.attempts, exc)
        status = "queued" if job.attempts < MAX_ATTEMPTS else "failed"
        return _finish(db, job, status, error=f"database error: {exc}")
    except PatchgapError as exc:
        return _finish(db, job, "failed", error=str(exc))
    if result.status == "created":
        match_after_ingest(db)
    return _finish(db, job, "done", result=result.status, snapshot_id=result.snapshot_id)


def _finish(
    db: Database,
    job: JobRow,
    status: str,
    *,
    result: str | None = None,
    snapshot_id: int | None = None,
    error: str | None = None,
) -> str:
    now = utcnow()
    with db.write() as session:
        finish_upload_job(
            session, job.id, status=status, now=now, result=result, snapshot_id=snapshot_id, error=error
        )
        if status == "failed":
            upload_failed(
                session, job.org_id, token=job.token, system=job.system_name, error=error or "", now=now
            )
    return status


def run_pending(db: Database, *, max_bytes: int, limit: int | None = None) -> int:
    """Process queued jobs until the queue is empty (or ``limit`` jobs); returns how many were taken."""
    done = 0
    while limit is None or done < limit:
        claimed = claim_next(db, max_bytes=max_bytes)
        if claimed is None:
            break
        process_job(db, claimed, max_bytes=max_bytes)
        done += 1
    return done


class UploadWorker:
    """A background thread that processes the upload queue of one API process.

    It sleeps ``poll_interval`` seconds between empty polls (other processes' uploads are seen that
    way) and wakes at once when this process queues an upload (``notify``).
    """

    def __init__(self, db: Database, *, max_bytes: int, poll_interval: float = 2.0) -> None:
        self._db = db
        self._max_bytes = max_bytes
        self._poll_interval = poll_interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="patchgap-upload-worker", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                taken = run_pending(self._db, max_bytes=self._max_bytes, limit=100)
            except Exception:  # the worker must outlive one bad poll (a database restart, say)
                log.exception("upload worker: poll failed")
                taken = 0
            if taken == 0:
                self._wake.wait(self._poll_interval)


def resolve_project(
    db: Database, *, org: str, project: str | None, name: str | None, auto_create: bool
) -> str:
    """The system a Dependency-Track upload is for, by project UUID or by name (created if asked).

    As in Dependency-Track: a UUID must name an existing project; a name that does not exist yet is
    created only with ``autoCreate``, otherwise the upload is refused as "not found".
    """
    if project:
        found = system_for_project(db, org, project)
        with db.read() as session:
            refuse_uploads_to(session, org, found)
        return found
    if not name:
        raise InputError("upload", "give either project (a UUID) or projectName")
    with db.read() as session:
        organization = get_organization(session, org)
        assert organization.id is not None
        exists = name in system_names(session, organization.id)
        if exists:
            refuse_uploads_to(session, org, name)  # queued for a decommissioned system: refused now
    if exists:
        return name
    if not auto_create:
        raise NotFoundError(f"project {name!r} does not exist in organization {org!r} (autoCreate is false)")
    with db.write() as session:
        get_or_create_system(session, get_organization(session, org), name)
    return name
