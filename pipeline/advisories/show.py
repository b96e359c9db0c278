"""Showing advisories: one vulnerability by any id or alias, and what the advisory tables hold.

:func:`show_advisory` reads what ``advisories show`` and ``GET /api/v1/advisories/{id}`` present, only
for the alias groups the id names; :func:`advisory_json` is their one JSON document. :func:`advisory_stats`
is what ``advisories stats`` prints: records per source and ecosystem, skips, KEV/EPSS, feed states.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.compression import DecompressionError, inflate_bounded
from core.errors import NotFoundError, StorageError
from core.time import rfc3339
from pipeline.embargo import hidden_records
from store.db import Database
from store.queries import advisories as q

# A stored raw record (zlib-compressed JSON, written by pipeline.advisories.importing) is unpacked at most
# to this: the largest document a source reads is a CSAF document over HTTP, itself bounded by
# ingest.advisories.fetch.MAX_BODY_BYTES (256 MiB).
MAX_RAW_RECORD_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AdvisoryShow:
    """Everything ``advisories show`` presents about the alias groups an id names (stored rows as read)."""

    query: str
    group_keys: list[str]
    records: list[q.AdvisoryView]
    affected: list[q.AffectedView]
    kev: list[q.KevView]
    epss: list[q.EpssView]

    def group_ids(self, key: str) -> list[str]:
        group = [r for r in self.records if r.group_key == key]
        return sorted({r.advisory_id for r in group} | {a for r in group for a in r.aliases})

    def affected_by_record(self) -> dict[int, list[q.AffectedView]]:
        """Affected rows per advisory primary key, in their published order."""
        out: dict[int, list[q.AffectedView]] = {}
        for a in self.affected:
            out.setdefault(a.advisory_pk, []).append(a)
        return out

    def details(self, record: q.AdvisoryView) -> str:
        """The record's ``details`` text: OSV-shaped records have one; a CSAF document (the raw of a CSAF
        record) has notes instead and no top-level ``details`` (its schema admits no other keys).

        The stored raw JSON is unpacked at most to :data:`MAX_RAW_RECORD_BYTES`; past that, or when it is
        not zlib-compressed JSON, a StorageError names the record."""
        what = f"{record.source} {record.advisory_id} (stored record)"
        try:
            document = json.loads(inflate_bounded(record.raw, MAX_RAW_RECORD_BYTES))
        except DecompressionError as exc:
            raise StorageError(f"{what}: {exc}; refused", transient=False) from None
        except ValueError as exc:  # not UTF-8, not JSON
            raise StorageError(f"{what}: not JSON ({exc})", transient=False) from None
        found = document.get("details") if isinstance(document, dict) else None
        return found.strip() if isinstance(found, str) else ""


def show_advisory(db: Database, identifier: str) -> AdvisoryShow:
    """The records of the alias groups ``identifier`` names (a record id, an alias or a group key),
    with KEV/EPSS facts of their CVEs and the affected packages; raises NotFoundError when none.
    Records under Akrites embargo are there only for an entitled reader (``pipeline.embargo``)."""
    with db.connect() as conn:
        keys = q.group_keys_for(conn, identifier)
        if not keys:
            raise NotFoundError(f"{identifier}: no stored advisory has this id or alias")
        hidden = hidden_records(conn)
        records = [r for r in q.advisories_in_groups(conn, keys) if (r.source, r.advisory_id) not in hidden]
        named = {n for r in records for n in (r.group_key, r.advisory_id, *r.aliases)}
        if hidden and identifier not in named:
            # Only embargoed records name it: for this reader it is not there yet.
            raise NotFoundError(f"{identifier}: no stored advisory has this id or alias")
        keys = sorted({r.group_key for r in records})
        affected = q.affected_of(conn, [r.pk for r in records])
        members = sorted({r.advisory_id for r in records} | {a for r in records for a in r.aliases})
        cves = [m for m in members if m.startswith("CVE-")]
        kev = q.kev_entries(conn, cves)
        epss = q.epss_for(conn, cves)
    return AdvisoryShow(identifier, keys, records, affected, kev, epss)


def advisory_json(shown: AdvisoryShow) -> dict[str, Any]:
    """``patchgap advisories show ID --json`` and ``GET /api/v1/advisories/{id}``: one document.

    Global data only (advisories, KEV, EPSS): nothing in it belongs to an organization.
    """
    by_pk = shown.affected_by_record()
    return {
        "query": shown.query,
        "groups": [{"group": key, "ids": shown.group_ids(key)} for key in shown.group_keys],
        "kev": [
            {
                "cve": k.cve_id,
                "date_added": rfc3339(k.date_added),
                "due_date": rfc3339(k.due_date),
                "known_ransomware": k.known_ransomware,
                "vendor": k.vendor,
                "product": k.product,
                "name": k.name,
                "catalog_version": k.catalog_version,
                "listed_since": rfc3339(k.listed_since),
            }
            for k in shown.kev
        ],
        "epss": [
            {
                "cve": e.cve_id,
                "epss": e.epss,
                "percentile": e.percentile,
                "score_date": e.score_date or None,
                "model_version": e.model_version or None,
            }
            for e in shown.epss
        ],
        "advisories": [
            {
                "source": r.source,
                "id": r.advisory_id,
                "group": r.group_key,
                "aliases": list(r.aliases),
                "related": list(r.related),
                "summary": r.summary,
                "details": shown.details(r),
                "published": rfc3339(r.published_at),
                "modified": r.modified,
                "withdrawn": rfc3339(r.withdrawn_at),
                "severity": r.severity,
                "severity_score": r.severity_score,
                "severity_rating": r.severity_rating,
                "exploited": r.exploited,
                "fix_available_at": rfc3339(r.fix_available_at),
                "fix_available_source": r.fix_available_source,
                "affected": [
                    {
                        "ecosystem": a.ecosystem,
                        "name": a.name,
                        "purl": a.purl,
                        "package_key": [a.eco_key, a.name_key] if a.eco_key else None,
                        "ranges": a.data.get("ranges", []),
                        "versions": a.data.get("versions", []),
                    }
                    for a in by_pk.get(r.pk, [])
                ],
            }
            for r in shown.records
        ],
    }


@dataclass(frozen=True, slots=True)
class AdvisoryStatsShow:
    """What ``advisories stats`` presents: the counts of the stored advisories, and every feed's state."""

    stats: q.AdvisoryStats
    feeds: list[q.FeedStateRow]


def advisory_stats(db: Database) -> AdvisoryStatsShow:
    """Records per source and ecosystem, withdrawn, skipped with reasons, KEV and EPSS, feed states."""
    with db.connect() as conn:
        return AdvisoryStatsShow(q.advisory_stats(conn), q.feed_states(conn))
