"""The overview's figures (``pipeline.overview``) are what the exposures list, the deploy-time report
and the plan answer for the same moment, on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.change import _absent, _epss_with, _kev_with, new_snapshot
from bench.report import START, WEEKS, build_fleet
from core.errors import InputError
from core.time import utcnow
from pipeline import overview as overview_module
from pipeline.advisories.tables import import_table
from pipeline.demo import load_demo
from pipeline.exposures import summary
from pipeline.exposures.reports import deploy_time_json
from pipeline.lists.exposures import ExposureQuery, iter_exposures
from pipeline.overview import overview
from pipeline.plan import plan_json
from pipeline.sla import get_sla_policy, policy_from_tiers, set_sla_policy
from pipeline.systems import update_system
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from reports.deploy_time_columns import deploy_time_report_columns
from store.db import Database
from store.migrate import upgrade
from store.queries import registries as registry_queries
from store.queries.organizations import get_organization
from store.queries.systems import system_names

ROOT = Path(__file__).resolve().parents[2]


def assert_overview_matches(db: Database, org: str, as_of: datetime, period: int) -> None:
    got = overview(db, org, as_of, period)
    open_rows = list(iter_exposures(db, org, ExposureQuery(as_of=as_of)))
    fixable = [r for r in open_rows if r["fixed_versions"]]
    excluded = list(iter_exposures(db, org, ExposureQuery(status="excluded", as_of=as_of)))
    deploy = deploy_time_json(db, org, as_of)
    previous = deploy_time_json(db, org, as_of - timedelta(days=period))
    plan = plan_json(db, org, as_of=as_of)
    assert got["open_fixable"] == len(fixable)
    assert got["open_fixable_kev"] == sum(1 for r in fixable if r["kev"])
    assert got["open_fixable_past_due"] == sum(1 for r in fixable if r["sla_status"] == "breached")
    assert got["excluded_open"] == sum(1 for r in excluded if r["resolved_at"] is None)
    risk = list(iter_exposures(db, org, ExposureQuery(status="risk_accepted", as_of=as_of)))
    assert got["risk_accepted_open"] == sum(1 for r in risk if r["resolved_at"] is None)
    ttd, before = deploy["time_to_deploy"], previous["time_to_deploy"]
    assert got["time_to_deploy"] == {
        "half_life_days": ttd["km_median_days"],
        "within_30_days": ttd["within_days"]["30"],
        "previous": {
            "half_life_days": before["km_median_days"],
            "within_30_days": before["within_days"]["30"],
        },
    }
    assert got["top_actions"] == plan["actions"][:5]
    assert got["total_actions"] == plan["total_actions"]
    assert got["monthly"] == deploy["monthly"]
    assert got["stale_systems"]["count"] == len(deploy["stale_systems"])
    per_system = Counter(r["system"] for r in fixable)
    kev = Counter(r["system"] for r in fixable if r["kev"])
    for worst in got["worst_systems"]:
        assert worst == {
            "system": worst["system"],
            "open_fixable": per_system[worst["system"]],
            "kev": kev[worst["system"]],
        }
    counts = [(-w["open_fixable"], -w["kev"]) for w in got["worst_systems"]]
    assert counts == sorted(counts)
    assert len(got["worst_systems"]) == min(10, len(per_system))
    tiers = Counter(str(r["sla_tier"] or "none") for r in fixable)
    assert {t["tier"]: t["open_fixable"] for t in got["tiers"]} == dict(tiers)
    assert got["survival"][0] == [0.0, 0.0]


def test_bench_fleet(db: Database) -> None:
    build_fleet(db, 30)
    end = START + timedelta(days=7 * WEEKS)
    for period in (30, 90):
        assert_overview_matches(db, "bench", end, period)
    got = overview(db, "bench", end)
    assert got["open_fixable"] > 0
    assert got["open_fixable_kev"] > 0
    assert got["stale_systems"]["count"] > 0


def test_triage_decisions_and_a_look_back(db: Database) -> None:
    """An accepted risk in force and an exclusion move the counts read from the stored list as they
    move the reports; a moment before the newest snapshot (computed from the report inputs at that
    moment) also equals the reports."""
    build_fleet(db, 30)
    end = START + timedelta(days=7 * WEEKS)
    admin = Actor("alice", "admin", "api")
    rows = [r for r in iter_exposures(db, "bench", ExposureQuery(as_of=end)) if r["sla_due"]]
    accept, exclude = rows[0], next(r for r in rows if r["package"] != rows[0]["package"])
    set_analysis(
        db,
        "bench",
        AnalysisRequest(
            accept["vulnerability"],
            accept["package"],
            "accepted_risk",
            comment="later",
            expires_at=utcnow() + timedelta(days=20),
            approver="ciso",
        ),
        admin,
        allow_unmatched=True,
    )
    set_analysis(
        db,
        "bench",
        AnalysisRequest(
            exclude["vulnerability"], exclude["package"], "not_affected", justification="code_not_reachable"
        ),
        admin,
        allow_unmatched=True,
    )
    got = overview(db, "bench", end)
    assert got["risk_accepted_open"] > 0
    assert got["excluded_open"] > 0
    assert_overview_matches(db, "bench", end, 30)
    assert_overview_matches(db, "bench", end - timedelta(days=100), 30)


def test_demo_fleet(db: Database) -> None:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    assert_overview_matches(db, "demo", datetime(2024, 9, 2, tzinfo=UTC), 30)
    with pytest.raises(InputError) as caught:
        overview(db, "demo", period_days=7)
    assert str(caught.value).startswith("period_days")


def test_the_previous_period_is_recomputed_when_an_input_changes(db: Database) -> None:
    """The previous period's figures are kept between views, but never past a change of what they
    are computed from: after a triage decision, the overview again equals a fresh deploy-time report
    at that moment (and that report did change, so the check can fail)."""
    build_fleet(db, 30)
    end = START + timedelta(days=7 * WEEKS)
    before = overview(db, "bench", end, 90)["time_to_deploy"]["previous"]
    assert overview(db, "bench", end, 90)["time_to_deploy"]["previous"] == before
    set_analysis(
        db,
        "bench",
        AnalysisRequest("CVE-2023-10007", "pkg:npm/vuln-4", "false_positive", comment="wrong package"),
        Actor("alice", "admin", "api"),
        allow_unmatched=True,
    )
    fresh = deploy_time_json(db, "bench", end - timedelta(days=90))["time_to_deploy"]
    expected = {"half_life_days": fresh["km_median_days"], "within_30_days": fresh["within_days"]["30"]}
    assert expected != before
    assert overview(db, "bench", end, 90)["time_to_deploy"]["previous"] == expected


def test_counts_kept_per_system_follow_the_moment_and_each_change(db: Database) -> None:
    """The counts are kept per system between views (``pipeline.overview._counts``): as the moment
    passes due dates and an acceptance's expiry, after one system's new snapshot and after a decision,
    the overview again equals the lists at that moment (and the past-due count did move, so the check
    can fail)."""
    build_fleet(db, 30)
    end = START + timedelta(days=7 * WEEKS)
    base, _ = get_sla_policy(db, "bench")  # due dates after the fleet's last snapshot
    set_sla_policy(db, "bench", policy_from_tiers([f"{t.name}=400" for t in base.tiers], base))
    rows = [r for r in iter_exposures(db, "bench", ExposureQuery(as_of=end)) if r["sla_due"]]
    expiry = utcnow() + timedelta(days=20)
    accept = rows[0]
    set_analysis(
        db,
        "bench",
        AnalysisRequest(
            accept["vulnerability"], accept["package"], "accepted_risk", expires_at=expiry, approver="ciso"
        ),
        Actor("alice", "admin", "api"),
        allow_unmatched=True,
    )
    past_due = []
    for moment in (end, end + timedelta(days=3), end + timedelta(days=60), end + timedelta(days=200)):
        assert_overview_matches(db, "bench", moment, 30)
        past_due.append(overview(db, "bench", moment)["open_fixable_past_due"])
    assert past_due != sorted(set(past_due))[:1] * len(past_due)  # due dates passed in between
    accepted = [overview(db, "bench", expiry - timedelta(days=1))["risk_accepted_open"]]
    assert_overview_matches(db, "bench", expiry - timedelta(days=1), 30)
    assert_overview_matches(db, "bench", expiry + timedelta(days=1), 30)
    accepted.append(overview(db, "bench", expiry + timedelta(days=1))["risk_accepted_open"])
    assert accepted[0] > accepted[1] == 0
    later = end + timedelta(days=1)
    new_snapshot(db, 5, later)
    assert_overview_matches(db, "bench", later + timedelta(hours=1), 30)
    set_analysis(
        db,
        "bench",
        AnalysisRequest(
            rows[1]["vulnerability"], rows[1]["package"], "not_affected", justification="code_not_reachable"
        ),
        Actor("alice", "admin", "api"),
        allow_unmatched=True,
    )
    assert_overview_matches(db, "bench", later + timedelta(hours=2), 30)


def test_figures_are_kept_across_a_kev_entry_and_an_epss_score(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KEV entry and an EPSS score change the list rows of every system with their group, not the
    time-to-deploy figures, the gap, the survival curve, the trend or the stale systems: the overview
    after them computes none of the deploy-time summary again (``summary.stored_headlines``), yet
    equals the overview computed from scratch and the reports (and its KEV count did move, so the
    checks can fail). A new snapshot does compute it again."""
    build_fleet(db, 30)
    end = START + timedelta(days=7 * WEEKS)
    first = overview(db, "bench", end)
    computed: list[int] = []
    original = deploy_time_report_columns

    def counted(*args: Any, **kwargs: Any) -> Any:
        computed.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(summary, "deploy_time_report_columns", counted)
    import_table(db, "kev", _kev_with(db, _absent(db, "kev_entry", 5)), origin="test")
    import_table(db, "epss", _epss_with(db, _absent(db, "epss_score", 7)), origin="test")
    later = end + timedelta(minutes=1)
    kept = overview(db, "bench", later)
    assert computed == []
    assert kept["open_fixable_kev"] > first["open_fixable_kev"]
    assert_overview_matches(db, "bench", later, 30)
    summary._OVERALL.clear()
    summary._PREVIOUS.clear()
    overview_module._KEPT.clear()
    assert overview(db, "bench", later) == kept
    assert computed
    computed.clear()
    new_snapshot(db, 5, end + timedelta(hours=1))
    assert_overview_matches(db, "bench", end + timedelta(hours=2), 30)
    assert computed


