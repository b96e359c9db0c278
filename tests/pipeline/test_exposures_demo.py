"""The demo fleet end to end: golden exposure and deploy-time reports, arrival order, both databases.

Set ``PATCHGAP_REGEN_GOLDEN=1`` to rewrite ``golden/demo_reports.json`` after a deliberate change (then
review the diff: the hand-checked cases below must still hold).

Hand-checked cases (fleet plan in ``bench/make_demo_fleet.py``; week w = 2024-03-04T06:00Z + 7w days;
evaluated as of 2024-09-02T00:00Z; the clock starts at max(fix available, first_seen), fix available
= earliest ``published`` of the group, since the bundled records carry no CSAF/Akrites fix date):

- upgraded — shop-web express 4.18.2, GHSA-rv95-896h-c2vc = CVE-2024-29041 (< 4.19.2, published
  2024-03-25T19:40:26Z): 4.18.2 in weeks 0–5, 4.19.2 from week 6. first_seen 2024-03-04, L = week 5 =
  2024-04-08, R = week 6 = 2024-04-15, resolution upgraded. Start 2024-03-25T19:40:26Z, so R − start =
  20 d 10 h 19 min 34 s = 20.43 d; medium (CVSS 5.3) → 90-day tier, due 2024-06-23 → met.
- removed — admin-portal json5 2.2.1, CVE-2022-46175: present weeks 0–7, gone from week 8 (no json5 at
  all), so R = 2024-04-29 with resolution removed (censored for M1, an event for M2). High → 30 days
  from first_seen (published 2022) = 2024-04-03; L = 2024-04-22 ≥ due → breached.
- re-introduced — admin-portal minimist, CVE-2021-44906: 1.2.5 weeks 0–3, 1.2.6 weeks 4–8, rollback to
  1.2.5 weeks 9–10, 1.2.8 from week 11. Two exposures: 2024-03-04..L 2024-03-25, R 2024-04-01 and
  2024-05-06..L 2024-05-13, R 2024-05-20, both upgraded.
- open — billing-api urllib3 1.26.15, CVE-2023-45803, in all 26 weeks: resolved_at null, L = week 25 =
  2024-08-26; medium, due 2024-03-04 + 90 d = 2024-06-02, as_of is later → breached.
- stale — legacy-batch (cadence 7 d) sends weeks 0–12 only: last snapshot 2024-05-27, silent 98 days
  > 14 → listed in stale_systems; its minimatch 3.0.4 exposure (CVE-2022-3517) stays open, censored at
  L = 2024-05-27, and is flagged ``stale_system``.
- VEX-excluded — admin-portal semver 7.5.1, CVE-2022-25883, covered by the bundled OpenVEX
  ``not_affected`` statement: absent from the counted exposures, listed once with resolution
  vex_not_affected, and counted in ``vex_excluded``.

Counts that follow: 12 counted exposures = 2 open + 9 upgraded + 1 removed.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.errors import NotFoundError
from pipeline.demo import fleet_files, import_demo_advisories, ingest_fleet, load_demo
from pipeline.exposures.build import outdated_systems, rebuild_exposures
from pipeline.exposures.reports import (
    REPORT_STATUSES,
    deploy_time_json,
    exposures_report,
    find_exposures,
    system_exposures,
)
from pipeline.match import match_new
from pipeline.systems import list_systems
from pipeline.vex import import_vex
from store.db import Database
from store.queries import systems as system_queries
from store.queries.organizations import get_organization

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
ADVISORIES = ROOT / "sbom_samples" / "advisories" / "demo"
GOLDEN = Path(__file__).parent / "golden" / "demo_reports.json"
END = datetime(2024, 9, 2, tzinfo=UTC)
# Mid-fleet: before the minimist rollback is fixed and before legacy-batch went quiet for long; earlier
# than the newest snapshot, so the reports recompute intervals from the snapshots up to this moment.
MIDWAY = datetime(2024, 5, 15, tzinfo=UTC)
ORG = "demo"


def reports(db: Database) -> dict[str, Any]:
    """Every report document the golden file pins."""
    out: dict[str, Any] = {}
    for label, moment in (("end", END), ("midway", MIDWAY)):
        out[label] = {
            "exposures": exposures_report(db, ORG, "all", moment),
            "excluded": exposures_report(db, ORG, "excluded", moment),
            "deploy_time": deploy_time_json(db, ORG, moment),
        }
    return out


def check_golden(actual: dict[str, Any]) -> None:
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert actual == expected


def find(rows: list[dict[str, Any]], system: str, package: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["system"] == system and r["package"] == package]


def test_demo_reports_match_golden_and_the_hand_checked_cases(db: Database) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    actual = reports(db)
    check_golden(actual)

    rows = actual["end"]["exposures"]
    (express,) = find(rows, "shop-web", "pkg:npm/express")
    assert (express["first_seen"], express["last_affected_seen"], express["resolved_at"]) == (
        "2024-03-04T06:00:00Z",
        "2024-04-08T06:00:00Z",
        "2024-04-15T06:00:00Z",
    )
    assert express["resolution"] == "upgraded"
    assert express["clock_start"] == "2024-03-25T19:40:26Z"
    assert (express["sla_tier"], express["sla_due"], express["sla_status"]) == (
        "medium",
        "2024-06-23T19:40:26Z",
        "met",
    )
    (json5,) = find(rows, "admin-portal", "pkg:npm/json5")
    assert (json5["resolution"], json5["resolved_at"], json5["sla_status"]) == (
        "removed",
        "2024-04-29T06:00:00Z",
        "breached",
    )
    minimist = find(rows, "admin-portal", "pkg:npm/minimist")
    assert [(m["first_seen"], m["resolved_at"], m["resolution"]) for m in minimist] == [
        ("2024-03-04T06:00:00Z", "2024-04-01T06:00:00Z", "upgraded"),
        ("2024-05-06T06:00:00Z", "2024-05-20T06:00:00Z", "upgraded"),
    ]
    (urllib3,) = find(rows, "billing-api", "pkg:pypi/urllib3")
    assert urllib3["resolved_at"] is None
    assert (urllib3["last_affected_seen"], urllib3["sla_status"]) == ("2024-08-26T06:00:00Z", "breached")
    (minimatch,) = find(rows, "legacy-batch", "pkg:npm/minimatch")
    assert minimatch["stale_system"] is True
    assert (minimatch["resolved_at"], minimatch["last_affected_seen"]) == (None, "2024-05-27T06:00:00Z")
    assert not find(rows, "admin-portal", "pkg:npm/semver")
    (semver,) = actual["end"]["excluded"]
    assert (semver["package"], semver["vulnerability"], semver["resolution"]) == (
        "pkg:npm/semver",
        "CVE-2022-25883",
        "vex_not_affected",
    )
    deploy = actual["end"]["deploy_time"]
    assert (deploy["open"], deploy["upgraded"], deploy["removed"], deploy["vex_excluded"]) == (2, 9, 1, 1)
    assert [s["system"] for s in deploy["stale_systems"]] == ["legacy-batch"]
    # Midway (2024-05-15) the rollback is live: the second minimist exposure is open, seen last on 05-13.
    mid = find(actual["midway"]["exposures"], "admin-portal", "pkg:npm/minimist")
    assert [(m["first_seen"], m["last_affected_seen"], m["resolved_at"]) for m in mid] == [
        ("2024-03-04T06:00:00Z", "2024-03-25T06:00:00Z", "2024-04-01T06:00:00Z"),
        ("2024-05-06T06:00:00Z", "2024-05-13T06:00:00Z", None),
    ]


def test_shuffled_uploads_with_reports_in_between_give_the_same_reports(db: Database) -> None:
    """Snapshots arrive in random order (backfills included); reports run while half are in.

    The half-way report stores exposures; each later backfill changes the systems' input digests, so
    the final reports rebuild them — and must equal the golden reports of the in-order upload.
    """
    files = fleet_files(FLEET)
    random.Random(20240902).shuffle(files)
    half = len(files) // 2
    import_demo_advisories(db, ADVISORIES)
    ingest_fleet(db, ORG, FLEET, files[:half])
    match_new(db)
    for vex in sorted((FLEET / "vex").glob("*.json")):
        import_vex(db, ORG, vex.read_bytes(), str(vex))
    exposures_report(db, ORG, "all", END)
    ingest_fleet(db, ORG, FLEET, files[half:])
    match_new(db)
    with db.read() as session:
        org_id = get_organization(session, ORG).id
        assert org_id is not None
        assert outdated_systems(session, org_id), "backfilled systems must be seen as out of date"
    check_golden(reports(db))


def test_stored_rows_equal_recomputed_intervals(db: Database) -> None:
    """The stored path (as_of after the newest snapshot) and the recompute path agree at the fleet's end."""
    load_demo(db, ORG, FLEET, ADVISORIES)
    stored = exposures_report(db, ORG, "all", END)
    # 2024-08-26T06:00Z is the newest snapshot; one second before it the recompute path runs and only
    # that last week differs: the open exposures' L moves back one week.
    recomputed = exposures_report(db, ORG, "all", datetime(2024, 8, 26, 5, 59, 59, tzinfo=UTC))
    changed = [
        (a["system"], a["package"])
        for a, b in zip(stored, recomputed, strict=True)
        if a["last_affected_seen"] != b["last_affected_seen"]
    ]
    assert changed == [("billing-api", "pkg:pypi/urllib3")]
    with db.read() as session:
        org_id = get_organization(session, ORG).id
        assert org_id is not None
        ids = [s.id for s in system_queries.org_systems(session, org_id)]
    assert rebuild_exposures(db, ids) == 13  # 12 counted + 1 VEX-excluded, idempotent


