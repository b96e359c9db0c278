"""Systems of the caller's organization: create, list, show, change attributes, decommission,
recommission, delete."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import Field

from api.deps import Admin, DatabaseDep, Reader, Uploader
from api.errors import problem_responses
from api.paging import CursorQuery, LimitQuery, OrderQuery, paged_responses, set_page_headers
from api.params import Moment, OwnerQuery, TagQuery
from api.schemas import SystemAttributes, SystemCreate, SystemDeletedOut, SystemOut
from core.paging import DEFAULT_LIMIT
from core.time import assume_utc
from pipeline import systems
from pipeline.lists.systems import SystemListRow, SystemQuery, SystemSort, system_page
from pipeline.uploads import project_uuid

router = APIRouter(prefix="/api/v1/systems", tags=["systems"], responses=problem_responses(401))


def system_out(org: str, row: systems.SystemRow) -> SystemOut:
    return SystemOut(project_uuid=project_uuid(org, row.name), **{**asdict(row), "tags": list(row.tags)})


class SystemListOut(SystemOut):
    """A system as the list shows it: its attributes, and what its stored exposures say now."""

    stale: bool = Field(description="Active and silent for more than twice its cadence.")
    open_exposures: int = Field(description="Open exposures (not resolved, not excluded by triage).")
    open_kev: int = Field(description="Of them, of vulnerabilities known to be exploited (KEV or advisory).")


def system_list_out(org: str, row: SystemListRow) -> SystemListOut:
    return SystemListOut(
        **system_out(org, row.system).model_dump(),
        stale=row.stale,
        open_exposures=row.open_exposures,
        open_kev=row.open_kev,
    )


@router.get("", summary="List systems", responses={**problem_responses(400, 422), **paged_responses()})
def list_systems(
    principal: Reader,
    db: DatabaseDep,
    request: Request,
    response: Response,
    *,
    owner: OwnerQuery = None,
    tag: TagQuery = None,
    environment: Annotated[
        str | None, Query(min_length=1, max_length=50, description="Only systems of this environment.")
    ] = None,
    stale: Annotated[
        bool | None, Query(description="Only stale systems (true) or only systems that are not (false).")
    ] = None,
    decommissioned: Annotated[
        bool | None, Query(description="Only decommissioned systems (true) or only active ones (false).")
    ] = None,
    prefix: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only systems whose name starts so.")
    ] = None,
    search: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Only systems whose name contains this (ASCII case ignored).",
        ),
    ] = None,
    sort: Annotated[
        SystemSort,
        Query(description="Sort by name, last SBOM (observed time), open exposures or owner; ties by name."),
    ] = "name",
    order: OrderQuery = "asc",
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> list[SystemListOut]:
    """The organization's systems, a page at a time (``Link: <…>; rel="next"`` names the next page,
    ``X-Total-Count`` the number of systems the filters select): attributes, observed snapshot span,
    stale flag, open exposures and those of exploited vulnerabilities. ``owner`` and ``tag``
    (repeatable: every tag must be present) and the other filters keep the systems that match."""
    query = SystemQuery.of(
        environment=environment,
        owner=owner,
        tags=tag or (),
        stale=stale,
        decommissioned=decommissioned,
        name_prefix=prefix,
        search=search,
        sort=sort,
        order=order,
    )
    page = system_page(db, principal.org, query, limit=limit, cursor=cursor)
    set_page_headers(request, response, page)
    return [system_list_out(principal.org, row) for row in page.items]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a system",
    responses=problem_responses(403, 409, 422),
)
def create(principal: Uploader, db: DatabaseDep, body: SystemCreate) -> SystemOut:
    """Create a system; its name must be new in the organization (409 otherwise)."""
    row = systems.create_system(db, principal.org, body.name, body.model_dump(exclude={"name"}))
    return system_out(principal.org, row)


@router.delete(
    "/{name}",
    summary="Delete a system with its snapshots",
    responses=problem_responses(403, 404, 409),
)
def delete(
    principal: Admin,
    db: DatabaseDep,
    name: str,
    confirm: Annotated[
        bool, Query(description="Must be true; without it the answer (409) says what would go.")
    ] = False,
) -> SystemDeletedOut:
    """Delete the system with its snapshots, exposures and upload jobs (other systems are unchanged).
    Without ``confirm=true``: 409 naming how many snapshots and exposures would be deleted. A system
    that analysis records or CRA cases name is not deleted (409): decommission it instead."""
    counts = systems.delete_system(db, principal.org, name, confirm=confirm)
    return SystemDeletedOut(
        name=name, snapshots=counts.snapshots, exposures=counts.exposures, upload_jobs=counts.upload_jobs
    )


@router.get("/{name}", summary="Show a system", responses=problem_responses(404))
def show(principal: Reader, db: DatabaseDep, name: str) -> SystemOut:
    return system_out(principal.org, systems.get_system(db, principal.org, name))


@router.patch("/{name}", summary="Change a system's attributes", responses=problem_responses(403, 404, 422))
def update(principal: Admin, db: DatabaseDep, name: str, body: SystemAttributes) -> SystemOut:
    """Set environment, internet exposure, criticality, cadence, owner or tags; fields left out keep
    their value (``tags`` replaces the list, ``owner: ""`` clears the owner)."""
    row = systems.update_system(db, principal.org, name, body.model_dump(exclude_none=True))
    return system_out(principal.org, row)


@router.post(
    "/{name}/decommission",
    summary="Decommission a system",
    responses=problem_responses(400, 403, 404, 409, 422),
)
def decommission(
    principal: Admin,
    db: DatabaseDep,
    name: str,
    at: Annotated[
        Moment | None,
        Query(description="When it left service (default now; not before its last snapshot nor after now)."),
    ] = None,
) -> SystemOut:
    """Take the system out of service: its open exposures close at that moment as ``decommissioned``
    (censored for time-to-deploy), it is never stale, its history stays, and uploads to it are refused
    (409) until it is recommissioned. 409 when it is already decommissioned."""
    return system_out(principal.org, systems.decommission_system(db, principal.org, name, assume_utc(at)))


@router.post(
    "/{name}/recommission",
    summary="Put a decommissioned system back in service",
    responses=problem_responses(403, 404, 409),
)
def recommission(principal: Admin, db: DatabaseDep, name: str) -> SystemOut:
    """Accept uploads again; the exposures its decommissioning closed are open again. 409 when it is
    not decommissioned."""
    return system_out(principal.org, systems.recommission_system(db, principal.org, name))
