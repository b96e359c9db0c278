"""The gap decomposed and the last-resort maintainer, on both databases, from an Akrites record as the
feed publishes it (disclosure, fix release, last-resort flag): the exposure rows, the deploy-time
document (both paths) and the remediation plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.exposures.reports import deploy_time, deploy_time_json, deploy_time_reference, exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from pipeline.plan import plan_json
from reports.plan import LAST_RESORT_NOTE
from store.db import Database
from tests.conftest import cyclonedx_json

NOW = datetime(2026, 3, 1, tzinfo=UTC)
RECORD = {
    "schema_version": "1.7.0",
    "id": "AKRITES-TEST-2026-0100",
    "modified": "2026-01-21T00:00:00Z",
    "published": "2026-01-20T16:00:00Z",
    "summary": "[TEST] prototype pollution in an abandoned package",
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "left-pad", "purl": "pkg:npm/left-pad"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.1"}]}],
        }
    ],
    "database_specific": {
        "akrites": {
            "case_id": "AK-TEST-0100",
            "disclosed_at": "2026-01-12T09:00:00Z",
            "fix_released_at": "2026-01-20T15:30:00Z",
            "exploited": False,
            "last_resort_maintainer": True,
        }
    },
}


def _fleet(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "akrites"
    folder.mkdir()
    (folder / "AKRITES-TEST-2026-0100.json").write_text(json.dumps(RECORD))
    import_advisories(db, open_path(folder, "akrites"), source="akrites", origin="test")
    for system, snapshots in {
        "web": (("2026-01-05T00:00:00Z", "1.3.0"), ("2026-02-10T00:00:00Z", "1.3.1")),
        "batch": (("2026-01-05T00:00:00Z", "1.3.0"), ("2026-02-10T00:00:00Z", "1.3.0")),
    }.items():
        for when, version in snapshots:
            data = cyclonedx_json([("left-pad", version, f"pkg:npm/left-pad@{version}")], timestamp=when)
            ingest_sbom(
                db, org="acme", system=system, data=data, source=when, max_bytes=10**7, environment="prod"
            )
    match_new(db)


def test_rows_split_the_exposure_at_the_fix_release(db: Database, tmp_path: Path) -> None:
    _fleet(db, tmp_path)
    rows = {r["system"]: r for r in exposures_report(db, "acme", "all", as_of=None)}
    web, batch = rows["web"], rows["batch"]
    assert (web["fix_available_source"], web["fix_available_at"]) == ("akrites", "2026-01-20T15:30:00Z")
    # 01-05 → 01-20 15:30 waiting for a fix; → 02-10 (upgraded) waiting for deployment.
    assert (web["days_waiting_for_fix"], web["days_waiting_for_deployment"]) == (15.65, 20.35)
    assert web["last_resort_maintainer"] is True
    # Still open: its span ends at its last snapshot (L), like every open exposure's figures.
    assert (batch["resolved_at"], batch["days_waiting_for_fix"], batch["days_waiting_for_deployment"]) == (
        None,
        15.65,
        20.35,
    )


def test_the_report_splits_the_gap_and_counts_last_resort_components(db: Database, tmp_path: Path) -> None:
    _fleet(db, tmp_path)
    document = deploy_time_json(db, "acme")
    assert document["fix_clocks"]["by_source"]["akrites"] == 2
    assert (document["fix_clocks"]["exact"], document["fix_clocks"]["approximated"]) == (2, 0)
    # disclosed 01-12 09:00 → fix released 01-20 15:30.
    assert document["upstream"] == {"median_days": 8.27, "p90_days": 8.27, "groups": 1}
    assert document["exposure_days"] == {
        "total": 72.0,
        "waiting_for_fix": 31.29,
        "waiting_for_deployment": 40.71,
        "upstream_share": 0.4346,
        "deployment_share": 0.5654,
    }
    # Only batch still runs the abandoned package's affected version.
    assert document["last_resort_maintainer"] == {"open_exposures": 1, "components": 1}
    assert deploy_time(db, "acme", NOW).to_json() == deploy_time_reference(db, "acme", NOW).to_json()


def test_plan_actions_say_the_fix_comes_from_the_last_resort_maintainer(db: Database, tmp_path: Path) -> None:
    _fleet(db, tmp_path)
    (action,) = plan_json(db, "acme")["actions"]
    assert (action["package"], action["from_version"], action["to_version"]) == (
        "pkg:npm/left-pad",
        "1.3.0",
        "1.3.1",
    )
    assert action["note"] == LAST_RESORT_NOTE
    assert action["vulnerabilities"][0]["last_resort_maintainer"] is True
