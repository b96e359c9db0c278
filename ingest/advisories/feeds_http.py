"""Advisory feeds over HTTP: CISA KEV, FIRST EPSS, an Akrites index, and CSAF 2.0 providers.

This module only fetches; the parsers (``kev``, ``epss``, ``akrites``/``osv``, ``csaf``) read what it
returns. Every fetch goes through :class:`ingest.advisories.http.HttpClient` (retries, timeouts, errors that
name the URL).

KEV and EPSS
    One file each, fetched with a conditional GET: the ``ETag`` and ``Last-Modified`` of the previous sync
    (:class:`Validators`) are sent back as ``If-None-Match`` / ``If-Modified-Since``; a ``304`` means nothing
    new. Servers that ignore validators still end in "nothing new" when the body's SHA-256 is the one we
    stored. EPSS is published gzipped (``epss_scores-current.csv.gz``, a redirect to the dated file): gzip
    is recognised by its magic bytes and unpacked with a size limit.

Akrites HTTP index (our own convention, version ``akrites-index/1``)
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
    cannot send us outside ``base_url``). Only ids that are new, or whose ``modified`` is newer than the
    caller's copy, are fetched. A fetched record whose ``id`` differs from the index entry is skipped.

CSAF 2.0 providers (CSAF 2.0 §7.1)
    Discovery starts at a provider's ``provider-metadata.json`` (``metadata_version`` ``2.0``). Each entry
    of ``distributions[]`` offers ROLIE feeds (``rolie.feeds[].url``, a ROLIE JSON feed whose
    ``feed.entry[]`` point at documents through ``content.src`` or a ``self`` link, with an ``updated``
    time) and/or a directory (``directory_url`` with ``changes.csv``: lines ``"path","timestamp"``, the
    path relative to the directory). Only documents updated after the caller's last sync are fetched,
    only over https (CSAF requirement 3), and by default only from TLP:WHITE/CLEAR feeds, since others
    need credentials.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from core.advisories import Advisory
from core.errors import AdvisoryError
from ingest.advisories.http import (
    HttpClient,
    ServiceResponseError,
    bounded_map,
    decode_json,
    is_newer,
    parse_timestamp,
)
from ingest.advisories.interface import Skipped

KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
# FIRST's bulk download; epss.cyentia.com, the older host, now points here too.
EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
# The full EPSS file is ~15 MB unpacked (≈300,000 CVEs); the limit only stops a gzip bomb.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
AKRITES_INDEX_FORMAT = "akrites-index/1"
DEFAULT_CONCURRENCY = 8
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_GZIP_MAGIC = b"\x1f\x8b"

RecordParser = Callable[[dict[str, Any], str], Advisory]


# --- KEV and EPSS: one file, conditional GET -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validators:
    """What a previous download of a feed left behind to tell whether the next one is new."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class FeedDownload:
    """One feed download: ``content`` is empty unless ``changed``; keep ``validators`` for the next one."""

    url: str
    changed: bool
    content: bytes
    validators: Validators


