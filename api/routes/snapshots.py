"""Snapshots of a system, one snapshot, and the components of a snapshot."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import Reader, SessionDep
from api.errors import problem_responses
from api.schemas import ComponentsOut, PackageOut, SnapshotOut, UnassessedOut
from store.queries.systems import get_snapshot, list_snapshots, snapshot_components
from store.tables.systems import Snapshot, System

router = APIRouter(prefix="/api/v1", tags=["snapshots"], responses=problem_responses(401, 404))


@router.get("/systems/{name}/snapshots", summary="List a system's snapshots")
def list_for_system(principal: Reader, session: SessionDep, name: str) -> list[SnapshotOut]:
    """The system's snapshots in observed order (not upload order)."""
    return [SnapshotOut(system=name, **asdict(s)) for s in list_snapshots(session, principal.org, name)]


def _out(session: SessionDep, snapshot: Snapshot) -> SnapshotOut:
    system = session.get_one(System, snapshot.system_id)
    return SnapshotOut(
        id=snapshot.id or 0,
        system=system.name,
        observed_at=snapshot.observed_at,
        received_at=snapshot.received_at,
        format=snapshot.format,
        spec_version=snapshot.spec_version,
        component_count=snapshot.component_count,
        not_assessable_count=snapshot.not_assessable_count,
        component_set_id=snapshot.component_set_id,
        sha256=snapshot.sha256,
        release_label=snapshot.release_label,
    )


@router.get("/snapshots/{snapshot_id}", summary="Show a snapshot")
def show(principal: Reader, session: SessionDep, snapshot_id: int) -> SnapshotOut:
    return _out(session, get_snapshot(session, principal.org, snapshot_id))


@router.get("/snapshots/{snapshot_id}/components", summary="Components of a snapshot")
def components(principal: Reader, session: SessionDep, snapshot_id: int) -> ComponentsOut:
    """The snapshot's matchable package versions, and the components that cannot be assessed (with why)."""
    found = snapshot_components(session, principal.org, snapshot_id)
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
