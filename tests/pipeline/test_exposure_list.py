"""The paged exposures list (``pipeline.lists.exposures``) walks, page by page, exactly the rows of the
full exposures report filtered and sorted the same way — for every filter and sort, both directions,
both databases — and stays equal to it after the inputs change.

The expected rows are computed here from ``exposures_report`` with the filters written out again (not
through the list's own code).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench.report import START, WEEKS, build_fleet
from core.errors import InputError
from core.paging import MAX_LIMIT, encode_cursor
from core.time import utcnow
from pipeline.advisories.refresh import refresh_after_import
from pipeline.advisories.tables import import_table
from pipeline.demo import load_demo
from pipeline.exposures.reports import exposures_from_inputs, report_inputs
from pipeline.lists import exposures as exposures_module
from pipeline.lists.exposures import (
    SORTS,
    ExposureQuery,
    exposure_page,
    iter_exposures,
    rebuild_lists,
    refresh_list,
)
from pipeline.sla import set_sla_policy
from pipeline.systems import decommission_system, update_system
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from reports.sla import SlaPolicy, SlaTier
from store.db import Database

ROOT = Path(__file__).resolve().parents[2]
END = START + timedelta(days=7 * WEEKS)
ADMIN = Actor("alice", "admin", "api")
Row = dict[str, Any]


def _none_last(value: Any, missing: Any) -> Any:
    return missing if value is None else value


_REPORTS: dict[tuple[int, str, str, Any], list[Row]] = {}


def expected(db: Database, org: str, query: ExposureQuery) -> list[Row]:
    """The full report's rows that the query selects, in its order (identity breaks ties)."""
    status = {"risk_accepted": "all"}.get(query.status, query.status)
    cached = (id(db), org, status, query.as_of)
    if cached not in _REPORTS:
        # At an earlier moment, from the intervals computed from the snapshots up to it.
        inputs = report_inputs(db, org, query.as_of, recompute=True)
        _REPORTS[cached] = exposures_from_inputs(inputs, status)  # type: ignore[arg-type]
    rows = _REPORTS[cached]
    owners = {r["system"]: (r["owner"], r["tags"]) for r in rows}

    def keep(r: Row) -> bool:
        owner, tags = owners[r["system"]]
        leaf = r["package"].rsplit("/", 1)[-1]
        return (
            (query.status != "risk_accepted" or r["sla_status"] == "risk_accepted")
            and (query.system is None or r["system"] == query.system)
            and (query.environment is None or r["environment"] == query.environment)
            and (query.owner is None or (owner or "").lower() == query.owner.lower())
            and set(query.tags) <= set(tags)
            and (query.tier is None or r["sla_tier"] == query.tier)
            and (query.severity is None or r["severity"] == query.severity)
            and (query.kev is None or r["kev"] is query.kev)
            and (
                query.package is None
                or (
                    # The package itself or packages under it as a path, never pkg:npm/vuln-10 for
                    # pkg:npm/vuln-1.
                    r["package"] == query.package
                    or r["package"].startswith(query.package.rstrip("/") + "/")
                    if query.package.startswith("pkg:")
                    else leaf == query.package
                )
            )
        )

    column: dict[str, Callable[[Row], Any]] = {
        "sla_due": lambda r: _none_last(r["sla_due"], "~"),
        "first_seen": lambda r: r["first_seen"],
        "cvss": lambda r: _none_last(r["cvss"], -1.0),
        "epss": lambda r: _none_last(r["epss"], -1.0),
        "system": lambda r: r["system"],
        "package": lambda r: r["package"],
    }
    sort_key = column[query.sort]
    return sorted(
        (r for r in rows if keep(r)),
        key=lambda r: (sort_key(r), r["system"], r["package"], r["vulnerability"], r["first_seen"]),
        reverse=query.descending,
    )


