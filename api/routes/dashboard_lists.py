"""The dashboard's paged lists: exposures (filtered, sorted), systems and the fleet-wide component search.

Each page shows one keyset page of its list (``pipeline.lists``) with first / previous / next links
(``api.dashboard.pager``); column headers sort, a GET form filters, and every link keeps the moment
and the filters (``api.dashboard.links``). A bad parameter (an unknown sort, a foreign cursor, a bad
date) is an error page naming it (``api.routes.dashboard``'s handlers), never a problem document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.dashboard.links import FILTERS, dashboard_url, sticky_of
from api.dashboard.pager import pager, parse_back
from api.deps import DatabaseDep
from api.routes.dashboard import AsOfQuery, ViewerDep, exposure_identity, render
from core.errors import InputError
from core.time import assume_utc
from pipeline.lists.components import ComponentQuery, component_page, component_summary
from pipeline.lists.exposures import LIST_STATUSES, SORTS, ExposureQuery, exposure_page
from pipeline.lists.systems import SystemQuery, system_page

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 200
Text = Annotated[str | None, Query(max_length=200)]
CursorQuery = Annotated[str | None, Query(max_length=4096)]
BackQuery = Annotated[str | None, Query(max_length=4096 * 21)]
OrderQuery = Annotated[Literal["asc", "desc"], Query()]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE)]

# The exposures table's columns: (sort name or None, heading).
EXPOSURE_COLUMNS = (
    ("system", "system"),
    ("package", "package"),
    (None, "vulnerability"),
    ("cvss", "severity"),
    ("epss", "EPSS"),
    ("sla_due", "SLA due"),
    ("first_seen", "open since"),
)


def yes_no(value: str | None, name: str) -> bool | None:
    """A form's yes/no choice: ``yes``/``no``, empty for either; anything else names ``name``."""
    if not value:
        return None
    if value in ("yes", "no"):
        return value == "yes"
    raise InputError(name, f"must be yes or no, not {value[:20]!r}")


def sort_links(
    path: str, params: dict[str, str], columns: Any, sort: str, order: str
) -> list[dict[str, Any]]:
    """Column headings: a sortable one links to its sort (the other direction when it is the current
    one) and says which way it sorts now."""
    out = []
    for key, label in columns:
        if key is None:
            out.append({"label": label, "href": None, "current": None})
            continue
        flip = "desc" if key == sort and order == "asc" else "asc"
        out.append(
            {
                "label": label,
                "href": dashboard_url(path, params, {"sort": key, "order": flip}),
                "current": order if key == sort else None,
            }
        )
    return out


def _exposure_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "system": row["system"],
        "environment": row["environment"],
        "owner": row.get("owner"),
        "package": row["package"],
        "version": row["version"],
        "vulnerability": row["vulnerability"],
        "severity": row["severity"],
        "cvss": row["cvss"],
        "epss": row["epss"],
        "kev": row["kev"],
        "tier": row["sla_tier"],
        "due": (row["sla_due"] or "–")[:10],
        "sla_status": row["sla_status"],
        "first_seen": row["first_seen"][:10],
        "resolved_at": (row["resolved_at"] or "")[:10],
        "fixed": bool(row.get("fixed_versions")),
        "identity": exposure_identity(row),
    }


@router.get("/exposures")
def exposures_page(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    as_of: AsOfQuery = None,
    status: Annotated[str, Query(max_length=20)] = "open",
    system: Text = None,
    environment: Text = None,
    owner: Text = None,
    tier: Text = None,
    kev: Annotated[str | None, Query(max_length=3)] = None,
    package: Annotated[str | None, Query(max_length=2000)] = None,
    sort: Annotated[str, Query(max_length=40)] = "sla_due",
    order: OrderQuery = "asc",
    cursor: CursorQuery = None,
    back: BackQuery = None,
    limit: LimitQuery = PAGE_SIZE,
) -> HTMLResponse:
    """The organization's exposures, a page of 50 (``limit``) at a time, filtered by the form and
    sorted by a column; each row links to its exposure's page."""
    if status not in LIST_STATUSES:
        raise InputError("status", f"must be one of {', '.join(LIST_STATUSES)}, not {status[:20]!r}")
    query = ExposureQuery(
        status=status,  # narrowed to ListStatus by the check above
        system=system or None,
        environment=environment or None,
        owner=owner or None,
        tier=tier or None,
        kev=yes_no(kev, "kev"),
        package=package or None,
        sort=sort,
        descending=order == "desc",
        as_of=assume_utc(as_of),
    )
    earlier = parse_back(back)
    page = exposure_page(db, viewer.principal.org, query, limit=limit, cursor=cursor or None)
    path = "/dashboard/exposures"
    params = {**sticky_of(request.query_params), "sort": sort, "order": order}
    if limit != PAGE_SIZE:
        params["limit"] = str(limit)
    context = {
        "viewer": viewer,
        "rows": [_exposure_row(r) for r in page.items],
        "total": page.total,
        "pager": pager(path, params, cursor=cursor, back=earlier, next_cursor=page.next_cursor),
        "columns": sort_links(path, sticky_of(request.query_params), EXPOSURE_COLUMNS, sort, order),
        "form": {
            "status": status,
            "system": system or "",
            "environment": environment or "",
            "owner": owner or "",
            "tier": tier or "",
            "kev": kev or "",
            "package": package or "",
            "sort": sort,
            "order": order,
        },
        "statuses": LIST_STATUSES,
        "sorts": list(SORTS),
        "filtered": any(request.query_params.get(k) for k in FILTERS if k != "status"),
        "as_of": request.query_params.get("as_of", ""),
    }
    return render(request, "exposures.html", context)


