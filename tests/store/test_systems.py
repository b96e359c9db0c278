"""Store queries on SQLite and PostgreSQL: get-or-create, content-addressed sets, ordering, tenancy."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core.errors import ConflictError, NotFoundError, StorageError
from core.packages import PackageRef
from store.db import Database
from store.queries.organizations import get_or_create_organization
from store.queries.systems import (
    NewSnapshot,
    UnassessedComponent,
    component_set_digest,
    get_or_create_system,
    get_snapshot,
    insert_snapshot,
    list_snapshots,
    list_systems,
    snapshot_components,
    snapshot_raw,
)
from store.tables.systems import Snapshot
from tests.bombs import zlib_bomb

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def pkg(name: str, version: str) -> PackageRef:
    return PackageRef("PyPI", name, version, f"pkg:pypi/{name}@{version}")


def new_snapshot(
    raw: bytes,
    packages: list[PackageRef],
    unassessed: list[UnassessedComponent] | None = None,
    observed_at: datetime = T0,
) -> NewSnapshot:
    unassessed = unassessed or []
    return NewSnapshot(
        observed_at=observed_at,
        format="cyclonedx-json",
        spec_version="1.5",
        serial_number=None,
        subject=None,
        sha256=hashlib.sha256(raw).hexdigest(),
        raw=raw,
        quality=[{"code": "no-supplier", "message": "m", "count": 1, "reference": ""}],
        packages=packages,
        unassessed=unassessed,
        component_count=len(packages) + len(unassessed),
    )


def store(db: Database, org: str, system: str, new: NewSnapshot) -> int | None:
    with db.write() as session:
        o = get_or_create_organization(session, org)
        s = get_or_create_system(session, o, system)
        snapshot = insert_snapshot(session, s, new)
        return None if snapshot is None else snapshot.id


def count(db: Database, table: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_organizations_and_systems_are_created_once(db: Database) -> None:
    with db.write() as session:
        a = get_or_create_organization(session, "acme")
        assert get_or_create_organization(session, "acme").id == a.id
        s = get_or_create_system(session, a, "shop", environment="staging")
        assert get_or_create_system(session, a, "shop").id == s.id
        assert s.environment == "staging"
    assert count(db, "organization") == 1
    assert count(db, "system") == 1


def test_a_system_named_again_with_another_environment_is_a_conflict(db: Database) -> None:
    with db.write() as session:
        org = get_or_create_organization(session, "acme")
        get_or_create_system(session, org, "shop", environment="prod")
    with db.write() as session:
        org = get_or_create_organization(session, "acme")
        with pytest.raises(ConflictError, match=r"'shop'.*'prod', not 'staging'"):
            get_or_create_system(session, org, "shop", environment="staging")


def test_same_bytes_for_the_same_system_insert_nothing(db: Database) -> None:
    new = new_snapshot(b"one", [pkg("a", "1")])
    assert store(db, "acme", "shop", new) is not None
    assert store(db, "acme", "shop", new) is None
    assert count(db, "snapshot") == 1
    # The same bytes for another system are that system's snapshot.
    assert store(db, "acme", "cart", new) is not None
    assert count(db, "snapshot") == 2


def test_snapshots_with_the_same_components_share_one_set(db: Database) -> None:
    packages = [pkg("a", "1"), pkg("b", "2")]
    first = store(db, "acme", "shop", new_snapshot(b"week 1", packages))
    # Same components in another order, another system, another organization: still the same set.
    second = store(db, "acme", "shop", new_snapshot(b"week 2", list(reversed(packages))))
    third = store(db, "other", "shop", new_snapshot(b"week 2", packages))
    changed = store(db, "acme", "shop", new_snapshot(b"week 3", [pkg("a", "1"), pkg("b", "3")]))
    assert first is not None
    assert second is not None
    assert third is not None
    assert changed is not None
    with db.read() as session:
        sets = {
            sid: get_snapshot(session, org, sid).component_set_id
            for org, sid in [("acme", first), ("acme", second), ("other", third), ("acme", changed)]
        }
    assert sets[first] == sets[second] == sets[third] != sets[changed]
    assert count(db, "component_set") == 2
    assert count(db, "component_set_member") == 4
    # a@1, b@2 and b@3: distinct across systems and organizations.
    assert count(db, "package_version") == 3


def test_package_versions_are_distinct_across_the_database(db: Database) -> None:
    shared = [pkg(f"lib{i}", "1.0") for i in range(50)]
    for org in ("acme", "globex"):
        for system in ("web", "api", "batch"):
            extra = [pkg(f"{org}-{system}", "0.1")]
            store(db, org, system, new_snapshot(f"{org}/{system}".encode(), shared + extra))
    assert count(db, "package_version") == 50 + 6
    with db.connect() as conn:
        duplicates = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT purl FROM package_version"
                " GROUP BY ecosystem, name, version, purl HAVING count(*) > 1) d"
            )
        ).scalar_one()
    assert duplicates == 0


def test_not_assessable_components_are_kept_with_reasons_and_counted(db: Database) -> None:
    unassessed = [
        UnassessedComponent("libfoo", "1.0", None, "no-purl"),
        UnassessedComponent("libfoo", "1.0", None, "no-purl"),
        UnassessedComponent("x", "2", "pkg:generic/x@2", "unsupported-ecosystem", "generic"),
    ]
    sid = store(db, "acme", "shop", new_snapshot(b"s", [pkg("a", "1")], unassessed))
    assert sid is not None
    with db.read() as session:
        snapshot = get_snapshot(session, "acme", sid)
        assert (snapshot.component_count, snapshot.not_assessable_count) == (4, 3)
        components = snapshot_components(session, "acme", sid)
    assert components.packages == [pkg("a", "1")]
    assert sorted(components.unassessed, key=lambda u: u.name) == sorted(unassessed, key=lambda u: u.name)


def test_listing_is_in_observed_order_whatever_the_upload_order(db: Database) -> None:
    weeks = [T0 + timedelta(days=7 * i) for i in range(4)]
    # Uploaded newest first, then a backfill in the middle; one timestamp given in another time zone.
    for i in (3, 0, 2):
        store(db, "acme", "shop", new_snapshot(f"w{i}".encode(), [pkg("a", str(i))], observed_at=weeks[i]))
    in_cet = weeks[1].astimezone(timezone(timedelta(hours=1)))
    store(db, "acme", "shop", new_snapshot(b"w1", [pkg("a", "1")], observed_at=in_cet))
    with db.read() as session:
        listed = list_snapshots(session, "acme", "shop")
    assert [s.observed_at for s in listed] == weeks
    assert all(s.observed_at.tzinfo is not None for s in listed)


def test_systems_are_listed_with_counts_and_observed_span(db: Database) -> None:
    store(db, "acme", "shop", new_snapshot(b"1", [pkg("a", "1")], observed_at=T0 + timedelta(days=3)))
    store(db, "acme", "shop", new_snapshot(b"2", [pkg("a", "2")], observed_at=T0))
    with db.write() as session:
        get_or_create_system(session, get_or_create_organization(session, "acme"), "empty")
    with db.read() as session:
        systems = list_systems(session, "acme")
    assert [(s.name, s.snapshot_count) for s in systems] == [("empty", 0), ("shop", 2)]
    assert (systems[1].first_observed_at, systems[1].last_observed_at) == (T0, T0 + timedelta(days=3))
    assert systems[0].first_observed_at is None


def test_queries_never_cross_organizations(db: Database) -> None:
    acme = store(db, "acme", "shop", new_snapshot(b"a", [pkg("a", "1")]))
    globex = store(db, "globex", "shop", new_snapshot(b"g", [pkg("g", "1")]))
    store(db, "globex", "erp", new_snapshot(b"e", [pkg("e", "1")]))
    assert acme is not None
    assert globex is not None
    with db.read() as session:
        assert [s.name for s in list_systems(session, "acme")] == ["shop"]
        assert [s.id for s in list_snapshots(session, "acme", "shop")] == [acme]
        assert [s.id for s in list_snapshots(session, "globex", "shop")] == [globex]
        with pytest.raises(NotFoundError, match=r"snapshot .* does not exist in organization 'acme'"):
            snapshot_components(session, "acme", globex)
        with pytest.raises(NotFoundError, match="system 'erp' does not exist in organization 'acme'"):
            list_snapshots(session, "acme", "erp")
        with pytest.raises(NotFoundError, match="organization 'nobody' does not exist"):
            list_systems(session, "nobody")


def test_raw_bytes_are_kept_compressed_and_come_back_unchanged(db: Database) -> None:
    raw = b'{"bomFormat": "CycloneDX", "components": []}' * 200
    sid = store(db, "acme", "shop", new_snapshot(raw, []))
    assert sid is not None
    with Session(db.engine) as session:
        snapshot = get_snapshot(session, "acme", sid)
        assert snapshot.raw_size == len(raw)
        assert len(snapshot.raw) < len(raw) // 10
        assert snapshot_raw(snapshot) == raw
        assert snapshot.quality[0]["code"] == "no-supplier"


def test_a_stored_sbom_is_unpacked_within_the_sbom_limit_and_refused_past_it(db: Database) -> None:
    """The bytes were at most the SBOM limit when stored; a blob that unpacks to more (256 MiB here, as a
    damaged or tampered row might) is refused naming the snapshot, without unpacking the rest."""
    raw = b'{"bomFormat": "CycloneDX", "components": []}' * 200
    sid = store(db, "acme", "shop", new_snapshot(raw, []))
    assert sid is not None
    with Session(db.engine) as session:
        snapshot = get_snapshot(session, "acme", sid)
        assert snapshot_raw(snapshot, max_bytes=len(raw)) == raw
        with pytest.raises(
            StorageError, match=rf"^snapshot {sid} \(stored SBOM\): unpacks to more than the limit"
        ):
            snapshot_raw(snapshot, max_bytes=len(raw) - 1)
    for blob, message in [
        (zlib_bomb(256), "unpacks to more than the limit of 52428800 bytes (50 MiB); refused"),
        (
            b"not zlib",
            "not valid zlib data (Error -3 while decompressing data: incorrect header check); refused",
        ),
    ]:
        with db.write() as session:
            session.execute(sa.update(Snapshot).where(sa.column("id") == sid).values(raw=blob))
        with Session(db.engine) as session:
            with pytest.raises(StorageError) as refused:
                snapshot_raw(get_snapshot(session, "acme", sid))
            assert str(refused.value) == f"snapshot {sid} (stored SBOM): {message}"
            assert not refused.value.transient  # reading it again will not help


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO component_set_member (set_id, package_version_id) VALUES (999, 999)")
        )


def test_set_digest_ignores_order_and_package_duplicates_but_not_content() -> None:
    a, b = pkg("a", "1"), pkg("b", "1")
    u = UnassessedComponent("x", None, None, "no-purl")
    assert component_set_digest([a, b, a], [u]) == component_set_digest([b, a], [u])
    assert component_set_digest([a, b], [u]) != component_set_digest([a, b], [u, u])
    assert component_set_digest([a], []) != component_set_digest([a, b], [])
    assert component_set_digest([a], [u]) != component_set_digest([a], [])
