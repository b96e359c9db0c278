"""Systems of the caller's organization: create, list, show, change attributes."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status

from api.deps import Admin, DatabaseDep, Reader, SessionDep, Uploader
from api.errors import problem_responses
from api.schemas import SystemAttributes, SystemCreate, SystemOut
from pipeline.uploads import project_uuid
from store.queries.organizations import get_or_create_organization
from store.queries.systems import SystemRow, create_system, update_system
from store.queries.systems import list_systems as system_rows

router = APIRouter(prefix="/api/v1/systems", tags=["systems"], responses=problem_responses(401))


def system_out(org: str, row: SystemRow) -> SystemOut:
    return SystemOut(project_uuid=project_uuid(org, row.name), **asdict(row))


def _one(session: SessionDep, org: str, name: str) -> SystemOut:
    return system_out(org, system_rows(session, org, name)[0])


@router.get("", summary="List systems")
def list_systems(principal: Reader, session: SessionDep) -> list[SystemOut]:
    """The organization's systems with their attributes and observed snapshot span, by name."""
    return [system_out(principal.org, row) for row in system_rows(session, principal.org)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a system",
    responses=problem_responses(403, 409, 422),
)
def create(principal: Uploader, db: DatabaseDep, body: SystemCreate) -> SystemOut:
    """Create a system; its name must be new in the organization (409 otherwise)."""
    with db.write() as session:
        org = get_or_create_organization(session, principal.org)
        create_system(session, org, body.name, body.model_dump(exclude={"name"}))
    with db.read() as session:
        return _one(session, principal.org, body.name)


@router.get("/{name}", summary="Show a system", responses=problem_responses(404))
def show(principal: Reader, session: SessionDep, name: str) -> SystemOut:
    return _one(session, principal.org, name)


@router.patch("/{name}", summary="Change a system's attributes", responses=problem_responses(403, 404, 422))
def update(principal: Admin, db: DatabaseDep, name: str, body: SystemAttributes) -> SystemOut:
    """Set environment, internet exposure, criticality or cadence; fields left out keep their value."""
    with db.write() as session:
        update_system(session, principal.org, name, body.model_dump(exclude_none=True))
    with db.read() as session:
        return _one(session, principal.org, name)
