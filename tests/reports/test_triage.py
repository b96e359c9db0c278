"""The triage rule (most specific record wins) and its effect on the timeline and the deploy-time report.

Fleet: one system ``web`` with weekly snapshots s0..s6 (Jan 1 … Feb 12, 2024), as of Feb 13.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.triage import Analysis
from reports.deploy_time import assess_exposures, deploy_time_report
from reports.exposure_records import AffectedHistory, SnapshotRef, SystemHistory, VulnFacts
from reports.timeline import build_timeline
from reports.triage import AnalysisIndex, scope_rank, specificity, state_counts

T = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(weeks=i) for i in range(7)]
AS_OF = datetime(2024, 2, 13, tzinfo=UTC)
WEB = SystemHistory("web", tuple(SnapshotRef(t, f"w{i}") for i, t in enumerate(T)), "prod", True, 7)
API = SystemHistory("api", tuple(SnapshotRef(t, f"a{i}") for i, t in enumerate(T)), "prod", False, 7)


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


# web runs pkg:npm/a 1.0 at s0-s1 and 1.1 at s2-s6 (open); api runs 1.0 throughout (open).
HISTORIES = [
    AffectedHistory(
        "web",
        "pkg:npm/a",
        "npm",
        "G",
        (("w0", "1.0"), ("w1", "1.0"), *((f"w{i}", "1.1") for i in range(2, 7))),
        frozenset(f"w{i}" for i in range(7)),
    ),
    AffectedHistory(
        "api",
        "pkg:npm/a",
        "npm",
        "G",
        tuple((f"a{i}", "1.0") for i in range(7)),
        frozenset(f"a{i}" for i in range(7)),
    ),
]
FACTS = [VulnFacts("G", csaf_vendor_fix=jan(1), cvss=9.8)]  # critical: due 7 days after start


def test_exclusion_by_state_and_every_interval_names_its_record() -> None:
    not_affected = record(1, "not_affected", version="1.0", justification="code_not_present")
    false_positive = record(2, "false_positive", version="1.1", system="web")
    timeline = build_timeline([WEB, API], HISTORIES, as_of=AS_OF, analyses=[not_affected, false_positive])
    assert timeline.exposures == ()
    excluded = {(e.system, e.resolution, e.versions, e.is_open): e.analysis for e in timeline.vex_excluded}
    assert excluded == {
        ("api", "vex_not_affected", ("1.0",), True): not_affected,
        ("web", "vex_not_affected", ("1.0",), False): not_affected,
        ("web", "false_positive", ("1.1",), True): false_positive,
    }
    report = deploy_time_report(timeline, [WEB, API], FACTS, AS_OF).to_json()
    assert report["open"] == 0
    assert report["vex_excluded"] == 3
    assert report["triage"]["excluded"] == {"not_affected": 2, "false_positive": 1}


def test_shown_states_change_no_number_but_travel_with_the_exposure() -> None:
    plain = build_timeline([WEB, API], HISTORIES, as_of=AS_OF)
    triaged = build_timeline(
        [WEB, API],
        HISTORIES,
        as_of=AS_OF,
        analyses=[record(1, "exploitable", system="api"), record(2, "in_triage", version="1.1")],
    )
    strip = [(e.system, e.versions, e.first_seen, e.resolved_at) for e in triaged.exposures]
    assert strip == [(e.system, e.versions, e.first_seen, e.resolved_at) for e in plain.exposures]
    assert {e.system: e.analysis.state for e in triaged.exposures if e.analysis} == {
        "api": "exploitable",
        "web": "in_triage",
    }
    before = deploy_time_report(plain, [WEB, API], FACTS, AS_OF).to_json()
    after = deploy_time_report(triaged, [WEB, API], FACTS, AS_OF).to_json()
    assert {k: v for k, v in after.items() if k != "triage"} == {
        k: v for k, v in before.items() if k != "triage"
    }
    assert after["triage"]["counted_by_state"] == {
        "in_triage": 1,
        "exploitable": 1,
        "accepted_risk": 0,
        "resolved": 0,
    }


def test_accepted_risk_is_kept_out_of_breaches_until_it_expires() -> None:
    accepted = record(1, "accepted_risk", system="api", expires_at=datetime(2024, 3, 1, tzinfo=UTC))
    timeline = build_timeline([WEB, API], HISTORIES, as_of=AS_OF, analyses=[accepted])
    status = {a.exposure.system: a.sla_status for a in assess_exposures(timeline, [WEB, API], FACTS, AS_OF)}
    assert status == {"api": "risk_accepted", "web": "breached"}
    report = deploy_time_report(timeline, [WEB, API], FACTS, AS_OF).to_json()
    critical = next(t for t in report["sla"] if t["tier"] == "critical")
    assert (critical["breached"], critical["risk_accepted"]) == (1, 1)
    assert report["triage"]["risk_accepted"] == 1
    assert report["open"] == 2  # still open, still counted in time to deploy
    # After the expiry it is what it was.
    later = datetime(2024, 3, 2, tzinfo=UTC)
    timeline = build_timeline([WEB, API], HISTORIES, as_of=later, analyses=[accepted])
    status = {a.exposure.system: a.sla_status for a in assess_exposures(timeline, [WEB, API], FACTS, later)}
    assert status == {"api": "breached", "web": "breached"}


def test_state_counts_name_every_state() -> None:
    assert state_counts([None, record(1, "resolved")]) == {
        "in_triage": 0,
        "exploitable": 0,
        "not_affected": 0,
        "false_positive": 0,
        "accepted_risk": 0,
        "resolved": 1,
    }
