"""CISA's Known Exploited Vulnerabilities (KEV) catalog → :class:`core.advisories.KevEntry`.

The catalog is one JSON document (``catalogVersion``, ``dateReleased``, ``count``,
``vulnerabilities[]``). It is read from bytes (as the HTTP client fetches it) or from a file. Every entry
is checked, and a bad one fails the whole catalog with an error naming the entry and field: KEV drives
the tightest SLA tier, so a half-read catalog must not pass as the current one. ``count`` must match
the entries, which catches a truncated download.

``knownRansomwareCampaignUse`` is ``"Known"`` or ``"Unknown"``; only ``"Known"`` sets
``known_ransomware`` (``"Unknown"`` means CISA does not know, not "no").

As a registered source (:data:`SOURCE`), KEV yields a whole table: each catalog replaces the stored one.
It is fetched from CISA with a conditional GET (:func:`ingest.advisories.fetch.fetch_feed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.advisories import KevEntry
from core.errors import AdvisoryError
from core.jsondoc import JsonDocumentError, parse_json
from ingest.advisories.fetch import FeedDownload, ServiceResponseError, fetch_feed
from ingest.advisories.interface import Claim, Fetched, FetchRequest, TableSource, Validators

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient

NAME = "kev"
KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_RANSOMWARE = {"Known": True, "Unknown": False}


@dataclass(frozen=True, slots=True)
class KevCatalog:
    """One release of the catalog: its metadata and every entry, in published order."""

    catalog_version: str
    date_released: str
    title: str
    entries: tuple[KevEntry, ...]

    @property
    def version(self) -> str | None:
        return self.catalog_version

    @property
    def date(self) -> str | None:
        return self.date_released

    @property
    def count(self) -> int:
        return len(self.entries)


def parse_kev(data: bytes, *, origin: str) -> KevCatalog:
    """Parse the KEV JSON; raises AdvisoryError ``"<origin>: …"`` naming the bad entry and field."""
    try:
        doc = parse_json(data)
    except JsonDocumentError as exc:
        raise AdvisoryError(origin, exc.explain("not valid JSON")) from exc
    if not isinstance(doc, dict):
        raise AdvisoryError(origin, "the KEV catalog must be a JSON object")
    version = _text(doc, "catalogVersion", origin, "catalog")
    released = _text(doc, "dateReleased", origin, "catalog")
    items = doc.get("vulnerabilities")
    if not isinstance(items, list):
        raise AdvisoryError(origin, "catalog: 'vulnerabilities' must be a list")
    entries = tuple(_entry(item, index, origin) for index, item in enumerate(items))
    count = doc.get("count")
    if count is not None and count != len(entries):
        raise AdvisoryError(
            origin, f"catalog: 'count' says {count} but {len(entries)} entries are present (truncated?)"
        )
    title = doc.get("title")
    return KevCatalog(version, released, title if isinstance(title, str) else "", entries)


def read_kev_file(path: Path) -> KevCatalog:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdvisoryError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    return parse_kev(data, origin=str(path))


def _entry(item: Any, index: int, origin: str) -> KevEntry:
    if not isinstance(item, dict):
        raise AdvisoryError(origin, f"vulnerabilities[{index}]: must be an object")
    where = f"vulnerabilities[{index}]"
    cve = _text(item, "cveID", origin, where)
    if not _CVE.fullmatch(cve):
        raise AdvisoryError(origin, f"{where}: cveID {cve!r} is not a CVE id")
    where = f"{where} ({cve})"
    added = _date(item, "dateAdded", origin, where, required=True)
    due = _date(item, "dueDate", origin, where, required=False)
    ransomware = item.get("knownRansomwareCampaignUse", "Unknown")
    if ransomware not in _RANSOMWARE:
        raise AdvisoryError(
            origin, f"{where}: knownRansomwareCampaignUse must be 'Known' or 'Unknown', not {ransomware!r}"
        )
    return KevEntry(
        cve_id=cve,
        date_added=added or "",
        due_date=due,
        known_ransomware=_RANSOMWARE[ransomware],
        vendor=_optional_text(item, "vendorProject"),
        product=_optional_text(item, "product"),
        name=_optional_text(item, "vulnerabilityName"),
    )


def _text(obj: dict[str, Any], key: str, origin: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise AdvisoryError(origin, f"{where}: {key!r} is missing or not a string")
    return value


def _optional_text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _date(obj: dict[str, Any], key: str, origin: str, where: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise AdvisoryError(origin, f"{where}: {key!r} is missing or not a string")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise AdvisoryError(origin, f"{where}: {key} {value!r} is not a YYYY-MM-DD date") from exc
    return value


def fetch_kev(http: HttpClient, url: str = KEV_URL, previous: Validators | None = None) -> FeedDownload:
    """The CISA KEV catalog (JSON bytes for :func:`parse_kev`), or "not changed"."""
    download = fetch_feed(http, url, previous)
    if download.changed:
        try:
            catalog = parse_json(download.content)
        except JsonDocumentError as exc:
            raise ServiceResponseError(f"{url}: response is not valid JSON: {exc}") from exc
        if not isinstance(catalog, dict) or not isinstance(catalog.get("vulnerabilities"), list):
            raise ServiceResponseError(f"{url}: not a KEV catalog (no 'vulnerabilities' list)")
    return download


class Kev(TableSource):
    """CISA's KEV catalog: a file, or CISA's feed (see the module docstring)."""

    name = NAME
    fetchable = True
    default_url = KEV_URL
    url_help = "feed URL (default: CISA)"

    def claim(self, document: Any) -> Claim:
        if not isinstance(document, dict) or "catalogVersion" not in document:
            return Claim.NONE
        return Claim.FORMAT if isinstance(document.get("vulnerabilities"), list) else Claim.NONE

    def read_table(self, data: bytes, *, origin: str) -> KevCatalog:
        return parse_kev(data, origin=origin)

    def fetch(self, http: HttpClient, request: FetchRequest) -> Fetched:
        download = fetch_kev(http, request.url, request.validators)
        return Fetched(download.changed, content=download.content, validators=download.validators)


SOURCE = Kev()
