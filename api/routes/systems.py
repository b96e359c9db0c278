"""Systems of the caller's organization: create, list, show, change attributes, decommission,
recommission, delete."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import Admin, DatabaseDep, Reader, Uploader
from api.errors import problem_responses
from api.params import Moment, OwnerQuery, TagQuery
from api.schemas import SystemAttributes, SystemCreate, SystemDeletedOut, SystemOut
from core.time import assume_utc
from pipeline import systems
from pipeline.uploads import project_uuid

router = APIRouter(prefix="/api/v1/systems", tags=["systems"], responses=problem_responses(401))


def system_out(org: str, row: systems.SystemRow) -> SystemOut:
    return SystemOut(project_uuid=project_uuid(org, row.name), **{**asdict(row), "tags": list(row.tags)})


@router.get("", summary="List systems", responses=problem_responses(400, 422))
def list_systems(
    principal: Reader, db: DatabaseDep, owner: OwnerQuery = None, tag: TagQuery = None
) -> list[SystemOut]:
    """The organization's systems with their attributes and observed snapshot span, by name; ``owner``
    and ``tag`` (repeatable: every tag must be present) keep the systems that match."""
    only = systems.SystemFilter.of(owner, tag or ())
    return [system_out(principal.org, row) for row in systems.list_systems(db, principal.org, only)]


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
