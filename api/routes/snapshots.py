"""Snapshots of a system, one snapshot, and the components of a snapshot."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from api.schemas import ComponentsOut, PackageOut, SnapshotOut, UnassessedOut
from pipeline import systems

router = APIRouter(prefix="/api/v1", tags=["snapshots"], responses=problem_responses(401, 404))


def _out(system: str, row: systems.SnapshotRow) -> SnapshotOut:
    # The component set's id is global (content-addressed across organizations): a tenant seeing it
    # would learn whether another organization already uploaded the same component list.
    fields = asdict(row)
    del fields["component_set_id"]
    return SnapshotOut(system=system, **fields)


@router.get("/systems/{name}/snapshots", summary="List a system's snapshots")
def list_for_system(principal: Reader, db: DatabaseDep, name: str) -> list[SnapshotOut]:
    """The system's snapshots in observed order (not upload order)."""
    return [_out(name, s) for s in systems.list_snapshots(db, principal.org, name)]


@router.get("/snapshots/{snapshot_id}", summary="Show a snapshot")
def show(principal: Reader, db: DatabaseDep, snapshot_id: int) -> SnapshotOut:
    system, snapshot = systems.get_snapshot(db, principal.org, snapshot_id)
    return _out(system, snapshot)


@router.get("/snapshots/{snapshot_id}/components", summary="Components of a snapshot")
def components(principal: Reader, db: DatabaseDep, snapshot_id: int) -> ComponentsOut:
    """The snapshot's matchable package versions, and the components that cannot be assessed (with why)."""
    found = systems.snapshot_components(db, principal.org, snapshot_id)
    return ComponentsOut(
        snapshot_id=snapshot_id,
        packages=[
            PackageOut(ecosystem=p.ecosystem, name=p.name, version=p.version, purl=p.purl)
            for p in found.packages
        ],
        not_assessable=[
            UnassessedOut(name=u.name, version=u.version, purl=u.purl, reason=u.reason, detail=u.detail)
            for u in found.unassessed
        ],
    )
