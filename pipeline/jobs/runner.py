"""Running scheduled jobs: claim once across processes, run, record, retry with backoff.

:func:`run_job` is one run of one job:

1. a short write transaction gives the job a schedule row if it has none (due at once) and claims it
   (``store.queries.jobs.claim_scheduled_job``): due (or forced by ``patchgap jobs run``) and not leased
   by another process. On PostgreSQL the row is locked ``FOR UPDATE SKIP LOCKED``, so of several server
   and worker processes exactly one gets it; the lease (the job's interval, from 15 minutes to 2 hours)
   keeps the others off while it runs, and expires if the process dies. On SQLite ``BEGIN IMMEDIATE``
   serializes the claims.
2. the body runs outside any transaction of ours; whatever it raises is caught.
3. a second write transaction records the run (``job_run``), releases the lease and sets the next due
   moment: the interval after the start when the run succeeded; after a failure, a backoff of 1, 2, 4 …
   minutes (capped at the interval) after the end. A failed sync also writes its ``sync.failed`` event
   (``store.queries.notifications.add_event``) in that same transaction.

A failing job never stops the caller: :class:`Scheduler` (a thread of ``patchgap serve`` and of
``patchgap worker``) runs every due job in turn, logs what it could not even record, and carries on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import PatchgapError
from core.events import SYNC_FAILED
from core.settings import DEFAULT_DUE_WITHIN_DAYS
from core.time import rfc3339, utcnow
from ingest.advisories.http import HttpClient
from pipeline.jobs.registry import Job
from store.db import Database
from store.queries.jobs import (
    RunRow,
    ScheduleRow,
    claim_scheduled_job,
    ensure_schedules,
    finish_scheduled_job,
    job_runs,
    job_schedules,
)
from store.queries.notifications import add_event

if TYPE_CHECKING:
    from pipeline.notifications import DeliverySettings

log = logging.getLogger(__name__)

#: The first retry of a failed job waits this long; each further failure doubles it, up to the interval.
RETRY_BASE = timedelta(minutes=1)
MIN_LEASE = timedelta(minutes=15)
MAX_LEASE = timedelta(hours=2)


def default_runner() -> str:
    """Who runs a job, as the run records it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a body receives: the database, the moment of the claim, and values from the edge's settings.

    ``http_client`` makes the HTTP client a sync fetches through (tests pass one over a MockTransport);
    ``delivery`` is the ``pipeline.notifications.DeliverySettings`` the edge built (None: its default).
    """

    db: Database
    now: datetime
    http_client: Callable[[], HttpClient] = HttpClient
    due_within_days: int = DEFAULT_DUE_WITHIN_DAYS
    delivery: DeliverySettings | None = None
    # Package registry base URLs by registry name (``pypi`` …), for the ``enrich`` job.
    registry_urls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """One recorded run: ``outcome`` is ``ok``, ``failed`` or ``skipped`` (the job is unavailable)."""

    job: str
    run_id: int
    outcome: str
    counts: dict[str, int]
    error: str | None
    attempt: int
    started_at: datetime
    finished_at: datetime
    next_due_at: datetime


@dataclass(frozen=True, slots=True)
class ContextValues:
    """The edge's values every run's :class:`JobContext` is built from (all but the moment)."""

    http_client: Callable[[], HttpClient] = HttpClient
    due_within_days: int = DEFAULT_DUE_WITHIN_DAYS
    delivery: DeliverySettings | None = None
    registry_urls: Mapping[str, str] = field(default_factory=dict)

    def context(self, db: Database, now: datetime) -> JobContext:
        return JobContext(
            db, now, self.http_client, self.due_within_days, self.delivery, dict(self.registry_urls)
        )


def backoff(attempt: int, interval: int) -> timedelta:
    """How long after failed attempt ``attempt`` (1, 2, …) the job is tried again."""
    cap = timedelta(seconds=interval)
    if attempt > 20:  # 2**20 minutes is far past any interval
        return cap
    return min(RETRY_BASE * (1 << (attempt - 1)), cap)


def lease_for(job: Job) -> timedelta:
    return min(max(timedelta(seconds=job.interval), MIN_LEASE), MAX_LEASE)


def run_job(
    db: Database,
    job: Job,
    values: ContextValues,
    *,
    runner: str | None = None,
    force: bool = False,
) -> RunOutcome | None:
    """Claim ``job`` and run it; ``None`` when it is not due (unless ``force``) or another process holds it.

    ``force`` (``patchgap jobs run``) runs it whether due or not, and whether enabled or not.
    """
    who = runner or default_runner()
    started = utcnow()
    with db.write() as session:
        ensure_schedules(session, [job.name], started)
        attempt = claim_scheduled_job(
            session, job.name, started, lease_until=started + lease_for(job), runner=who, force=force
        )
    if attempt is None:
        return None
    counts: dict[str, int] = {}
    error: str | None = None
    if job.body is None:
        outcome, error = "skipped", f"unavailable: {job.unavailable}"
    else:
        try:
            counts = {str(k): int(v) for k, v in job.body(values.context(db, started), job.url).items()}
            outcome = "ok"
        except PatchgapError as exc:
            outcome, error = "failed", str(exc)
            log.warning("job %s failed (attempt %d): %s", job.name, attempt, error)
        except Exception as exc:  # a job must never take its caller down; the traceback goes to the log
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("job %s failed (attempt %d)", job.name, attempt)
    finished = utcnow()
    if outcome == "ok":
        log.info("job %s: ok in %.1f s %s", job.name, (finished - started).total_seconds(), counts)
    if outcome == "failed":
        next_due = finished + backoff(attempt, job.interval)
    else:
        next_due = max(started + timedelta(seconds=job.interval), finished)
    with db.write() as session:
        run_id = finish_scheduled_job(
            session,
            job.name,
            started_at=started,
            finished_at=finished,
            outcome=outcome,
            counts=counts,
            error=error,
            attempt=attempt,
            trigger="manual" if force else "scheduled",
            runner=who,
            next_due_at=next_due,
        )
        if outcome == "failed" and job.kind == "sync":
            add_event(
                session,
                None,
                SYNC_FAILED,
                f"{job.name}:{run_id}",
                sync_failed_payload(job.name, run_id, error or "", attempt, next_due),
                now=finished,
            )
    return RunOutcome(job.name, run_id, outcome, counts, error, attempt, started, finished, next_due)


def sync_failed_payload(
    job: str, run_id: int, error: str, attempt: int, retry_at: datetime
) -> dict[str, Any]:
    """The ``sync.failed`` event's data (an installation event: no organization, no system)."""
    return {
        "organization": None,
        "job": {"name": job, "run_id": run_id, "error": error, "attempts": attempt},
        "summary": f"Scheduled sync {job} failed (attempt {attempt}): {error}; next try {rfc3339(retry_at)}",
    }


