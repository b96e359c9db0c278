"""``ensure_exposures`` skips its per-system check while the inputs token holds (the organization's
change clock and database-wide facts: ``store.queries.exposures.inputs_token``); every change of an
input must move the token, so that after ``ensure_exposures`` no system is out of date — checked
here after each kind of change that the pipeline does not rebuild eagerly, on both databases."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ingest.advisories.osv_files import OsvDirectory
from pipeline.advisories.importing import import_advisories
from pipeline.demo import load_demo
from pipeline.exposures.build import ensure_exposures, outdated_systems
from pipeline.ingest import ingest_sbom, prepare_snapshot, store_prepared
from pipeline.match import match_new, rematch_all
from store.db import Database
from store.queries.changes import changed_since
from store.queries.exposures import InputsToken, inputs_token
from store.queries.organizations import get_organization
from store.queries.systems import org_systems

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


def _document(source: str, day: int) -> bytes:
    sbom = sorted((FLEET / source).glob("*.cdx.json"))[-1]  # content the demo's advisories matched
    document = json.loads(sbom.read_bytes())
    document["serialNumber"] = f"urn:uuid:00000000-0000-4000-8000-{day:012d}"  # not an upload again
    return json.dumps(document).encode()


def _ingest(db: Database, system: str, source: str, day: int) -> None:
    ingest_sbom(
        db,
        org="demo",
        system=system,
        data=_document(source, day),
        source=source,
        observed_at=datetime(2024, 12, day, tzinfo=UTC),
        max_bytes=10_000_000,
    )
    assert match_new(db) is not None


def _token(db: Database) -> InputsToken:
    with db.read() as session:
        return inputs_token(session, get_organization(session, "demo").id or 0)


def test_after_changes_of_systems_alone_only_they_are_checked(db: Database) -> None:
    """When only the organization's change clock moved since the last check, ``ensure_exposures``
    checks just the systems it names (``InputsToken.only_clock_moved``) — and still sees a snapshot
    whose upload was in flight while a check ran and committed after it, as a concurrent upload's can
    (on PostgreSQL a snapshot's id is drawn before its commit: the snapshots' newest id alone missed
    such a snapshot; the clock moves at the commit, in commit order)."""
    load_demo(db, "demo", FLEET, ROOT / "sbom_samples" / "advisories" / "demo")
    ensure_exposures(db, "demo")
    assert ensure_exposures(db, "demo") == 0
    with db.read() as session:
        org_id = get_organization(session, "demo").id or 0
        ids = {s.name: s.id for s in org_systems(session, org_id)}
    before = _token(db)

    _ingest(db, "shop-web", "billing-api", 1)
    after = _token(db)
    assert after.only_clock_moved(before)  # the narrowed check is what runs next
    with db.read() as session:
        assert changed_since(session, org_id, before.seq) == (after.seq, [ids["shop-web"]])
    assert outdated(db) == [ids["shop-web"]]
    assert ensure_exposures(db, "demo") == 1
    assert outdated(db) == []
    assert ensure_exposures(db, "demo") == 0  # the rebuild moved the clock: its system checked once

    # An upload in flight: its snapshot stored in its open transaction while a check runs (on other
    # connections), which sees nothing new; it commits after the check.
    checked = _token(db)
    prepared = prepare_snapshot(
        _document("shop-web", 4),
        "late",
        max_bytes=10_000_000,
        observed_at=datetime(2024, 12, 4, tzinfo=UTC),
    )
    with db.write() as session:
        store_prepared(session, prepared, org="demo", system="billing-api", source="late")
        assert ensure_exposures(db, "demo") == 0
    late = _token(db)
    assert late.only_clock_moved(checked)
    assert late.seq > checked.seq
    assert outdated(db) == [ids["billing-api"]]
    assert ensure_exposures(db, "demo") == 1
    assert outdated(db) == []
