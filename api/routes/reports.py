"""Exposures and the time-to-deploy report: the very documents ``patchgap report … --format json`` prints.

The exposures come from ``pipeline.lists.exposures`` (filtered, sorted and keyset-paged by the
pipeline; ``/exposures/export`` streams the whole list), the time-to-deploy report from
``pipeline.exposures``. The rows are the CLI's for the same ``as_of`` (tested).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from api.params import Moment, OwnerQuery, TagQuery
from core.paging import DEFAULT_LIMIT, MAX_LIMIT
from core.time import assume_utc
from pipeline.exposures.reports import SystemFilter, deploy_time_json
from pipeline.lists.exposures import ExposureQuery, exposure_page, iter_exposures

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=problem_responses(401, 422))

AsOf = Annotated[
    Moment | None,
    Query(description="Evaluate at this moment (ISO 8601; UTC when no offset). Default: now."),
]

_EXPOSURE_EXAMPLE: dict[str, Any] = {
    "system": "shop-web",
    "environment": "prod",
    "package": "pkg:npm/json5",
    "ecosystem": "npm",
    "version": "2.2.1",
    "versions": ["2.2.1"],
    "vulnerability": "CVE-2022-46175",
    "severity": "high",
    "cvss": 7.1,
    "kev": False,
    "epss": 0.09304,
    "first_seen": "2024-03-04T06:00:00Z",
    "last_affected_seen": "2024-04-22T06:00:00Z",
    "resolved_at": None,
    "resolution": None,
    "fix_available_at": "2022-12-29T01:51:03Z",
    "fix_available_source": "published",
    "fix_available_approximated": True,
    "clock_start": "2024-03-04T06:00:00Z",
    "sla_tier": "high",
    "sla_due": "2024-04-03T06:00:00Z",
    "sla_status": "breached",
    "stale_system": False,
    "aliases": ["GHSA-9c47-m6qq-7p4h"],
    "advisories": ["GHSA-9c47-m6qq-7p4h"],
    "fixed_versions": ["2.2.2"],
    "owner": "team-shop@example.com",
    "tags": ["pci"],
}


_PAGE_HEADERS = {
    "Link": {
        "description": 'The next page: `<URL>; rel="next"` (the same query with `cursor`); absent on the '
        "last page.",
        "schema": {"type": "string"},
    },
    "X-Total-Count": {
        "description": "How many rows the filtered list holds (all pages).",
        "schema": {"type": "integer", "minimum": 0},
    },
}

Status = Annotated[
    Literal["open", "resolved", "all", "excluded", "risk_accepted"],
    Query(
        description="open | resolved | all (open and resolved) | excluded (by triage: not_affected, "
        "false_positive) | risk_accepted (SLA status risk_accepted at as_of)."
    ),
]
Sort = Annotated[
    Literal["sla_due", "first_seen", "cvss", "epss", "system", "package"],
    Query(description="Sort column; ties are ordered by system, package, vulnerability, first_seen."),
]
Order = Annotated[Literal["asc", "desc"], Query(description="Sort direction.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT}).")]
Cursor = Annotated[
    str | None,
    Query(max_length=4096, description='Where the page starts: the `cursor` of the `Link: rel="next"` URL.'),
]


def _query(
    *,
    status: str,
    severity: str | None,
    tier: str | None,
    system: str | None,
    environment: str | None,
    kev: bool | None,
    package: str | None,
    owner: str | None,
    tag: list[str] | None,
    sort: str,
    order: str,
    as_of: datetime | None,
) -> ExposureQuery:
    return ExposureQuery(
        status=status,  # type: ignore[arg-type]  # the Literal above
        system=system,
        environment=environment,
        owner=owner,
        tags=SystemFilter.of(owner, tag or ()).tags,
        tier=tier,
        severity=severity,
        kev=kev,
        package=package,
        sort=sort,
        descending=order == "desc",
        as_of=assume_utc(as_of),
    )


SeverityQuery = Annotated[
    str | None, Query(max_length=20, description="critical | high | medium | low | none.")
]
TierQuery = Annotated[str | None, Query(max_length=100, description="SLA tier name, e.g. critical.")]
SystemQuery = Annotated[str | None, Query(max_length=200, description="System name.")]
EnvironmentQuery = Annotated[str | None, Query(max_length=50, description="System environment.")]
KevQuery = Annotated[bool | None, Query(description="Only exploited (KEV) exposures, or only others.")]
PackageQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=500,
        description="A purl prefix (`pkg:npm/lodash`, `pkg:npm/`) or a package name (`lodash`).",
    ),
]


@router.get(
    "/exposures",
    summary="Exposures (paged)",
    responses={
        200: {
            "content": {"application/json": {"example": [_EXPOSURE_EXAMPLE]}},
            "headers": _PAGE_HEADERS,
        }
    },
)
async def exposures(
    *,
    request: Request,
    response: Response,
    principal: Reader,
    db: DatabaseDep,
    as_of: AsOf = None,
    status: Status = "open",
    severity: SeverityQuery = None,
    tier: TierQuery = None,
    system: SystemQuery = None,
    environment: EnvironmentQuery = None,
    kev: KevQuery = None,
    package: PackageQuery = None,
    owner: OwnerQuery = None,
    tag: TagQuery = None,
    sort: Sort = "sla_due",
    order: Order = "asc",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> list[dict[str, Any]]:
    """The rows of ``patchgap report exposures --format json``, filtered, sorted and paged (keyset:
    follow the ``Link: rel="next"`` header; ``X-Total-Count`` counts the filtered list). ``owner`` and
    ``tag`` (repeatable, every tag required) select the systems."""
    query = _query(
        status=status,
        severity=severity,
        tier=tier,
        system=system,
        environment=environment,
        kev=kev,
        package=package,
        owner=owner,
        tag=tag,
        sort=sort,
        order=order,
        as_of=as_of,
    )
    page = await run_in_threadpool(
        lambda: exposure_page(db, principal.org, query, limit=limit, cursor=cursor)
    )
    if page.next_cursor is not None:
        response.headers["Link"] = (
            f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
        )
    if page.total is not None:
        response.headers["X-Total-Count"] = str(page.total)
    return page.items


def _json_array(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """The rows as one JSON array, written as they come (the first row is read before the first byte:
    an error before it is still an error response)."""
    first = next(rows, None)
    if first is None:
        yield b"[]\n"
        return
    yield b"[" + json.dumps(first, separators=(",", ":")).encode()
    for row in rows:
        yield b"," + json.dumps(row, separators=(",", ":")).encode()
    yield b"]\n"


@router.get(
    "/exposures/export",
    summary="Exposures (every row, streamed)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}},
                    "example": [_EXPOSURE_EXAMPLE],
                }
            }
        }
    },
)
async def exposures_export(
    *,
    principal: Reader,
    db: DatabaseDep,
    as_of: AsOf = None,
    status: Status = "open",
    severity: SeverityQuery = None,
    tier: TierQuery = None,
    system: SystemQuery = None,
    environment: EnvironmentQuery = None,
    kev: KevQuery = None,
    package: PackageQuery = None,
    owner: OwnerQuery = None,
    tag: TagQuery = None,
    sort: Sort = "sla_due",
    order: Order = "asc",
) -> StreamingResponse:
    """Every row of the filtered, sorted list (the same parameters as ``GET /api/v1/exposures``
    without paging) as one JSON array, streamed as it is read: memory stays constant however many
    rows there are."""
    query = _query(
        status=status,
        severity=severity,
        tier=tier,
        system=system,
        environment=environment,
        kev=kev,
        package=package,
        owner=owner,
        tag=tag,
        sort=sort,
        order=order,
        as_of=as_of,
    )
    rows = iter_exposures(db, principal.org, query)
    # Read up to the first row before answering, so that bad input is a problem document, not a 200.
    chunks = _json_array(rows)
    first = await run_in_threadpool(next, chunks)

    def body() -> Iterator[bytes]:
        yield first
        yield from chunks

    return StreamingResponse(body(), media_type="application/json")


@router.get("/reports/deploy-time", summary="Time-to-deploy report")
async def deploy_time(
    principal: Reader, db: DatabaseDep, as_of: AsOf = None, owner: OwnerQuery = None, tag: TagQuery = None
) -> dict[str, Any]:
    """``patchgap report deploy-time --format json``: Kaplan–Meier half-life, within-days, SLA, trend;
    over the systems of ``owner`` carrying every ``tag`` when given (the document then says so in
    ``filter``)."""
    only = SystemFilter.of(owner, tag or ())
    return await run_in_threadpool(lambda: deploy_time_json(db, principal.org, assume_utc(as_of), only=only))
