"""Triage end to end on SQLite and PostgreSQL: decisions, their history, refusals that write nothing,
the effect on the reports, VEX imports as decisions, and the exports generated from the records.

Fleet: one advisory (GHSA-test-0001 = CVE-2024-0001, left-pad < 1.3.0, CVSS 9.8: critical, 7 days);
``web`` and ``api`` run left-pad 1.2.0 from March 1, 2024 (open, long past due); ``api`` also runs
react, which no advisory names.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.errors import InputError, NotFoundError
from core.time import utcnow
from ingest.advisories.sources.osv import parse_osv_record
from pipeline.advisories.importing import import_advisories
from pipeline.exports import export
from pipeline.exposures.reports import deploy_time_json, exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from pipeline.plan import plan_json
from pipeline.triage import (
    Actor,
    AnalysisRequest,
    analysis_history,
    list_analyses,
    set_analysis,
    triage_index,
)
from pipeline.vex import import_vex, list_vex
from store.db import Database
from tests.conftest import cyclonedx_json

ORG = "acme"
CVE = "CVE-2024-0001"
ALICE = Actor("alice", "admin", "api")
VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def osv_record() -> dict[str, object]:
    return {
        "schema_version": "1.6.0",
        "id": "GHSA-test-0001",
        "modified": "2024-01-10T00:00:00Z",
        "published": "2024-01-05T00:00:00Z",
        "aliases": [CVE],
        "summary": "left-pad pads too far",
        "details": "left-pad before 1.3.0 writes past the end of its buffer.",
        "severity": [{"type": "CVSS_V3", "score": VECTOR}],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "left-pad"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.0"}]}],
            }
        ],
    }


def fleet(db: Database) -> None:
    import_advisories(db, [parse_osv_record(osv_record(), source="osv", origin="test")], source="osv")
    for system, extra in (("web", []), ("api", [("react", "18.2.0", "pkg:npm/react@18.2.0")])):
        components = [("left-pad", "1.2.0", "pkg:npm/left-pad@1.2.0"), *extra]
        ingest_sbom(
            db,
            org=ORG,
            system=system,
            data=cyclonedx_json(components, timestamp="2024-03-01T00:00:00Z"),
            source=system,
            max_bytes=10**6,
        )
    match_new(db)


def decide(db: Database, state: str, **kwargs: Any) -> dict[str, Any]:
    allow = kwargs.pop("allow_unmatched", False)
    purl = kwargs.pop("purl", "pkg:npm/left-pad")
    return set_analysis(db, ORG, AnalysisRequest(CVE, purl, state, **kwargs), ALICE, allow_unmatched=allow)


def by_system(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["system"]: r for r in rows}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"state": "ignored"}, InputError, "unknown state 'ignored'"),
        ({"state": "not_affected", "justification": "trust me"}, InputError, "unknown justification"),
        ({"state": "not_affected"}, InputError, "needs a justification or an impact statement"),
        ({"state": "accepted_risk"}, InputError, "accepted_risk needs an expiry"),
        (
            {"state": "accepted_risk", "expires_at": datetime(2024, 1, 1, tzinfo=UTC)},
            InputError,
            "is not in the future",
        ),
        ({"state": "in_triage", "vulnerability": "CVE-1999-9999"}, InputError, "no stored advisory"),
        ({"state": "in_triage", "purl": "pkg:npm/react"}, InputError, "does not run pkg:npm/react"),
        ({"state": "in_triage", "purl": "pkg:npm/left-pad@9.9.9"}, InputError, "left-pad@9.9.9"),
        ({"state": "in_triage", "purl": "npm/left-pad"}, InputError, "is not a package URL"),
        ({"state": "in_triage", "system": "nowhere"}, NotFoundError, "system 'nowhere' does not exist"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_written(
    db: Database, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    fleet(db)
    before = exposures_report(db, ORG, "all")
    request = {"vulnerability": CVE, "purl": "pkg:npm/left-pad", **kwargs}
    with pytest.raises(error, match=message):
        set_analysis(db, ORG, AnalysisRequest(**request), ALICE)
    assert list_analyses(db, ORG) == []
    assert exposures_report(db, ORG, "all") == before


def test_decisions_ahead_of_the_advisory_or_the_deploy_need_allow_unmatched(db: Database) -> None:
    fleet(db)
    ahead = set_analysis(
        db, ORG, AnalysisRequest("CVE-2030-0001", "pkg:npm/react", "in_triage"), ALICE, allow_unmatched=True
    )
    assert (ahead["vuln_group"], ahead["package"], ahead["state"]) == (None, "pkg:npm/react", "in_triage")
    other = decide(db, "exploitable", purl="pkg:npm/left-pad@9.9.9", allow_unmatched=True)
    assert (other["vuln_group"], other["version"], other["scope"]) == (CVE, "9.9.9", "version")
    # Nothing it names runs: the numbers are those of no decision at all.
    assert {r["analysis"] for r in exposures_report(db, ORG, "open")} == {None}


def test_history_is_appended_with_old_and_new_state_actor_and_time(db: Database) -> None:
    fleet(db)
    first = decide(db, "in_triage", comment="looking into it")
    assert (first["state"], first["actor"], first["actor_role"], first["source"]) == (
        "in_triage",
        "alice",
        "admin",
        "api",
    )
    again = set_analysis(
        db,
        ORG,
        AnalysisRequest(CVE, "pkg:npm/left-pad", "not_affected", justification="code_not_reachable"),
        Actor("bob", "cli", "cli"),
    )
    assert again["id"] == first["id"]  # the same scope: one record, two entries
    shown = analysis_history(db, ORG, first["id"])
    assert shown["analysis"]["state"] == "not_affected"
    assert [(h["previous_state"], h["state"], h["actor"], h["comment"]) for h in shown["history"]] == [
        (None, "in_triage", "alice", "looking into it"),
        ("in_triage", "not_affected", "bob", None),
    ]
    assert shown["history"][0]["recorded_at"] <= shown["history"][1]["recorded_at"]
    with pytest.raises(NotFoundError, match="analysis 999999 does not exist"):
        analysis_history(db, ORG, 999999)
    with pytest.raises(NotFoundError):
        analysis_history(db, ORG, 2**40)  # beyond any row id: not found, never a database error
    set_analysis(db, "globex", AnalysisRequest(CVE, "pkg:npm/x", "in_triage"), ALICE, allow_unmatched=True)
    with pytest.raises(NotFoundError, match="organization 'globex'"):
        analysis_history(db, "globex", first["id"])  # another organization's id is "not found"


def test_not_affected_and_false_positive_exclude_with_the_reason(db: Database) -> None:
    fleet(db)
    decide(db, "not_affected", system="web", justification="vulnerable_code_not_in_execute_path")
    decide(db, "false_positive", system="api", comment="we ship a fork named left-pad")
    assert exposures_report(db, ORG, "open") == []
    excluded = by_system(exposures_report(db, ORG, "excluded"))
    assert (excluded["web"]["resolution"], excluded["web"]["analysis"]["state"]) == (
        "vex_not_affected",
        "not_affected",
    )
    assert excluded["web"]["analysis"]["justification"] == "vulnerable_code_not_in_execute_path"
    assert (excluded["api"]["resolution"], excluded["api"]["analysis"]["comment"]) == (
        "false_positive",
        "we ship a fork named left-pad",
    )
    assert {r["sla_status"] for r in excluded.values()} == {None}
    report = deploy_time_json(db, ORG)
    assert (report["open"], report["vex_excluded"]) == (0, 2)
    assert report["triage"]["excluded"] == {"not_affected": 1, "false_positive": 1}
    assert sum(t["breached"] for t in report["sla"]) == 0
    # The plan asks the same question of the index (or reads Exposure.analysis).
    index = triage_index(db, ORG)
    assert index.excluded("web", CVE, "pkg:npm/left-pad", "1.2.0")
    assert index.excluded("api", CVE, "pkg:npm/left-pad", "1.2.0")
    assert not index.excluded("web", CVE, "pkg:npm/react", "18.2.0")


def test_the_most_specific_record_decides_in_the_reports(db: Database) -> None:
    fleet(db)
    decide(db, "not_affected", impact_statement="the padding is never user controlled")
    assert exposures_report(db, ORG, "open") == []
    # A record about web's exact version brings web's exposure back; api stays excluded.
    decide(db, "exploitable", system="web", purl="pkg:npm/left-pad@1.2.0", comment="reachable from /pad")
    (web,) = exposures_report(db, ORG, "open")
    assert (web["system"], web["analysis"]["state"], web["analysis"]["scope"]) == (
        "web",
        "exploitable",
        "system+version",
    )
    assert web["sla_status"] == "breached"  # shown, changes nothing
    (api,) = exposures_report(db, ORG, "excluded")
    assert (api["system"], api["analysis"]["scope"]) == ("api", "package")
    report = deploy_time_json(db, ORG)
    assert report["triage"]["counted_by_state"]["exploitable"] == 1
    # The same holds when the report is recomputed for a past moment (as_of before the newest snapshot).
    ingest_sbom(
        db,
        org=ORG,
        system="web",
        data=cyclonedx_json(
            [("left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0")], timestamp="2024-05-01T00:00:00Z"
        ),
        source="web-may",
        max_bytes=10**6,
    )
    match_new(db)
    april = exposures_report(db, ORG, "all", datetime(2024, 4, 1, tzinfo=UTC))
    assert [(r["system"], r["analysis"]["state"]) for r in april] == [("web", "exploitable")]


def test_accepted_risk_counts_apart_until_its_expiry(db: Database) -> None:
    fleet(db)
    expiry = utcnow().replace(microsecond=0) + timedelta(days=30)
    risk = decide(db, "accepted_risk", system="api", expires_at=expiry, comment="replaced in Q1")
    assert risk["approver"] == "alice"  # the actor approves when nobody else is named
    rows = by_system(exposures_report(db, ORG, "open"))
    assert (rows["api"]["sla_status"], rows["web"]["sla_status"]) == ("risk_accepted", "breached")
    assert rows["api"]["analysis"]["expires_at"] == expiry.isoformat().replace("+00:00", "Z")
    report = deploy_time_json(db, ORG)
    critical = next(t for t in report["sla"] if t["tier"] == "critical")
    assert (critical["breached"], critical["risk_accepted"], report["open"]) == (1, 1, 2)
    after = expiry + timedelta(days=1)
    rows = by_system(exposures_report(db, ORG, "open", after))
    assert (rows["api"]["sla_status"], rows["web"]["sla_status"]) == ("breached", "breached")


def openvex_document(status: str, **fields: str) -> bytes:
    statement = {
        "vulnerability": {"name": "GHSA-test-0001"},
        "products": [{"@id": "pkg:npm/left-pad@1.2.0"}],
        "status": status,
        "timestamp": "2024-04-01T12:00:00Z",
        **fields,
    }
    document = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.org/vex/1",
        "author": "PSIRT of acme",
        "timestamp": "2024-04-02T00:00:00Z",
        "version": 1,
        "statements": [statement],
    }
    return json.dumps(document).encode()


def test_vex_imports_are_decisions_of_the_documents_author_at_the_statements_time(db: Database) -> None:
    fleet(db)
    data = openvex_document(
        "not_affected", justification="vulnerable_code_not_present", impact_statement="patched in our build"
    )
    result = import_vex(db, ORG, data, "psirt.openvex.json", importer="ci")
    assert (result.statements, result.by_status) == (1, {"not_affected": 1})
    (record,) = list_analyses(db, ORG)
    assert (record["vulnerability"], record["vuln_group"], record["version"]) == (CVE, CVE, "1.2.0")
    assert (record["actor"], record["actor_role"], record["decided_at"]) == (
        "PSIRT of acme",
        "VEX author",
        "2024-04-01T12:00:00Z",
    )
    assert record["source"] == "psirt.openvex.json (imported by ci)"
    assert record["aliases"] == ["GHSA-test-0001"]
    import_vex(db, ORG, data, "psirt.openvex.json", importer="ci")  # the same document again: nothing new
    assert len(analysis_history(db, ORG, record["id"])["history"]) == 1
    assert exposures_report(db, ORG, "open") == []
    (vex,) = list_vex(db, ORG)
    assert (vex["status"], vex["state"], vex["stated_at"]) == (
        "not_affected",
        "not_affected",
        record["decided_at"],
    )
    # An unknown justification refuses the whole document.
    with pytest.raises(InputError, match="unknown justification 'because'"):
        import_vex(db, ORG, openvex_document("not_affected", justification="because"), "bad.json")
    assert len(analysis_history(db, ORG, record["id"])["history"]) == 1


def test_exports_are_generated_from_the_records(db: Database) -> None:
    fleet(db)
    decide(
        db,
        "not_affected",
        system="web",
        justification="vulnerable_code_not_in_execute_path",
        impact_statement="left-pad is only called at build time",
    )
    decide(db, "false_positive", system="api", comment="a fork with the same name")
    moment = datetime(2024, 6, 1, tzinfo=UTC)
    csaf = json.loads(export(db, ORG, "csaf-vex", as_of=moment).content)
    (vuln,) = csaf["vulnerabilities"]
    assert vuln["notes"][0]["text"] == "left-pad before 1.3.0 writes past the end of its buffer."
    assert vuln["title"] == "left-pad pads too far"
    assert vuln["scores"][0]["cvss_v3"]["vectorString"] == VECTOR
    assert vuln["flags"][0]["label"] == "vulnerable_code_not_in_execute_path"
    impacts = {t["details"] for t in vuln["threats"] if t["category"] == "impact"}
    assert impacts == {
        "left-pad is only called at build time",
        "The organization found the match to be a false positive: a fork with the same name",
    }
    openvex = json.loads(export(db, ORG, "openvex", as_of=moment).content)
    web = next(s for s in openvex["statements"] if "justification" in s)
    assert (web["justification"], web["impact_statement"]) == (
        "vulnerable_code_not_in_execute_path",
        "left-pad is only called at build time",
    )
    cdx = json.loads(export(db, ORG, "cyclonedx-vex", as_of=moment).content)
    states = {v["analysis"]["state"] for v in cdx["vulnerabilities"]}
    assert states == {"not_affected", "false_positive"}
    assert {r["vector"] for v in cdx["vulnerabilities"] for r in v["ratings"]} == {
        VECTOR.removeprefix("CVSS:3.1/")
    }
    assert {v["detail"] for v in cdx["vulnerabilities"]} == {
        "left-pad before 1.3.0 writes past the end of its buffer."
    }


def test_the_evidence_pack_lists_accepted_risks_past_due_with_their_terms(db: Database) -> None:
    fleet(db)
    expiry = utcnow().replace(microsecond=0) + timedelta(days=30)
    decide(db, "accepted_risk", system="api", expires_at=expiry, approver="CISO", comment="replaced in Q1")
    pack = export(db, ORG, "nis2-evidence", start=datetime(2024, 1, 1, tzinfo=UTC))
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        past_due = list(csv.DictReader(io.StringIO(archive.read("exposures/past_due.csv").decode())))
        decisions = list(csv.DictReader(io.StringIO(archive.read("vex/decisions.csv").decode())))
    rows = {r["system"]: r for r in past_due}
    assert (rows["api"]["exception_reason"], rows["api"]["exception_approved_by"]) == (
        "replaced in Q1",
        "CISO",
    )
    assert rows["api"]["exception_until"] == expiry.isoformat().replace("+00:00", "Z")
    assert rows["web"]["exception_reason"] == ""  # breached, nothing accepted
    (decision,) = decisions
    assert (decision["status"], decision["state"], decision["author"]) == (
        "affected",
        "accepted_risk",
        "alice",
    )


def test_the_plan_leaves_out_what_triage_excludes_and_keeps_accepted_risks(db: Database) -> None:
    fleet(db)
    (action,) = plan_json(db, ORG)["actions"]
    assert (action["package"], action["to_version"], action["system_count"]) == (
        "pkg:npm/left-pad",
        "1.3.0",
        2,
    )
    decide(db, "false_positive", system="web")
    (action,) = plan_json(db, ORG)["actions"]
    assert [s["system"] for s in action["systems"]] == ["api"]
    decide(db, "accepted_risk", system="api", expires_at=utcnow() + timedelta(days=30))
    assert plan_json(db, ORG)["total_actions"] == 1  # an accepted risk is still open: still to fix
    decide(db, "not_affected", system="api", justification="code_not_present")
    assert plan_json(db, ORG)["total_actions"] == 0
