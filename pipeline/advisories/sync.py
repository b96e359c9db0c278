"""Syncing a source over HTTP: fetch what is new since the last sync and import it, for every source alike.

:func:`sync_source` reads what the source says its fetch needs (``ingest.advisories.interface.Source``):
the validators and cursor its last sync kept under its feed key, the ids and ``modified`` of the records
held (``needs_known``), the deployed package versions (``needs_packages``). It then fetches and imports
what came, as the source declares it yields:

- a record source's records go through :func:`pipeline.advisories.importing.import_advisories` (one
  transaction), unless the fetch found nothing new;
- a table source's file goes through :func:`pipeline.advisories.tables.import_table`, exactly as a file
  import would; when nothing is new, the stored table is reported unchanged.

Either way the validators and cursor the fetch returned are kept for the next sync (a 304 may carry a
fresh ETag), with the time of the check. The caller passes the
:class:`~ingest.advisories.http.HttpClient` (tests inject a ``MockTransport``; :func:`http_client` is
the default one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import AdvisoryError
from ingest.advisories import registry
from ingest.advisories.http import HttpClient
from ingest.advisories.interface import FetchRequest, TableSource, Validators
from pipeline.advisories.importing import ImportResult, Progress, import_advisories
from pipeline.advisories.tables import FeedImportResult, import_table, stored_table
from store.db import Database
from store.queries import advisories as q
from store.queries import packages as package_queries

__all__ = ["HttpClient", "SyncResult", "http_client", "sync_source"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one sync did.

    ``note`` is the source's one line on what it asked and found (None when the import's report says it
    all); ``changed`` False means the source had nothing new. A record source sets ``result`` when it
    imported (None when nothing was new); a table source always sets ``table``.
    """

    source: str
    url: str
    note: str | None
    changed: bool
    result: ImportResult | None = None
    table: FeedImportResult | None = None


def http_client() -> HttpClient:
    """The HTTP client a sync uses by default (patchgap's retries, timeouts and User-Agent)."""
    return HttpClient()


def sync_source(
    db: Database,
    name: str,
    http: HttpClient,
    *,
    url: str | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Fetch what is new from source ``name`` (at ``url``, else its default) and import it."""
    if name not in registry.names():
        raise AdvisoryError("sync", f"{name!r} is not one of {', '.join(registry.names())}")
    source = registry.get(name)
    if not source.fetchable:
        raise AdvisoryError(f"sync {name}", f"{name} cannot be fetched")
    where = url or source.default_url
    if where is None:
        raise AdvisoryError(f"sync {name}", f"a URL is required (the {source.url_help})")
    key = source.feed_key(where)
    with db.connect() as conn:
        held = q.get_feed_state(conn, key) if key is not None else None
        known = q.known_modified(conn, name) if source.needs_known else {}
        packages = package_queries.deployed_package_versions(conn) if source.needs_packages else []
    request = FetchRequest(
        url=where,
        validators=Validators(held.etag, held.last_modified, held.sha256) if held else None,
        cursor=held.cursor if held else None,
        known=known,
        packages=packages,
    )
    fetched = source.fetch(http, request)

    if isinstance(source, TableSource):
        if fetched.changed:
            table = import_table(db, name, fetched.content, origin=where, validators=fetched.validators)
        else:
            if key is not None:
                _remember(db, key, fetched.validators, fetched.cursor)
            table = stored_table(db, name)
        return SyncResult(name, where, fetched.note, fetched.changed, table=table)

    result: ImportResult | None = None
    if fetched.changed:
        result = import_advisories(db, fetched.records, source=name, origin=where, progress=progress)
    if key is not None:
        _remember(db, key, fetched.validators, fetched.cursor)
    return SyncResult(name, where, fetched.note, fetched.changed, result=result)


def _remember(db: Database, feed: str, validators: Validators | None, cursor: str | None) -> None:
    """Keep what this sync's fetch returned (validators; a cursor, else the one held) and when it ran."""
    with db.begin() as conn:
        held = q.get_feed_state(conn, feed)
        kept = validators or Validators()
        q.put_feed_state(
            conn,
            q.FeedStateRow(
                name=feed,
                etag=kept.etag,
                last_modified=kept.last_modified,
                sha256=kept.sha256,
                version=held.version if held else None,
                cursor=cursor if cursor is not None else (held.cursor if held else None),
                fetched_at=datetime.now(UTC),
            ),
        )
