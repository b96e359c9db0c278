"""Systems and their snapshots: list, show one, create, change; each call reads only what it shows.

The CLI and the API read systems and snapshots only through these use-cases; a page about one system
or one snapshot reads that system or snapshot, never the organization's whole report.
"""

from __future__ import annotations

from typing import Any

from store.db import Database
from store.queries import systems as q
from store.queries.organizations import get_or_create_organization
from store.queries.systems import SnapshotComponents, SnapshotRow, SystemRow

__all__ = [
    "SnapshotComponents",
    "SnapshotRow",
    "SystemRow",
    "create_system",
    "get_snapshot",
    "get_system",
    "list_snapshots",
    "list_systems",
    "snapshot_components",
    "update_system",
]


def list_systems(db: Database, org: str) -> list[SystemRow]:
    """The systems of ``org`` with their attributes, snapshot counts and observed span, by name."""
    with db.read() as session:
        return q.list_systems(session, org)


def get_system(db: Database, org: str, name: str) -> SystemRow:
    """One system of ``org`` (another organization's, or none: ``NotFoundError``)."""
    with db.read() as session:
        return q.list_systems(session, org, name)[0]


def create_system(db: Database, org: str, name: str, attributes: dict[str, Any]) -> SystemRow:
    """Create a system (the organization on first use); a name already taken is a ``ConflictError``."""
    with db.write() as session:
        q.create_system(session, get_or_create_organization(session, org), name, attributes)
    return get_system(db, org, name)


def update_system(db: Database, org: str, name: str, attributes: dict[str, Any]) -> SystemRow:
    """Set the given attributes of a system; attributes left out keep their value."""
    with db.write() as session:
        q.update_system(session, org, name, attributes)
    return get_system(db, org, name)


def list_snapshots(db: Database, org: str, system: str) -> list[SnapshotRow]:
    """The snapshots of one system of ``org`` in observed order (ties by arrival)."""
    with db.read() as session:
        return q.list_snapshots(session, org, system)


def get_snapshot(db: Database, org: str, snapshot_id: int) -> tuple[str, SnapshotRow]:
    """One snapshot of ``org`` and the name of its system."""
    with db.read() as session:
        return q.snapshot_of(session, org, snapshot_id)


def snapshot_components(db: Database, org: str, snapshot_id: int) -> SnapshotComponents:
    """The package versions and the not-assessable components of one snapshot of ``org``."""
    with db.read() as session:
        return q.snapshot_components(session, org, snapshot_id)
