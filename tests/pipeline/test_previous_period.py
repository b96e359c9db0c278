"""The time-to-deploy figures at a moment before the newest snapshot, from the stored rows cut at it
(``pipeline.exposures.summary.stored_time_to_deploy_before``), equal the report recomputed from the
snapshots up to that moment (``deploy_time_reference``), on both databases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.change import new_snapshot
from bench.report import START, WEEKS, _cyclonedx, build_fleet, newest_content
from pipeline.demo import load_demo
from pipeline.exposures import summary as summary_module
from pipeline.exposures.reports import deploy_time_reference
from pipeline.exposures.summary import stored_headlines, stored_time_to_deploy_before
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from pipeline.systems import decommission_system
from reports.deploy_time_columns import Clocks, ExposureColumns, overall_clocks
from store.db import Database, Tx
from store.queries import systems as system_queries
from store.queries.organizations import get_organization
from store.queries.systems import org_systems

ROOT = Path(__file__).resolve().parents[2]


# The overview's moment an hour after the bench fleet's last snapshot, and its previous period's.
MOMENT = START + timedelta(days=7 * WEEKS, hours=1)
PREVIOUS = START + timedelta(days=7 * WEEKS - 30)


def previous_figures(db: Database) -> Mapping[str, object]:
    """The overview's previous-period figures at ``MOMENT`` (``stored_headlines``)."""
    found = stored_headlines(db, "bench", MOMENT, PREVIOUS)
    assert found is not None
    return found.previous


def assert_cut_equals_recomputed(db: Database, org: str, moment: datetime) -> None:
    got = stored_time_to_deploy_before(db, org, moment)
    expected = deploy_time_reference(db, org, moment).to_json()["time_to_deploy"]
    assert got == expected, moment


def test_generated_fleet_at_many_moments(db: Database) -> None:
    build_fleet(db, 40)
    end = START + timedelta(days=7 * WEEKS)
    # A decommissioning after some of the moments: its closings are open before it.
    with db.read() as session:
        systems = org_systems(session, get_organization(session, "bench").id or 0)
    quiet = min((s for s in systems if s.last_observed_at), key=lambda s: (s.last_observed_at, s.name))
    assert quiet.last_observed_at is not None
    assert quiet.last_observed_at < end - timedelta(days=60)
    decommission_system(db, "bench", quiet.name, at=quiet.last_observed_at + timedelta(days=20))
    for days in (7.5, 8, 13.5, 14, 30, 45, 90, 200, 300):
        assert_cut_equals_recomputed(db, "bench", end - timedelta(days=days))
    # On a snapshot's own moment (the bench fleet's snapshots fall on 03:00 every week).
    assert_cut_equals_recomputed(db, "bench", START + timedelta(days=7 * 30))
    assert stored_time_to_deploy_before(db, "bench", end) is None  # not before the newest snapshot


def test_demo_fleet(db: Database) -> None:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    for month, day in ((3, 1), (6, 15), (8, 1)):
        assert_cut_equals_recomputed(db, "demo", datetime(2024, month, day, tzinfo=UTC))


def test_a_backfill_just_before_the_previous_moment(db: Database) -> None:
    """The overview's previous period (``stored_headlines``) after snapshots backfilled just before its
    moment, each the newest of its system up to there: the figures again equal the report recomputed
    there (and they did change, so the check can fail)."""
    build_fleet(db, 40)
    expected = deploy_time_reference(db, "bench", PREVIOUS).to_json()["time_to_deploy"]
    assert previous_figures(db) == expected
    with db.read() as session:
        systems = org_systems(session, get_organization(session, "bench").id or 0)
    for system in systems[:8]:
        new_snapshot(db, system.id, PREVIOUS - timedelta(hours=1))  # one vulnerable package upgraded
    changed = deploy_time_reference(db, "bench", PREVIOUS).to_json()["time_to_deploy"]
    assert changed != expected
    assert previous_figures(db) == changed


def test_an_upload_after_the_previous_moment_reads_that_system_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The systems' newest snapshots up to the previous period's moment are kept per moment: after an
    upload dated after it, that system's alone is read again (its build state moved); the rows cut at
    the moment are the same columns in the same order, so their summary is not computed again; and the
    figures still equal the report recomputed there. (A backfill before the moment, which changes them,
    is the test above.)"""
    build_fleet(db, 40)
    end = START + timedelta(days=7 * WEEKS)
    moment, previous = end + timedelta(hours=2), end - timedelta(days=30)
    found = stored_headlines(db, "bench", moment, previous)
    assert found is not None
    with db.read() as session:
        systems = org_systems(session, get_organization(session, "bench").id or 0)
    read: list[Any] = []
    real = system_queries.last_snapshots_at

    def spy(session: Tx, org_id: int, at: datetime, ids: Any = None) -> dict[int, datetime]:
        read.append(None if ids is None else sorted(ids))
        return real(session, org_id, at, ids)

    monkeypatch.setattr(system_queries, "last_snapshots_at", spy)
    cuts: list[ExposureColumns] = []
    real_clocks = overall_clocks

    def counted(columns: ExposureColumns, facts: Any) -> Clocks:
        cuts.append(columns)
        return real_clocks(columns, facts)

    monkeypatch.setattr(summary_module, "overall_clocks", counted)
    for n, system in enumerate(systems[3:6], start=1):
        new_snapshot(db, system.id, end + timedelta(minutes=10 * n))
        again = stored_headlines(db, "bench", moment, previous)
        assert again is not None
        assert again.previous == deploy_time_reference(db, "bench", previous).to_json()["time_to_deploy"]
        assert read[-1] == [system.id]
    assert len(read) == 3
    assert cuts == []  # the rows were not even cut again


def test_a_backfill_of_the_same_content_before_the_previous_moment(db: Database) -> None:
    """A snapshot backfilled just before the previous period's moment with its system's content then
    changes no stored row, only the system's newest snapshot up to the moment (to which the intervals
    open then run): the figures again equal the report recomputed there (and they did move)."""
    build_fleet(db, 40)
    expected = deploy_time_reference(db, "bench", PREVIOUS).to_json()["time_to_deploy"]
    assert previous_figures(db) == expected
    with db.read() as session:
        org_id = get_organization(session, "bench").id or 0
        systems = org_systems(session, org_id)
        last_at = system_queries.last_snapshots_at(session, org_id, PREVIOUS)
    backfilled = 0
    for system in systems:
        if system.id not in last_at or last_at[system.id] >= PREVIOUS - timedelta(days=2):
            continue
        content = newest_content(db, system.id, PREVIOUS)
        data = _cyclonedx(content, PREVIOUS - timedelta(hours=1))
        ingest_sbom(db, org="bench", system=system.name, data=data, source="test", max_bytes=len(data))
        backfilled += 1
    match_new(db)
    assert backfilled > 0
    changed = deploy_time_reference(db, "bench", PREVIOUS).to_json()["time_to_deploy"]
    assert changed != expected
    assert previous_figures(db) == changed
