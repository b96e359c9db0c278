"""Advisory import and sync use-cases: normalized records in, stored advisory rows out (issue 3, items 8-10).

Steps, each usable on its own:

- :func:`import_advisories` stores the records of one source (OSV files, the Akrites feed, CSAF
  documents, the OSV API) in ONE transaction, in batches: records are keyed by ``(source, id)``; a record
  whose ``modified`` equals the stored one is not rewritten (so a re-import reports 0 changes), a record
  older than the stored copy is not written either, a new or newer one is upserted and its affected rows
  replaced. Skipped records are stored with their reason (``advisory_skip``). Afterwards the alias groups
  are recomputed over ALL stored records (``ingest.advisories.aliases``) and ``group_key`` is updated where
  it changed. The result names the package keys ``(eco_key, name_key)`` whose advisories were created,
  changed, withdrawn or regrouped — only those need re-matching.
- :func:`import_kev` / :func:`import_epss` replace the KEV catalog / EPSS scores as a whole, and keep the
  feed's validators (ETag, Last-Modified, SHA-256, version) in ``feed_state`` so the next sync is a
  conditional request; identical content is a no-op.
- ``sync_*`` fetch over HTTP (``ingest.advisories.osv_api`` / ``feeds_http``) and hand what is new to the
  importers. The caller passes the :class:`~ingest.advisories.http.HttpClient` (tests inject a
  ``MockTransport``).
- :func:`open_path` turns a path (directory, zip, single file) into records, detecting the source when
  it is unambiguous (:func:`detect_source`).
- :func:`show_advisory` reads what ``advisories show`` and ``GET /api/v1/advisories/{id}`` present;
  :func:`advisory_json` is their one JSON document.

The conversion between :class:`core.advisories.AffectedPackage` and the ``affected_package`` row
(``data`` JSON, shape documented on :class:`store.tables.advisories.AffectedPackageRow`) lives here too:
:func:`affected_data` and :func:`affected_from_row`, which fleet matching uses to rebuild the records it
evaluates from stored rows.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from packageurl import PackageURL

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event, EventKind
from core.errors import AdvisoryError, NotFoundError
from core.packages import PackageRef
from ingest.advisories import severity as sev
from ingest.advisories.aliases import alias_groups, group_index, group_key
from ingest.advisories.csaf_provider import CsafProvider
from ingest.advisories.http import HttpClient
from ingest.advisories.interface import Skipped, Validators
from ingest.advisories.osv_api import DEFAULT_BASE_URL, OsvApiClient, OsvQuery
from ingest.advisories.osv_files import (
    RECORD_SUFFIXES,
    OsvDirectory,
    OsvZip,
    load_record,
    osv_parser,
    parse_or_skip,
    parse_timestamp,
)
from ingest.advisories.sources.akrites import NAME as AKRITES
from ingest.advisories.sources.akrites import AkritesHttpFeed, parse_akrites_record
from ingest.advisories.sources.csaf import NAME as CSAF
from ingest.advisories.sources.csaf import CsafSource, parse_csaf
from ingest.advisories.sources.epss import EPSS_URL, EpssFeed, fetch_epss, parse_epss
from ingest.advisories.sources.kev import KEV_URL, KevCatalog, fetch_kev, parse_kev
from matcher.match import PackageKey, key_of
from matcher.purls import package_for_purl
from store.db import Conn, Database
from store.queries import advisories as q
from store.queries import packages as package_queries

_EVENT_KINDS: dict[str, EventKind] = {
    "introduced": "introduced",
    "fixed": "fixed",
    "last_affected": "last_affected",
    "limit": "limit",
}


def affected_data(affected: AffectedPackage) -> dict[str, Any]:
    """The ``data`` JSON of an ``affected_package`` row (shape documented on the model)."""
    ranges: list[dict[str, Any]] = []
    for r in affected.ranges:
        entry: dict[str, Any] = {"type": r.type, "events": [{e.kind: e.value} for e in r.events]}
        if r.repo is not None:
            entry["repo"] = r.repo
        ranges.append(entry)
    data: dict[str, Any] = {"ranges": ranges, "versions": list(affected.versions)}
    if affected.ecosystem_specific is not None:
        data["ecosystem_specific"] = affected.ecosystem_specific
    if affected.database_specific is not None:
        data["database_specific"] = affected.database_specific
    return data


def affected_from_row(
    ecosystem: str | None, name: str | None, purl: str | None, data: dict[str, Any]
) -> AffectedPackage:
    """Rebuild the :class:`AffectedPackage` an ``affected_package`` row was stored from.

    The inverse of :func:`affected_data`: ``affected_from_row(a.ecosystem, a.name, a.purl,
    affected_data(a)) == a`` for every record the parsers produce.
    """
    ranges = tuple(
        AffectedRange(
            type=r["type"],
            events=tuple(_event(e) for e in r.get("events") or ()),
            repo=r.get("repo"),
        )
        for r in data.get("ranges") or ()
    )
    return AffectedPackage(
        ecosystem=ecosystem,
        name=name,
        purl=purl,
        ranges=ranges,
        versions=tuple(data.get("versions") or ()),
        ecosystem_specific=data.get("ecosystem_specific"),
        database_specific=data.get("database_specific"),
    )


def _event(obj: dict[str, str]) -> Event:
    ((kind, value),) = obj.items()
    checked = _EVENT_KINDS.get(kind)
    if checked is None:
        raise ValueError(f"stored range event of unknown kind {kind!r}")
    return Event(kind=checked, value=value)


OSV = "osv"
KEV = "kev"
EPSS = "epss"
RECORD_SOURCES = (OSV, AKRITES, CSAF)
FEED_SOURCES = (KEV, EPSS)
NO_ECOSYSTEM = "(none)"
DEFAULT_BATCH = 1000
# Raw records: zlib level 6, as snapshots use (store.queries); the whole shared corpus (≈110 MB of JSON)
# compresses about 4.4× in well under a second.
_RAW_LEVEL = 6

Progress = Callable[[int], None]


# --- affected rows ------------------------------------------------------------------------------------


def affected_key(affected: AffectedPackage) -> PackageKey | None:
    """The deployed-package key of an ``affected[]`` entry (``eco_key``, ``name_key`` of its row).

    OSV-style entries use :func:`matcher.match.key_of`. CSAF entries carry only a purl (no ecosystem);
    their key is the ecosystem and name :func:`matcher.purls.package_for_purl` maps that purl to — the
    same mapping deployed components go through, so CSAF advisories meet deployed packages. The purl's
    version is irrelevant to the key: a placeholder stands in when the purl has none (the mapping
    requires one). Red Hat rpm purls carry no ``distro``; the entry's platform (a
    ``cpe:/o:redhat:enterprise_linux:<major>`` product, kept as ``database_specific.csaf_platform``)
    supplies ``distro=rhel-<major>``; other Red Hat streams (AUS, E4S, TUS, layered products) get no key.
    """
    key = key_of(affected)
    if key is not None or affected.ecosystem is not None or not affected.purl:
        return key
    try:
        parsed = PackageURL.from_string(affected.purl)
    except ValueError:
        return None
    qualifiers = dict(parsed.qualifiers or {})
    platform = (affected.database_specific or {}).get("csaf_platform")
    if parsed.type == "rpm" and "distro" not in qualifiers and isinstance(platform, str):
        # Red Hat's purls name no release; the product's platform CPE does. Only the plain
        # enterprise_linux streams map to a release, as matcher.purls.deployed_ecosystem folds them.
        release = _RHEL_PLATFORM.match(platform)
        if release is None:
            return None
        qualifiers["distro"] = f"rhel-{release.group(1)}"
    versioned = parsed._replace(version=parsed.version or "0", qualifiers=qualifiers or None).to_string()
    ref = package_for_purl(versioned)
    return (ref.ecosystem, ref.name) if isinstance(ref, PackageRef) else None


_RHEL_PLATFORM = re.compile(r"cpe:/[ao]:redhat:enterprise_linux:(\d+)(?::|$)")


def record_ecosystem(advisory: Advisory, keys: Sequence[PackageKey | None] = ()) -> str:
    """The one base ecosystem a record is counted under (see ``store.tables.advisories.Advisory``)."""
    for affected in advisory.affected:
        if affected.ecosystem:
            return affected.ecosystem.split(":", 1)[0]
    for key in keys:
        if key is not None:
            return key[0].split(":", 1)[0]
    return NO_ECOSYSTEM


# --- import -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class EcosystemCounts:
    """What an import did with the records of one ecosystem. ``withdrawn`` counts records read that
    are withdrawn, whichever of created/updated/unchanged they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0


