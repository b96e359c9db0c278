"""The Akrites coordinated-disclosure feed: OSV records with a ``database_specific.akrites`` block.

Akrites publishes plain OSV-schema records (ids ``AKRITES-…``, which the OSV schema's list of home
databases does not carry, so that prefix is admitted on top of it). A record may add::

    "database_specific": {"akrites": {
        "case_id": "AK-2026-0001",            # the coordinated-disclosure case
        "disclosed_at": "2026-01-12T09:00:00Z",
        "fix_released_at": "2026-01-20T15:30:00Z",
        "exploited": true,
        "last_resort_maintainer": false        # Akrites shipped the fix itself (abandoned package)
    }}

``fix_released_at`` becomes ``Advisory.fix_available_at`` (source ``"akrites"``), the clock start of
time-to-deploy; ``exploited`` becomes ``Advisory.exploited``. Every field is optional; a field of the
wrong type rejects the record (it is skipped with the reason), because a wrong fix date would silently
skew every time-to-deploy figure. The feed is read from a directory, an export zip or a single record
file through :mod:`ingest.advisories.osv_files`.

Over HTTP the feed is an index (our own convention, version ``akrites-index/1``)
    ``GET <index_url>`` returns a JSON object::

        {
          "format": "akrites-index/1",
          "records": [
            {"id": "AKRITES-2025-0001", "modified": "2025-03-02T10:00:00Z"},
            ...
          ]
        }

    ``format`` is required and must be ``akrites-index/1``. ``records`` lists every record the feed
    publishes, each with its OSV ``id`` and the RFC 3339 ``modified`` time of the record. The record itself
    is OSV JSON (with ``database_specific.akrites``) at ``<base_url>/<id>.json``; ``base_url`` defaults to
    the folder of the index URL. Ids must match ``[A-Za-z0-9][A-Za-z0-9._:-]*`` (no ``/``, so an index
    cannot send us outside ``base_url``). The index is fetched with a conditional GET
    (:func:`ingest.advisories.fetch.fetch_feed`); only ids that are new, or whose ``modified`` is newer
    than the caller's copy, are fetched. A fetched record whose ``id`` differs from the index entry is
    skipped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.advisories import Advisory
from core.errors import AdvisoryError
from core.jsondoc import JsonDocumentError, JsonTextError, parse_json
from core.time import parse_rfc3339
from ingest.advisories.fetch import (
    DEFAULT_CONCURRENCY,
    FeedDownload,
    ServiceResponseError,
    bounded_map,
    fetch_feed,
    is_newer,
)
from ingest.advisories.interface import Claim, Fetched, FetchRequest, RecordSource, Skipped, Validators
from ingest.advisories.osv_api import OsvParser
from ingest.advisories.osv_files import (
    OsvDirectory,
    OsvZip,
    ZipLimits,
    count_records,
    open_osv_path,
    read_records,
)
from ingest.advisories.sources.osv import parse_osv_record

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient

NAME = "akrites"
ID_PREFIX = "AKRITES"
AKRITES_INDEX_FORMAT = "akrites-index/1"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


@dataclass(frozen=True, slots=True)
class AkritesCase:
    """The Akrites facts of one record, as published."""

    case_id: str | None = None
    disclosed_at: str | None = None
    fix_released_at: str | None = None
    exploited: bool = False
    last_resort_maintainer: bool = False


def parse_akrites_record(obj: Any, origin: str) -> Advisory:
    """Validate and normalize one Akrites record (OSV rules plus the ``akrites`` block)."""
    advisory = parse_osv_record(obj, source=NAME, origin=origin, extra_id_prefixes=(ID_PREFIX,))
    case = read_case(advisory.database_specific, origin=origin)
    if case is None:
        return advisory
    return dataclasses.replace(
        advisory,
        fix_available_at=case.fix_released_at,
        fix_available_source=NAME if case.fix_released_at else None,
        exploited=case.exploited,
        disclosed_at=case.disclosed_at,
        last_resort_maintainer=case.last_resort_maintainer,
    )


def read_case(database_specific: Mapping[str, Any] | None, *, origin: str) -> AkritesCase | None:
    """The ``database_specific.akrites`` block of a record, checked; None when the record has none."""
    block = (database_specific or {}).get("akrites")
    if block is None:
        return None
    where = "database_specific.akrites"
    if not isinstance(block, dict):
        raise AdvisoryError(origin, f"{where} must be an object")
    case_id = block.get("case_id")
    if case_id is not None and not isinstance(case_id, str):
        raise AdvisoryError(origin, f"{where}.case_id must be a string")
    times: dict[str, str | None] = {}
    for key in ("disclosed_at", "fix_released_at"):
        value = block.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise AdvisoryError(origin, f"{where}.{key} must be an RFC 3339 string")
            try:
                parse_rfc3339(value)
            except ValueError as exc:
                raise AdvisoryError(origin, f"{where}.{key}: {exc}") from exc
        times[key] = value
    flags: dict[str, bool] = {}
    for key in ("exploited", "last_resort_maintainer"):
        value = block.get(key, False)
        if not isinstance(value, bool):
            raise AdvisoryError(origin, f"{where}.{key} must be true or false, not {value!r}")
        flags[key] = value
    return AkritesCase(
        case_id=case_id,
        disclosed_at=times["disclosed_at"],
        fix_released_at=times["fix_released_at"],
        exploited=flags["exploited"],
        last_resort_maintainer=flags["last_resort_maintainer"],
    )


class AkritesSource:
    """An :class:`~ingest.advisories.interface.AdvisorySource` over the Akrites feed.

    ``feed`` is a directory, a ``.zip`` export, or the bytes of such a zip as fetched over HTTP
    (``label`` then names it in messages).
    """

    name = NAME

    def __init__(
        self, feed: Path | bytes, *, label: str = "akrites.zip", limits: ZipLimits | None = None
    ) -> None:
        self._inner: OsvDirectory | OsvZip
        if isinstance(feed, bytes):
            self._inner = OsvZip(feed, name=NAME, parse=parse_akrites_record, limits=limits, label=label)
        else:
            self._inner = open_osv_path(feed, name=NAME, parse=parse_akrites_record, limits=limits)

    def records(self) -> Iterator[Advisory | Skipped]:
        return self._inner.records()


# --- over HTTP: an index of ids + modified, records fetched by id ------------------------------------


@dataclass(slots=True)
class AkritesSync:
    index: FeedDownload
    advisories: list[Advisory] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    not_listed: list[str] = field(default_factory=list)  # ids we hold that the index no longer lists


class AkritesHttpFeed:
    """The Akrites feed published as an HTTP index (format in the module docstring)."""

    def __init__(
        self,
        http: HttpClient,
        index_url: str,
        *,
        base_url: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        parse: OsvParser | None = None,
    ) -> None:
        self._http = http
        self.index_url = index_url
        self.base_url = (base_url or index_url.rsplit("/", 1)[0]).rstrip("/")
        self._concurrency = concurrency
        self._parse = parse or parse_akrites_record

    def record_url(self, record_id: str) -> str:
        return f"{self.base_url}/{quote(record_id, safe=':')}.json"

    def read_index(
        self, previous: Validators | None = None
    ) -> tuple[FeedDownload, dict[str, str], list[Skipped]]:
        """The index download, its entries (id → modified) and the entries that cannot be used."""
        download = fetch_feed(self._http, self.index_url, previous)
        if not download.changed:
            return download, {}, []
        try:
            index = parse_json(download.content)
        except JsonDocumentError as exc:
            raise ServiceResponseError(f"{self.index_url}: response is not valid JSON: {exc}") from exc
        if not isinstance(index, dict) or index.get("format") != AKRITES_INDEX_FORMAT:
            found = index.get("format") if isinstance(index, dict) else type(index).__name__
            raise AdvisoryError(
                self.index_url,
                f"not an Akrites index: format is {found!r}, expected {AKRITES_INDEX_FORMAT!r}",
            )
        records = index.get("records")
        if not isinstance(records, list):
            raise AdvisoryError(self.index_url, "an Akrites index needs a 'records' list")
        entries: dict[str, str] = {}
        skipped: list[Skipped] = []
        for position, entry in enumerate(records):
            record_id = entry.get("id") if isinstance(entry, dict) else None
            modified = entry.get("modified") if isinstance(entry, dict) else None
            if not isinstance(record_id, str) or not isinstance(modified, str):
                skipped.append(
                    Skipped(self.index_url, None, f"index entry {position} lacks a string id or modified")
                )
            elif not _SAFE_ID.fullmatch(record_id):
                skipped.append(Skipped(self.index_url, record_id, "index entry id is not a plain record id"))
            else:
                entries[record_id] = modified
        return download, entries, skipped

    def sync(self, known: Mapping[str, str], previous: Validators | None = None) -> AkritesSync:
        """Fetch the records that are new or changed since ``known`` (id → modified we hold)."""
        download, entries, skipped = self.read_index(previous)
        result = AkritesSync(index=download, skipped=skipped)
        if not download.changed:
            result.unchanged = len(known)
            return result
        result.not_listed = sorted(set(known) - set(entries))
        wanted = sorted(rid for rid, modified in entries.items() if is_newer(modified, known.get(rid)))
        result.unchanged = len(entries) - len(wanted)
        fetched = bounded_map(self._fetch_record, wanted, self._concurrency, name="akrites")
        for record_id, (url, record) in zip(wanted, fetched, strict=True):
            if record is None:
                result.skipped.append(Skipped(url, record_id, "listed in the index but not found (HTTP 404)"))
            elif isinstance(record, JsonTextError):
                result.skipped.append(Skipped(url, record_id, str(record)))
            elif not isinstance(record, dict) or record.get("id") != record_id:
                found = record.get("id") if isinstance(record, dict) else type(record).__name__
                result.skipped.append(Skipped(url, record_id, f"record id {found!r} differs from the index"))
            else:
                try:
                    result.advisories.append(self._parse(record, url))
                except AdvisoryError as exc:
                    result.skipped.append(Skipped(url, record_id, exc.problem))
        return result

    def _fetch_record(self, record_id: str) -> tuple[str, Any]:
        """The record's URL and JSON (``None`` for a 404); a record holding text no database stores
        (``core.jsondoc.JsonTextError``) comes back as that error, to be skipped like a refused record."""
        url = self.record_url(record_id)
        try:
            return url, self._http.get_json(url, accept_statuses=(404,))
        except ServiceResponseError as exc:
            if isinstance(exc.__cause__, JsonTextError):  # fetch.decode_json chains the reader's error
                return url, exc.__cause__
            raise


# --- CSAF 2.0 provider discovery ---------------------------------------------------------------------


# --- the registered source ----------------------------------------------------------------------------


class Akrites(RecordSource):
    """The Akrites feed: files and export zips, and the HTTP index (see the module docstring)."""

    name = NAME
    # Akrites records are OSV records too: a feed folder may hold plain ones beside them.
    absorbs = ("osv",)
    fetchable = True
    url_help = "index URL"
    needs_known = True

    def claim(self, document: Any) -> Claim:
        if not isinstance(document, dict):
            return Claim.NONE
        specific = document.get("database_specific")
        marked = isinstance(specific, dict) and "akrites" in specific
        if marked or str(document.get("id", "")).startswith(f"{ID_PREFIX}-"):
            return Claim.MARK
        return Claim.NONE

    def open(self, path: Path) -> Iterator[Advisory | Skipped]:
        return read_records(path, name=NAME, parse=parse_akrites_record)

    def count(self, path: Path) -> int | None:
        return count_records(path)

    def feed_key(self, url: str) -> str | None:
        return f"{NAME}:{url}"

    def fetch(self, http: HttpClient, request: FetchRequest) -> Fetched:
        """Read the index (conditionally); fetch the records new or newer than ours."""
        synced = AkritesHttpFeed(http, request.url).sync(request.known, request.validators)
        changed = synced.index.changed
        # An unchanged index lists what it listed before: the records we hold.
        listed = synced.unchanged + len(synced.advisories) if changed else len(request.known)
        return Fetched(
            changed=changed,
            records=[*synced.advisories, *synced.skipped] if changed else (),
            validators=synced.index.validators,
            note=f"{listed} listed, {len(synced.advisories)} fetched (new or changed)",
        )


SOURCE = Akrites()
