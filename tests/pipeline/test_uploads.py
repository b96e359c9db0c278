"""The durable upload queue: enqueue, claim, process, failures, leases, and concurrent workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.errors import NotFoundError, SbomError
from pipeline.systems import list_systems
from pipeline.uploads import (
    UploadWorker,
    claim_next,
    enqueue_upload,
    process_job,
    project_uuid,
    queue_checked_upload,
    resolve_project,
    run_pending,
    system_for_project,
    upload_status,
)
from store.db import Database
from store.queries.organizations import get_or_create_organization
from store.queries.systems import list_snapshots
from store.tables.jobs import UploadJob
from tests.bombs import zlib_bomb
from tests.conftest import cyclonedx_json

MAX = 1_000_000


def _org_id(db: Database, org: str) -> int:
    with db.write() as session:
        found = get_or_create_organization(session, org)
        assert found.id is not None
        return found.id


def _bom(i: int) -> bytes:
    return cyclonedx_json(
        [(f"p{i}", "1.0", f"pkg:npm/p{i}@1.0")], timestamp=f"2024-01-{1 + i % 28:02d}T00:00:00Z"
    )


def _enqueue(db: Database, i: int, system: str = "app") -> str:
    return enqueue_upload(
        db,
        org_id=_org_id(db, "acme"),
        org="acme",
        system=system,
        data=_bom(i),
        source=f"bom {i}",
        max_bytes=MAX,
    ).token


def test_jobs_are_processed_in_order_and_recorded(db: Database) -> None:
    tokens = [_enqueue(db, i) for i in range(3)]
    assert [upload_status(db, "acme", t).status for t in tokens] == ["queued"] * 3
    assert run_pending(db, max_bytes=MAX) == 3
    jobs = [upload_status(db, "acme", t) for t in tokens]
    assert [(j.status, j.result, j.attempts) for j in jobs] == [("done", "created", 1)] * 3
    with db.read() as session:
        assert [s.id for s in list_snapshots(session, "acme", "app")] == [j.snapshot_id for j in jobs]
    assert run_pending(db, max_bytes=MAX) == 0


def test_a_bad_sbom_fails_with_the_readers_message_and_is_not_retried(db: Database) -> None:
    token = enqueue_upload(
        db,
        org_id=_org_id(db, "acme"),
        org="acme",
        system="app",
        data=b"<nonsense/>",
        source="ci bom",
        max_bytes=MAX,
    ).token
    assert run_pending(db, max_bytes=MAX) == 1
    job = upload_status(db, "acme", token)
    assert job.status == "failed"
    assert job.error is not None
    assert job.error.startswith("ci bom: ")
    assert job.attempts == 1


def test_a_payload_that_unpacks_past_the_limit_fails_its_job_and_the_queue_goes_on(db: Database) -> None:
    """A stored payload that unpacks to more than the SBOM limit (a 256 MiB bomb here) fails its job at
    once, is not claimed again, stores nothing, and the jobs after it are processed."""
    bad, good = _enqueue(db, 1), _enqueue(db, 2)
    with db.write() as session:  # the row as damage or tampering might leave it
        session.execute(sa.update(UploadJob).where(sa.column("token") == bad).values(payload=zlib_bomb(256)))
    assert run_pending(db, max_bytes=MAX) == 2
    failed, done = upload_status(db, "acme", bad), upload_status(db, "acme", good)
    assert (failed.status, failed.attempts, failed.snapshot_id) == ("failed", 1, None)
    assert failed.error == (
        f"upload {bad} (stored SBOM): unpacks to more than the limit of {MAX} bytes (976.6 KiB); refused"
    )
    assert done.status == "done"
    with db.read() as session:
        assert [s.id for s in list_snapshots(session, "acme", "app")] == [done.snapshot_id]
        assert session.get_one(UploadJob, failed.id).payload == b""  # finished: its payload is dropped
    assert run_pending(db, max_bytes=MAX) == 0


def test_empty_and_oversized_uploads_are_refused_before_queueing(db: Database) -> None:
    org_id = _org_id(db, "acme")
    with pytest.raises(SbomError, match="empty"):
        enqueue_upload(db, org_id=org_id, org="acme", system="a", data=b"  ", source="s", max_bytes=MAX)
    with pytest.raises(SbomError, match="larger than"):
        enqueue_upload(db, org_id=org_id, org="acme", system="a", data=b"x" * 11, source="s", max_bytes=10)


def test_a_job_of_a_dead_worker_is_claimed_again_after_its_lease(db: Database) -> None:
    token = _enqueue(db, 1)
    claimed = claim_next(db)
    assert claimed is not None
    # The worker "dies" here. Within the lease nobody else takes the job …
    assert claim_next(db) is None
    # … after it, another worker does, and processes it once.
    again = claim_next(db, lease=timedelta(seconds=-1))
    assert again is not None
    assert again.job.token == token
    assert process_job(db, again, max_bytes=MAX) == "done"
    assert upload_status(db, "acme", token).attempts == 2


def test_other_organizations_tokens_are_not_found(db: Database) -> None:
    token = _enqueue(db, 1)
    _org_id(db, "globex")
    with pytest.raises(NotFoundError):
        upload_status(db, "globex", token)


def test_projects_resolve_by_uuid_and_by_name(db: Database) -> None:
    with pytest.raises(NotFoundError):
        resolve_project(db, org="acme", project=None, name="web", auto_create=False) if _org_id(
            db, "acme"
        ) else None
    assert resolve_project(db, org="acme", project=None, name="web", auto_create=True) == "web"
    assert system_for_project(db, "acme", project_uuid("acme", "web").upper()) == "web"
    assert project_uuid("acme", "web") != project_uuid("globex", "web")
    with pytest.raises(NotFoundError):
        system_for_project(db, "acme", project_uuid("globex", "web"))


def test_the_worker_thread_processes_what_is_queued(db: Database) -> None:
    worker = UploadWorker(db, max_bytes=MAX, poll_interval=0.05)
    worker.start()
    try:
        token = _enqueue(db, 5)
        worker.notify()
        for _ in range(400):  # bounded wait for the thread; no timing is asserted
            if upload_status(db, "acme", token).status == "done":
                break
            threading.Event().wait(0.05)
    finally:
        worker.stop()
    assert upload_status(db, "acme", token).status == "done"


@pytest.mark.postgres
def test_two_workers_never_process_the_same_job(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serializes claims by its write lock")
    engines = [Database.open(db_url) for _ in range(2)]
    try:
        tokens = [_enqueue(engines[0], i, system=f"s{i % 4}") for i in range(40)]
        taken = [0, 0]

        def work(n: int) -> None:
            taken[n] = run_pending(engines[n], max_bytes=MAX)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        jobs = [upload_status(engines[0], "acme", t) for t in tokens]
        assert sum(taken) == 40
        assert [j.attempts for j in jobs] == [1] * 40
        assert {j.status for j in jobs} == {"done"}
        assert len({j.snapshot_id for j in jobs}) == 40
    finally:
        for db in engines:
            db.dispose()


def _refuse_release_label(db: Database, label: str, sqlstate: str) -> None:
    """A trigger that makes the database itself refuse a snapshot with ``label`` (``sqlstate`` on
    PostgreSQL: 22023 is a data exception, 40001 a serialization failure; SQLite's RAISE is a constraint)."""
    with db.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_label BEFORE INSERT ON snapshot "
                f"WHEN NEW.release_label = '{label}' BEGIN SELECT RAISE(ABORT, 'label refused'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_label() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.release_label = '{label}' THEN "
                f"RAISE EXCEPTION 'label refused' USING ERRCODE = '{sqlstate}'; END IF; RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_label BEFORE INSERT ON snapshot "
                "FOR EACH ROW EXECUTE FUNCTION refuse_label()"
            )
        conn.commit()


