"""The Dependency-Track analysis of a finding: the one mapping triage will be wired through."""

from __future__ import annotations

from pipeline.dependency_track import ANALYSIS_STATES, DtAnalysis, analysis_for, dt_analysis


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
    row = {"system": "web", "package": "pkg:npm/minimist", "vulnerability": "CVE-2021-44906"}
    assert analysis_for(row, "1.2.5") == DtAnalysis("NOT_SET", False)
