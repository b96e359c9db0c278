"""VEX statements of an organization: import an OpenVEX / CycloneDX VEX document, list what is stated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import InputError
from core.time import require_utc, rfc3339
from core.vex import VEX_STATUSES, VexStatement
from ingest.vex import read_vex
from pipeline.exposures.build import rebuild_in
from reports.timeline import split_purl_version
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import exposures as q
from store.queries import systems as system_queries
from store.queries.organizations import get_or_create_organization, get_organization

# --- VEX -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VexImportResult:
    source: str
    statements: int
    by_status: dict[str, int]
    rebuilt_systems: int


def _parse_time(value: str | None, source: str) -> datetime | None:
    if value is None:
        return None
    try:
        return require_utc(datetime.fromisoformat(value.replace("Z", "+00:00")), f"{source} timestamp")
    except (ValueError, InputError):
        raise InputError(source, f"timestamp {value!r} is not an RFC 3339 date-time with a zone") from None


def vex_rows_of(statements: Sequence[VexStatement], source: str, now: datetime) -> list[q.VexRow]:
    """Statements as rows: package without version, version (``""``: every version), time stated."""
    out: dict[tuple[str, str, str], q.VexRow] = {}
    for s in statements:
        package, version = split_purl_version(s.purl)
        row = q.VexRow(
            vulnerability=s.vulnerability,
            aliases=list(s.aliases),
            package=package,
            version=version or "",
            status=s.status,
            justification=s.justification,
            impact_statement=s.impact_statement,
            source=source,
            stated_at=_parse_time(s.timestamp, source) or now,
            created_at=now,
        )
        # A document stating the same thing twice keeps its last word, as a re-import would.
        out[(row.vulnerability, row.package, row.version)] = row
    return list(out.values())


def import_vex(db: Database, org: str, data: bytes, source: str) -> VexImportResult:
    """Store the statements of one OpenVEX / CycloneDX VEX document for ``org`` and rebuild its exposures."""
    statements = read_vex(data, source)
    rows = vex_rows_of(statements, source, datetime.now(UTC))
    with db.write() as session:
        org_row = get_or_create_organization(session, org)
        assert org_row.id is not None
        q.upsert_vex(session, org_row.id, rows)
        ids = [s.id for s in system_queries.org_systems(session, org_row.id)]
        if ids:
            rebuild_in(session, ids)
    by_status = {status: sum(1 for r in rows if r.status == status) for status in VEX_STATUSES}
    return VexImportResult(source, len(rows), {k: v for k, v in by_status.items() if v}, len(ids))


def list_vex(db: Database, org: str) -> list[dict[str, Any]]:
    """The organization's VEX statements, each with the group it resolves to (``null``: none yet)."""
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        rows = q.vex_rows(session, org_row.id)
        groups = advisory_queries.groups_for_ids(
            session, {i for r in rows for i in (r.vulnerability, *r.aliases)}
        )
    return [
        {
            "vulnerability": r.vulnerability,
            "vuln_group": next((groups[i] for i in (r.vulnerability, *r.aliases) if i in groups), None),
            "aliases": r.aliases,
            "package": r.package,
            "version": r.version or None,
            "status": r.status,
            "justification": r.justification,
            "impact_statement": r.impact_statement,
            "source": r.source,
            "stated_at": rfc3339(r.stated_at),
        }
        for r in rows
    ]