@dataclass(slots=True)
class ImportResult:
    """The outcome of one import (one transaction).

    ``duplicates``: the same id read twice in one import (the first copy, or a newer one, is kept);
    ``older``: records older than the stored copy, not written; ``regrouped``: stored records (not
    created by this import) whose alias group changed; ``changed_keys``: package keys to re-match.
    """

    source: str
    by_ecosystem: dict[str, EcosystemCounts] = field(default_factory=dict)
    skip_reasons: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    older: int = 0
    regrouped: int = 0
    changed_keys: frozenset[PackageKey] = frozenset()

    def _total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.by_ecosystem.values())

    @property
    def created(self) -> int:
        return self._total("created")

    @property
    def updated(self) -> int:
        return self._total("updated")

    @property
    def unchanged(self) -> int:
        return self._total("unchanged")

    @property
    def withdrawn(self) -> int:
        return self._total("withdrawn")

    @property
    def skipped(self) -> int:
        return sum(self.skip_reasons.values())

    @property
    def changes(self) -> int:
        """Records written (created or updated): 0 for a re-import of the same data."""
        return self.created + self.updated

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view (what the CLI's ``--json`` prints and the golden file pins)."""
        return {
            "source": self.source,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "older": self.older,
            "regrouped": self.regrouped,
            "changed_keys": len(self.changed_keys),
            "by_ecosystem": {eco: asdict(c) for eco, c in sorted(self.by_ecosystem.items())},
            "skip_reasons": dict(sorted(self.skip_reasons.items())),
        }


@dataclass(slots=True)
class _Prepared:
    advisory: dict[str, Any]
    affected: list[dict[str, Any]]  # without advisory_pk, filled after the upsert
    keys: set[PackageKey]


def _parse_time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise AdvisoryError(what, str(exc)) from None


class _RawCache:
    """CSAF records of one document share their raw dict: compress it once, not once per record."""

    def __init__(self) -> None:
        self._last: tuple[int, bytes] | None = None

    def compress(self, raw: dict[str, Any]) -> bytes:
        if self._last is not None and self._last[0] == id(raw):
            return self._last[1]
        blob = zlib.compress(
            json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), _RAW_LEVEL
        )
        self._last = (id(raw), blob)
        return blob