def test_a_fix_release_date_from_a_registry_moves_the_figures(db: Database) -> None:
    """A registry's release date of a fixed version starts the deploy clocks of its groups there
    (an exact date instead of the advisory's publication) without changing any stored row: the kept
    figures are not reused, the overview again equals the reports (and its figures did move)."""
    build_fleet(db, 30)
    end = START + timedelta(days=7 * WEEKS)
    before = overview(db, "bench", end)
    with db.engine.begin() as conn:
        registry_queries.save_releases(
            conn,
            [
                {
                    "ecosystem": "npm",
                    "name": "vuln-0",
                    "version": version,
                    "found": True,
                    "released_at": START + timedelta(days=days),
                    "url": "https://registry.example/",
                    "fetched_at": START,
                }
                for version, days in (("1.0.5", 200), ("1.0.3", 230))
            ],
        )
    later = end + timedelta(minutes=1)
    after = overview(db, "bench", later)
    assert (after["time_to_deploy"], after["gap"]) != (before["time_to_deploy"], before["gap"])
    assert_overview_matches(db, "bench", later, 30)
    report = deploy_time_json(db, "bench", later)
    assert after["gap"] == {k: report[k] for k in after["gap"]}


def test_an_in_memory_database() -> None:
    """SQLite in memory is one database per thread: the plan's first page, read in another thread on
    PostgreSQL, is read in the caller's here (else it would find no tables)."""
    db = Database.open("sqlite://")
    try:
        upgrade(db.engine)
        build_fleet(db, 3)
        end = START + timedelta(days=7 * WEEKS)
        assert_overview_matches(db, "bench", end, 30)
    finally:
        db.dispose()


def test_a_cadence_changed_moves_the_stale_systems(db: Database) -> None:
    """A system's cadence changes no list row, yet what is stale: after one system's cadence is
    shortened, the overview at the same moment is not the one kept (``_schedules_token``, which reads
    that system alone again) but again equals the reports, one more system stale."""
    build_fleet(db, 30)
    end = START + timedelta(days=7 * WEEKS)
    moment = end + timedelta(days=3)
    before = overview(db, "bench", moment)
    stale = {s["system"] for s in deploy_time_json(db, "bench", moment)["stale_systems"]}
    with db.read() as session:
        names = system_names(session, get_organization(session, "bench").id or 0)
    fresh = sorted(set(names) - stale)[0]
    update_system(db, "bench", fresh, {"cadence_days": 1})
    after = overview(db, "bench", moment)
    assert after["stale_systems"]["count"] == before["stale_systems"]["count"] + 1
    assert_overview_matches(db, "bench", moment, 30)
