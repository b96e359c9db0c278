"""A view of "now" shows a snapshot taken since its clock was cut to the second (lists, reports) or to
the minute (the overview): it is computed at that snapshot's moment, from the stored rows, instead
of at the cut, where it would be a look back that leaves the snapshot out (``core.time.now_including``).
Both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pytest

import core.time
from bench.report import ORG, START, VERSIONS, WEEKS, _cyclonedx, build_fleet, newest_content
from core.time import CLOCK_SKEW, now_including, rfc3339
from pipeline import overview as overview_module
from pipeline.exports.vex import vex_input
from pipeline.exposures import reports as reports_module
from pipeline.exposures.reports import deploy_time_json, system_exposures
from pipeline.ingest import ingest_sbom
from pipeline.lists import exposures as exposures_module
from pipeline.lists import plan as plan_module
from pipeline.lists.exposures import ExposureQuery, exposure_page
from pipeline.lists.plan import PlanQuery, plan_page
from pipeline.match import match_new
from pipeline.overview import overview
from store.db import Database


def test_now_including() -> None:
    cut = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    now = cut + timedelta(seconds=40)
    assert now_including(cut, None, now) == cut
    assert now_including(cut, cut - timedelta(days=1), now) == cut
    assert now_including(cut, cut + timedelta(seconds=10), now) == cut + timedelta(seconds=10)
    assert now_including(cut, now, now) == now
    # A snapshot stamped by a clock running ahead of this one (up to ``CLOCK_SKEW``, which ingest
    # allows) has happened: "now" shows it. One later than that has not: "now" stays a look back.
    assert now_including(cut, now + timedelta(seconds=1), now) == now + timedelta(seconds=1)
    assert now_including(cut, now + CLOCK_SKEW, now) == now + CLOCK_SKEW
    assert now_including(cut, now + CLOCK_SKEW + timedelta(seconds=1), now) == cut


def _upgraded(db: Database, system_id: int, name: str, moment: datetime) -> None:
    """A snapshot of the system at ``moment``: its newest content, every vulnerable package upgraded to
    the newest version."""
    content = [
        (n, f"1.0.{VERSIONS - 1}" if n.startswith("vuln-") else v) for n, v in newest_content(db, system_id)
    ]
    data = _cyclonedx(content, moment)
    ingest_sbom(db, org=ORG, system=name, data=data, source="test", max_bytes=len(data))
    match_new(db)


def _never(*_: Any, **__: Any) -> NoReturn:
    raise AssertionError("a view of now took the look-back path")


def test_a_view_of_now_shows_a_snapshot_taken_within_its_second_and_minute(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_fleet(db, 4)
    cut = (START + timedelta(days=7 * WEEKS + 2)).replace(minute=7, second=20, microsecond=0)
    taken = cut + timedelta(milliseconds=250)
    clock = cut + timedelta(milliseconds=750)
    open_before = exposure_page(db, "bench", ExposureQuery(as_of=clock), limit=500).total
    _upgraded(db, 2, "system-0001", taken)
    # What the stored path answers at the snapshot's moment, and the look back at the cut.
    rows = exposure_page(db, "bench", ExposureQuery(as_of=taken), limit=500)
    assert rows.total != open_before
    assert exposure_page(db, "bench", ExposureQuery(as_of=cut), limit=500).total == open_before
    actions = plan_page(db, "bench", PlanQuery(as_of=taken), limit=100).actions
    deploy = deploy_time_json(db, "bench", taken)
    system_rows = system_exposures(db, "bench", "system-0001", as_of=taken)
    vex = vex_input(db, "bench", system="system-0001", as_of=taken)
    figures = overview(db, "bench", taken)
    assert overview(db, "bench", cut.replace(second=0))["open_fixable"] != figures["open_fixable"]

    monkeypatch.setattr(core.time, "utcnow", lambda: clock)
    for module, name in (
        (exposures_module, "_report_rows"),
        (plan_module, "_in_memory"),
        (overview_module, "_looked_back"),
        (reports_module, "deploy_time_reference"),
        (reports_module, "_before"),
    ):
        monkeypatch.setattr(module, name, _never)
    now_rows = exposure_page(db, "bench", ExposureQuery(), limit=500)
    assert (now_rows.items, now_rows.total) == (rows.items, rows.total)
    page = plan_page(db, "bench", PlanQuery(), limit=100)
    assert page.as_of == taken
    assert page.actions == actions
    assert deploy_time_json(db, "bench") == deploy
    assert system_exposures(db, "bench", "system-0001") == system_rows
    assert vex_input(db, "bench", system="system-0001") == vex  # the exports' "now" too
    now_figures = overview(db, "bench")
    assert now_figures["as_of"] == rfc3339(taken)
    # The previous period's moment stays the minute's, cut to its hour (its figures are kept per hour).
    assert now_figures["previous_as_of"] == rfc3339(cut.replace(minute=0, second=0) - timedelta(days=30))
    for key in ("open_fixable", "open_fixable_kev", "top_actions", "worst_systems", "tiers", "monthly"):
        assert now_figures[key] == figures[key]
