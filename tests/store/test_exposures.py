"""Exposure storage on SQLite and PostgreSQL: rebuilds, input digests, withdrawal, VEX and SLA rows.

Advisories go in through the real import (``pipeline.advisories``) and matching (``pipeline.match``), so
these tests exercise the joins the reports rely on, not hand-made match rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.errors import InputError
from ingest.advisories.sources.osv import parse_osv_record
from pipeline.advisories.importing import import_advisories
from pipeline.exposures.build import ensure_exposures, outdated_systems
from pipeline.exposures.reports import exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new, rematch_all, rematch_keys
from pipeline.sla import get_sla_policy, policy_from_tiers, set_sla_policy
from pipeline.triage import analysis_history
from pipeline.vex import import_vex, list_vex
from reports.sla import DEFAULT_POLICY
from store.db import Database
from store.queries import exposures as q
from store.queries.organizations import get_organization
from tests.conftest import cyclonedx_json

AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
ORG = "acme"


def osv(withdrawn: str | None = None, modified: str = "2024-01-10T00:00:00Z") -> dict[str, object]:
    record: dict[str, object] = {
        "schema_version": "1.6.0",
        "id": "GHSA-test-0001",
        "modified": modified,
        "published": "2024-01-05T00:00:00Z",
        "aliases": ["CVE-2024-0001"],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "left-pad"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.0"}]}],
            }
        ],
    }
    if withdrawn:
        record["withdrawn"] = withdrawn
    return record


def import_record(db: Database, record: dict[str, object]) -> None:
    import_advisories(db, [parse_osv_record(record, source="osv", origin="test")], source="osv")


def upload(db: Database, day: int, version: str | None) -> None:
    components = [("left-pad", version, f"pkg:npm/left-pad@{version}")] if version else []
    components.append(("react", "18.2.0", "pkg:npm/react@18.2.0"))
    ingest_sbom(
        db,
        org=ORG,
        system="web",
        data=cyclonedx_json(components, timestamp=f"2024-03-{day:02d}T00:00:00Z"),
        source=f"day{day}",
        max_bytes=10**6,
    )


def org_id(db: Database) -> int:
    with db.read() as session:
        found = get_organization(session, ORG).id
        assert found is not None
        return found


def test_backfilled_snapshot_marks_the_system_outdated_and_the_report_rebuilds(db: Database) -> None:
    import_record(db, osv())
    upload(db, 1, "1.2.0")
    upload(db, 15, "1.3.0")
    match_new(db)
    (first,) = exposures_report(db, ORG, "all", AS_OF)
    assert (first["first_seen"], first["resolved_at"]) == ("2024-03-01T00:00:00Z", "2024-03-15T00:00:00Z")
    with db.read() as session:
        assert outdated_systems(session, org_id(db)) == []
    upload(db, 8, "1.3.0")  # arrives late: the fix was already deployed a week earlier
    match_new(db)
    with db.read() as session:
        assert len(outdated_systems(session, org_id(db))) == 1
    (rebuilt,) = exposures_report(db, ORG, "all", AS_OF)
    assert rebuilt["resolved_at"] == "2024-03-08T00:00:00Z"
    assert ensure_exposures(db, ORG) == 0  # up to date now


def test_results_matched_again_mark_the_system_outdated_even_with_equal_counts(db: Database) -> None:
    # ``patchgap match --all`` after a matcher upgrade rewrites every result; counts and id sums may come
    # out equal (SQLite reuses row ids after a full delete) while the content differs, so the forgetting
    # itself moves the build state. Re-matching keys that name no stored package version does not.
    import_record(db, osv())
    upload(db, 1, "1.2.0")
    match_new(db)
    exposures_report(db, ORG, "all", AS_OF)
    with db.read() as session:
        assert outdated_systems(session, org_id(db)) == []
    assert rematch_keys(db, {("npm", "no-such-package")}).invalidated == 0
    with db.read() as session:
        assert outdated_systems(session, org_id(db)) == []
    assert rematch_all(db).affected == 1
    with db.read() as session:
        assert len(outdated_systems(session, org_id(db))) == 1
    assert ensure_exposures(db, ORG) == 1
    assert ensure_exposures(db, ORG) == 0


def test_withdrawn_advisory_withdraws_its_exposures(db: Database) -> None:
    import_record(db, osv())
    upload(db, 1, "1.2.0")
    match_new(db)
    assert len(exposures_report(db, ORG, "open", AS_OF)) == 1
    import_record(db, osv(withdrawn="2024-02-01T00:00:00Z", modified="2024-02-01T00:00:00Z"))
    assert exposures_report(db, ORG, "all", AS_OF) == []
    with db.read() as session:
        # The import decides the group key of a withdrawn record (its CVE, or its own id once it no
        # longer joins the alias closure); either way the deployed package names exactly one group.
        assert q.withdrawn_groups(session, org_id(db)) in (["CVE-2024-0001"], ["GHSA-test-0001"])


def openvex(status: str, timestamp: str, version: str = "@1.2.0") -> bytes:
    statement: dict[str, object] = {
        "vulnerability": {"name": "GHSA-test-0001"},
        "products": [{"@id": f"pkg:npm/left-pad{version}"}],
        "status": status,
        "timestamp": timestamp,
    }
    if status == "not_affected":
        statement["justification"] = "inline_mitigations_already_exist"
    document = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "statements": [statement]}
    return json.dumps(document).encode()


def test_vex_not_affected_excludes_and_a_later_affected_statement_brings_it_back(db: Database) -> None:
    import_record(db, osv())
    upload(db, 1, "1.2.0")
    match_new(db)
    import_vex(db, ORG, openvex("not_affected", "2024-03-02T00:00:00Z"), "team.openvex.json")
    assert exposures_report(db, ORG, "all", AS_OF) == []
    (excluded,) = exposures_report(db, ORG, "excluded", AS_OF)
    assert (excluded["resolution"], excluded["sla_status"]) == ("vex_not_affected", None)
    (listed,) = list_vex(db, ORG)
    assert (listed["vuln_group"], listed["package"], listed["version"]) == (
        "CVE-2024-0001",
        "pkg:npm/left-pad",
        "1.2.0",
    )
    # Re-importing the same file records nothing new; another source's later word wins, and both stay
    # in the record's history (VEX statements are analysis records).
    import_vex(db, ORG, openvex("not_affected", "2024-03-02T00:00:00Z"), "team.openvex.json")
    import_vex(db, ORG, openvex("affected", "2024-03-05T00:00:00Z"), "vendor.openvex.json")
    (listed,) = list_vex(db, ORG)
    assert (listed["status"], listed["state"], listed["source"]) == (
        "affected",
        "exploitable",
        "vendor.openvex.json",
    )
    history = analysis_history(db, ORG, listed["analysis_id"])["history"]
    assert [(h["previous_state"], h["state"]) for h in history] == [
        (None, "not_affected"),
        ("not_affected", "exploitable"),
    ]
    assert len(exposures_report(db, ORG, "all", AS_OF)) == 1


def test_vex_for_another_version_does_not_exclude(db: Database) -> None:
    import_record(db, osv())
    upload(db, 1, "1.2.0")
    match_new(db)
    import_vex(db, ORG, openvex("not_affected", "2024-03-02T00:00:00Z", "@1.1.0"), "v.json")
    assert len(exposures_report(db, ORG, "all", AS_OF)) == 1


def test_sla_policy_round_trip_and_tier_overrides(db: Database) -> None:
    upload(db, 1, None)
    policy, own = get_sla_policy(db, ORG)
    assert (policy, own) == (DEFAULT_POLICY, False)
    changed = policy_from_tiers(["critical=5", "low=200"], DEFAULT_POLICY)
    set_sla_policy(db, ORG, changed)
    stored, own = get_sla_policy(db, ORG)
    assert own is True
    assert {t.name: t.days for t in stored.tiers}["critical"] == 5.0
    assert stored == changed
    with pytest.raises(InputError, match="unknown tier"):
        policy_from_tiers(["urgent=1"], DEFAULT_POLICY)
    with pytest.raises(InputError, match="positive number"):
        policy_from_tiers(["low=0"], DEFAULT_POLICY)
