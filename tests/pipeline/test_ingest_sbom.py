"""The ingest use-case end to end (real SBOM bytes through ``read_sbom``), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.errors import ConflictError, SbomError, StorageError
from core.settings import DEFAULT_MAX_SBOM_BYTES
from core.time import CLOCK_SKEW, rfc3339, utcnow
from pipeline.ingest import NO_TIMESTAMP, SbomUpload, ingest_sbom, ingest_sboms
from store.db import Database
from store.queries.systems import list_snapshots, list_systems, snapshot_components

MAX = DEFAULT_MAX_SBOM_BYTES
CycloneDx = Callable[..., bytes]  # the conftest fixture ``cyclonedx``
SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"
TABLES = (
    "organization",
    "system",
    "snapshot",
    "component_set",
    "component_set_member",
    "package_version",
    "not_assessable_component",
)
LIBS = [
    ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
    ("lodash", "4.17.21", "pkg:npm/lodash@4.17.21"),
    ("guava", "32.0.0-jre", "pkg:maven/com.google.guava/guava@32.0.0-jre"),
]


def counts(db: Database) -> dict[str, int]:
    with db.connect() as conn:
        return {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}


def nothing_stored(db: Database) -> bool:
    return all(n == 0 for n in counts(db).values())


def test_first_upload_creates_and_the_same_bytes_again_are_unchanged(
    db: Database, cyclonedx: CycloneDx
) -> None:
    data = cyclonedx(LIBS)
    first = ingest_sbom(db, org="acme", system="shop", data=data, source="a.json", max_bytes=MAX)
    again = ingest_sbom(db, org="acme", system="shop", data=data, source="a.json", max_bytes=MAX)
    assert first.status == "created"
    assert again.status == "unchanged"
    assert again.snapshot_id == first.snapshot_id
    assert (again.component_count, again.not_assessable_count) == (3, 0)
    assert again.quality == first.quality
    assert "component-no-supplier" in {flag.code for flag in first.quality}
    assert first.observed_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert counts(db)["snapshot"] == 1


def test_the_same_bytes_twice_in_one_ingest_are_created_then_unchanged(
    db: Database, cyclonedx: CycloneDx
) -> None:
    data = cyclonedx(LIBS)
    first, again = ingest_sboms(
        db, [SbomUpload(data, "a"), SbomUpload(data, "a")], org="acme", system="shop", max_bytes=MAX
    )
    assert (first.status, again.status) == ("created", "unchanged")
    assert counts(db)["snapshot"] == 1


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [', "bad.json: "),
        (b"", "bad.json: "),
        (b"<?xml version='1.0'?><nothing/>", "bad.json: unknown SBOM format"),
    ],
)
def test_unreadable_input_is_refused_naming_the_source_and_writes_nothing(
    db: Database, data: bytes, problem: str
) -> None:
    with pytest.raises(SbomError) as excinfo:
        ingest_sbom(db, org="acme", system="shop", data=data, source="bad.json", max_bytes=MAX)
    assert str(excinfo.value).startswith(problem)
    assert "\n" not in str(excinfo.value)
    assert nothing_stored(db)


def test_over_the_size_limit_writes_nothing(db: Database, cyclonedx: CycloneDx) -> None:
    data = cyclonedx(LIBS)
    with pytest.raises(SbomError, match=r"^big\.json: .*limit"):
        ingest_sbom(db, org="acme", system="shop", data=data, source="big.json", max_bytes=len(data) - 1)
    assert nothing_stored(db)


def test_no_timestamp_needs_an_explicit_observed_at(db: Database, cyclonedx: CycloneDx) -> None:
    data = cyclonedx(LIBS, timestamp=None)
    with pytest.raises(SbomError) as excinfo:
        ingest_sbom(db, org="acme", system="shop", data=data, source="nots.json", max_bytes=MAX)
    assert str(excinfo.value) == f"nots.json: {NO_TIMESTAMP}"
    assert nothing_stored(db)
    # Without a time zone it is taken as UTC.
    given = datetime(2024, 3, 1, 12, 0)
    result = ingest_sbom(
        db, org="acme", system="shop", data=data, source="nots.json", observed_at=given, max_bytes=MAX
    )
    assert result.observed_at == given.replace(tzinfo=UTC)


def test_an_explicit_observed_at_wins_over_the_sbom_timestamp(db: Database, cyclonedx: CycloneDx) -> None:
    given = datetime(2025, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    result = ingest_sbom(
        db, org="acme", system="shop", data=cyclonedx(LIBS), source="a", observed_at=given, max_bytes=MAX
    )
    assert result.observed_at == datetime(2025, 6, 1, 7, 30, tzinfo=UTC)


def test_a_snapshot_dated_in_the_future_is_refused(db: Database, cyclonedx: CycloneDx) -> None:
    """A snapshot cannot be observed before it is taken: its time may lie at most ``CLOCK_SKEW`` (the
    SBOM maker's clock running ahead) after this server's clock; a later one — in the SBOM or given —
    is refused with the file and field named, and nothing is stored (a view of "now" would otherwise
    leave it out, and compute every figure as a look back, until then)."""
    now = utcnow().replace(microsecond=0)
    ahead = now + CLOCK_SKEW + timedelta(minutes=2)
    data = cyclonedx(LIBS, timestamp=rfc3339(ahead))
    with pytest.raises(SbomError) as excinfo:
        ingest_sbom(db, org="acme", system="shop", data=data, source="skewed.json", max_bytes=MAX)
    assert excinfo.value.source == "skewed.json"
    assert f"observed_at {rfc3339(ahead)} is later than this server's clock" in str(excinfo.value)
    given = now + timedelta(days=3)
    with pytest.raises(SbomError, match="is later than this server's clock"):
        ingest_sbom(
            db, org="acme", system="shop", data=cyclonedx(LIBS), source="a", observed_at=given, max_bytes=MAX
        )
    assert nothing_stored(db)
    # Within the skew: accepted as stamped.
    within = now + CLOCK_SKEW - timedelta(minutes=1)
    data = cyclonedx(LIBS, timestamp=rfc3339(within))
    result = ingest_sbom(db, org="acme", system="shop", data=data, source="near.json", max_bytes=MAX)
    assert (result.status, result.observed_at) == ("created", within)


def _install_failing_trigger(db: Database, when_component_count: int) -> None:
    """A real database failure at the very last insert of an ingest (the snapshot row)."""
    with db.begin() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER fail_snapshot BEFORE INSERT ON snapshot "
                f"WHEN NEW.component_count = {when_component_count} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION fail_snapshot() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER fail_snapshot BEFORE INSERT ON snapshot FOR EACH ROW "
                f"WHEN (NEW.component_count = {when_component_count}) EXECUTE FUNCTION fail_snapshot()"
            )


def test_a_failure_at_the_last_insert_leaves_no_rows(db: Database, cyclonedx: CycloneDx) -> None:
    _install_failing_trigger(db, when_component_count=4)
    data = cyclonedx([*LIBS, ("nopurl", "1", None)])
    with pytest.raises(StorageError, match="injected failure"):
        ingest_sbom(db, org="acme", system="shop", data=data, source="a", max_bytes=MAX)
    # Organization, system, package versions, set, members and not-assessable rows were all written
    # before the snapshot insert failed; none of them remains.
    assert nothing_stored(db)


def test_a_failing_file_rolls_back_the_whole_ingest(db: Database, cyclonedx: CycloneDx) -> None:
    _install_failing_trigger(db, when_component_count=4)
    good = cyclonedx(LIBS)
    bad = cyclonedx([*LIBS, ("other", "1", "pkg:pypi/other@1")], timestamp="2024-02-01T00:00:00Z")
    with pytest.raises(StorageError, match="injected failure"):
        ingest_sboms(
            db, [SbomUpload(good, "good"), SbomUpload(bad, "bad")], org="acme", system="shop", max_bytes=MAX
        )
    assert nothing_stored(db)
    ingest_sbom(db, org="acme", system="shop", data=good, source="good", max_bytes=MAX)
    stored = counts(db)
    assert (stored["snapshot"], stored["component_set"], stored["package_version"]) == (1, 1, 3)


def test_a_system_in_another_environment_is_refused_and_nothing_written(
    db: Database, cyclonedx: CycloneDx
) -> None:
    ingest_sbom(
        db, org="acme", system="shop", data=cyclonedx(LIBS), source="a", environment="prod", max_bytes=MAX
    )
    before = counts(db)
    other = cyclonedx(LIBS[:1])
    with pytest.raises(ConflictError):
        ingest_sbom(
            db, org="acme", system="shop", data=other, source="b", environment="staging", max_bytes=MAX
        )
    assert counts(db) == before


def test_backfilled_snapshots_are_listed_in_observed_order(db: Database, cyclonedx: CycloneDx) -> None:
    stamps = ["2024-03-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00+05:00"]
    for i, stamp in enumerate(stamps):
        data = cyclonedx([("requests", f"2.{i}.0", f"pkg:pypi/requests@2.{i}.0")], timestamp=stamp)
        assert (
            ingest_sbom(db, org="acme", system="shop", data=data, source=stamp, max_bytes=MAX).status
            == "created"
        )
    with db.read() as session:
        listed = list_snapshots(session, "acme", "shop")
    assert [s.observed_at.isoformat() for s in listed] == [
        "2024-01-01T00:00:00+00:00",
        "2024-01-31T19:00:00+00:00",
        "2024-03-01T00:00:00+00:00",
    ]


def test_weekly_snapshots_with_the_same_components_share_a_set(db: Database, cyclonedx: CycloneDx) -> None:
    week1 = cyclonedx(LIBS, timestamp="2024-01-01T00:00:00Z", serial="urn:uuid:1")
    week2 = cyclonedx(list(reversed(LIBS)), timestamp="2024-01-08T00:00:00Z", serial="urn:uuid:2")
    changed = [("requests", "2.32.0", "pkg:pypi/requests@2.32.0"), *LIBS[1:]]
    week3 = cyclonedx(changed, timestamp="2024-01-15T00:00:00Z")
    results = [
        ingest_sbom(db, org="acme", system="shop", data=d, source=f"w{i}", max_bytes=MAX)
        for i, d in enumerate([week1, week2, week3])
    ]
    assert [r.status for r in results] == ["created"] * 3
    assert results[0].component_set_id == results[1].component_set_id != results[2].component_set_id
    stored = counts(db)
    assert (stored["snapshot"], stored["component_set"], stored["package_version"]) == (3, 2, 4)


def test_not_assessable_components_are_counted_by_reason(db: Database, cyclonedx: CycloneDx) -> None:
    data = cyclonedx(
        [
            *LIBS,
            ("firmware", "1.0", None),
            ("noversion", None, "pkg:npm/noversion"),
            ("blob", "2", "pkg:generic/blob@2"),
            ("broken", "1", "not a purl"),
        ]
    )
    result = ingest_sbom(db, org="acme", system="shop", data=data, source="a", max_bytes=MAX)
    assert (result.component_count, result.not_assessable_count) == (7, 4)
    with db.read() as session:
        components = snapshot_components(session, "acme", result.snapshot_id)
    assert sorted(p.purl for p in components.packages) == sorted(purl for _, _, purl in LIBS)
    reasons = {u.name: u.reason for u in components.unassessed}
    assert reasons["firmware"] == "no-purl"
    assert reasons["noversion"] == "no-version"
    assert reasons["blob"] == "unsupported-ecosystem"
    assert reasons["broken"] == "invalid-purl"


def test_package_versions_are_shared_across_systems_and_organizations(
    db: Database, cyclonedx: CycloneDx
) -> None:
    for org in ("acme", "globex"):
        for system in ("web", "api"):
            own = (f"{org}-{system}", "1.0", f"pkg:npm/{org}-{system}@1.0")
            ingest_sbom(db, org=org, system=system, data=cyclonedx([*LIBS, own]), source="s", max_bytes=MAX)
    assert counts(db)["package_version"] == len(LIBS) + 4
    with db.read() as session:
        assert [s.name for s in list_systems(session, "acme")] == ["api", "web"]


def _samples() -> list[Path]:
    """The real sample SBOMs, one folder per system (advisories and the generated demo fleet aside)."""
    return sorted(
        p
        for p in SAMPLES.glob("*/*")
        if p.is_file() and p.parent.name not in ("advisories", "demo-fleet") and p.suffix != ".md"
    )


@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.name)
def test_every_bundled_sample_ingests_then_is_unchanged(db: Database, path: Path) -> None:
    data = path.read_bytes()
    given = datetime(2021, 6, 1, tzinfo=UTC)
    results = [
        ingest_sbom(
            db,
            org="demo",
            system=path.parent.name,
            data=data,
            source=str(path),
            observed_at=given,
            max_bytes=MAX,
        )
        for _ in range(2)
    ]
    assert [r.status for r in results] == ["created", "unchanged"]
    assert results[0].component_count > 0


def test_concurrent_uploads_of_the_same_bytes_store_one_snapshot(db: Database, cyclonedx: CycloneDx) -> None:
    data = cyclonedx(LIBS)
    other = cyclonedx(LIBS, serial="urn:uuid:other")  # same components: must share the set
    start = threading.Barrier(3)

    def upload(payload: bytes, system: str) -> str:
        worker = Database.open(db.url)  # a connection pool of its own, as another API worker would have
        try:
            start.wait()
            return ingest_sbom(
                worker, org="acme", system=system, data=payload, source="c", max_bytes=MAX
            ).status
        finally:
            worker.dispose()

    with ThreadPoolExecutor(3) as pool:
        futures = [
            pool.submit(upload, data, "shop"),
            pool.submit(upload, data, "shop"),
            pool.submit(upload, other, "cart"),
        ]
        statuses = sorted(f.result() for f in futures)
    assert statuses == ["created", "created", "unchanged"]
    stored = counts(db)
    assert (
        stored["organization"],
        stored["snapshot"],
        stored["component_set"],
        stored["package_version"],
    ) == (
        1,
        2,
        1,
        3,
    )
