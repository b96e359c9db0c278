"""Systems and their snapshots as the CLI and the API list and show them (reads of one organization)."""

from __future__ import annotations

from store.db import Database
from store.queries.systems import SnapshotRow, SystemRow
from store.queries.systems import list_snapshots as _list_snapshots
from store.queries.systems import list_systems as _list_systems

__all__ = ["SnapshotRow", "SystemRow", "list_snapshots", "list_systems"]


def list_systems(db: Database, org: str) -> list[SystemRow]:
    """The systems of ``org`` with their snapshot counts and observed span, by name."""
    with db.read() as session:
        return _list_systems(session, org)


def list_snapshots(db: Database, org: str, system: str) -> list[SnapshotRow]:
    """The snapshots of one system of ``org`` in observed order (ties by arrival)."""
    with db.read() as session:
        return _list_snapshots(session, org, system)