def run_due(
    db: Database, jobs: Sequence[Job], values: ContextValues, *, runner: str | None = None
) -> list[RunOutcome]:
    """Run every enabled, available job that is due (each claimed as :func:`run_job` says), in order.

    One read finds the candidates (due, or never scheduled, and not leased), so a pass with nothing due
    takes no write lock. A job whose run cannot even be recorded (the database went away) is logged and
    the others still run.
    """
    now = utcnow()
    with db.read() as session:
        schedules = job_schedules(session)
    done: list[RunOutcome] = []
    for job in jobs:
        row = schedules.get(job.name)
        if not job.runnable or (row is not None and not _claimable(row, now)):
            continue
        try:
            outcome = run_job(db, job, values, runner=runner)
        except Exception:
            log.exception("job %s: could not be claimed or recorded", job.name)
            continue
        if outcome is not None:
            done.append(outcome)
    return done


def _claimable(row: ScheduleRow, now: datetime) -> bool:
    return row.next_due_at <= now and (row.lease_until is None or row.lease_until <= now)


def changed_facts(outcomes: Sequence[RunOutcome]) -> bool:
    """Whether one of these runs changed what the reports and lists show: a sync that imported something
    new (``changed``), an enrichment that rebuilt systems. Evaluations and deliveries write events
    only."""
    return any(
        o.outcome == "ok" and (o.counts.get("changed", 0) > 0 or o.counts.get("systems_rebuilt", 0) > 0)
        for o in outcomes
    )


