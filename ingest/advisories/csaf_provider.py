"""CSAF 2.0 provider discovery (CSAF 2.0 §7.1): which documents a provider lists, and fetching the new ones.

Discovery starts at a provider's ``provider-metadata.json`` (``metadata_version`` ``2.0``). Each entry of
``distributions[]`` offers ROLIE feeds (``rolie.feeds[].url``, a ROLIE JSON feed whose ``feed.entry[]``
point at documents through ``content.src`` or a ``self`` link, with an ``updated`` time) and/or a
directory (``directory_url`` with ``changes.csv``: lines ``"path","timestamp"``, the path relative to the
directory). Only documents updated after the caller's last sync are fetched, only over https (CSAF
requirement 3), and by default only from TLP:WHITE/CLEAR feeds, since others need credentials.

This module only fetches; :mod:`ingest.advisories.sources.csaf` maps what it returns. Every fetch goes
through :class:`ingest.advisories.http.HttpClient` (retries, timeouts, errors that name the URL).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from core.errors import AdvisoryError
from core.jsondoc import JsonTextError
from ingest.advisories.fetch import (
    DEFAULT_CONCURRENCY,
    ServiceResponseError,
    bounded_map,
    decode_json,
    is_newer,
    readable_time,
)
from ingest.advisories.interface import Skipped

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient


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
        except ServiceResponseError as exc:
            if isinstance(exc.__cause__, JsonTextError):  # valid JSON holding a NUL or a lone surrogate
                return str(exc.__cause__)
            return "not valid JSON"
        if not isinstance(document, dict) or not isinstance(document.get("document"), dict):
            return "not a CSAF document (no 'document' object)"
        return document


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _sort_key(stamp: str) -> tuple[int, float]:
    """Orders timestamps by instant (offsets differ between providers); unreadable ones sort first."""
    parsed = readable_time(stamp)
    return (1, parsed.timestamp()) if parsed is not None else (0, 0.0)
