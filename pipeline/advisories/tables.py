"""Importing table sources: each KEV catalog or EPSS score file replaces its table as a whole.

A table source (``ingest.advisories.interface.TableSource``) reads a file into facts per CVE;
:func:`import_table` makes them the stored table in one transaction and keeps the feed's validators
(ETag, Last-Modified, SHA-256 of the body, version) in ``feed_state``, so that the next sync is a
conditional request. A file whose SHA-256 is the stored one rewrites nothing (``changed`` is False).

Each table has its own shape in ``store``, so a table source needs, besides its module and registry line,
a table and one line in :data:`_TABLES` saying how its facts become rows; record sources need nothing here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.compression import the_limit
from core.errors import AdvisoryError
from core.text import text_problem
from core.time import utc_midnight
from ingest.advisories import registry
from ingest.advisories.fetch import MAX_UNPACKED_BYTES
from ingest.advisories.interface import FactTable, TableSource, Validators
from ingest.advisories.sources.epss import EpssFeed
from ingest.advisories.sources.kev import KevCatalog
from pipeline.events import announce_exploited_over, exploited_groups_over
from store.db import Conn, Database
from store.queries import advisories as q


@dataclass(frozen=True, slots=True)
class FeedImportResult:
    """What a KEV or EPSS import did: ``changed`` False means the stored copy was already this one."""

    feed: str  # the source's name: "kev" | "epss"
    changed: bool
    entries: int
    version: str | None  # KEV catalog version, EPSS model version
    date: str | None  # KEV dateReleased, EPSS score date


def _kev_rows(catalog: KevCatalog, fetched_at: datetime) -> list[dict[str, Any]]:
    # The catalog has listed a CVE twice before; the later entry is the correction.
    by_cve = {
        e.cve_id: {
            "cve_id": e.cve_id,
            "date_added": utc_midnight(e.date_added),
            "due_date": utc_midnight(e.due_date) if e.due_date else None,
            "known_ransomware": e.known_ransomware,
            "vendor": e.vendor,
            "product": e.product,
            "name": e.name,
            "catalog_version": catalog.catalog_version,
            # Kept for CVEs the stored catalog already lists (store.queries.advisories.replace_kev).
            "listed_since": fetched_at,
        }
        for e in catalog.entries
    }
    return list(by_cve.values())


def _epss_rows(feed: EpssFeed, fetched_at: datetime) -> list[dict[str, Any]]:
    del fetched_at  # scores carry their own date
    by_cve = {
        s.cve_id: {
            "cve_id": s.cve_id,
            "epss": s.epss,
            "percentile": s.percentile,
            "score_date": feed.score_date or "",
            "model_version": feed.model_version or "",
        }
        for s in feed.scores
    }
    return list(by_cve.values())


@dataclass(frozen=True, slots=True)
class _Table:
    """How one table source's facts are stored: the rows they become (given the time of the import),
    the store function that replaces the table, and the part of the statistics that describes it."""

    rows: Callable[[Any, datetime], list[dict[str, Any]]]
    replace: Callable[[Conn, Sequence[Mapping[str, Any]]], None]
    stored: Callable[[q.AdvisoryStats], q.FeedSummary]
    # Whether the table says which vulnerabilities are exploited: replacing it announces the open
    # exposures it newly marks (``pipeline.events.announce_exploited``, in the same transaction).
    exploitation: bool = False


_TABLES: dict[str, _Table] = {
    "kev": _Table(_kev_rows, q.replace_kev, lambda stats: stats.kev, exploitation=True),
    "epss": _Table(_epss_rows, q.replace_epss, lambda stats: stats.epss),
}


def table_source(name: str, origin: str) -> TableSource:
    """The table source ``name``; an AdvisoryError naming ``origin`` when it yields records instead."""
    source = registry.get(name)
    if not isinstance(source, TableSource):
        raise AdvisoryError(origin, f"{name} yields advisory records, not a table of facts")
    return source


def import_table(
    db: Database, source: str, data: bytes, *, origin: str, validators: Validators | None = None
) -> FeedImportResult:
    """Parse a feed file of table source ``source`` and make it the stored table, in one transaction.

    A file whose bytes hash to the stored SHA-256 rewrites nothing. ``validators`` are the HTTP ones of
    the download (a file import has none).
    """
    reader = table_source(source, origin)
    table: FactTable = reader.read_table(data, origin=origin)
    _check_storable(table, origin)
    kept = _kept_validators(data, validators)
    writer = _TABLES[source]

    def rows(fetched_at: datetime) -> list[dict[str, Any]]:
        built = writer.rows(table, fetched_at)
        for row in built:
            if len(row["cve_id"]) > _CVE_ID_MAX:
                cve = row["cve_id"]
                raise AdvisoryError(origin, f"CVE id {cve[:40]}… is longer than {_CVE_ID_MAX} characters")
        return built

    changed = _store_feed(
        db,
        reader.feed_key(origin) or source,
        rows,
        writer.replace,
        validators=kept,
        version=table.version,
        exploitation=writer.exploitation,
    )
    return FeedImportResult(source, changed, table.count, table.version, table.date)


# Columns a feed's text goes into: cve_id String(50), catalog / model version String(50), EPSS score date
# String(40). PostgreSQL refuses longer values (SQLite stores them), so they are refused before either.
_CVE_ID_MAX = 50
_VERSION_MAX = 50
_DATE_MAX = 40


def _check_storable(table: FactTable, origin: str) -> None:
    """Refuse a feed whose version or date cannot be stored alike on every database (``core.text``):
    the KEV JSON is checked by ``core.jsondoc``, but the EPSS CSV comment line is free text."""
    for field, value, limit in (("version", table.version, _VERSION_MAX), ("date", table.date, _DATE_MAX)):
        problem = None if value is None else text_problem(value, f"the feed's {field}", max_chars=limit)
        if problem is not None:
            raise AdvisoryError(origin, problem)


def import_file(
    db: Database, source: str, path: Path, *, max_bytes: int = MAX_UNPACKED_BYTES
) -> FeedImportResult:
    """:func:`import_table` of a file on disk (its path names it in messages).

    A feed file larger than ``max_bytes`` is refused without reading it whole (a gzip one is also refused
    when it unpacks past that limit, by its reader)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise AdvisoryError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise AdvisoryError(str(path), f"larger than {the_limit(max_bytes)}; refused")
    return import_table(db, source, data, origin=str(path))


