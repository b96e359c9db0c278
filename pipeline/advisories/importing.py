"""Importing advisory records: the records of one source in, stored advisory rows out (issue 3, items 8-10).

:func:`import_advisories` stores the records of one record source (OSV files, the Akrites feed, CSAF
documents, a sync's fetch) in ONE transaction, in batches: records are keyed by ``(source, id)``; a
record whose ``modified`` equals the stored one is not rewritten (so a re-import reports 0 changes), a
record older than the stored copy is not written either, a new or newer one is upserted and its affected
rows replaced (``data`` through :func:`store.tables.advisories.affected_data`). Skipped records are stored
with their reason (``advisory_skip``). Afterwards the alias groups are recomputed over ALL stored records
(``ingest.advisories.aliases``) and ``group_key`` is updated where it changed. The result names the
package keys ``(eco_key, name_key)`` whose advisories were created, changed, withdrawn or regrouped —
only those need re-matching.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.advisories import Advisory
from core.errors import AdvisoryError
from core.text import IDENTIFIER_MAX_CHARS, character_problem, truncate_utf8
from core.time import parse_rfc3339
from ingest.advisories import severity as sev
from ingest.advisories.aliases import alias_groups, group_index, group_key
from ingest.advisories.interface import Skipped
from matcher.index import PackageKey
from pipeline.advisories.keys import affected_key, record_ecosystem, storage_problem
from pipeline.events import announce_exploited_over, exploited_groups_over
from store.db import Conn, Database
from store.queries import advisories as q
from store.tables.advisories import affected_data

DEFAULT_BATCH = 1000
# A skip row's origin (a path, a URL, "<origin>#<id>") is in a unique index: cut to fit PostgreSQL's.
_MAX_SKIP_ORIGIN_BYTES = 1024
# Raw records: zlib level 6, as snapshots use (store.queries); the whole shared corpus (≈110 MB of JSON)
# compresses about 4.4× in well under a second.
_RAW_LEVEL = 6

Progress = Callable[[int], None]


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
        return parse_rfc3339(value)
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
        "disclosed_at": _parse_time(advisory.disclosed_at, "disclosed_at"),
        "last_resort_maintainer": advisory.last_resort_maintainer,
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
        # The skip row names the record as far as its columns hold it: a record skipped for an id too
        # long to store must not fail the import by storing that id here.
        ref = truncate_utf8(ref, _MAX_SKIP_ORIGIN_BYTES)
        if record_id is not None:
            record_id = (
                None if character_problem(record_id, "id") else record_id[:IDENTIFIER_MAX_CHARS]
            )
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
            modified_at = parse_rfc3339(item.modified)
        except ValueError as exc:
            self.skip(ref, item.id, f"modified: {exc}")
            return
        keys = [affected_key(a) for a in item.affected]
        stored = self.stored.get(item.id)
        # A copy already stored as it is fits; anything else is checked before it is counted anywhere.
        if stored is None or stored.modified != item.modified:
            problem = storage_problem(item, keys)
            if problem is not None:
                self.skip(ref, item.id, problem)
                return
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
        # Records may flag a vulnerability exploited: its open exposures are announced with the import.
        exploited_before = exploited_groups_over(conn)
        importer = _Importer(conn, source=source, origin=origin, batch_size=batch_size)
        handled = 0
        for item in records:
            importer.add(item)
            handled += 1
            if progress is not None and handled % 100 == 0:
                progress(handled)
        result = importer.finish()
        announce_exploited_over(conn, exploited_before)
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
