"""The exposures list, paged: the rows of ``patchgap report exposures`` filtered and sorted, one keyset
page at a time (``core.paging``), and the whole filtered list as a stream.

Rows are exactly the exposures report's (``pipeline.exposures.reports.exposures_report``): same keys,
same values. A query selects them by status, system, environment, owner, tags, SLA tier, severity,
KEV and package, and sorts them by one column in either direction; ties are broken by the row's
identity (system, package, vulnerability, first seen), unique within a status, so the order is total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

from core.errors import InputError
from core.paging import DEFAULT_LIMIT, MAX_LIMIT, CursorValue, Page, decode_cursor, encode_cursor
from pipeline.exposures.reports import exposures_report
from pipeline.systems import SystemFilter
from store.db import Database

__all__ = [
    "LIST_STATUSES",
    "SORTS",
    "ExposureQuery",
    "ListStatus",
    "exposure_page",
    "iter_exposures",
    "row_sort_key",
]

ListStatus = Literal["open", "resolved", "excluded", "all", "risk_accepted"]
LIST_STATUSES: tuple[ListStatus, ...] = ("open", "resolved", "excluded", "all", "risk_accepted")
# Sort name → the row's value it orders by. Missing values sort after every present one ascending:
# no due date after the latest, no score below the lowest.
SORTS: dict[str, Callable[[dict[str, Any]], CursorValue]] = {
    "sla_due": lambda r: r["sla_due"] or "~",
    "first_seen": lambda r: r["first_seen"],
    "cvss": lambda r: -1.0 if r["cvss"] is None else float(r["cvss"]),
    "epss": lambda r: -1.0 if r["epss"] is None else float(r["epss"]),
    "system": lambda r: r["system"],
    "package": lambda r: r["package"],
}
_KIND = "exposures"


@dataclass(frozen=True, slots=True)
class ExposureQuery:
    """Which exposure rows, in which order, evaluated at which moment (``None``: now).

    ``status``: ``open`` | ``resolved`` | ``all`` (open and resolved) | ``excluded`` (intervals triage
    excludes) | ``risk_accepted`` (rows whose SLA status is ``risk_accepted``). ``package``: a purl
    prefix when it starts with ``pkg:`` (``pkg:npm/lodash`` or ``pkg:npm/``), else a package name
    (the purl's last path segment, e.g. ``lodash``). ``tags``: every one required.
    """

    status: ListStatus = "open"
    system: str | None = None
    environment: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    tier: str | None = None
    severity: str | None = None
    kev: bool | None = None
    package: str | None = None
    sort: str = "sla_due"
    descending: bool = False
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.status not in LIST_STATUSES:
            raise InputError("status", f"must be one of {', '.join(LIST_STATUSES)}, not {self.status!r}")
        if self.sort not in SORTS:
            raise InputError("sort", f"must be one of {', '.join(SORTS)}, not {self.sort!r}")

    @property
    def order(self) -> str:
        """The cursor's sort name: the column and direction (a cursor of one is refused by the other)."""
        return f"{self.sort}:{'desc' if self.descending else 'asc'}"

    def systems(self) -> SystemFilter:
        return SystemFilter.of(self.owner, self.tags)

    def matches(self, row: dict[str, Any]) -> bool:
        """Whether a report row passes the filters other than status, owner and tags."""
        wanted = (
            ("system", self.system),
            ("environment", self.environment),
            ("sla_tier", self.tier),
            ("severity", self.severity),
            ("kev", self.kev),
        )
        if any(value is not None and row[key] != value for key, value in wanted):
            return False
        return self.package is None or package_matches(row["package"], self.package)


def package_leaf(package: str) -> str:
    """The package's name as the purl's last path segment (``pkg:npm/%40scope/x`` → ``x``)."""
    return unquote(package.rsplit("/", 1)[-1])


def package_matches(package: str, wanted: str) -> bool:
    if wanted.startswith("pkg:"):
        return package.startswith(wanted)
    return package_leaf(package) == wanted


def row_sort_key(row: dict[str, Any], sort: str) -> tuple[CursorValue, ...]:
    """The row's place in a list sorted by ``sort``: the column's value, then the row's identity."""
    return (SORTS[sort](row), row["system"], row["package"], row["vulnerability"], row["first_seen"])


def _report_rows(db: Database, org: str, query: ExposureQuery) -> list[dict[str, Any]]:
    status = "all" if query.status == "risk_accepted" else query.status
    rows = exposures_report(db, org, status, query.as_of, only=query.systems())
    return [
        r
        for r in rows
        if query.matches(r) and (query.status != "risk_accepted" or r["sla_status"] == "risk_accepted")
    ]


SortKey = tuple[CursorValue, ...]


def _sorted(rows: list[dict[str, Any]], query: ExposureQuery) -> list[tuple[SortKey, dict[str, Any]]]:
    keyed = [(row_sort_key(r, query.sort), r) for r in rows]
    keyed.sort(key=lambda kr: kr[0], reverse=query.descending)
    return keyed


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def exposure_page(
    db: Database, org: str, query: ExposureQuery, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[dict[str, Any]]:
    """The ``limit`` rows of the query that follow ``cursor`` (from the start without one), the cursor
    of the next page (``None`` on the last) and the count of the whole filtered list."""
    _check_limit(limit)
    after = decode_cursor(cursor, _KIND, query.order, 5) if cursor else None
    keyed = _sorted(_report_rows(db, org, query), query)
    total = len(keyed)
    if after is not None:
        keyed = [
            (k, r)
            for k, r in keyed
            if (k < after if query.descending else k > after)
        ]
    items = keyed[:limit]
    next_cursor = encode_cursor(_KIND, query.order, items[-1][0]) if len(keyed) > limit else None
    return Page([r for _, r in items], next_cursor, total, query.sort, query.descending)


def iter_exposures(db: Database, org: str, query: ExposureQuery) -> Iterator[dict[str, Any]]:
    """Every row of the query in order, read a page at a time (constant memory in the list's length)."""
    for _, row in _sorted(_report_rows(db, org, query), query):
        yield row