def _prepare(
    advisory: Advisory,
    *,
    modified_at: datetime,
    keys: list[PackageKey | None],
    ecosystem: str,
    origin: str,
    now: datetime,
    raw: _RawCache,
) -> _Prepared:
    best = sev.best(advisory.severity)
    row = {
        "source": advisory.source,
        "advisory_id": advisory.id,
        "modified": advisory.modified,
        "modified_at": modified_at,
        "published_at": _parse_time(advisory.published, "published"),
        "withdrawn_at": _parse_time(advisory.withdrawn, "withdrawn"),
        "summary": advisory.summary,
        "ecosystem": ecosystem,
        "aliases": list(advisory.aliases),
        "related": list(advisory.related),
        # Provisional: the alias closure over all records replaces it before the transaction ends.
        "group_key": advisory.id if advisory.withdrawn else group_key((advisory.id, *advisory.aliases)),
        "severity": [asdict(s) for s in advisory.severity],
        "severity_score": best.score if best else None,
        "severity_rating": best.rating if best else None,
        "exploited": advisory.exploited,
        "fix_available_at": _parse_time(advisory.fix_available_at, "fix_available_at"),
        "fix_available_source": advisory.fix_available_source,
        "origin": origin,
        "raw": raw.compress(advisory.raw),
        "imported_at": now,
    }
    affected_rows = [
        {
            "position": position,
            "ecosystem": affected.ecosystem,
            "name": affected.name,
            "purl": affected.purl,
            "eco_key": key[0] if key else None,
            "name_key": key[1] if key else None,
            "data": affected_data(affected),
        }
        for position, (affected, key) in enumerate(zip(advisory.affected, keys, strict=True))
    ]
    return _Prepared(row, affected_rows, {k for k in keys if k is not None})


