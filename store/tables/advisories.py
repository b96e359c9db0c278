"""Advisory tables: normalized records from every source, their affected packages, KEV, EPSS, feed state.

Raw records are kept (zlib-compressed JSON) beside what was derived from them, so re-deriving never
needs a re-fetch. ``Advisory`` is unique by ``(source, advisory_id)``: the same CVE from OSV and from a
CSAF provider are two rows that share one ``group_key`` (the alias closure), and reports count groups.
``AffectedPackageRow`` carries the key deployed packages are indexed by (``eco_key``, ``name_key``),
so re-matching after an advisory changes touches only the package versions it names.

Rows are written by the advisory import through ``store.queries.advisories`` (set-based upserts); a
withdrawn record keeps its rows with ``withdrawn_at`` set and must match nothing. The ``data`` column of
``AffectedPackageRow`` is written by :func:`affected_data` and read back by :func:`affected_from_row`,
kept here beside the shape they encode: fleet matching rebuilds the records it evaluates from stored
rows with them, so they import nothing but ``core`` and this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.advisories import AffectedPackage, AffectedRange, Event, EventKind
from core.time import utcnow
from store.tables.base import UTCDateTime


class Advisory(SQLModel, table=True):
    """One normalized record of one source (``core.advisories.Advisory``), with its raw JSON."""

    __tablename__ = "advisory"
    __table_args__ = (sa.UniqueConstraint("source", "advisory_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=sa.String(50), nullable=False)
    advisory_id: str = Field(sa_type=sa.String(255), nullable=False, index=True)
    # As published (RFC 3339 string), and parsed for ordering/incremental sync.
    modified: str = Field(sa_type=sa.String(64), nullable=False)
    modified_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    summary: str = Field(default="", sa_type=sa.Text(), nullable=False)
    # The base ecosystem (no ``:release`` suffix) of the record's first affected package, which is the one
    # OSV lists first; for CSAF the ecosystem its first purl maps to; "(none)" without any. One label per
    # record, so that per-ecosystem counts add up to the number of records.
    ecosystem: str = Field(default="(none)", sa_type=sa.String(100), nullable=False)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    related: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    # The vulnerability group (alias closure) this record belongs to: the CVE when there is one.
    group_key: str = Field(sa_type=sa.String(255), nullable=False, index=True)
    severity: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    severity_score: float | None = Field(default=None)
    severity_rating: str | None = Field(default=None, sa_type=sa.String(20))
    exploited: bool = Field(default=False, nullable=False)
    fix_available_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fix_available_source: str | None = Field(default=None, sa_type=sa.String(20))
    # When the flaw was disclosed, where the source says (Akrites ``disclosed_at``; a CSAF vulnerability's
    # ``discovery_date``, else its document's ``initial_release_date``): where upstream's part begins.
    disclosed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Akrites ``last_resort_maintainer``: the package is abandoned upstream, the fix came from Akrites.
    last_resort_maintainer: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    origin: str = Field(default="", sa_type=sa.Text(), nullable=False)  # file, zip entry or URL it came from
    raw: bytes = Field(sa_type=sa.LargeBinary(), nullable=False)  # zlib-compressed JSON of the record
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AffectedPackageRow(SQLModel, table=True):
    """One ``affected[]`` entry of an advisory, with the ranges and versions the matcher evaluates.

    ``ecosystem``/``name``/``purl`` are the entry's package as published (CSAF entries have no
    ecosystem, only a purl without version). ``eco_key``/``name_key`` are ``matcher.index.key_of`` of
    the entry — for CSAF entries the ecosystem and name ``matcher.purls.purl_key`` maps the purl to —
    and NULL when it names no package a deployed one can meet. ``data`` is exactly::

        {"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}],
                     "repo": "…"}],            # "repo" only when the range has one
         "versions": ["1.0", "1.1"],           # enumerated affected versions, possibly empty
         "ecosystem_specific": {…},            # only when the entry has it
         "database_specific": {…}}             # only when the entry has it

    with events in published order, one key each (``introduced``/``fixed``/``last_affected``/``limit``).
    :func:`affected_data` writes it; :func:`affected_from_row` turns a row back into the
    ``core.advisories.AffectedPackage`` it was stored from.
    """

    __tablename__ = "affected_package"
    __table_args__ = (
        sa.UniqueConstraint("advisory_pk", "position"),
        # Matching looks advisories up by the deployed-package key.
        sa.Index(None, "eco_key", "name_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    advisory_pk: int = Field(
        sa_column=sa.Column(sa.ForeignKey("advisory.id", ondelete="CASCADE"), nullable=False)
    )
    position: int = Field(nullable=False)  # index in the record's affected[] list
    ecosystem: str | None = Field(default=None, sa_type=sa.String(255))  # as stated, suffix kept
    name: str | None = Field(default=None, sa_type=sa.Text())
    purl: str | None = Field(default=None, sa_type=sa.Text())
    # The key deployed packages carry (matcher.index.key_of); NULL when it names none we can meet.
    eco_key: str | None = Field(default=None, sa_type=sa.String(255))
    name_key: str | None = Field(default=None, sa_type=sa.Text())
    # Ranges, versions and entry-specific data: shape in the class docstring.
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON(), nullable=False)


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


class KevEntry(SQLModel, table=True):
    """CISA Known Exploited Vulnerabilities: one row per CVE of the latest imported catalog."""

    __tablename__ = "kev_entry"

    cve_id: str = Field(sa_type=sa.String(50), primary_key=True)
    date_added: datetime = Field(sa_type=UTCDateTime, nullable=False)
    due_date: datetime | None = Field(default=None, sa_type=UTCDateTime)
    known_ransomware: bool = Field(default=False, nullable=False)
    vendor: str = Field(default="", sa_type=sa.Text(), nullable=False)
    product: str = Field(default="", sa_type=sa.Text(), nullable=False)
    name: str = Field(default="", sa_type=sa.Text(), nullable=False)
    catalog_version: str = Field(default="", sa_type=sa.String(50), nullable=False)
    # When patchgap's stored catalog first listed the CVE (the fetch or import that brought it), kept
    # across the replacements of the table: the CRA register's "exploited known at".
    listed_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EpssScore(SQLModel, table=True):
    """FIRST EPSS: one row per CVE of the latest imported score file."""

    __tablename__ = "epss_score"

    cve_id: str = Field(sa_type=sa.String(50), primary_key=True)
    epss: float = Field(nullable=False)
    percentile: float = Field(nullable=False)
    score_date: str = Field(default="", sa_type=sa.String(40), nullable=False)
    model_version: str = Field(default="", sa_type=sa.String(50), nullable=False)


class FeedState(SQLModel, table=True):
    """What the last sync of a feed saw (ETag, Last-Modified, sha256, version), for conditional fetches."""

    __tablename__ = "feed_state"

    name: str = Field(sa_type=sa.String(255), primary_key=True)  # "kev", "epss", "osv-api", "csaf:<url>" …
    etag: str | None = Field(default=None, sa_type=sa.Text())
    last_modified: str | None = Field(default=None, sa_type=sa.Text())
    sha256: str | None = Field(default=None, sa_type=sa.String(64))
    version: str | None = Field(default=None, sa_type=sa.Text())
    cursor: str | None = Field(default=None, sa_type=sa.Text())  # e.g. newest CSAF document time seen
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RegistryRelease(SQLModel, table=True):
    """What a package registry said about one version (``ingest.registries``): when it was released.

    Keyed like ``package_version`` (the matcher's ecosystem and name key). ``found`` False: the registry
    did not know the version when asked (kept so it is not asked again at once; re-asked after
    ``store.queries.registries.RETRY_NOT_FOUND``). A found release time is never refreshed: it does not
    change. ``url`` is the request that answered, ``fetched_at`` when.
    """

    __tablename__ = "registry_release"

    ecosystem: str = Field(sa_type=sa.String(100), primary_key=True)
    name: str = Field(sa_type=sa.Text(), primary_key=True)
    version: str = Field(sa_type=sa.String(256), primary_key=True)
    found: bool = Field(nullable=False)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    url: str = Field(sa_type=sa.Text(), nullable=False)
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AdvisorySkip(SQLModel, table=True):
    """A record an import skipped, with the reason (schema failure, no package …): ``advisories stats``."""

    __tablename__ = "advisory_skip"
    __table_args__ = (sa.UniqueConstraint("source", "origin"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=sa.String(50), nullable=False)
    origin: str = Field(sa_type=sa.Text(), nullable=False)
    advisory_id: str | None = Field(default=None, sa_type=sa.String(255))
    reason: str = Field(sa_type=sa.Text(), nullable=False)
    skipped_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