def test_status_filters_partition_all(db: Database) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    everything = exposures_report(db, ORG, "all", END)
    open_ = exposures_report(db, ORG, "open", END)
    resolved = exposures_report(db, ORG, "resolved", END)
    assert open_ == [r for r in everything if r["resolved_at"] is None]
    assert resolved == [r for r in everything if r["resolved_at"] is not None]
    assert len(open_) == 2
    assert len(resolved) == 10


def test_package_versions_matched_before_the_advisories_arrived_are_rematched(db: Database) -> None:
    # Another organization runs the same package versions and had them matched while no advisory
    # existed yet; the demo's advisory import must still reach them (re-match by changed package keys).
    from core.settings import DEFAULT_MAX_SBOM_BYTES
    from pipeline.ingest import ingest_sbom

    for system, path in fleet_files(FLEET):
        ingest_sbom(
            db,
            org="early",
            system=system,
            data=path.read_bytes(),
            source=str(path),
            max_bytes=DEFAULT_MAX_SBOM_BYTES,
        )
    match_new(db)
    load_demo(db, ORG, FLEET, ADVISORIES)
    check_golden(reports(db))


def test_one_systems_rows_equal_its_rows_in_the_organization_report(db: Database) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    names = [s.name for s in list_systems(db, ORG)]
    assert len(names) == 5
    for moment in (END, MIDWAY):
        for status in REPORT_STATUSES:
            everything = exposures_report(db, ORG, status, moment)
            for name in names:
                mine = system_exposures(db, ORG, name, status, moment)
                assert mine == [r for r in everything if r["system"] == name], (moment, status, name)
    assert sum(len(system_exposures(db, ORG, n, "all", END)) for n in names) == 12


