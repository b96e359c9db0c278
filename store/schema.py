"""Every table module, imported once: the full metadata that migrations and schema checks compare against.

One module per aggregate (``store.tables``): ``organizations`` (organizations, API keys, dashboard
sessions), ``systems`` (systems, snapshots, component sets), ``packages`` (package versions, match
results), ``advisories`` (advisories, affected packages, KEV, EPSS, feed state, skipped records),
``exposures`` (exposures, SLA policies), ``triage`` (analysis records and their history: what VEX
statements are stored as), ``cra`` (the CRA register's records), ``jobs`` (upload jobs),
``lists`` (the exposures list's sort columns), ``plan`` (the remediation plan's items),
``notifications`` (the event outbox).
"""

from __future__ import annotations

from sqlmodel import SQLModel

from store.tables import (
    advisories,
    cra,
    exposures,
    jobs,
    lists,
    notifications,
    organizations,
    packages,
    plan,
    systems,
    triage,
)

metadata = SQLModel.metadata

__all__ = [
    "advisories",
    "cra",
    "exposures",
    "jobs",
    "lists",
    "metadata",
    "notifications",
    "organizations",
    "packages",
    "plan",
    "systems",
    "triage",
]
