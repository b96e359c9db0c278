"""Exposures and the time-to-deploy report: the very documents ``patchgap report … --format json`` prints.

Both come from ``pipeline.exposures``; this module only filters the exposure rows by the query's
fields (status is the pipeline's own parameter). Without filters the JSON equals the CLI's for the
same ``as_of`` (tested).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from api.params import Moment, OwnerQuery, TagQuery
from core.time import assume_utc
from pipeline.exposures.reports import SystemFilter, deploy_time_json, exposures_report

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


@router.get(
    "/exposures",
    summary="Exposures",
    responses={200: {"content": {"application/json": {"example": [_EXPOSURE_EXAMPLE]}}}},
)
async def exposures(
    *,
    principal: Reader,
    db: DatabaseDep,
    as_of: AsOf = None,
    status: Annotated[
        Literal["open", "resolved", "all", "excluded"], Query(description="excluded: VEX not_affected.")
    ] = "open",
    severity: Annotated[str | None, Query(description="critical | high | medium | low | none.")] = None,
    tier: Annotated[str | None, Query(description="SLA tier name, e.g. critical.")] = None,
    system: Annotated[str | None, Query(description="System name.")] = None,
    kev: Annotated[bool | None, Query(description="Only exploited (KEV) exposures, or only others.")] = None,
    owner: OwnerQuery = None,
    tag: TagQuery = None,
) -> list[dict[str, Any]]:
    """``patchgap report exposures --format json``: one object per exposure interval, filtered
    (``owner`` and ``tag``, repeatable with every tag required, select the systems)."""
    only = SystemFilter.of(owner, tag or ())
    rows = await run_in_threadpool(
        lambda: exposures_report(db, principal.org, status, assume_utc(as_of), only=only)
    )
    wanted = {"severity": severity, "sla_tier": tier, "system": system, "kev": kev}
    return [r for r in rows if all(v is None or r.get(k) == v for k, v in wanted.items())]


@router.get("/reports/deploy-time", summary="Time-to-deploy report")
async def deploy_time(
    principal: Reader, db: DatabaseDep, as_of: AsOf = None, owner: OwnerQuery = None, tag: TagQuery = None
) -> dict[str, Any]:
    """``patchgap report deploy-time --format json``: Kaplan–Meier half-life, within-days, SLA, trend;
    over the systems of ``owner`` carrying every ``tag`` when given (the document then says so in
    ``filter``)."""
    only = SystemFilter.of(owner, tag or ())
    return await run_in_threadpool(lambda: deploy_time_json(db, principal.org, assume_utc(as_of), only=only))
