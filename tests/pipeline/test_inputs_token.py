"""``ensure_exposures`` skips its per-system check while the database-wide inputs token holds
(``store.queries.exposures.inputs_token``); every change of an input must move the token, so that after
``ensure_exposures`` no system is out of date — checked here after each kind of change that the
pipeline does not rebuild eagerly, on both databases."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from ingest.advisories.osv_files import OsvDirectory
from pipeline.advisories.importing import import_advisories
from pipeline.demo import load_demo
from pipeline.exposures.build import ensure_exposures, outdated_systems
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new, rematch_all
from store.db import Database
from store.queries.exposures import inputs_token
from store.queries.organizations import get_organization
from store.queries.systems import org_systems
from store.schema import metadata

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
DEMO_OSV = ROOT / "sbom_samples" / "advisories" / "demo" / "osv"


def outdated(db: Database) -> list[int]:
    with db.read() as session:
        return outdated_systems(session, get_organization(session, "demo").id or 0)


def assert_change_is_seen(db: Database) -> None:
    """The change just made left some system out of date, and ``ensure_exposures`` (whose last check
    found everything current) rebuilt it rather than trusting the earlier check."""
    assert outdated(db), "the change moved no system's inputs: the test would prove nothing"
    assert ensure_exposures(db, "demo") > 0
    assert outdated(db) == []


def test_every_input_change_moves_the_token(db: Database, tmp_path: Path) -> None:
    load_demo(db, "demo", FLEET, ROOT / "sbom_samples" / "advisories" / "demo")
    ensure_exposures(db, "demo")
    assert ensure_exposures(db, "demo") == 0
    assert outdated(db) == []

    # A snapshot backfilled into a system (another system's SBOM, dated before its others).
    sbom = sorted((FLEET / "billing-api").glob("*.cdx.json"))[0]
    ingest_sbom(
        db,
        org="demo",
        system="shop-web",
        data=sbom.read_bytes(),
        source=str(sbom),
        observed_at=datetime(2024, 1, 2, tzinfo=UTC),
        max_bytes=10_000_000,
    )
    match_new(db)
    assert_change_is_seen(db)

    # An advisory changed upstream: a newer record whose fix moved (its affected rows are replaced).
    changed = tmp_path / "osv"
    shutil.copytree(DEMO_OSV, changed)
    path = changed / "GHSA-35jh-r3h4-6jhm.json"
    record = json.loads(path.read_text())
    record["modified"] = "2024-12-01T00:00:00Z"
    for affected in record["affected"]:
        affected["ranges"][0]["events"] = [{"introduced": "0"}, {"fixed": "4.17.22"}]
    path.write_text(json.dumps(record))
    import_advisories(db, OsvDirectory(changed).records(), source="osv", origin=str(changed))
    assert_change_is_seen(db)

    # Every match result forgotten and written again (a matcher upgrade): same rows, a new epoch.
    rematch_all(db)
    ensure_exposures(db, "demo")
    assert outdated(db) == []
    assert ensure_exposures(db, "demo") == 0


def _ingest(db: Database, system: str, source: str, day: int) -> int:
    sbom = sorted((FLEET / source).glob("*.cdx.json"))[-1]  # content the demo's advisories matched
    document = json.loads(sbom.read_bytes())
    document["serialNumber"] = f"urn:uuid:00000000-0000-4000-8000-{day:012d}"  # not an upload again
    ingest_sbom(
        db,
        org="demo",
        system=system,
        data=json.dumps(document).encode(),
        source=str(sbom),
        observed_at=datetime(2024, 12, day, tzinfo=UTC),
        max_bytes=10_000_000,
    )
    assert match_new(db) is not None
    snapshot = metadata.tables["snapshot"]
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(snapshot.c.id))).scalar_one())


def test_after_snapshots_alone_only_their_systems_are_checked(db: Database) -> None:
    """When only snapshots were added since the last check, ``ensure_exposures`` checks just the
    systems they were added to (``InputsToken.only_added``) — and still sees a snapshot committed with
    an id below the newest one it saw, as a concurrent upload's can be on PostgreSQL (its count)."""
    load_demo(db, "demo", FLEET, ROOT / "sbom_samples" / "advisories" / "demo")
    ensure_exposures(db, "demo")
    assert ensure_exposures(db, "demo") == 0
    with db.read() as session:
        ids = {s.name: s.id for s in org_systems(session, get_organization(session, "demo").id or 0)}
        before = inputs_token(session, get_organization(session, "demo").id or 0)

    _ingest(db, "shop-web", "billing-api", 1)
    with db.read() as session:
        after = inputs_token(session, get_organization(session, "demo").id or 0)
    assert after.only_added(before)  # the narrowed check is what runs next
    assert outdated(db) == [ids["shop-web"]]
    assert ensure_exposures(db, "demo") == 1
    assert outdated(db) == []

    # A gap in the ids below the newest (a snapshot removed), then a snapshot committed into it.
    gap = _ingest(db, "billing-api", "shop-web", 2)
    _ingest(db, "shop-web", "shop-web", 3)
    snapshot = metadata.tables["snapshot"]
    with db.engine.begin() as conn:
        conn.execute(sa.delete(snapshot).where(snapshot.c.id == gap))
    ensure_exposures(db, "demo")
    assert outdated(db) == []
    late = _ingest(db, "billing-api", "shop-web", 4)
    with db.engine.begin() as conn:
        conn.execute(sa.update(snapshot).where(snapshot.c.id == late).values(id=gap))
    assert outdated(db) == [ids["billing-api"]]
    assert ensure_exposures(db, "demo") == 1
    assert outdated(db) == []