SYSTEM_COLUMNS = (
    ("name", "system"),
    (None, "environment"),
    ("owner", "owner"),
    ("last_sbom", "last SBOM"),
    ("open_exposures", "open exposures"),
    (None, "KEV"),
)


@router.get("/systems")
def systems_page(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    as_of: AsOfQuery = None,
    environment: Text = None,
    owner: Text = None,
    search: Text = None,
    stale: Annotated[str | None, Query(max_length=3)] = None,
    decommissioned: Annotated[str | None, Query(max_length=3)] = None,
    sort: Annotated[str, Query(max_length=40)] = "name",
    order: OrderQuery = "asc",
    cursor: CursorQuery = None,
    back: BackQuery = None,
    limit: LimitQuery = PAGE_SIZE,
) -> HTMLResponse:
    """The organization's systems, 50 at a time: stale flag (judged at ``as_of``), owner, last SBOM,
    open exposure and KEV counts; filtered by environment, owner, a name search, stale and
    decommissioned, sorted by a column."""
    query = SystemQuery.of(
        environment=environment or None,
        owner=owner or None,
        stale=yes_no(stale, "stale"),
        decommissioned=yes_no(decommissioned, "decommissioned"),
        search=search or None,
        sort=sort,
        order=order,
    )
    earlier = parse_back(back)
    page = system_page(
        db, viewer.principal.org, query, limit=limit, cursor=cursor or None, now=assume_utc(as_of)
    )
    path = "/dashboard/systems"
    own = {"search": search, "stale": stale, "decommissioned": decommissioned}
    kept = {**sticky_of(request.query_params), **{k: v for k, v in own.items() if v}}
    params = {**kept, "sort": sort, "order": order}
    if limit != PAGE_SIZE:
        params["limit"] = str(limit)
    context = {
        "viewer": viewer,
        "rows": page.items,
        "total": page.total,
        "pager": pager(path, params, cursor=cursor, back=earlier, next_cursor=page.next_cursor),
        "columns": sort_links(path, kept, SYSTEM_COLUMNS, sort, order),
        "form": {
            "environment": environment or "",
            "owner": owner or "",
            "search": search or "",
            "stale": stale or "",
            "decommissioned": decommissioned or "",
            "sort": sort,
            "order": order,
        },
        "filtered": any(v for v in (environment, owner, search, stale, decommissioned)),
        "as_of": request.query_params.get("as_of", ""),
    }
    return render(request, "systems.html", context)


# The component search's summary lists at most this many versions (a purl prefix may find thousands);
# the paged rows below it hold every one.
SUMMARY_ROWS = 50


@router.get("/components")
def components_page(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    q: Annotated[str | None, Query(max_length=500)] = None,
    version: Annotated[str | None, Query(max_length=500)] = None,
    ecosystem: Annotated[str | None, Query(max_length=100)] = None,
    decommissioned: Annotated[str | None, Query(max_length=3)] = None,
    sort: Annotated[str, Query(max_length=40)] = "package",
    order: OrderQuery = "asc",
    cursor: CursorQuery = None,
    back: BackQuery = None,
    limit: LimitQuery = PAGE_SIZE,
) -> HTMLResponse:
    """Where the fleet runs a package, and which versions: a package name or purl (prefix), an optional
    version range; the versions found with how many systems run each, then the systems, paged."""
    form = {
        "q": q or "",
        "version": version or "",
        "ecosystem": ecosystem or "",
        "decommissioned": decommissioned or "",
        "sort": sort,
        "order": order,
    }
    context: dict[str, Any] = {
        "viewer": viewer,
        "form": form,
        "searched": bool(q and q.strip()),
        "as_of": request.query_params.get("as_of", ""),
    }
    if context["searched"]:
        query = ComponentQuery.of(
            q or "",
            ecosystem=ecosystem or None,
            version=version or None,
            include_decommissioned=yes_no(decommissioned, "decommissioned") or False,
            sort=sort,
            order=order,
        )
        earlier = parse_back(back)
        org = viewer.principal.org
        page = component_page(db, org, query, limit=limit, cursor=cursor or None)
        summary = component_summary(db, org, query)
        path = "/dashboard/components"
        own = {k: v for k, v in form.items() if k in ("q", "version", "ecosystem", "decommissioned") and v}
        kept = {**sticky_of(request.query_params), **own}
        params = {**kept, "sort": sort, "order": order}
        if limit != PAGE_SIZE:
            params["limit"] = str(limit)
        context.update(
            {
                "summary": summary[:SUMMARY_ROWS],
                "summary_total": len(summary),
                "system_total": sum(v.systems for v in summary),
                "rows": page.items,
                "total": page.total,
                "pager": pager(path, params, cursor=cursor, back=earlier, next_cursor=page.next_cursor),
                "columns": sort_links(path, kept, COMPONENT_COLUMNS, sort, order),
                "kept": kept,
            }
        )
    return render(request, "components.html", context)


COMPONENT_COLUMNS = (
    ("package", "package"),
    (None, "version"),
    ("system", "system"),
    (None, "environment"),
    (None, "owner"),
    (None, "latest snapshot"),
    (None, "known vulnerabilities"),
)
