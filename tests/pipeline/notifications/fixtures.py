"""Test inputs: organizations and events with realistic payloads (the outbox schema of the README)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.events import EXPOSURE_OPENED
from store.db import Database
from store.queries.notifications import add_event
from store.queries.organizations import get_or_create_organization

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def org_id(db: Database, name: str) -> int:
    with db.write() as session:
        org = get_or_create_organization(session, name)
        assert org.id is not None
        return org.id


def exposure_payload(
    org: str | None,
    *,
    system: str = "shop",
    environment: str = "prod",
    tier: str | None = "critical",
    kev: bool = False,
    owner: str | None = None,
    tags: list[str] | None = None,
    vulnerability: str = "CVE-2024-0001",
) -> dict[str, Any]:
    return {
        "organization": org,
        "system": {
            "name": system,
            "environment": environment,
            "internet_exposed": True,
            "criticality": "high",
            "owner": owner,
            "tags": tags or [],
        },
        "exposure": {
            "package": "pkg:pypi/jinja2",
            "ecosystem": "PyPI",
            "package_name": "jinja2",
            "vulnerability": vulnerability,
            "aliases": ["GHSA-h5c8-rqwp-cp95"],
            "versions": ["3.1.2"],
            "fixed_versions": ["3.1.3"],
            "first_seen": "2026-03-01T00:00:00Z",
            "resolved_at": None,
            "resolution": None,
            "tier": tier,
            "kev": kev,
            "due_at": "2026-03-08T00:00:00Z",
        },
        "summary": f"{system} ({environment}) runs jinja2 3.1.2, affected by {vulnerability}",
    }


def sync_failed_payload() -> dict[str, Any]:
    return {
        "organization": None,
        "job": {"name": "kev", "run_id": 7, "error": "KEV feed answered HTTP 503", "attempts": 3},
        "summary": "the scheduled kev sync failed: KEV feed answered HTTP 503",
    }


def add(
    db: Database,
    org_id: int | None,
    payload: dict[str, Any],
    *,
    kind: str = EXPOSURE_OPENED,
    subject: str | None = None,
    now: datetime = T0,
) -> None:
    with db.write() as session:
        assert add_event(session, org_id, kind, subject or f"{payload}", payload, now=now)
