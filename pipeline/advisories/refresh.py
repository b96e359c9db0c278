"""After advisories changed: re-match the package versions they name, then rebuild the exposures of the
systems whose inputs that changed.

``patchgap advisories import|sync`` and the scheduled sync jobs (``pipeline.jobs``) call
:func:`refresh_after_import` alike, so a sync in the service leaves the fleet as current as one run by
hand: matches first (only the packages the new, changed or withdrawn records name), then every
organization's out-of-date systems (``pipeline.exposures.build.ensure_exposures``: one digest query per
organization when nothing changed), then every organization's stored exposures list
(``pipeline.lists.exposures.refresh_list``): the list's rows depend on advisory, KEV and EPSS facts
of the whole organization, so recomputing them here, in the sync, keeps that work (minutes at
10,000 systems) out of the next request that pages the list.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from pipeline.exposures.build import ensure_exposures
from pipeline.lists.exposures import refresh_list
from pipeline.match import MatchRun, rematch_keys
from store.db import Database
from store.queries.organizations import organizations
from store.queries.packages import PackageKey


@dataclass(frozen=True, slots=True)
class Refreshed:
    """``match``: the re-match (None when no package was named); ``systems``: systems rebuilt;
    ``listed``: systems whose exposures-list rows were recomputed."""

    match: MatchRun | None
    systems: int
    listed: int = 0


def refresh_after_import(db: Database, changed_keys: Collection[PackageKey]) -> Refreshed:
    """Re-match ``changed_keys`` (if any), then rebuild every organization's out-of-date systems and
    recompute their exposures lists where their inputs changed."""
    run = rematch_keys(db, changed_keys) if changed_keys else None
    with db.read() as session:
        names = [o.name for o in organizations(session)]
    systems = sum(ensure_exposures(db, name) for name in names)
    listed = sum(refresh_list(db, name) for name in names)
    return Refreshed(run, systems, listed)
