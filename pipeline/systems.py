"""Systems and their snapshots: list, show one, create, change, decommission, delete; each call reads
only what it shows.

The CLI and the API read systems and snapshots only through these use-cases; a page about one system
or one snapshot reads that system or snapshot, never the organization's whole report.

Lifecycle (README "Systems: owner, tags, decommissioning"):

- :func:`decommission_system` marks a system out of service at a moment (default now, never in the
  future, never before its last snapshot) and rebuilds its exposures in the same transaction: open ones
  close there as ``decommissioned`` (``reports.timeline``). Uploads to it are refused until
  :func:`recommission_system` makes it active again (its exposures are rebuilt as if it never left).
- :func:`delete_system` deletes a system with its snapshots and everything derived from them, only
  when confirmed; without confirmation it refuses and says what would go. Records kept as evidence
  (system-scoped analysis records, append-only by trigger; CRA Article 14 cases) refuse the deletion:
  decommissioning keeps the system and its history instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import ConflictError, InputError
from core.systems import tags_problem
from core.time import require_utc, rfc3339, utcnow
from pipeline.exposures.build import rebuild_in
from store.db import Database
from store.queries import systems as q
from store.queries.organizations import get_or_create_organization
from store.queries.systems import SnapshotComponents, SnapshotRow, SystemCounts, SystemRow

__all__ = [
    "SnapshotComponents",
    "SnapshotRow",
    "SystemCounts",
    "SystemFilter",
    "SystemRow",
    "create_system",
    "decommission_system",
    "delete_system",
    "get_snapshot",
    "get_system",
    "list_snapshots",
    "list_systems",
    "recommission_system",
    "snapshot_components",
    "update_system",
]


@dataclass(frozen=True, slots=True)
class SystemFilter:
    """Which systems a report or a listing covers: those of this ``owner`` (compared without regard to
    case, as e-mail addresses are) and carrying *every* one of ``tags``. Empty: every system."""

    owner: str | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, owner: str | None = None, tags: Iterable[str] = ()) -> SystemFilter:
        """A filter from user input; tags that no system could carry are refused, naming the field."""
        wanted = tuple(sorted(set(tags)))
        if wanted and (problem := tags_problem(wanted)) is not None:
            raise InputError("tag", problem)
        return cls(owner or None, wanted)

    def __bool__(self) -> bool:
        return self.owner is not None or bool(self.tags)

    def matches(self, row: SystemRow) -> bool:
        if self.owner is not None and (row.owner or "").casefold() != self.owner.casefold():
            return False
        return set(self.tags) <= set(row.tags)

    def select(self, rows: Sequence[SystemRow]) -> list[SystemRow]:
        return [r for r in rows if self.matches(r)] if self else list(rows)


def list_systems(db: Database, org: str, only: SystemFilter | None = None) -> list[SystemRow]:
    """The systems of ``org`` with their attributes, snapshot counts and observed span, by name
    (those ``only`` selects)."""
    with db.read() as session:
        rows = q.list_systems(session, org)
    return (only or SystemFilter()).select(rows)


def get_system(db: Database, org: str, name: str) -> SystemRow:
    """One system of ``org`` (another organization's, or none: ``NotFoundError``)."""
    with db.read() as session:
        return q.list_systems(session, org, name)[0]


def create_system(db: Database, org: str, name: str, attributes: dict[str, Any]) -> SystemRow:
    """Create a system (the organization on first use); a name already taken is a ``ConflictError``."""
    with db.write() as session:
        q.create_system(session, get_or_create_organization(session, org), name, attributes)
    return get_system(db, org, name)


def update_system(
    db: Database,
    org: str,
    name: str,
    attributes: dict[str, Any],
    *,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
) -> SystemRow:
    """Set the given attributes of a system; attributes left out (or ``None``) keep their value.

    ``tags`` in ``attributes`` replaces the tags; ``add_tags`` / ``remove_tags`` change the current
    ones (after any replacement). An empty ``owner`` clears it. Invalid values: ``InputError`` naming
    the field, nothing changed.
    """
    added, removed = list(add_tags), set(remove_tags)
    with db.write() as session:
        values = dict(attributes)
        if added or removed:
            current = values.get("tags")
            if current is None:
                current = q.list_systems(session, org, name)[0].tags
            values["tags"] = [t for t in [*current, *added] if t not in removed]
        q.update_system(session, org, name, values)
    return get_system(db, org, name)


def decommission_system(
    db: Database, org: str, name: str, at: datetime | None = None, *, now: datetime | None = None
) -> SystemRow:
    """Take a system out of service at ``at`` (default ``now``) and rebuild its exposures in the same
    transaction. Already decommissioned: ``ConflictError`` (recommission first to move the moment)."""
    moment_now = require_utc(now, "now") if now is not None else utcnow()
    moment = require_utc(at, "decommissioned at") if at is not None else moment_now
    if moment > moment_now:
        raise InputError(f"system {name!r}: decommissioned at", f"{rfc3339(moment)} is in the future")
    with db.write() as session:
        current = q.list_systems(session, org, name)[0]
        if current.decommissioned_at is not None:
            raise ConflictError(
                f"system {name!r} of organization {org!r} is already decommissioned "
                f"(since {rfc3339(current.decommissioned_at)})"
            )
        rebuild_in(session, [q.set_decommissioned(session, org, name, moment)])
    return get_system(db, org, name)


def recommission_system(db: Database, org: str, name: str) -> SystemRow:
    """Put a decommissioned system back in service (uploads accepted again) and rebuild its exposures:
    those the decommissioning closed are open again until a snapshot closes them."""
    with db.write() as session:
        current = q.list_systems(session, org, name)[0]
        if current.decommissioned_at is None:
            raise ConflictError(f"system {name!r} of organization {org!r} is not decommissioned")
        rebuild_in(session, [q.set_decommissioned(session, org, name, None)])
    return get_system(db, org, name)


def _what_goes(name: str, counts: SystemCounts) -> str:
    return (
        f"deleting system {name!r} deletes its {counts.snapshots} snapshot(s), "
        f"{counts.exposures} exposure row(s) and {counts.upload_jobs} upload job(s)"
    )


def delete_system(db: Database, org: str, name: str, *, confirm: bool) -> SystemCounts:
    """Delete a system of ``org`` with its snapshots, exposures, build state and upload jobs, in one
    transaction; returns what was deleted. Component sets shared with other systems stay, and no other
    system's exposures change.

    Without ``confirm``: ``ConflictError`` saying what would be deleted, nothing changed. A system that
    analysis records or CRA cases name: ``ConflictError`` (evidence is kept; decommission it instead).
    """
    with db.write() as session:
        system_id = q.list_systems(session, org, name)[0].id
        counts = q.system_counts(session, system_id)
        if counts.analyses or counts.cra_cases:
            raise ConflictError(
                f"system {name!r} cannot be deleted: {counts.analyses} analysis record(s) and "
                f"{counts.cra_cases} CRA case(s) name it, and they are kept as evidence; "
                "decommission it instead"
            )
        if not confirm:
            confirm_how = "confirm to delete (CLI --yes, API confirm=true)"
            raise ConflictError(f"{_what_goes(name, counts)}; {confirm_how}")
        q.delete_system(session, system_id)
    return counts


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
