"""The remediation plan (``patchgap plan --format json``), paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from api.paging import CursorQuery, paged_responses, set_page_headers
from api.params import Moment, OwnerQuery, TagQuery
from core.paging import Page
from core.time import assume_utc
from pipeline.lists.plan import PlanQuery, plan_document
from pipeline.systems import SystemFilter

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=problem_responses(401, 404))


class PlanSystemOut(BaseModel):
    system: str
    environment: str
    internet_exposed: bool


class PlanVulnerabilityOut(BaseModel):
    vulnerability: str
    severity: str
    cvss: float | None
    kev: bool
    epss: float | None
    systems: int
    earliest_due: str | None
    max_days_past_due: float
    last_resort_maintainer: bool = False


class InMajorOut(BaseModel):
    to_version: str
    leaves_open: list[str]


class ActionOut(BaseModel):
    rank: int
    id: str
    package: str
    ecosystem: str
    from_version: str
    to_version: str
    major_upgrade: bool | None
    in_major: InMajorOut | None
    score: float
    system_count: int
    vulnerability_count: int
    kev_count: int
    past_due: int
    max_days_past_due: float
    earliest_due: str | None
    systems: list[PlanSystemOut]
    vulnerabilities: list[PlanVulnerabilityOut]
    note: str | None = None


class UnfixableOut(BaseModel):
    package: str
    ecosystem: str
    version: str
    reason: str
    detail: str
    what_to_do: str
    in_major: InMajorOut | None
    score: float
    system_count: int
    systems: list[PlanSystemOut]
    vulnerabilities: list[PlanVulnerabilityOut]
    note: str | None = None


class PlanOut(BaseModel):
    organization: str
    as_of: str
    system: str | None
    environment: str | None
    total_actions: int
    total_unfixable: int
    actions: list[ActionOut]
    unfixable: list[UnfixableOut]
    next: str | None


@router.get("/plan", summary="Remediation plan: what to deploy first", responses=paged_responses())
async def plan(
    *,
    request: Request,
    response: Response,
    principal: Reader,
    db: DatabaseDep,
    as_of: Annotated[Moment | None, Query(description="Plan as of this moment (default now).")] = None,
    system: Annotated[
        str | None, Query(max_length=200, description="Only this system (404 when unknown).")
    ] = None,
    environment: Annotated[
        str | None, Query(max_length=50, description="Only systems of this environment.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Actions per page.")] = 50,
    cursor: CursorQuery = None,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="Actions to skip (ignored with a `cursor`).")
    ] = 0,
    owner: OwnerQuery = None,
    tag: TagQuery = None,
) -> PlanOut:
    """``patchgap plan --format json``: actions ranked by the risk they remove, a page at a time
    (``next`` is the URL of the following page, with its ``cursor``, null on the last; also sent as
    ``Link: <…>; rel="next"``, and the number of actions as ``X-Total-Count``); every unfixable version
    on each page."""
    only = SystemFilter.of(owner, tag or ())
    query = PlanQuery(system, environment, only.owner, only.tags, assume_utc(as_of))
    document, next_cursor = await run_in_threadpool(
        lambda: plan_document(db, principal.org, query, limit=limit, cursor=cursor, offset=offset)
    )
    following = None
    if next_cursor is not None:
        following = str(request.url.remove_query_params("offset").include_query_params(cursor=next_cursor))
    document["next"] = following
    set_page_headers(request, response, Page([], next_cursor, document["total_actions"]))
    return PlanOut.model_validate(document)
