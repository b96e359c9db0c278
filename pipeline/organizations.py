"""The organizations' names, for the commands that refuse an unknown one (a typo must not create a
tenant). Imports nothing beyond the store, so ``patchgap ingest`` stays fast to start."""

from __future__ import annotations

from store.db import Database
from store.queries.organizations import organization_names as _names


def organization_names(db: Database) -> list[str]:
    """Every organization's name, sorted."""
    with db.read() as session:
        return _names(session)