def _write_batch(
    conn: Conn, batch: Sequence[_Prepared], updated_pks: set[int]
) -> tuple[dict[str, int], set[PackageKey]]:
    """Upsert one batch; returns id → primary key, and the keys the replaced affected rows named."""
    old_keys = q.affected_keys(conn, updated_pks)
    q.delete_affected(conn, updated_pks)
    pks = q.upsert_advisories(conn, [p.advisory for p in batch])
    affected_rows: list[dict[str, Any]] = []
    for prepared in batch:
        pk = pks[prepared.advisory["advisory_id"]]
        affected_rows.extend({**row, "advisory_pk": pk} for row in prepared.affected)
    q.insert_affected(conn, affected_rows)
    return pks, old_keys


class _Importer:
    """The state of one import while its records stream through (see :func:`import_advisories`)."""

    def __init__(self, conn: Conn, *, source: str, origin: str, batch_size: int) -> None:
        self.conn = conn
        self.source = source
        self.origin = origin
        self.batch_size = batch_size
        self.result = ImportResult(source=source)
        self.skip_reasons: Counter[str] = Counter()
        self.skips: dict[str, dict[str, Any]] = {}
        self.stored = q.stored_versions(conn, source)
        self.now = datetime.now(UTC)
        self.raw = _RawCache()
        self.seen: dict[str, datetime] = {}  # id → modified of the copy kept in this import
        self.batch: dict[str, _Prepared] = {}
        self.updated_pks: set[int] = set()
        self.written: dict[str, int] = {}  # id → primary key of records written by this import
        self.created: set[str] = set()
        self.imported: set[str] = set()  # ids stored or found unchanged: earlier skips of them are void
        self.changed: set[PackageKey] = set()

    def skip(self, ref: str, record_id: str | None, reason: str) -> None:
        self.skip_reasons[reason] += 1
        self.skips[ref] = {
            "source": self.source,
            "origin": ref,
            "advisory_id": record_id,
            "reason": reason,
            "skipped_at": self.now,
        }

    def add(self, item: Advisory | Skipped) -> None:
        if isinstance(item, Skipped):
            self.skip(item.source_ref, item.id, item.reason)
            return
        if item.source != self.source:
            raise AdvisoryError(
                item.id, f"a record of source {item.source!r} in an import of {self.source!r}"
            )
        ref = f"{self.origin or self.source}#{item.id}"
        try:
            modified_at = parse_timestamp(item.modified)
        except ValueError as exc:
            self.skip(ref, item.id, f"modified: {exc}")
            return
        keys = [affected_key(a) for a in item.affected]
        ecosystem = record_ecosystem(item, keys)
        counts = self.result.by_ecosystem.setdefault(ecosystem, EcosystemCounts())
        earlier = self.seen.get(item.id)
        if earlier is not None:
            if modified_at <= earlier:
                self.result.duplicates += 1
                return
        else:
            held = self.stored.get(item.id)
            if held is not None and (held.modified == item.modified or modified_at <= held.modified_at):
                if modified_at < held.modified_at:
                    self.result.older += 1
                else:
                    counts.unchanged += 1
                    counts.withdrawn += item.withdrawn is not None
                self.seen[item.id] = held.modified_at
                self.imported.add(item.id)
                return
        try:
            prepared = _prepare(
                item,
                modified_at=modified_at,
                keys=keys,
                ecosystem=ecosystem,
                origin=self.origin,
                now=self.now,
                raw=self.raw,
            )
        except AdvisoryError as exc:
            self.skip(ref, item.id, f"{exc.source}: {exc.problem}")
            return
        self.seen[item.id] = modified_at
        if earlier is not None:
            # A newer copy of a record read earlier in this same import replaces that copy; it was
            # counted once already.
            self.result.duplicates += 1
            if item.id in self.written:
                self.updated_pks.add(self.written[item.id])
        else:
            held = self.stored.get(item.id)
            if held is not None:
                counts.updated += 1
                self.updated_pks.add(held.pk)
            else:
                counts.created += 1
                self.created.add(item.id)
            counts.withdrawn += item.withdrawn is not None
        self.changed.update(prepared.keys)
        self.imported.add(item.id)
        self.batch[item.id] = prepared
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.batch and not self.updated_pks:
            return
        pks, old_keys = _write_batch(self.conn, list(self.batch.values()), self.updated_pks)
        self.written.update(pks)
        self.changed.update(old_keys)
        self.batch.clear()
        self.updated_pks.clear()

    def finish(self) -> ImportResult:
        self.flush()
        # Earlier skips of records now stored are void; skips of this import stay, even when another
        # copy of the same id imported (the broken copy is still worth reporting).
        q.clear_skips(self.conn, self.source, self.imported)
        q.upsert_skips(self.conn, list(self.skips.values()))
        created_pks = {self.written[i] for i in self.created}
        regrouped_keys, regrouped = _regroup(self.conn, exclude_pks=created_pks)
        self.changed.update(regrouped_keys)
        self.result.regrouped = regrouped
        self.result.skip_reasons = dict(self.skip_reasons)
        self.result.changed_keys = frozenset(self.changed)
        return self.result