def test_a_job_the_database_refuses_fails_at_once_saying_why(db: Database) -> None:
    _refuse_release_label(db, "bad", "22023")
    token = enqueue_upload(
        db,
        org_id=_org_id(db, "acme"),
        org="acme",
        system="app",
        data=_bom(1),
        source="ci bom",
        max_bytes=MAX,
        release_label="bad",
    ).token
    assert run_pending(db, max_bytes=MAX) == 1  # taken once: a refused value is not retried
    job = upload_status(db, "acme", token)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error is not None
    assert job.error.startswith("refused by the database: ")
    assert "label refused" in job.error
    assert list_systems(db, "acme") == []  # the whole ingest was rolled back, system included


@pytest.mark.postgres
def test_a_transient_database_error_is_retried_then_fails(db: Database) -> None:
    if db.engine.dialect.name == "sqlite":
        pytest.skip("a SQLite trigger can only raise constraint errors, never a transient one")
    _refuse_release_label(db, "busy", "40001")
    token = enqueue_upload(
        db,
        org_id=_org_id(db, "acme"),
        org="acme",
        system="app",
        data=_bom(1),
        source="ci bom",
        max_bytes=MAX,
        release_label="busy",
    ).token
    assert run_pending(db, max_bytes=MAX) == 3  # MAX_ATTEMPTS
    job = upload_status(db, "acme", token)
    assert (job.status, job.attempts) == ("failed", 3)
    assert job.error is not None
    assert job.error.startswith("database error: ")


def test_a_checked_upload_refuses_a_broken_sbom_before_creating_or_queueing_anything(db: Database) -> None:
    org_id = _org_id(db, "acme")

    def queue(data: bytes) -> str:
        return queue_checked_upload(
            db,
            org_id=org_id,
            org="acme",
            project=None,
            name="web",
            version="1.0",
            auto_create=True,
            data=data,
            source="bom of web",
            max_bytes=MAX,
        ).token

    with pytest.raises(SbomError, match=r"^bom of web: unknown SBOM format"):
        queue(b"hello world")
    assert [s.name for s in list_systems(db, "acme")] == []
    assert run_pending(db, max_bytes=MAX) == 0
    token = queue(_bom(1))
    assert [s.name for s in list_systems(db, "acme")] == ["web"]
    assert run_pending(db, max_bytes=MAX) == 1
    assert upload_status(db, "acme", token).release_label == "1.0"
