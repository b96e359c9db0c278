"""The systems list, keyset-paged: filters and sort in SQL, each row with its last snapshot, stale flag
and open exposure and KEV counts.

- Filters: environment, owner (any case, as ``pipeline.systems.SystemFilter``), tags (every one),
  stale, decommissioned, a name prefix and a name search (a substring, ignoring ASCII case).
- Sorts: ``name`` (default), ``last_sbom`` (the last snapshot's observed time; a system without one
  counts as the oldest), ``open_exposures``, ``owner`` (no owner first); ascending or descending, the
  name breaking ties (unique within the organization), so the order is total and pages never repeat
  or skip a system.
- ``open_exposures``: the system's open counted exposures (not resolved, not excluded by an analysis
  record), from the stored exposure rows; ``open_kev``: those whose vulnerability the reports flag as
  exploited (KEV or an advisory's flag, ``pipeline.exposures.facts``), computed for the page's systems
  only. Stored rows are what every report reads; they are brought up to date by each report, advisory
  refresh, triage decision and decommissioning (``pipeline.exposures.build``), not by an upload alone,
  so a snapshot uploaded since counts once one of those ran. :func:`system_page` takes
  ``ensure=True`` to check them first (a digest query over the organization: ~0.2 s at 10,000
  systems, which is why the list does not by default).
- ``stale``: active, with a snapshot, silent for more than twice the cadence before ``now`` — the
  deploy-time report's rule (``reports.deploy_time.stale_systems``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from core.errors import InputError
from core.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from core.systems import tags_problem
from core.time import require_utc, rfc3339, utcnow
from pipeline.embargo import hidden_groups
from pipeline.exposures.build import ensure_exposures
from pipeline.exposures.reports import group_details
from store.db import Database
from store.queries import inventory as q
from store.queries.organizations import organization_id
from store.queries.systems import SystemRow

__all__ = [
    "SYSTEM_SORTS",
    "SystemListRow",
    "SystemQuery",
    "SystemSort",
    "iter_systems",
    "system_page",
]

SystemSort = Literal["name", "last_sbom", "open_exposures", "owner"]
SYSTEM_SORTS: tuple[SystemSort, ...] = get_args(SystemSort)
_KIND = "systems"
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SystemQuery:
    """Which systems, in which order. Build it from user input with :meth:`of` (checks every field)."""

    environment: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    stale: bool | None = None
    decommissioned: bool | None = None
    name_prefix: str | None = None
    search: str | None = None
    sort: SystemSort = "name"
    descending: bool = False

    @classmethod
    def of(
        cls,
        *,
        environment: str | None = None,
        owner: str | None = None,
        tags: Iterable[str] = (),
        stale: bool | None = None,
        decommissioned: bool | None = None,
        name_prefix: str | None = None,
        search: str | None = None,
        sort: str = "name",
        order: str = "asc",
    ) -> SystemQuery:
        """A query from user input; a value no system could match is an ``InputError`` naming it."""
        wanted = tuple(sorted(set(tags)))
        if wanted and (problem := tags_problem(wanted)) is not None:
            raise InputError("tag", problem)
        if sort not in SYSTEM_SORTS:
            raise InputError("sort", f"must be one of {', '.join(SYSTEM_SORTS)}, not {sort[:40]!r}")
        if order not in ("asc", "desc"):
            raise InputError("order", f"must be asc or desc, not {order[:40]!r}")
        return cls(
            environment or None,
            owner or None,
            wanted,
            stale,
            decommissioned,
            name_prefix or None,
            search or None,
            sort,  # checked against SYSTEM_SORTS above
            order == "desc",
        )


@dataclass(frozen=True, slots=True)
class SystemListRow:
    """One system of the list: its attributes and snapshot span (``SystemRow``), whether it is stale,
    and its open counted exposures, of which ``open_kev`` are of exploited vulnerabilities."""

    system: SystemRow
    stale: bool
    open_exposures: int
    open_kev: int

    def to_json(self) -> dict[str, Any]:
        s = self.system
        return {
            "name": s.name,
            "environment": s.environment,
            "internet_exposed": s.internet_exposed,
            "criticality": s.criticality,
            "cadence_days": s.cadence_days,
            "release_label": s.release_label,
            "created_at": rfc3339(s.created_at),
            "snapshot_count": s.snapshot_count,
            "first_observed_at": rfc3339(s.first_observed_at),
            "last_observed_at": rfc3339(s.last_observed_at),
            "owner": s.owner,
            "tags": list(s.tags),
            "decommissioned_at": rfc3339(s.decommissioned_at),
            "stale": self.stale,
            "open_exposures": self.open_exposures,
            "open_kev": self.open_kev,
        }


def is_stale(system: SystemRow, now: datetime) -> bool:
    """Active, with a snapshot, and silent for more than twice its cadence before ``now``."""
    last = system.last_observed_at
    return (
        system.decommissioned_at is None
        and last is not None
        and system.cadence_days > 0
        and (now - last).total_seconds() > 2 * system.cadence_days * _DAY.total_seconds()
    )


def _cursor_sort(query: SystemQuery) -> str:
    return f"{query.sort}.{'desc' if query.descending else 'asc'}"


def _after(query: SystemQuery, cursor: str) -> tuple[Any, str]:
    key, name = decode_cursor(cursor, _KIND, _cursor_sort(query), 2)
    if not isinstance(name, str):
        raise InputError("cursor", "not a cursor of the systems list")
    if query.sort == "last_sbom":
        if not isinstance(key, str):
            raise InputError("cursor", "not a cursor of the systems list")
        try:
            moment = datetime.fromisoformat(key)
        except ValueError:
            raise InputError("cursor", "not a cursor of the systems list") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InputError("cursor", "not a cursor of the systems list")
        return moment.astimezone(UTC), name
    if query.sort == "open_exposures":
        if isinstance(key, bool) or not isinstance(key, int):
            raise InputError("cursor", "not a cursor of the systems list")
        return key, name
    if not isinstance(key, str):
        raise InputError("cursor", "not a cursor of the systems list")
    return key, name


def _cursor_value(key: Any) -> str | int:
    # Full precision (not rfc3339's seconds): the next page starts exactly after this key.
    return key.isoformat() if isinstance(key, datetime) else key


def system_page(
    db: Database,
    org: str,
    query: SystemQuery | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    now: datetime | None = None,
    ensure: bool = False,
) -> Page[SystemListRow]:
    """One page of the organization's systems (``query``: filters and sort), starting after ``cursor``
    (the previous page's ``next_cursor``); ``total`` is the number of systems the filters select.
    ``now``: the moment staleness is judged at (default: now). ``ensure``: bring the stored exposures
    of out-of-date systems up to date first (see the module docstring)."""
    query = query or SystemQuery()
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"must be 1 to {MAX_LIMIT}, not {limit}")
    moment = require_utc(now, "now") if now is not None else utcnow()
    after = _after(query, cursor) if cursor is not None else None
    if ensure:
        ensure_exposures(db, org)
    with db.read() as session:
        org_id = organization_id(session, org)
        owners = None
        if query.owner is not None:
            wanted = query.owner.casefold()
            owners = tuple(o for o in q.distinct_owners(session, org_id) if o.casefold() == wanted)
        cutoffs: tuple[tuple[int, datetime], ...] = ()
        if query.stale is not None:
            cutoffs = tuple((c, moment - 2 * c * _DAY) for c in sorted(q.distinct_cadences(session, org_id)))
        selection = q.SystemSelection(
            environment=query.environment,
            owners=owners,
            tags=query.tags,
            stale=query.stale,
            stale_cutoffs=cutoffs,
            decommissioned=query.decommissioned,
            name_prefix=query.name_prefix,
            search=query.search,
            hidden_groups=tuple(sorted(hidden_groups(session))),
        )
        found, total = q.system_page(
            session,
            org_id,
            selection,
            sort=query.sort,
            descending=query.descending,
            after=after,
            limit=limit + 1,
        )
        page = found[:limit]
        ids = [row.id for row, _, _ in page]
        groups = [(sid, g) for sid, g in q.open_groups(session, ids) if g not in selection.hidden_groups]
        facts, _ = group_details(session, {g for _, g in groups})
    kev = Counter(sid for sid, g in groups if facts[g].exploited)
    items = [SystemListRow(row, is_stale(row, moment), count, kev[row.id]) for row, count, _ in page]
    next_cursor = None
    if len(found) > limit:
        last_row, _, last_key = page[-1]
        next_cursor = encode_cursor(_KIND, _cursor_sort(query), [_cursor_value(last_key), last_row.name])
    return Page(items, next_cursor, total, query.sort, query.descending)


def iter_systems(
    db: Database,
    org: str,
    query: SystemQuery | None = None,
    *,
    now: datetime | None = None,
    page_size: int = 500,
) -> Iterator[SystemListRow]:
    """Every system the query selects, in its order, read page by page (constant memory)."""
    moment = require_utc(now, "now") if now is not None else utcnow()
    cursor: str | None = None
    while True:
        page = system_page(db, org, query, limit=page_size, cursor=cursor, now=moment)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