@dataclass(slots=True)
class Scheduler:
    """The thread that runs due jobs every ``poll_interval`` seconds until :meth:`stop`.

    ``patchgap serve`` starts one per server process (unless ``--no-jobs``) and ``patchgap worker`` one
    per worker; the claims make each due job run once among them. ``after_jobs`` is called after a
    pass whose jobs changed facts (:func:`changed_facts`; a serving process reads its pages again
    then: ``pipeline.warmup``).
    """

    db: Database
    jobs: Sequence[Job]
    values: ContextValues = field(default_factory=ContextValues)
    poll_interval: float = 15.0
    runner: str = field(default_factory=default_runner)
    after_jobs: Callable[[], None] | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="patchgap-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop after the job it is running, and wait for it up to ``timeout``."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run_once(self) -> list[RunOutcome]:
        """One pass over the due jobs (what the thread does every ``poll_interval``)."""
        return run_due(
            self.db, [j for j in self.jobs if not self._stopping.is_set()], self.values, runner=self.runner
        )

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if changed_facts(self.run_once()) and self.after_jobs is not None:
                    self.after_jobs()
            except Exception:  # the scheduler outlives one bad pass
                log.exception("scheduler: pass failed")
            self._stopping.wait(self.poll_interval)


# --- reading the schedule ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A job as ``patchgap jobs list`` and ``GET /api/v1/jobs`` show it."""

    job: Job
    schedule: ScheduleRow | None


def job_statuses(db: Database, jobs: Sequence[Job]) -> list[JobStatus]:
    """Every job with its schedule row (None until it first ran or was claimed)."""
    with db.read() as session:
        rows = job_schedules(session)
    return [JobStatus(job, rows.get(job.name)) for job in jobs]


def recent_runs(db: Database, job: str | None = None, *, limit: int = 50) -> list[RunRow]:
    """The newest runs (of one job, or of all), newest first."""
    with db.read() as session:
        return job_runs(session, job, limit=limit)


def status_json(status: JobStatus) -> dict[str, Any]:
    """One job as JSON (``patchgap jobs list --json``, ``GET /api/v1/jobs``)."""
    job, row = status.job, status.schedule
    return {
        "name": job.name,
        "kind": job.kind,
        "description": job.description,
        "enabled": job.enabled,
        "available": job.body is not None,
        "unavailable_reason": job.unavailable,
        "interval_seconds": job.interval,
        "url": job.url,
        "next_due_at": _time(row.next_due_at) if row else None,
        "running_since": _time(row.running_since) if row else None,
        "running_by": row.running_by if row else None,
        "last_run_id": row.last_run_id if row else None,
        "last_outcome": row.last_outcome if row else None,
        "last_finished_at": _time(row.last_finished_at) if row else None,
        "last_error": row.last_error if row else None,
        "consecutive_failures": row.consecutive_failures if row else 0,
    }


def run_json(run: RunRow) -> dict[str, Any]:
    """One run as JSON."""
    return {
        "id": run.id,
        "job": run.job,
        "started_at": rfc3339(run.started_at),
        "finished_at": rfc3339(run.finished_at),
        "outcome": run.outcome,
        "counts": dict(run.counts),
        "error": run.error,
        "attempt": run.attempt,
        "trigger": run.trigger,
        "runner": run.runner,
    }


def _time(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


__all__ = [
    "ContextValues",
    "JobContext",
    "JobStatus",
    "RunOutcome",
    "Scheduler",
    "backoff",
    "job_statuses",
    "recent_runs",
    "run_due",
    "run_job",
    "run_json",
    "status_json",
]
