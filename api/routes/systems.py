"""Systems of the caller's organization: create, list, show, change attributes."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status

from api.deps import Admin, DatabaseDep, Reader, Uploader
from api.errors import problem_responses
from api.schemas import SystemAttributes, SystemCreate, SystemOut
from pipeline import systems
from pipeline.uploads import project_uuid

router = APIRouter(prefix="/api/v1/systems", tags=["systems"], responses=problem_responses(401))


def system_out(org: str, row: systems.SystemRow) -> SystemOut:
    return SystemOut(project_uuid=project_uuid(org, row.name), **asdict(row))


@router.get("", summary="List systems")
def list_systems(principal: Reader, db: DatabaseDep) -> list[SystemOut]:
    """The organization's systems with their attributes and observed snapshot span, by name."""
    return [system_out(principal.org, row) for row in systems.list_systems(db, principal.org)]


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


@router.get("/{name}", summary="Show a system", responses=problem_responses(404))
def show(principal: Reader, db: DatabaseDep, name: str) -> SystemOut:
    return system_out(principal.org, systems.get_system(db, principal.org, name))


@router.patch("/{name}", summary="Change a system's attributes", responses=problem_responses(403, 404, 422))
def update(principal: Admin, db: DatabaseDep, name: str, body: SystemAttributes) -> SystemOut:
    """Set environment, internet exposure, criticality or cadence; fields left out keep their value."""
    row = systems.update_system(db, principal.org, name, body.model_dump(exclude_none=True))
    return system_out(principal.org, row)