def test_reading_one_system_rebuilds_that_system_only(db: Database) -> None:
    import_demo_advisories(db, ADVISORIES)
    ingest_fleet(db, ORG, FLEET, fleet_files(FLEET))
    match_new(db)
    with db.read() as session:
        org_id = get_organization(session, ORG).id
        assert org_id is not None
        before = outdated_systems(session, org_id)
        ids = {s.name: s.id for s in system_queries.org_systems(session, org_id)}
    assert sorted(before) == sorted(ids.values())
    system_exposures(db, ORG, "shop-web", "all", END)
    with db.read() as session:
        after = outdated_systems(session, org_id)
    assert sorted(after) == sorted(i for name, i in ids.items() if name != "shop-web")


def test_find_exposures_names_one_interval_of_one_system(db: Database) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    (express,) = find(exposures_report(db, ORG, "all", END), "shop-web", "pkg:npm/express")
    found = find_exposures(
        db,
        ORG,
        system="shop-web",
        package=express["package"],
        version=express["version"],
        vulnerability=express["vulnerability"],
        first_seen=express["first_seen"],
    )
    assert [(r["first_seen"], r["resolved_at"]) for r in found] == [
        (express["first_seen"], express["resolved_at"])
    ]
    assert not find_exposures(
        db,
        ORG,
        system="billing-api",
        package=express["package"],
        version=express["version"],
        vulnerability=express["vulnerability"],
    )
    with pytest.raises(NotFoundError, match="system 'nowhere' does not exist"):
        system_exposures(db, ORG, "nowhere")
