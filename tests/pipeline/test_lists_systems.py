"""The paged systems list equals a straightforward computation over the whole organization.

On the report benchmark's generated fleet (60 systems, both databases), with owners, tags,
environments and decommissionings set on some systems and a second organization beside it: for every
filter and every sort in both directions, walking the pages with the cursor gives exactly the systems
of ``pipeline.systems.list_systems`` filtered and sorted the same way, each with the open exposure and
KEV counts of the exposures report and the stale flag of the deploy-time report.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.report import ORG, START, WEEKS, build_fleet
from core.errors import InputError
from core.paging import encode_cursor
from pipeline.exposures.build import ensure_exposures
from pipeline.exposures.reports import exposures_report, report_inputs
from pipeline.ingest import ingest_sbom
from pipeline.lists.systems import SYSTEM_SORTS, SystemListRow, SystemQuery, iter_systems, system_page
from pipeline.match import match_new
from pipeline.systems import SystemRow, decommission_system, list_systems, update_system
from reports.deploy_time import stale_systems
from store.db import Database
from tests.conftest import cyclonedx_json

NOW = START + timedelta(days=7 * WEEKS + 3)
OTHER = "other-org"


def _prepare(db: Database) -> None:
    build_fleet(db, 60)
    for i in range(60):
        attributes: dict[str, Any] = {}
        if i % 3 == 0:
            attributes["owner"] = ["Team-A@example.com", "team-a@EXAMPLE.com", "team-b", "Zed"][i % 4]
        if i % 5 == 0:
            attributes["tags"] = ["pci", "team:shop"] if i % 10 == 0 else ["pci"]
        if i % 7 == 0:
            attributes["tags"] = [*attributes.get("tags", []), "edge"]
        if attributes:
            update_system(db, ORG, f"system-{i:04d}", attributes)
    ensure_exposures(db, ORG)
    decommission_system(db, ORG, "system-0011", START + timedelta(days=7 * WEEKS), now=NOW)
    # Another organization: a system named like one of ORG's, with components of its own.
    sbom = cyclonedx_json([("vuln-1", "1.0.0", "pkg:npm/vuln-1@1.0.0")], timestamp="2024-06-01T00:00:00Z")
    ingest_sbom(db, org=OTHER, system="system-0001", data=sbom, source="other.json", max_bytes=1 << 20)


def _reference(db: Database) -> list[SystemListRow]:
    """Every system with its figures, computed one by one from the full reports."""
    rows = exposures_report(db, ORG, "open")
    opened = Counter(r["system"] for r in rows)
    kev = Counter(r["system"] for r in rows if r["kev"])
    stale = stale_systems(report_inputs(db, ORG, advice=False).systems, NOW)
    return [SystemListRow(s, s.name in stale, opened[s.name], kev[s.name]) for s in list_systems(db, ORG)]


def _selected(query: SystemQuery, row: SystemListRow) -> bool:
    s: SystemRow = row.system
    checks = [
        query.environment is None or s.environment == query.environment,
        query.owner is None or (s.owner or "").casefold() == query.owner.casefold(),
        set(query.tags) <= set(s.tags),
        query.stale is None or row.stale == query.stale,
        query.decommissioned is None or (s.decommissioned_at is not None) == query.decommissioned,
        query.name_prefix is None or s.name.startswith(query.name_prefix),
        query.search is None or query.search.lower() in s.name.lower(),
    ]
    return all(checks)


def _sort_key(sort: str, row: SystemListRow) -> tuple[Any, str]:
    s = row.system
    keys: dict[str, Any] = {
        "name": s.name,
        "last_sbom": s.last_observed_at or datetime(1970, 1, 1, tzinfo=UTC),
        "open_exposures": row.open_exposures,
        "owner": s.owner or "",
    }
    return keys[sort], s.name


def _walk(db: Database, query: SystemQuery, limit: int) -> list[SystemListRow]:
    out: list[SystemListRow] = []
    cursor = None
    total = None
    while True:
        page = system_page(db, ORG, query, limit=limit, cursor=cursor, now=NOW)
        assert len(page.items) <= limit
        assert total is None or page.total == total
        total = page.total
        out.extend(page.items)
        if page.next_cursor is None:
            assert page.total == len(out)
            return out
        assert len(page.items) == limit
        cursor = page.next_cursor


QUERIES = [
    SystemQuery(),
    SystemQuery(environment="staging"),
    SystemQuery(owner="TEAM-A@example.COM"),
    SystemQuery(owner="nobody"),
    SystemQuery(tags=("pci",)),
    SystemQuery(tags=("edge", "pci")),
    SystemQuery(stale=True),
    SystemQuery(stale=False, environment="prod"),
    SystemQuery(decommissioned=True),
    SystemQuery(decommissioned=False, tags=("pci",)),
    SystemQuery(name_prefix="system-001"),
    SystemQuery(search="M-002"),
    SystemQuery(search="%"),
]


def test_every_filter_and_sort_pages_to_the_reference(db: Database) -> None:
    _prepare(db)
    reference = _reference(db)
    # The fleet has what the filters need: stale systems, a decommissioned one, open exposures, KEV.
    assert any(r.stale for r in reference)
    assert any(r.open_kev for r in reference)
    assert len({r.open_exposures for r in reference}) > 5
    for base in QUERIES:
        for sort in SYSTEM_SORTS:
            for descending in (False, True):
                query = SystemQuery(**{**_fields(base), "sort": sort, "descending": descending})
                expected = sorted(
                    (r for r in reference if _selected(query, r)),
                    key=lambda r: _sort_key(sort, r),
                    reverse=descending,
                )
                got = _walk(db, query, limit=7)
                assert got == expected, (query, [r.system.name for r in got][:5])
    # Filters that select something (the test is not vacuous).
    assert len(_walk(db, SystemQuery(owner="team-a@example.com"), 100)) == 10
    assert [r.system.name for r in _walk(db, SystemQuery(decommissioned=True), 100)] == ["system-0011"]


def _fields(query: SystemQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in SystemQuery.__dataclass_fields__}


def test_paging_isolation_freshness_and_bad_input(db: Database) -> None:
    _prepare(db)
    # Every system once, whatever the page size.
    names = [r.system.name for r in iter_systems(db, ORG, SystemQuery(sort="open_exposures"), page_size=9)]
    assert sorted(names) == [f"system-{i:04d}" for i in range(60)]

    # Another organization sees only its own system, even with a cursor of ORG's list.
    page = system_page(db, OTHER, now=NOW)
    assert [r.system.name for r in page.items] == ["system-0001"]
    assert page.total == 1
    assert page.items[0].system.snapshot_count == 1
    first = system_page(db, ORG, limit=1, now=NOW)
    assert first.next_cursor is not None
    assert system_page(db, OTHER, cursor=first.next_cursor, now=NOW).items[0].system.name == "system-0001"

    # A new snapshot: the stored rows are brought up to date with ensure=True (as a report would).
    before = {r.system.name: r.open_exposures for r in iter_systems(db, ORG, now=NOW)}
    sbom = cyclonedx_json(
        [(f"vuln-{i}", "1.0.0", f"pkg:npm/vuln-{i}@1.0.0") for i in range(40)],
        timestamp="2025-01-02T00:00:00Z",
    )
    ingest_sbom(db, org=ORG, system="system-0002", data=sbom, source="new.json", max_bytes=1 << 20)
    match_new(db)
    fresh = system_page(db, ORG, SystemQuery(name_prefix="system-0002"), now=NOW, ensure=True).items[0]
    assert fresh.open_exposures != before["system-0002"]
    assert fresh.open_exposures == sum(
        r["system"] == "system-0002" for r in exposures_report(db, ORG, "open")
    )

    with pytest.raises(InputError, match="sort"):
        SystemQuery.of(sort="size")
    with pytest.raises(InputError, match="order"):
        SystemQuery.of(order="up")
    with pytest.raises(InputError, match="tag"):
        SystemQuery.of(tags=["Not A Tag"])
    with pytest.raises(InputError, match="limit"):
        system_page(db, ORG, limit=0)
    with pytest.raises(InputError, match="cursor"):
        system_page(db, ORG, cursor="garbage")
    by_name = system_page(db, ORG, limit=1, now=NOW).next_cursor
    assert by_name is not None
    with pytest.raises(InputError, match="cursor"):
        system_page(db, ORG, SystemQuery(sort="owner"), cursor=by_name)
    with pytest.raises(InputError, match="cursor"):
        system_page(db, ORG, cursor=encode_cursor("systems", "name.asc", [3, "x"]))
    with pytest.raises(InputError, match="cursor"):
        system_page(
            db,
            ORG,
            SystemQuery(sort="last_sbom"),
            cursor=encode_cursor("systems", "last_sbom.asc", ["x", "y"]),
        )
