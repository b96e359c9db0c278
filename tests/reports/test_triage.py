"""The triage rule: the most specific record wins."""

from __future__ import annotations

from datetime import UTC, datetime

from core.triage import Analysis
from reports.triage import AnalysisIndex, scope_rank, specificity, state_counts


def jan(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def record(
    i: int, state: str, *, version: str | None = None, system: str | None = None, **kw: object
) -> Analysis:
    return Analysis(i, "G", "pkg:npm/a", state, version, system, decided_at=jan(i), **kw)  # type: ignore[arg-type]


def test_the_most_specific_record_wins_whatever_its_state() -> None:
    package = record(1, "not_affected", justification="code_not_present")
    system = record(2, "false_positive", system="web")
    version = record(3, "exploitable", version="1.0")
    both = record(4, "in_triage", version="1.0", system="web")
    index = AnalysisIndex([both, version, system, package])
    assert [specificity(r) for r in (both, version, system, package)] == [3, 2, 1, 0]
    assert scope_rank(system=True, version=False) == 1
    assert index.find("web", "G", "pkg:npm/a", "1.0") is both
    assert index.find("api", "G", "pkg:npm/a", "1.0") is version  # version over package
    assert index.find("web", "G", "pkg:npm/a", "2.0") is system  # system over package
    assert index.find("api", "G", "pkg:npm/a", "2.0") is package
    assert index.find("api", "G", "pkg:npm/b", "2.0") is None
    assert index.find("api", "OTHER", "pkg:npm/a", "2.0") is None
    # A version-level "exploitable" brings back what the package-level not_affected excluded.
    assert not index.excluded("api", "G", "pkg:npm/a", "1.0")
    assert index.excluded("api", "G", "pkg:npm/a", "2.0")
    assert index.excluded("web", "G", "pkg:npm/a", "2.0")  # the system's false positive


def test_equally_specific_records_the_latest_decision_wins_then_the_newest_record() -> None:
    early = record(9, "not_affected", justification="code_not_present")
    late = Analysis(3, "G", "pkg:npm/a", "exploitable", decided_at=jan(20))
    assert AnalysisIndex([early, late]).find("web", "G", "pkg:npm/a", "1") is late
    same_time = Analysis(10, "G", "pkg:npm/a", "in_triage", decided_at=jan(20))
    assert AnalysisIndex([late, same_time]).find("web", "G", "pkg:npm/a", "1") is same_time


def test_package_spelling_is_the_callers() -> None:
    spelled = Analysis(1, "G", "pkg:npm/A", "not_affected")
    index = AnalysisIndex([spelled], package_of=lambda r: r.package.lower())
    assert index.find("web", "G", "pkg:npm/a", "1") is spelled


def test_state_counts_name_every_state() -> None:
    assert state_counts([None, record(1, "resolved")]) == {
        "in_triage": 0,
        "exploitable": 0,
        "not_affected": 0,
        "false_positive": 0,
        "accepted_risk": 0,
        "resolved": 1,
    }