def stored_table(db: Database, source: str) -> FeedImportResult:
    """The table now stored for ``source``, as an import that changed nothing reports it."""
    with db.connect() as conn:
        stats = q.advisory_stats(conn)
    summary = _TABLES[source].stored(stats)
    return FeedImportResult(source, False, summary.entries, summary.version, summary.date)


def _store_feed(
    db: Database,
    feed: str,
    rows: Callable[[datetime], list[dict[str, Any]]],
    replace: Callable[[Conn, Sequence[Mapping[str, Any]]], None],
    *,
    validators: Validators,
    version: str | None,
    exploitation: bool = False,
) -> bool:
    """Replace a feed's table unless its content hash is the stored one; keep the validators either way.

    ``rows(fetched_at)`` builds the table's rows; ``fetched_at`` is the time stored as the feed's. With
    ``exploitation`` (KEV) the open exposures whose vulnerability the new table newly marks exploited
    are announced in the same transaction."""
    fetched_at = datetime.now(UTC)
    with db.begin() as conn:
        held = q.get_feed_state(conn, feed)
        changed = held is None or held.sha256 != validators.sha256
        if changed:
            before = exploited_groups_over(conn) if exploitation else None
            replace(conn, rows(fetched_at))
            if before is not None:
                announce_exploited_over(conn, before)
        q.put_feed_state(
            conn,
            q.FeedStateRow(
                name=feed,
                etag=validators.etag,
                last_modified=validators.last_modified,
                sha256=validators.sha256,
                version=version,
                cursor=held.cursor if held else None,
                fetched_at=fetched_at,
            ),
        )
    return changed


def _kept_validators(data: bytes, validators: Validators | None) -> Validators:
    """What the feed state keeps: the download's HTTP validators (if any) and the body's SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    if validators is None:
        return Validators(sha256=digest)
    return Validators(validators.etag, validators.last_modified, digest)
