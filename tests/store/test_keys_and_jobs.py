"""Storage of the API: keys and sessions scoped by organization, and the upload queue's claiming."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core.errors import NotFoundError
from core.time import utcnow
from store.db import Database
from store.queries.jobs import claim_upload_job, finish_upload_job, get_upload_job, insert_upload_job
from store.queries.organizations import (
    find_dashboard_session,
    find_key_by_prefix,
    get_or_create_organization,
    insert_api_key,
    insert_dashboard_session,
    list_api_keys,
    revoke_api_key,
    touch_api_key,
)
from store.tables.jobs import UploadJob
from tests.bombs import zlib_bomb


def _key(session: Session, org: str, prefix: str) -> int:
    row = insert_api_key(
        session,
        get_or_create_organization(session, org),
        name="",
        role="reader",
        prefix=prefix,
        key_hash="h" * 64,
    )
    return row.id


def _job(session: Session, org: str, token: str) -> None:
    organization = get_or_create_organization(session, org)
    assert organization.id is not None
    insert_upload_job(
        session,
        token=token,
        org_id=organization.id,
        system_name="s",
        release_label=None,
        source="x",
        observed_at=None,
        data=b"payload " * 10,
    )


def test_keys_are_scoped_and_revocation_ends_sessions(db: Database) -> None:
    now = utcnow()
    with db.write() as session:
        acme = _key(session, "acme", "aaaa")
        _key(session, "globex", "bbbb")
        insert_dashboard_session(
            session,
            token_hash="t" * 64,
            key_id=acme,
            csrf_token="c",
            now=now,
            expires_at=now + timedelta(hours=1),
        )
    with db.read() as session:
        assert [k.prefix for k in list_api_keys(session, "acme")] == ["aaaa"]
        found = find_key_by_prefix(session, "bbbb")
        assert found is not None
        assert found.org == "globex"
        assert find_dashboard_session(session, "t" * 64, now) is not None
        assert find_dashboard_session(session, "t" * 64, now + timedelta(hours=2)) is None
    with db.write() as session, pytest.raises(NotFoundError):
        revoke_api_key(session, "globex", acme, now)
    with db.write() as session:
        assert revoke_api_key(session, "acme", acme, now).revoked_at is not None
    with db.read() as session:
        assert find_dashboard_session(session, "t" * 64, now) is None


def test_last_used_is_written_at_most_once_per_interval(db: Database) -> None:
    t0 = utcnow()
    with db.write() as session:
        key = _key(session, "acme", "cccc")
        touch_api_key(session, key, t0, t0 - timedelta(minutes=1))
        touch_api_key(
            session, key, t0 + timedelta(seconds=5), t0 + timedelta(seconds=5) - timedelta(minutes=1)
        )
    with db.read() as session:
        found = find_key_by_prefix(session, "cccc")
        assert found is not None
        assert found.last_used_at == t0.replace(
            microsecond=found.last_used_at.microsecond if found.last_used_at else 0
        )


def test_claims_take_the_oldest_queued_job_and_finished_jobs_drop_their_payload(db: Database) -> None:
    now = utcnow()
    with db.write() as session:
        for token in ("j1", "j2"):
            _job(session, "acme", token)
    with db.write() as session:
        claimed = claim_upload_job(session, now, now - timedelta(minutes=10))
        assert claimed is not None
        assert (claimed.job.token, claimed.job.status, claimed.org, claimed.data) == (
            "j1",
            "processing",
            "acme",
            b"payload " * 10,
        )
        finish_upload_job(session, claimed.job.id, status="done", now=now, result="created")
    with db.read() as session:
        assert get_upload_job(session, "acme", "j1").status == "done"
        with pytest.raises(NotFoundError):
            get_upload_job(session, "globex", "j1")


def test_a_payload_that_unpacks_past_the_limit_is_claimed_with_its_problem_and_no_data(db: Database) -> None:
    now = utcnow()
    with db.write() as session:
        for token in ("j1", "j2", "j3"):
            _job(session, "acme", token)
        # j2's payload became a 256 MiB zlib bomb (~256 KB), j3's is not zlib data at all.
        session.execute(sa.update(UploadJob).where(sa.column("token") == "j2").values(payload=zlib_bomb(256)))
        session.execute(sa.update(UploadJob).where(sa.column("token") == "j3").values(payload=b"garbage"))
    claimed = []
    for _ in range(3):
        with db.write() as session:
            job = claim_upload_job(session, now, now - timedelta(minutes=10), max_bytes=1024 * 1024)
            assert job is not None
            claimed.append(job)
    assert [(c.job.token, c.data, c.problem) for c in claimed] == [
        ("j1", b"payload " * 10, None),
        (
            "j2",
            b"",
            "upload j2 (stored SBOM): unpacks to more than the limit of 1048576 bytes (1 MiB); refused",
        ),
        (
            "j3",
            b"",
            "upload j3 (stored SBOM): not valid zlib data "
            "(Error -3 while decompressing data: incorrect header check); refused",
        ),
    ]
    # The SBOM limit is the default bound.
    with db.write() as session:
        _job(session, "acme", "j4")
        session.execute(sa.update(UploadJob).where(sa.column("token") == "j4").values(payload=zlib_bomb(64)))
    with db.write() as session:
        job = claim_upload_job(session, now, now - timedelta(minutes=10))
        assert job is not None
        assert job.problem == (
            "upload j4 (stored SBOM): unpacks to more than the limit of 52428800 bytes (50 MiB); refused"
        )


@pytest.mark.postgres
def test_a_locked_job_is_skipped_not_waited_for(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("row locks with SKIP LOCKED exist on PostgreSQL only")
    now = utcnow()
    with db.write() as session:
        for token in ("j1", "j2"):
            _job(session, "acme", token)
    # The first claimer holds its row lock (transaction open); the second must take the next job at
    # once. Without SKIP LOCKED it would wait: lock_timeout turns that wait into an error.
    with db.write() as first:
        one = claim_upload_job(first, now, now - timedelta(minutes=10))
        with db.write() as second:
            second.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            two = claim_upload_job(second, now, now - timedelta(minutes=10))
            assert one is not None
            assert two is not None
            assert (one.job.token, two.job.token) == ("j1", "j2")
            with db.write() as third:
                third.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                assert claim_upload_job(third, now, now - timedelta(minutes=10)) is None