def fetch_feed(
    http: HttpClient,
    url: str,
    previous: Validators | None = None,
    *,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> FeedDownload:
    """Conditionally GET one feed file, gunzipping it when it is gzip."""
    previous = previous or Validators()
    headers: dict[str, str] = {}
    if previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    response = http.get(url, headers=headers, accept_statuses=(304,))
    etag = response.headers.get("ETag") or previous.etag
    last_modified = response.headers.get("Last-Modified") or previous.last_modified
    if response.status_code == 304:
        return FeedDownload(url, False, b"", Validators(etag, last_modified, previous.sha256))
    content = _gunzip(response.content, url, max_unpacked_bytes)
    digest = hashlib.sha256(content).hexdigest()
    validators = Validators(etag, last_modified, digest)
    if digest == previous.sha256:
        return FeedDownload(url, False, b"", validators)
    return FeedDownload(url, True, content, validators)


def _gunzip(raw: bytes, url: str, limit: int) -> bytes:
    # httpx already undoes Content-Encoding: gzip; this handles a .gz file served as application/gzip.
    if not raw.startswith(_GZIP_MAGIC):
        if len(raw) > limit:
            raise ServiceResponseError(f"{url}: {len(raw)} bytes is more than the limit of {limit}")
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unpacked:
            data = unpacked.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ServiceResponseError(f"{url}: not a valid gzip file ({exc})") from exc
    if len(data) > limit:
        raise ServiceResponseError(f"{url}: unpacks to more than the limit of {limit} bytes")
    return data


def fetch_kev(http: HttpClient, url: str = KEV_URL, previous: Validators | None = None) -> FeedDownload:
    """The CISA KEV catalog (JSON bytes for ``ingest.advisories.sources.kev``), or "not changed"."""
    download = fetch_feed(http, url, previous)
    if download.changed:
        try:
            catalog = json.loads(download.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ServiceResponseError(f"{url}: response is not valid JSON: {exc}") from exc
        if not isinstance(catalog, dict) or not isinstance(catalog.get("vulnerabilities"), list):
            raise ServiceResponseError(f"{url}: not a KEV catalog (no 'vulnerabilities' list)")
    return download


def fetch_epss(http: HttpClient, url: str = EPSS_URL, previous: Validators | None = None) -> FeedDownload:
    """The FIRST EPSS scores (CSV bytes, unpacked, for ``sources.epss``), or "not changed"."""
    download = fetch_feed(http, url, previous)
    # An error page served with 200 must not reach the parser as "a CSV with zero scores".
    if download.changed and not download.content.lstrip().startswith((b"#model_version", b"cve,")):
        head = download.content[:60].decode("utf-8", "replace").splitlines()[0:1]
        raise ServiceResponseError(f"{url}: does not look like an EPSS CSV (starts with {head!r})")
    return download


# --- Akrites: index of ids + modified, records fetched by id ------------------------------------------


def default_akrites_parser(obj: dict[str, Any], origin: str) -> Advisory:
    """The Akrites parser (OSV rules plus ``database_specific.akrites``), imported on first use."""
    from ingest.advisories.sources.akrites import parse_akrites_record  # noqa: PLC0415 - sibling, resolved lazily

    return parse_akrites_record(obj, origin)


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
        parse: RecordParser = default_akrites_parser,
    ) -> None:
        self._http = http
        self.index_url = index_url
        self.base_url = (base_url or index_url.rsplit("/", 1)[0]).rstrip("/")
        self._concurrency = concurrency
        self._parse = parse

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
            index = json.loads(download.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
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
        url = self.record_url(record_id)
        return url, self._http.get_json(url, accept_statuses=(404,))


# --- CSAF 2.0 provider discovery ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsafDocumentRef:
    """A CSAF document a provider lists, with the time the provider says it was last updated."""

    url: str
    updated: str | None
    listed_in: str  # the ROLIE feed or changes.csv that named it


@dataclass(frozen=True, slots=True)
class CsafDocument:
    ref: CsafDocumentRef
    document: dict[str, Any]


@dataclass(slots=True)
class CsafSync:
    documents: list[CsafDocument] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    listed: int = 0  # documents the provider lists, new or not
    newest: str | None = None  # the latest ``updated`` seen: pass it as ``since`` next time


class CsafProvider:
    """A CSAF 2.0 provider, read through its ``provider-metadata.json``."""

    def __init__(
        self,
        http: HttpClient,
        metadata_url: str,
        *,
        tlp_labels: Collection[str] | None = ("WHITE", "CLEAR"),
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._http = http
        self.metadata_url = metadata_url
        self._tlp = {label.upper() for label in tlp_labels} if tlp_labels is not None else None
        self._concurrency = concurrency

    def metadata(self) -> dict[str, Any]:
        meta = self._http.get_json(self.metadata_url)
        if not isinstance(meta, dict):
            raise AdvisoryError(self.metadata_url, "provider metadata must be a JSON object")
        if meta.get("metadata_version") != "2.0":
            raise AdvisoryError(
                self.metadata_url,
                f"unsupported metadata_version {meta.get('metadata_version')!r}, expected '2.0'",
            )
        if not isinstance(meta.get("distributions", []), list):
            raise AdvisoryError(self.metadata_url, "'distributions' must be a list")
        return meta

    def list_documents(self) -> tuple[list[CsafDocumentRef], list[Skipped]]:
        """Every document the provider lists (one entry per URL, the latest ``updated`` kept)."""
        refs: dict[str, CsafDocumentRef] = {}
        skipped: list[Skipped] = []
        for distribution in self.metadata().get("distributions") or []:
            if not isinstance(distribution, dict):
                continue
            rolie = distribution.get("rolie")
            for feed in (rolie.get("feeds") or []) if isinstance(rolie, dict) else []:
                if not isinstance(feed, dict) or not isinstance(feed.get("url"), str):
                    continue
                label = str(feed.get("tlp_label", "")).upper()
                if self._tlp is not None and label not in self._tlp:
                    continue  # a restricted feed needs credentials we do not have
                self._collect(self._rolie_entries(feed["url"]), refs, skipped)
            directory = distribution.get("directory_url")
            if isinstance(directory, str):
                self._collect(self._changes_csv(directory), refs, skipped)
        return sorted(refs.values(), key=lambda r: r.url), skipped

    def sync(self, since: str | None = None) -> CsafSync:
        """Fetch the documents updated after ``since`` (``None``: all of them)."""
        listed, skipped = self.list_documents()
        result = CsafSync(skipped=skipped, listed=len(listed))
        stamps = [r.updated for r in listed if r.updated]
        result.newest = max(stamps, key=_sort_key) if stamps else since
        wanted = [r for r in listed if since is None or r.updated is None or is_newer(r.updated, since)]
        for ref, document in zip(
            wanted, bounded_map(self._fetch_document, wanted, self._concurrency, "csaf"), strict=True
        ):
            if isinstance(document, str):
                result.skipped.append(Skipped(ref.url, None, document))
            else:
                result.documents.append(CsafDocument(ref, document))
        return result

    def _collect(
        self, found: list[CsafDocumentRef | Skipped], refs: dict[str, CsafDocumentRef], skipped: list[Skipped]
    ) -> None:
        for item in found:
            if isinstance(item, Skipped):
                skipped.append(item)
            elif urlsplit(item.url).scheme != "https":
                skipped.append(Skipped(item.url, None, "not an https URL (CSAF requires TLS)"))
            else:
                current = refs.get(item.url)
                if current is None or (item.updated and is_newer(item.updated, current.updated)):
                    refs[item.url] = item

    def _rolie_entries(self, feed_url: str) -> list[CsafDocumentRef | Skipped]:
        feed = self._http.get_json(feed_url)
        entries = feed.get("feed", {}).get("entry") if isinstance(feed, dict) else None
        if not isinstance(entries, list):
            raise AdvisoryError(feed_url, "not a ROLIE feed (no feed.entry list)")
        found: list[CsafDocumentRef | Skipped] = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            content = entry.get("content")
            src = content.get("src") if isinstance(content, dict) else None
            if not isinstance(src, str):
                links = entry.get("link") or []
                src = next(
                    (ln.get("href") for ln in links if isinstance(ln, dict) and ln.get("rel") == "self"), None
                )
            if not isinstance(src, str):
                found.append(
                    Skipped(feed_url, _str_or_none(entry.get("id")), "feed entry without a document URL")
                )
                continue
            found.append(
                CsafDocumentRef(urljoin(feed_url, src), _str_or_none(entry.get("updated")), feed_url)
            )
        return found

    def _changes_csv(self, directory_url: str) -> list[CsafDocumentRef | Skipped]:
        base = directory_url.rstrip("/") + "/"
        changes_url = base + "changes.csv"
        text = self._http.get(changes_url).content.decode("utf-8", "replace")
        found: list[CsafDocumentRef | Skipped] = []
        for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row:
                continue
            if len(row) != 2:
                found.append(Skipped(changes_url, None, f'line {line_no}: expected "path","timestamp"'))
                continue
            path, stamp = row[0].strip(), row[1].strip()
            url = urljoin(base, path)
            if not url.startswith(base):
                # CSAF paths are relative to the directory; anything else could point anywhere.
                found.append(
                    Skipped(changes_url, None, f"line {line_no}: path {path!r} leaves the directory")
                )
                continue
            found.append(CsafDocumentRef(url, stamp or None, changes_url))
        return found

    def _fetch_document(self, ref: CsafDocumentRef) -> dict[str, Any] | str:
        """The document, or why it is skipped; transport and HTTP errors still stop the sync."""
        response = self._http.get(ref.url, headers={"Accept": "application/json"})
        try:
            document = decode_json(response)
        except ServiceResponseError:
            return "not valid JSON"
        if not isinstance(document, dict) or not isinstance(document.get("document"), dict):
            return "not a CSAF document (no 'document' object)"
        return document


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _sort_key(stamp: str) -> tuple[int, float]:
    """Orders timestamps by instant (offsets differ between providers); unreadable ones sort first."""
    parsed = parse_timestamp(stamp)
    return (1, parsed.timestamp()) if parsed is not None else (0, 0.0)
