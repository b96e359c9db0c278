"""``ensure_exposures`` skips its per-system check while the database-wide inputs token holds
(``store.queries.exposures.inputs_token``); every change of an input must move the token, so that after
``ensure_exposures`` no system is out of date — checked here after each kind of change that the
pipeline does not rebuild eagerly, on both databases."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ingest.advisories.osv_files import OsvDirectory
from pipeline.advisories.importing import import_advisories
from pipeline.demo import load_demo
from pipeline.exposures.build import ensure_exposures, outdated_systems
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new, rematch_all
from store.db import Database
from store.queries.organizations import get_organization

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
