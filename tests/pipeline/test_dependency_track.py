"""The Dependency-Track analysis of a finding: the one mapping triage goes through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.settings import DEFAULT_MAX_SBOM_BYTES
from core.time import utcnow
from pipeline.dependency_track import (
    ANALYSIS_STATES,
    DtAnalysis,
    analysis_for,
    dt_analysis,
    get_project,
    project_findings,
    project_metrics,
)
from pipeline.ingest import ingest_sbom
from pipeline.triage import AnalysisRequest, set_analysis
from pipeline.uploads import project_uuid
from store.db import Database
from tests.pipeline.test_triage import ALICE, CVE, ORG, fleet


def test_every_triage_state_has_a_dependency_track_analysis_and_only_exclusions_suppress() -> None:
    # DESIGN.md "Triage": not_affected and false_positive exclude; accepted_risk is still counted.
    assert set(ANALYSIS_STATES) == {
        "in_triage",
        "exploitable",
        "not_affected",
        "false_positive",
        "accepted_risk",
        "resolved",
    }
    suppressed = {state for state in ANALYSIS_STATES if dt_analysis(state).is_suppressed}
    assert suppressed == {"not_affected", "false_positive"}
    assert dt_analysis("not_affected") == DtAnalysis("NOT_AFFECTED", True)
    assert dt_analysis("accepted_risk") == DtAnalysis("EXPLOITABLE", False)
    assert dt_analysis(None) == DtAnalysis("NOT_SET", False)


def test_without_triage_records_every_finding_is_not_set() -> None:
    row = {
        "system": "web",
        "package": "pkg:npm/minimist",
        "vulnerability": "CVE-2021-44906",
        "analysis": None,
    }
    assert analysis_for(row, "1.2.5") == DtAnalysis("NOT_SET", False)


def test_triage_decisions_show_as_the_findings_analysis_and_suppress_what_they_exclude(db: Database) -> None:
    fleet(db)
    project = project_uuid(ORG, "web")
    before = project_findings(db, ORG, project)
    assert [(f.vulnerability.vuln_id, f.analysis) for f in before] == [(CVE, DtAnalysis("NOT_SET", False))]
    assert project_metrics(db, ORG, project).critical == 1
    set_analysis(
        db,
        ORG,
        AnalysisRequest(CVE, "pkg:npm/left-pad", "false_positive", system="web", comment="not our left-pad"),
        ALICE,
    )
    assert project_findings(db, ORG, project) == []
    (hidden,) = project_findings(db, ORG, project, suppressed=True)
    assert hidden.analysis == DtAnalysis("FALSE_POSITIVE", True)
    metrics = project_metrics(db, ORG, project)
    assert (metrics.critical, metrics.suppressed) == (0, 1)
    # The other system is untouched by a decision scoped to "web"; an accepted risk stays counted.
    other = project_uuid(ORG, "api")
    set_analysis(
        db,
        ORG,
        AnalysisRequest(
            CVE,
            "pkg:npm/left-pad",
            "accepted_risk",
            system="api",
            expires_at=utcnow() + timedelta(days=30),
        ),
        ALICE,
    )
    (kept,) = project_findings(db, ORG, other)
    assert kept.analysis == DtAnalysis("EXPLOITABLE", False)
    assert project_metrics(db, ORG, other).critical == 1


def test_a_projects_last_import_format_names_the_format_family(db: Database) -> None:
    sample = Path(__file__).parents[1] / "ingest" / "sbom" / "samples" / "syft-3-debian.syft.json"
    ingest_sbom(
        db,
        org=ORG,
        system="scanned",
        data=sample.read_bytes(),
        source=sample.name,
        observed_at=datetime(2026, 12, 1, tzinfo=UTC),
        max_bytes=DEFAULT_MAX_SBOM_BYTES,
    )
    project = get_project(db, ORG, project_uuid(ORG, "scanned"))
    assert project.last_bom_import_format == "syft 3.3.2"