def import_advisories(
    db: Database,
    records: Iterable[Advisory | Skipped],
    *,
    source: str,
    origin: str = "",
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> ImportResult:
    """Store ``records`` of one ``source`` in one transaction (see the module docstring for the rules).

    ``origin`` names where the records came from (the path or URL given) and is stored on every written
    record. ``progress`` is called now and then with the number of records handled so far. Any error —
    of the source as a whole (an unreadable zip) or of the database — rolls the whole import back.
    A record of another source than ``source`` is refused with an AdvisoryError.
    """
    with db.begin() as conn:
        importer = _Importer(conn, source=source, origin=origin, batch_size=batch_size)
        handled = 0
        for item in records:
            importer.add(item)
            handled += 1
            if progress is not None and handled % 100 == 0:
                progress(handled)
        result = importer.finish()
        if progress is not None:
            progress(handled)
    return result


def _regroup(conn: Conn, *, exclude_pks: set[int]) -> tuple[set[PackageKey], int]:
    """Recompute the alias closure over every stored record; update ``group_key`` where it changed.

    Returns the package keys of stored records whose group changed (their exposures are counted under
    another vulnerability now) and how many such records there were, not counting ``exclude_pks`` (the
    records this import created, whose key was provisional).
    """
    rows = q.alias_rows(conn)
    groups = alias_groups(
        Advisory(
            id=r.advisory_id,
            source="",
            modified="",
            withdrawn="withdrawn" if r.withdrawn else None,
            aliases=r.aliases,
        )
        for r in rows
    )
    index = group_index(groups)
    changes = [(row.pk, index[row.advisory_id]) for row in rows if index[row.advisory_id] != row.group_key]
    q.update_group_keys(conn, changes)
    regrouped = [pk for pk, _ in changes if pk not in exclude_pks]
    return q.affected_keys(conn, regrouped), len(regrouped)


# --- KEV and EPSS -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedImportResult:
    """What a KEV or EPSS import did: ``changed`` False means the stored copy was already this one."""

    feed: str  # "kev" | "epss"
    changed: bool
    entries: int
    version: str | None  # KEV catalog version, EPSS model version
    date: str | None  # KEV dateReleased, EPSS score date


def _day(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)


def _store_feed(
    db: Database,
    feed: str,
    rows: Callable[[datetime], list[dict[str, Any]]],
    replace: Callable[[Conn, Sequence[dict[str, Any]]], None],
    *,
    validators: Validators,
    version: str | None,
) -> bool:
    """Replace a feed's table unless its content hash is the stored one; keep the validators either way.

    ``rows(fetched_at)`` builds the table's rows; ``fetched_at`` is the time stored as the feed's."""
    fetched_at = datetime.now(UTC)
    with db.begin() as conn:
        held = q.get_feed_state(conn, feed)
        changed = held is None or held.sha256 != validators.sha256
        if changed:
            replace(conn, rows(fetched_at))
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


def import_kev(
    db: Database, data: bytes, *, origin: str, validators: Validators | None = None
) -> FeedImportResult:
    """Parse a KEV catalog (JSON bytes) and make it the stored one, in one transaction.

    A catalog whose bytes hash to the stored SHA-256 rewrites nothing. ``validators`` are the HTTP ones
    of the download (a file import has none).
    """
    catalog: KevCatalog = parse_kev(data, origin=origin)
    kept = _kept_validators(data, validators)

    def rows(fetched_at: datetime) -> list[dict[str, Any]]:
        # The catalog has listed a CVE twice before; the later entry is the correction.
        by_cve = {
            e.cve_id: {
                "cve_id": e.cve_id,
                "date_added": _day(e.date_added),
                "due_date": _day(e.due_date) if e.due_date else None,
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

    changed = _store_feed(db, KEV, rows, q.replace_kev, validators=kept, version=catalog.catalog_version)
    return FeedImportResult(
        KEV, changed, len(catalog.entries), catalog.catalog_version, catalog.date_released
    )


def import_epss(
    db: Database, data: bytes, *, origin: str, validators: Validators | None = None
) -> FeedImportResult:
    """Parse an EPSS score file (CSV, gzipped or not) and make it the stored one, in one transaction."""
    feed: EpssFeed = parse_epss(data, origin=origin)
    kept = _kept_validators(data, validators)

    def rows(fetched_at: datetime) -> list[dict[str, Any]]:
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

    changed = _store_feed(db, EPSS, rows, q.replace_epss, validators=kept, version=feed.model_version)
    return FeedImportResult(EPSS, changed, len(feed.scores), feed.model_version, feed.score_date)


# --- paths: detection and reading ---------------------------------------------------------------------

SourceName = Literal["osv", "akrites", "csaf", "kev", "epss"]
SOURCES: tuple[SourceName, ...] = ("osv", "akrites", "csaf", "kev", "epss")
# How many record files detection reads from a directory or zip before deciding.
DETECT_SAMPLE = 50


def _classify(obj: Any) -> SourceName | None:
    """The source one loaded document belongs to, or None when it says nothing (not an object)."""
    if not isinstance(obj, dict):
        return None
    document = obj.get("document")
    if isinstance(document, dict) and "csaf_version" in document:
        return "csaf"
    if "catalogVersion" in obj and isinstance(obj.get("vulnerabilities"), list):
        return "kev"
    specific = obj.get("database_specific")
    if (isinstance(specific, dict) and "akrites" in specific) or str(obj.get("id", "")).startswith(
        "AKRITES-"
    ):
        return "akrites"
    return "osv"


def _sample_documents(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        for found in islice(OsvDirectory(path).files(), DETECT_SAMPLE):
            yield found.name, found.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".json")][:DETECT_SAMPLE]
            for name in names:
                with zf.open(name) as handle:
                    yield name, handle.read(_DETECT_MAX_BYTES)
    else:
        with path.open("rb") as handle:
            yield path.name, handle.read(_DETECT_MAX_BYTES)


_DETECT_MAX_BYTES = 64 * 1024 * 1024


def detect_source(path: Path) -> SourceName:
    """Which source a path holds, when that is unambiguous; else an AdvisoryError asking for --source.

    A CSAF document has ``document.csaf_version``; a KEV catalog ``catalogVersion`` and
    ``vulnerabilities``; a ``.csv``/``.csv.gz`` file is EPSS; Akrites records carry
    ``database_specific.akrites`` (or an ``AKRITES-`` id); any other OSV-shaped record is OSV. Directories
    and zips are judged by their first record files (sorted order), which must agree.
    """
    if not path.exists():
        raise AdvisoryError(str(path), "no such file or directory")
    if path.is_file() and path.name.lower().endswith((".csv", ".csv.gz")):
        return "epss"  # the only CSV source; the EPSS parser says precisely what is wrong with a bad one
    found: set[SourceName] = set()
    try:
        for name, data in _sample_documents(path):
            try:
                kind = _classify(load_record(data, name=name))
            except (ValueError, UnicodeDecodeError):
                continue
            if kind is not None:
                found.add(kind)
    except (OSError, zipfile.BadZipFile) as exc:
        raise AdvisoryError(str(path), f"cannot be read: {exc}") from None
    if len(found) == 1:
        return found.pop()
    if not found:
        raise AdvisoryError(str(path), "holds no advisory records to detect the source from; pass --source")
    # Akrites records are OSV records too: a feed folder may hold plain ones beside them.
    if found == {"osv", "akrites"}:
        return "akrites"
    raise AdvisoryError(str(path), f"holds several sources ({', '.join(sorted(found))}); pass --source")


def _single_file(path: Path, parse: Callable[[Any, str], Advisory]) -> Iterator[Advisory | Skipped]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdvisoryError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    yield parse_or_skip(data, name=path.name, origin=str(path), parse=parse)


def open_path(path: Path, source: SourceName) -> Iterator[Advisory | Skipped]:
    """The records of one path (directory, ``.zip`` export or single file) as ``source`` reads them."""
    if not path.exists():
        raise AdvisoryError(str(path), "no such file or directory")
    if source == "csaf":
        return CsafSource(path).records()
    parse = parse_akrites_record if source == "akrites" else osv_parser(source=OSV)
    if source not in ("osv", "akrites"):
        raise AdvisoryError(str(path), f"{source} is a feed file, not advisory records")
    if path.is_dir():
        return OsvDirectory(path, name=source, parse=parse).records()
    if path.suffix.lower() == ".zip":
        return OsvZip(path, name=source, parse=parse).records()
    if path.suffix.lower() in RECORD_SUFFIXES:
        return _single_file(path, parse)
    raise AdvisoryError(str(path), "neither a directory, a .zip export nor a .json/.yaml record")


def count_files(path: Path, source: SourceName) -> int | None:
    """How many records a path will yield, when that is known cheaply (one record per OSV file)."""
    if source not in ("osv", "akrites"):
        return None
    if path.is_dir():
        return sum(1 for _ in OsvDirectory(path).files())
    return 1 if path.is_file() and path.suffix.lower() in RECORD_SUFFIXES else None


# --- sync over HTTP -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OsvSyncSummary:
    queried: int  # package versions asked about
    ids: int  # distinct advisory ids the API named
    fetched: int  # records hydrated (new or newer than ours)
    result: ImportResult


def sync_osv(
    db: Database, http: HttpClient, *, base_url: str = DEFAULT_BASE_URL, progress: Progress | None = None
) -> OsvSyncSummary:
    """Ask the OSV API about every stored package version, fetch new or changed records, import them."""
    with db.connect() as conn:
        versions = package_queries.deployed_package_versions(conn)
        known = q.known_modified(conn, OSV)
    queries = [OsvQuery(ecosystem=e, name=n, version=v) for e, n, v in versions]
    client = OsvApiClient(http, base_url=base_url)
    synced = client.sync(queries, known)
    ids = {ref.id for r in synced.results for ref in r.vulns}
    records: list[Advisory | Skipped] = [*synced.hydration.advisories, *synced.hydration.skipped]
    result = import_advisories(db, records, source=OSV, origin=base_url, progress=progress)
    return OsvSyncSummary(len(queries), len(ids), len(synced.hydration.advisories), result)


def _validators(db: Database, feed: str) -> Validators | None:
    with db.connect() as conn:
        held = q.get_feed_state(conn, feed)
    return Validators(held.etag, held.last_modified, held.sha256) if held else None


def sync_kev(db: Database, http: HttpClient, *, url: str = KEV_URL) -> FeedImportResult:
    """Conditionally download the KEV catalog; import it when it changed."""
    download = fetch_kev(http, url, _validators(db, KEV))
    if not download.changed:
        _touch_feed(db, KEV, download.validators)
        return _unchanged_feed(db, KEV)
    return import_kev(db, download.content, origin=url, validators=download.validators)


def sync_epss(db: Database, http: HttpClient, *, url: str = EPSS_URL) -> FeedImportResult:
    """Conditionally download the EPSS scores; import them when they changed."""
    download = fetch_epss(http, url, _validators(db, EPSS))
    if not download.changed:
        _touch_feed(db, EPSS, download.validators)
        return _unchanged_feed(db, EPSS)
    return import_epss(db, download.content, origin=url, validators=download.validators)


def _touch_feed(db: Database, feed: str, validators: Validators) -> None:
    """Remember new validators (a 304 may carry a fresh ETag) and when the feed was last checked."""
    with db.begin() as conn:
        held = q.get_feed_state(conn, feed)
        q.put_feed_state(
            conn,
            q.FeedStateRow(
                name=feed,
                etag=validators.etag,
                last_modified=validators.last_modified,
                sha256=validators.sha256,
                version=held.version if held else None,
                cursor=held.cursor if held else None,
                fetched_at=datetime.now(UTC),
            ),
        )


def _unchanged_feed(db: Database, feed: str) -> FeedImportResult:
    with db.connect() as conn:
        stats = q.advisory_stats(conn)
    summary = stats.kev if feed == KEV else stats.epss
    return FeedImportResult(feed, False, summary.entries, summary.version, summary.date)


@dataclass(frozen=True, slots=True)
class FeedSyncSummary:
    """A record feed sync (CSAF provider, Akrites index): what was listed and what the import did."""

    listed: int
    fetched: int
    result: ImportResult | None  # None when the feed said nothing changed


def sync_csaf(
    db: Database, http: HttpClient, *, url: str, progress: Progress | None = None
) -> FeedSyncSummary:
    """Fetch the documents a CSAF provider (``provider-metadata.json`` at ``url``) updated since last time."""
    feed = f"csaf:{url}"
    with db.connect() as conn:
        held = q.get_feed_state(conn, feed)
    synced = CsafProvider(http, url).sync(since=held.cursor if held else None)
    records: list[Advisory | Skipped] = list(synced.skipped)
    for doc in synced.documents:
        try:
            records.extend(parse_csaf(doc.document, origin=doc.ref.url))
        except AdvisoryError as exc:
            records.append(Skipped(doc.ref.url, None, exc.problem))
    result = import_advisories(db, records, source=CSAF, origin=url, progress=progress)
    with db.begin() as conn:
        q.put_feed_state(
            conn,
            q.FeedStateRow(feed, None, None, None, None, synced.newest, datetime.now(UTC)),
        )
    return FeedSyncSummary(synced.listed, len(synced.documents), result)


def sync_akrites(
    db: Database, http: HttpClient, *, url: str, progress: Progress | None = None
) -> FeedSyncSummary:
    """Read an Akrites HTTP index (``url``), fetch new or changed records, import them."""
    feed = f"akrites:{url}"
    with db.connect() as conn:
        known = q.known_modified(conn, AKRITES)
        held = q.get_feed_state(conn, feed)
    previous = Validators(held.etag, held.last_modified, held.sha256) if held else None
    synced = AkritesHttpFeed(http, url).sync(known, previous)
    result: ImportResult | None = None
    if synced.index.changed:
        records: list[Advisory | Skipped] = [*synced.advisories, *synced.skipped]
        result = import_advisories(db, records, source=AKRITES, origin=url, progress=progress)
    validators = synced.index.validators
    with db.begin() as conn:
        q.put_feed_state(
            conn,
            q.FeedStateRow(
                feed,
                validators.etag,
                validators.last_modified,
                validators.sha256,
                None,
                None,
                datetime.now(UTC),
            ),
        )
    return FeedSyncSummary(
        len(known) if result is None else synced.unchanged + len(synced.advisories),
        len(synced.advisories),
        result,
    )


# --- show ------------------------------------------------------------------------------------------------


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
        """The record's ``details`` text (OSV-shaped sources; CSAF notes are not one text)."""
        if record.source == CSAF:
            return ""
        found = json.loads(zlib.decompress(record.raw)).get("details")
        return found.strip() if isinstance(found, str) else ""


def show_advisory(db: Database, identifier: str) -> AdvisoryShow:
    """The records of the alias groups ``identifier`` names (a record id, an alias or a group key),
    with KEV/EPSS facts of their CVEs and the affected packages; raises NotFoundError when none."""
    with db.connect() as conn:
        keys = q.group_keys_for(conn, identifier)
        if not keys:
            raise NotFoundError(f"{identifier}: no stored advisory has this id or alias")
        records = q.advisories_in_groups(conn, keys)
        affected = q.affected_of(conn, [r.pk for r in records])
        members = sorted({r.advisory_id for r in records} | {a for r in records for a in r.aliases})
        cves = [m for m in members if m.startswith("CVE-")]
        kev = q.kev_entries(conn, cves)
        epss = q.epss_for(conn, cves)
    return AdvisoryShow(identifier, keys, records, affected, kev, epss)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


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
                "date_added": _iso(k.date_added),
                "due_date": _iso(k.due_date),
                "known_ransomware": k.known_ransomware,
                "vendor": k.vendor,
                "product": k.product,
                "name": k.name,
                "catalog_version": k.catalog_version,
                "listed_since": _iso(k.listed_since),
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
                "published": _iso(r.published_at),
                "modified": r.modified,
                "withdrawn": _iso(r.withdrawn_at),
                "severity": r.severity,
                "severity_score": r.severity_score,
                "severity_rating": r.severity_rating,
                "exploited": r.exploited,
                "fix_available_at": _iso(r.fix_available_at),
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