def walk(db: Database, org: str, query: ExposureQuery, limit: int, total: int) -> list[Row]:
    """Every page of the list, following the cursors; checks each page's count and size."""
    out: list[Row] = []
    cursor = None
    while True:
        page = exposure_page(db, org, query, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        out.extend(page.items)
        if page.total is not None:
            assert page.total == total
        if page.next_cursor is None:
            return out
        assert len(page.items) == limit
        cursor = page.next_cursor


QUERIES = [
    ExposureQuery(),
    ExposureQuery(status="all"),
    ExposureQuery(status="resolved"),
    ExposureQuery(status="excluded"),
    ExposureQuery(status="risk_accepted"),
    ExposureQuery(system="system-0004"),
    ExposureQuery(environment="staging"),
    ExposureQuery(owner="OPS@example.org"),
    ExposureQuery(tags=("web",)),
    ExposureQuery(tags=("web", "eu"), status="all"),
    ExposureQuery(tier="high"),
    ExposureQuery(severity="critical"),
    ExposureQuery(kev=True),
    ExposureQuery(kev=False, status="all"),
    ExposureQuery(package="vuln-7"),
    ExposureQuery(package="pkg:npm/vuln-7"),
    # Not a prefix of pkg:npm/vuln-10 … vuln-19 (which the fleet runs): selects nothing.
    ExposureQuery(package="pkg:npm/vuln-1"),
    ExposureQuery(status="all", severity="high", kev=False, environment="prod"),
]


def check(db: Database, org: str, query: ExposureQuery, *, stream: bool = True, pages: int = 3) -> None:
    """The rows walked in ``pages`` pages (of 7 to ``MAX_LIMIT`` rows) equal the expected rows; with
    ``stream``, the streamed export does too."""
    want = expected(db, org, query)
    got = walk(db, org, query, min(MAX_LIMIT, max(7, -(-len(want) // pages))), len(want))
    assert got == want, (query, len(got), len(want))
    if stream:
        assert list(iter_exposures(db, org, query)) == want


def assert_lists_equal(
    db: Database,
    org: str,
    as_of: Any = None,
    *,
    every_sort: bool = True,
    queries: list[ExposureQuery] = QUERIES,
    by_due_too: bool = True,
    pages: int = 3,
) -> None:
    """Every sort in both directions over the open rows; every filter in one order, and by due date
    too unless told not to. The streamed export (``iter_exposures``, the same stored reads as the
    pages, a thousand rows at a time) is compared in every sort and for the first filter."""
    _REPORTS.clear()  # the data may have changed since the last comparison
    if every_sort:
        for sort in SORTS:
            for descending in (False, True):
                check(db, org, ExposureQuery(sort=sort, descending=descending, as_of=as_of), pages=pages)
    for i, base in enumerate(queries):
        fields = {k: getattr(base, k) for k in ExposureQuery.__dataclass_fields__}
        sorts = list(SORTS)
        orders = [(sorts[i % len(sorts)], i % 2 == 1)] + [("sla_due", False)] * by_due_too
        for j, (sort, descending) in enumerate(orders):
            query = ExposureQuery(**{**fields, "sort": sort, "descending": descending, "as_of": as_of})
            check(db, org, query, stream=i == j == 0, pages=pages)


def _fleet(db: Database) -> None:
    build_fleet(db, 40)
    for name, owner, tags in (
        ("system-0004", "ops@example.org", ["web"]),
        ("system-0009", "OPS@example.org", []),
        ("system-0011", None, ["web", "eu"]),
    ):
        update_system(db, "bench", name, {"owner": owner, "tags": tags})
    set_analysis(
        db,
        "bench",
        AnalysisRequest(
            "CVE-2023-10001",
            "pkg:npm/vuln-0",
            "accepted_risk",
            comment="later",
            expires_at=utcnow() + timedelta(days=20),
            approver="ciso",
        ),
        ADMIN,
        allow_unmatched=True,
    )
    set_analysis(
        db,
        "bench",
        AnalysisRequest(
            "CVE-2023-10003", "pkg:npm/vuln-1", "not_affected", justification="code_not_reachable"
        ),
        ADMIN,
        allow_unmatched=True,
    )


def test_bench_fleet_every_filter_and_sort(db: Database) -> None:
    _fleet(db)
    assert_lists_equal(db, "bench")
    # Every filter above selects something somewhere (a filter that matches nothing proves little).
    for query in QUERIES:
        if query.package != "pkg:npm/vuln-1":
            assert expected(db, "bench", query), query
    assert expected(db, "bench", ExposureQuery(package="pkg:npm/vuln-1")) == []
    assert expected(db, "bench", ExposureQuery(package="pkg:npm/vuln-1", status="all")) == []


KEV = {
    "catalogVersion": "2025.08.25",
    "dateReleased": "2025-08-25T17:04:19.9796Z",
    "count": 2,
    # CVE-2023-10005 affects vuln-3, CVE-2023-10008 vuln-5 (the generator's numbering).
    "vulnerabilities": [
        {"cveID": "CVE-2023-10005", "dateAdded": "2023-02-16", "dueDate": "2023-03-09"},
        {"cveID": "CVE-2023-10008", "dateAdded": "2023-02-16", "dueDate": "2023-03-09"},
    ],
}
EPSS = (
    "#model_version:v2025.03.14,score_date:2026-12-04T00:00:00Z\n"
    "cve,epss,percentile\nCVE-2023-10007,0.97,0.999\n"
)


def test_lists_follow_every_change(db: Database) -> None:
    """After a KEV import, an EPSS import, a policy change, a triage decision and a decommissioning,
    the stored list answers as the full report does (every filter before the changes:
    ``test_bench_fleet_every_filter_and_sort``)."""
    _fleet(db)
    check(db, "bench", ExposureQuery(status="all"))  # the list is stored before the changes
    before = expected(db, "bench", ExposureQuery(kev=True, status="all"))
    import_table(db, "kev", json.dumps(KEV).encode(), origin="kev.json")
    _REPORTS.clear()
    assert len(expected(db, "bench", ExposureQuery(kev=True, status="all"))) != len(before)
    check(db, "bench", ExposureQuery(kev=True, status="all"))
    check(db, "bench", ExposureQuery(sort="cvss", descending=True))
    import_table(db, "epss", EPSS.encode(), origin="epss.csv")
    _REPORTS.clear()
    check(db, "bench", ExposureQuery(sort="epss", descending=True, status="all"))
    set_sla_policy(
        db,
        "bench",
        SlaPolicy((SlaTier("urgent", 2.5, exploited=True), SlaTier("serious", 10.25, min_cvss=7.0))),
    )
    _REPORTS.clear()
    check(db, "bench", ExposureQuery(tier="urgent"))
    check(db, "bench", ExposureQuery(status="all"))
    set_analysis(
        db,
        "bench",
        AnalysisRequest("CVE-2023-10007", "pkg:npm/vuln-4", "false_positive", comment="wrong package"),
        ADMIN,
        allow_unmatched=True,
    )
    update_system(db, "bench", "system-0006", {"owner": "ops@example.org", "environment": "dev"})
    decommission_system(db, "bench", "system-0007", END - timedelta(days=1))
    assert_lists_equal(db, "bench", every_sort=False, by_due_too=False)
    # A moment before the newest snapshot (a look back: ``test_a_look_back_reads_the_stored_list``),
    # in two pages: each status, and filters on tags, KEV and several columns at once, each in one order.
    look_back = [QUERIES[i] for i in (1, 2, 3, 4, 9, 12, 17)]
    assert_lists_equal(
        db, "bench", END - timedelta(days=3), every_sort=False, queries=look_back, by_due_too=False, pages=2
    )
    # The rows kept current through every change are what a from-scratch computation writes.
    kept = stored_list(db)
    assert rebuild_lists(db, "bench") == 40
    assert stored_list(db) == kept
    # One row per exposure row of every status, one state per system.
    assert len(kept) == 40 + len(expected(db, "bench", ExposureQuery(status="all"))) + len(
        expected(db, "bench", ExposureQuery(status="excluded"))
    )


def test_a_look_back_reads_the_stored_list(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """At moments before the newest snapshot, every sort and filter pages the stored list, each row
    computed at the moment, as the intervals computed from the snapshots up to it say; only the
    accepted risks then (which depend on the version each interval ran then) compute the report."""
    _fleet(db)
    computed: list[str] = []
    report_rows = exposures_module._report_rows

    def counted(db: Database, org: str, query: ExposureQuery) -> list[Row]:
        computed.append(query.status)
        return report_rows(db, org, query)

    monkeypatch.setattr(exposures_module, "_report_rows", counted)
    # Every sort at one moment, with each status and filters on several columns; some filters at
    # another (``test_lists_follow_every_change`` pages a third).
    for moment, every_sort, queries in (
        (START + timedelta(weeks=9, hours=12), True, (1, 2, 3, 4, 12, 17)),
        (END - timedelta(days=120), False, (0, 3, 9, 14)),
    ):
        chosen = [QUERIES[i] for i in queries]
        assert_lists_equal(
            db, "bench", moment, every_sort=every_sort, queries=chosen, by_due_too=False, pages=2
        )
        assert expected(db, "bench", ExposureQuery(status="resolved", as_of=moment))
        assert expected(db, "bench", ExposureQuery(status="excluded", as_of=moment))
    assert set(computed) == {"risk_accepted"}
    # Before the first snapshot: nothing, whatever the status.
    for status in ("open", "all", "excluded"):
        page = exposure_page(db, "bench", ExposureQuery(status=status, as_of=START - timedelta(days=1)))
        assert (page.items, page.total, page.next_cursor) == ([], 0, None)


def test_an_advisory_sync_recomputes_the_list_so_the_next_page_does_not(db: Database) -> None:
    """The KEV import's refresh (what ``advisories import`` and the sync jobs run after an import)
    leaves the stored list current: the next list finds nothing to recompute, and answers as the
    full report does."""
    _fleet(db)
    check(db, "bench", ExposureQuery(status="all"))  # the list is stored before the import
    import_table(db, "kev", json.dumps(KEV).encode(), origin="kev.json")
    refreshed = refresh_after_import(db, frozenset())
    assert refreshed.listed == 40
    assert refresh_list(db, "bench") == 0
    _REPORTS.clear()
    check(db, "bench", ExposureQuery(kev=True, status="all"))


def stored_list(db: Database) -> list[tuple[Any, ...]]:
    """Every stored list row and state (the stamps too), in a stable order."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM exposure_list ORDER BY exposure_id")).all()
        states = conn.execute(sa.text("SELECT * FROM exposure_list_state ORDER BY system_id")).all()
    return [tuple(r) for r in rows] + [tuple(r) for r in states]


def test_demo_fleet(db: Database) -> None:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    assert_lists_equal(db, "demo")


def test_bad_input_names_the_parameter(db: Database) -> None:
    build_fleet(db, 3)
    with pytest.raises(InputError) as caught:
        ExposureQuery(sort="nonsense")
    assert caught.value.source == "sort"
    with pytest.raises(InputError) as caught:
        exposure_page(db, "bench", ExposureQuery(), cursor="garbage!")
    assert caught.value.source == "cursor"
    other = encode_cursor("exposures", "first_seen:asc", ["x", "a", "b", "c", "d"])
    with pytest.raises(InputError) as caught:
        exposure_page(db, "bench", ExposureQuery(), cursor=other)
    assert caught.value.source == "cursor"
    with pytest.raises(InputError) as caught:
        exposure_page(db, "bench", ExposureQuery(), limit=0)
    assert caught.value.source == "limit"
