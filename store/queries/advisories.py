"""Queries on the advisory aggregate: records, affected packages, alias groups, KEV, EPSS, feed state.

Import and sync functions take a SQLAlchemy ``Connection`` inside the caller's transaction, so one
import is one transaction however many statements it runs. Writes go in batches:

- advisories are upserted with one ``INSERT … ON CONFLICT (source, advisory_id) DO UPDATE … RETURNING``
  per batch (SQLAlchemy sends the rows as multi-row VALUES on both SQLite and PostgreSQL);
- the affected rows of changed advisories are deleted with one ``DELETE … WHERE advisory_pk IN`` and the
  new ones inserted with one executemany;
- alias-group keys are updated only for the rows whose key changed, in one executemany;
- KEV and EPSS are replaced as a whole (``DELETE`` + executemany) inside the caller's transaction.

Reads that the CLI prints (``show``, ``stats``) are single ``GROUP BY``/``IN`` queries, never a loop of
lookups. The facts exposure reports and the CRA register read per vulnerability group (severity, fix
dates, exploitation, KEV, EPSS) are the last section.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from psycopg import sql as psql
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core.embargo import current_view, is_embargoed
from store.sql import chunks, table_of
from store.sql import dialect_insert as _insert
from store.tables.advisories import (
    Advisory,
    AdvisorySkip,
    AffectedPackageRow,
    EpssScore,
    FeedState,
    KevEntry,
)

ADVISORY = table_of(Advisory)
AFFECTED = table_of(AffectedPackageRow)
KEV = table_of(KevEntry)
EPSS = table_of(EpssScore)
FEED_STATE = table_of(FeedState)
SKIP = table_of(AdvisorySkip)

# Ids per IN (...) list: far below SQLite's 32,766 bound parameters, large enough to be few statements.
IN_CHUNK = 5000

# Ids per IN (...) list of the per-group reads (last section).
_CHUNK = 900

# Columns an upsert rewrites on a changed record: everything but the key.
_UPSERT_COLUMNS = (
    "modified",
    "modified_at",
    "published_at",
    "withdrawn_at",
    "summary",
    "ecosystem",
    "aliases",
    "related",
    "group_key",
    "severity",
    "severity_score",
    "severity_rating",
    "exploited",
    "fix_available_at",
    "fix_available_source",
    "disclosed_at",
    "last_resort_maintainer",
    "origin",
    "raw",
    "imported_at",
)

PackageKey = tuple[str, str]
T = TypeVar("T")


def _unnest_select(
    table: sa.Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> sa.Select[Any]:
    """``SELECT * FROM unnest(:c0, :c1, …)``: every row of a batch in one array parameter per column.

    For PostgreSQL only. psycopg sends a SQLAlchemy executemany as one multi-row VALUES statement whose
    thousands of placeholders psycopg re-parses in Python (measured: 7 s of a 16 s corpus import); array
    parameters keep the statement small and constant.
    """
    json_columns = {name for name in columns if isinstance(table.c[name].type, sa.JSON)}
    arrays = []
    for i, name in enumerate(columns):
        values = [row[name] for row in rows]
        if name in json_columns:
            # Arrays of json do not adapt from Python lists; the text form is cast back below.
            values = [None if v is None else json.dumps(v, separators=(",", ":")) for v in values]
        column_type = sa.Text() if name in json_columns else table.c[name].type
        arrays.append(sa.bindparam(f"c{i}", value=values, type_=postgresql.ARRAY(column_type)))
    unnest = sa.func.unnest(*arrays).table_valued(*(f"c{i}" for i in range(len(columns)))).render_derived()
    return sa.select(
        *(
            sa.cast(unnest.c[f"c{i}"], postgresql.JSON) if name in json_columns else unnest.c[f"c{i}"]
            for i, name in enumerate(columns)
        )
    )


def _bulk_insert(
    conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[postgresql.Insert | sqlite.Insert, list[Mapping[str, Any]] | None]:
    """An INSERT of ``rows`` and the parameters to execute it with (None: the rows are in the statement).

    SQLite gets an executemany (run in C by the driver); PostgreSQL an ``INSERT … SELECT FROM unnest``.
    """
    insert = _insert(conn, table)
    if conn.dialect.name != "postgresql":
        return insert, list(rows)
    columns = list(rows[0])
    return insert.from_select(columns, _unnest_select(table, columns, rows)), None


# --- import -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What the store holds of one record: enough to tell whether an incoming copy is new."""

    pk: int
    modified: str
    modified_at: datetime


def stored_versions(conn: Connection, source: str) -> dict[str, StoredVersion]:
    """Every record of ``source`` by advisory id (one query)."""
    rows = conn.execute(
        sa.select(ADVISORY.c.id, ADVISORY.c.advisory_id, ADVISORY.c.modified, ADVISORY.c.modified_at).where(
            ADVISORY.c.source == source
        )
    )
    return {r.advisory_id: StoredVersion(r.id, r.modified, r.modified_at) for r in rows}


def known_modified(conn: Connection, source: str) -> dict[str, str]:
    """Advisory id → ``modified`` as published, for incremental syncs (which fetch only newer ones)."""
    return {rid: v.modified for rid, v in stored_versions(conn, source).items()}


def upsert_advisories(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert or overwrite advisory rows (all of one source); returns advisory id → primary key."""
    if not rows:
        return {}
    insert, params = _bulk_insert(conn, ADVISORY, rows)
    stmt = insert.on_conflict_do_update(
        index_elements=["source", "advisory_id"],
        set_={name: insert.excluded[name] for name in _UPSERT_COLUMNS},
    ).returning(ADVISORY.c.id, ADVISORY.c.advisory_id)
    result = conn.execute(stmt, params) if params is not None else conn.execute(stmt)
    return {r.advisory_id: r.id for r in result}


def affected_keys(conn: Connection, advisory_pks: Collection[int]) -> set[PackageKey]:
    """The package keys the affected rows of these advisories name."""
    keys: set[PackageKey] = set()
    for chunk in chunks(sorted(advisory_pks), IN_CHUNK):
        rows = conn.execute(
            sa.select(AFFECTED.c.eco_key, AFFECTED.c.name_key)
            .distinct()
            .where(AFFECTED.c.advisory_pk.in_(chunk), AFFECTED.c.eco_key.is_not(None))
        )
        keys.update((r.eco_key, r.name_key) for r in rows)
    return keys


def delete_affected(conn: Connection, advisory_pks: Collection[int]) -> None:
    """Remove the affected rows of these advisories (their match results cascade with them)."""
    for chunk in chunks(sorted(advisory_pks), IN_CHUNK):
        conn.execute(sa.delete(AFFECTED).where(AFFECTED.c.advisory_pk.in_(chunk)))


def insert_affected(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        _execute_bulk(conn, AFFECTED, rows)


def _execute_bulk(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert plain rows (no conflict handling): an executemany on SQLite, ``COPY`` on PostgreSQL.

    COPY rather than ``unnest`` here: psycopg dumps text arrays element by element in Python with a
    regex escape, which took 9 of the 16 s of the corpus import's affected rows (85,000 rows of JSON);
    ``COPY … FROM STDIN`` formats rows in psycopg's C extension, inside the caller's transaction.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(sa.insert(table), list(rows))
        return
    columns = list(rows[0])
    json_columns = {name for name in columns if isinstance(table.c[name].type, sa.JSON)}
    statement = psql.SQL("COPY {} ({}) FROM STDIN").format(
        psql.Identifier(table.name), psql.SQL(", ").join(psql.Identifier(c) for c in columns)
    )
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c], separators=(",", ":"))
                    if c in json_columns and row[c] is not None
                    else row[c]
                    for c in columns
                ]
            )


def upsert_skips(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record skipped records, one row per (source, origin); a later skip of the same origin replaces it."""
    if not rows:
        return
    stmt = _insert(conn, SKIP)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "origin"],
        set_={name: stmt.excluded[name] for name in ("advisory_id", "reason", "skipped_at")},
    )
    conn.execute(stmt, list(rows))


def clear_skips(conn: Connection, source: str, advisory_ids: Collection[str]) -> None:
    """Forget earlier skips of records that have now been imported."""
    for chunk in chunks(sorted(advisory_ids), IN_CHUNK):
        conn.execute(sa.delete(SKIP).where(SKIP.c.source == source, SKIP.c.advisory_id.in_(chunk)))


@dataclass(frozen=True, slots=True)
class AliasRow:
    pk: int
    advisory_id: str
    aliases: tuple[str, ...]
    withdrawn: bool
    group_key: str


def alias_rows(conn: Connection) -> list[AliasRow]:
    """Every stored record's id, aliases and group key: the input of the alias closure."""
    rows = conn.execute(
        sa.select(
            ADVISORY.c.id,
            ADVISORY.c.advisory_id,
            ADVISORY.c.aliases,
            ADVISORY.c.withdrawn_at.is_not(None).label("withdrawn"),
            ADVISORY.c.group_key,
        )
    )
    return [
        AliasRow(r.id, r.advisory_id, tuple(r.aliases or ()), bool(r.withdrawn), r.group_key) for r in rows
    ]


def update_group_keys(conn: Connection, changes: Iterable[tuple[int, str]]) -> None:
    """Set ``group_key`` for the given (primary key, key) pairs in one executemany."""
    params = [{"pk": pk, "key": key} for pk, key in changes]
    if params:
        conn.execute(
            sa.update(ADVISORY)
            .where(ADVISORY.c.id == sa.bindparam("pk"))
            .values(group_key=sa.bindparam("key")),
            params,
        )


# --- KEV, EPSS, feed state ----------------------------------------------------------------------------


def replace_kev(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Make ``rows`` the whole KEV catalog (the caller's transaction makes the swap atomic).

    A CVE the stored catalog already lists keeps its ``listed_since``; the others take the row's."""
    held = {row[0]: row[1] for row in conn.execute(sa.select(KEV.c.cve_id, KEV.c.listed_since))}
    conn.execute(sa.delete(KEV))
    if rows:
        kept = [
            {**row, "listed_since": held[row["cve_id"]]} if held.get(row["cve_id"]) is not None else row
            for row in rows
        ]
        _execute_bulk(conn, KEV, kept)


def replace_epss(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Make ``rows`` the whole EPSS score table."""
    conn.execute(sa.delete(EPSS))
    for chunk in chunks(rows, 50_000):
        _execute_bulk(conn, EPSS, chunk)


@dataclass(frozen=True, slots=True)
class FeedStateRow:
    name: str
    etag: str | None
    last_modified: str | None
    sha256: str | None
    version: str | None
    cursor: str | None
    fetched_at: datetime


def get_feed_state(conn: Connection, name: str) -> FeedStateRow | None:
    row = conn.execute(sa.select(FEED_STATE).where(FEED_STATE.c.name == name)).first()
    return FeedStateRow(**row._mapping) if row is not None else None


def put_feed_state(conn: Connection, state: FeedStateRow) -> None:
    values = {
        "name": state.name,
        "etag": state.etag,
        "last_modified": state.last_modified,
        "sha256": state.sha256,
        "version": state.version,
        "cursor": state.cursor,
        "fetched_at": state.fetched_at,
    }
    stmt = _insert(conn, FEED_STATE).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"], set_={k: stmt.excluded[k] for k in values if k != "name"}
        )
    )


def feed_states(conn: Connection) -> list[FeedStateRow]:
    rows = conn.execute(sa.select(FEED_STATE).order_by(FEED_STATE.c.name))
    return [FeedStateRow(**r._mapping) for r in rows]


def last_import_per_source(conn: Connection) -> dict[str, datetime]:
    """source → when its newest stored record was imported (any record changed by an import or sync)."""
    rows = conn.execute(
        sa.select(ADVISORY.c.source, sa.func.max(ADVISORY.c.imported_at)).group_by(ADVISORY.c.source)
    ).all()
    return {str(source): when for source, when in rows if when is not None}


KEV_FEED = "kev"  # the feed_state name the KEV import keeps its fetch time under


def kev_fetched_at(bind: Session | Connection) -> datetime | None:
    """When the stored KEV catalog was last fetched or imported (``None``: never)."""
    return bind.execute(sa.select(FEED_STATE.c.fetched_at).where(FEED_STATE.c.name == KEV_FEED)).scalar()


# --- show ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdvisoryView:
    pk: int
    source: str
    advisory_id: str
    modified: str
    published_at: datetime | None
    withdrawn_at: datetime | None
    summary: str
    ecosystem: str
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    group_key: str
    severity: list[dict[str, Any]]
    severity_score: float | None
    severity_rating: str | None
    exploited: bool
    fix_available_at: datetime | None
    fix_available_source: str | None
    origin: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class AffectedView:
    advisory_pk: int
    position: int
    ecosystem: str | None
    name: str | None
    purl: str | None
    eco_key: str | None
    name_key: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KevView:
    cve_id: str
    date_added: datetime
    due_date: datetime | None
    known_ransomware: bool
    vendor: str
    product: str
    name: str
    catalog_version: str
    listed_since: datetime | None


@dataclass(frozen=True, slots=True)
class EpssView:
    cve_id: str
    epss: float
    percentile: float
    score_date: str
    model_version: str


def group_keys_for(conn: Connection, identifier: str) -> list[str]:
    """The alias groups an id names: as a record id, a group key, or (failing both) an alias of a record.

    Aliases are stored as a JSON list; the fallback searches its text for the quoted id, which both
    databases render as ``["A", "B"]``, so only whole ids match (an id never contains a quote).
    """
    direct = conn.execute(
        sa.select(ADVISORY.c.group_key)
        .distinct()
        .where(sa.or_(ADVISORY.c.advisory_id == identifier, ADVISORY.c.group_key == identifier))
    ).scalars()
    keys = sorted(set(direct))
    if keys:
        return keys
    pattern = '%"' + identifier.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"%'
    found = conn.execute(
        sa.select(ADVISORY.c.group_key)
        .distinct()
        .where(sa.cast(ADVISORY.c.aliases, sa.Text).like(pattern, escape="\\"))
    ).scalars()
    return sorted(set(found))


def advisories_in_groups(conn: Connection, group_keys: Collection[str]) -> list[AdvisoryView]:
    if not group_keys:
        return []
    rows = conn.execute(
        sa.select(ADVISORY)
        .where(ADVISORY.c.group_key.in_(sorted(group_keys)))
        .order_by(ADVISORY.c.group_key, ADVISORY.c.source, ADVISORY.c.advisory_id)
    )
    return [
        AdvisoryView(
            pk=r.id,
            source=r.source,
            advisory_id=r.advisory_id,
            modified=r.modified,
            published_at=r.published_at,
            withdrawn_at=r.withdrawn_at,
            summary=r.summary,
            ecosystem=r.ecosystem,
            aliases=tuple(r.aliases or ()),
            related=tuple(r.related or ()),
            group_key=r.group_key,
            severity=list(r.severity or ()),
            severity_score=r.severity_score,
            severity_rating=r.severity_rating,
            exploited=r.exploited,
            fix_available_at=r.fix_available_at,
            fix_available_source=r.fix_available_source,
            origin=r.origin,
            raw=r.raw,
        )
        for r in rows
    ]


def affected_of(conn: Connection, advisory_pks: Collection[int]) -> list[AffectedView]:
    out: list[AffectedView] = []
    for chunk in chunks(sorted(advisory_pks), IN_CHUNK):
        rows = conn.execute(
            sa.select(AFFECTED)
            .where(AFFECTED.c.advisory_pk.in_(chunk))
            .order_by(AFFECTED.c.advisory_pk, AFFECTED.c.position)
        )
        out.extend(
            AffectedView(
                r.advisory_pk, r.position, r.ecosystem, r.name, r.purl, r.eco_key, r.name_key, dict(r.data)
            )
            for r in rows
        )
    return out


def kev_entries(bind: Session | Connection, cve_ids: Iterable[str]) -> list[KevView]:
    """The stored KEV entries of these CVEs, by CVE id."""
    out: list[KevView] = []
    for chunk in chunks(sorted(set(cve_ids)), _CHUNK):
        rows = bind.execute(sa.select(KEV).where(KEV.c.cve_id.in_(chunk)).order_by(KEV.c.cve_id))
        out.extend(KevView(**r._mapping) for r in rows)
    return out


def epss_for(conn: Connection, cve_ids: Collection[str]) -> list[EpssView]:
    if not cve_ids:
        return []
    rows = conn.execute(sa.select(EPSS).where(EPSS.c.cve_id.in_(sorted(cve_ids))).order_by(EPSS.c.cve_id))
    return [EpssView(**r._mapping) for r in rows]


# --- stats --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceEcosystemCount:
    source: str
    ecosystem: str
    records: int
    withdrawn: int


@dataclass(frozen=True, slots=True)
class SkipCount:
    source: str
    reason: str
    records: int


@dataclass(frozen=True, slots=True)
class FeedSummary:
    entries: int
    version: str | None  # KEV catalog version, EPSS model version
    date: str | None  # EPSS score date


@dataclass(frozen=True, slots=True)
class AdvisoryStats:
    by_source_ecosystem: list[SourceEcosystemCount]
    skipped: list[SkipCount]
    groups: int
    affected_rows: int
    kev: FeedSummary
    epss: FeedSummary


def advisory_stats(conn: Connection) -> AdvisoryStats:
    """Everything ``patchgap advisories stats`` prints, in a handful of aggregate queries."""
    withdrawn = sa.func.sum(sa.case((ADVISORY.c.withdrawn_at.is_not(None), 1), else_=0))
    by_eco = conn.execute(
        sa.select(ADVISORY.c.source, ADVISORY.c.ecosystem, sa.func.count(), withdrawn)
        .group_by(ADVISORY.c.source, ADVISORY.c.ecosystem)
        .order_by(ADVISORY.c.source, ADVISORY.c.ecosystem)
    ).all()
    skips = conn.execute(
        sa.select(SKIP.c.source, SKIP.c.reason, sa.func.count())
        .group_by(SKIP.c.source, SKIP.c.reason)
        .order_by(SKIP.c.source, sa.func.count().desc(), SKIP.c.reason)
    ).all()
    groups = conn.execute(sa.select(sa.func.count(sa.distinct(ADVISORY.c.group_key)))).scalar_one()
    affected = conn.execute(sa.select(sa.func.count()).select_from(AFFECTED)).scalar_one()
    kev = conn.execute(sa.select(sa.func.count(), sa.func.max(KEV.c.catalog_version)).select_from(KEV)).one()
    epss = conn.execute(
        sa.select(sa.func.count(), sa.func.max(EPSS.c.model_version), sa.func.max(EPSS.c.score_date))
    ).one()
    return AdvisoryStats(
        by_source_ecosystem=[SourceEcosystemCount(s, e, int(n), int(w or 0)) for s, e, n, w in by_eco],
        skipped=[SkipCount(s, r, int(n)) for s, r, n in skips],
        groups=int(groups),
        affected_rows=int(affected),
        kev=FeedSummary(int(kev[0]), kev[1] or None, None),
        epss=FeedSummary(int(epss[0]), epss[1] or None, epss[2] or None),
    )


# --- facts per vulnerability group: exposure reports and the CRA register ------------------------------


def groups_for_ids(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """Vulnerability id (advisory id, alias or group key) → group key, for the ids that name a group.

    Advisory ids and group keys are looked up by index; aliases only in the records whose JSON text
    contains the id (aliases are a JSON list, and VEX documents name few vulnerabilities).
    """
    adv = table_of(Advisory)
    wanted = sorted(set(ids))
    out: dict[str, str] = {}
    for chunk in chunks(wanted, _CHUNK):
        for group in session.execute(sa.select(adv.c.group_key).where(adv.c.group_key.in_(chunk)).distinct()):
            out[group[0]] = group[0]
        stmt = sa.select(adv.c.advisory_id, adv.c.group_key).where(adv.c.advisory_id.in_(chunk))
        for advisory_id, group in session.execute(stmt):
            out.setdefault(advisory_id, group)
    for vuln_id in wanted:
        if vuln_id in out:
            continue
        pattern = f'%"{vuln_id}"%'
        stmt = sa.select(adv.c.group_key, adv.c.aliases).where(sa.cast(adv.c.aliases, sa.Text).like(pattern))
        for group, aliases in session.execute(stmt):
            if vuln_id in (aliases or ()):
                out[vuln_id] = group
                break
    return out


@dataclass(frozen=True, slots=True)
class GroupAdvisory:
    """What one non-withdrawn advisory of a vulnerability group says: its ids, severity, exploitation,
    dates and fix (``pipeline`` folds them into the group's facts and the CRA register's)."""

    group_key: str
    source: str
    advisory_id: str
    aliases: tuple[str, ...]
    summary: str
    severity_score: float | None
    severity_rating: str | None
    exploited: bool
    published_at: datetime | None
    fix_available_at: datetime | None
    fix_available_source: str | None
    imported_at: datetime
    disclosed_at: datetime | None = None
    last_resort_maintainer: bool = False


def _public_part(records: list[T], key: Callable[[T], str], embargoed: Callable[[T], bool]) -> list[T]:
    """``records`` (by group) without the embargoed ones of groups that also have a public record: until
    disclosure such a record adds nothing to a public group (``core.embargo``). A wholly embargoed
    group keeps its records; who may see that group at all is decided where its exposures are read."""
    public_groups = {key(r) for r in records if not embargoed(r)}
    return [r for r in records if not (embargoed(r) and key(r) in public_groups)]


def group_advisories(
    session: Session, groups: Iterable[str], *, now: datetime | None = None
) -> list[GroupAdvisory]:
    """The non-withdrawn advisories of these groups, by group, source and id (embargoed records of
    groups with a public record left out, judged at ``now``: the current view's moment by default)."""
    moment = now if now is not None else current_view().moment()
    adv = table_of(Advisory)
    out: list[GroupAdvisory] = []
    for chunk in chunks(sorted(set(groups)), _CHUNK):
        stmt = sa.select(
            adv.c.group_key,
            adv.c.source,
            adv.c.advisory_id,
            adv.c.aliases,
            adv.c.summary,
            adv.c.severity_score,
            adv.c.severity_rating,
            adv.c.exploited,
            adv.c.published_at,
            adv.c.fix_available_at,
            adv.c.fix_available_source,
            adv.c.imported_at,
            adv.c.disclosed_at,
            adv.c.last_resort_maintainer,
        ).where(adv.c.group_key.in_(chunk), adv.c.withdrawn_at.is_(None))
        for r in session.execute(stmt.order_by(adv.c.group_key, adv.c.source, adv.c.advisory_id)):
            group, source, advisory_id, aliases, summary, *facts, imported_at, disclosed, last_resort = r
            score, rating, exploited, published, fix_at, fix_source = facts
            out.append(
                GroupAdvisory(
                    group, source, advisory_id, tuple(aliases or ()), summary or "", score, rating,
                    bool(exploited), published, fix_at, fix_source, imported_at,
                    disclosed, bool(last_resort),
                )
            )
    return _public_part(out, lambda a: a.group_key, lambda a: is_embargoed(a.source, a.disclosed_at, moment))


def kev_ids(session: Session, cve_ids: Iterable[str]) -> set[str]:
    """The CVE ids among ``cve_ids`` that the KEV catalog lists."""
    kev = table_of(KevEntry)
    out: set[str] = set()
    for chunk in chunks(sorted(set(cve_ids)), _CHUNK):
        out.update(r[0] for r in session.execute(sa.select(kev.c.cve_id).where(kev.c.cve_id.in_(chunk))))
    return out


def epss_scores(session: Session, cve_ids: Iterable[str]) -> dict[str, float]:
    epss = table_of(EpssScore)
    out: dict[str, float] = {}
    for chunk in chunks(sorted(set(cve_ids)), _CHUNK):
        stmt = sa.select(epss.c.cve_id, epss.c.epss).where(epss.c.cve_id.in_(chunk))
        out.update({r[0]: float(r[1]) for r in session.execute(stmt)})
    return out


@dataclass(frozen=True, slots=True)
class GroupText:
    """What an auditor reads first about one non-withdrawn advisory of a group: its summary, its raw
    record as stored (zlib-compressed JSON: OSV-shaped records carry ``details``) and its severity
    statements as stored (``core.advisories.Severity`` fields)."""

    group_key: str
    source: str
    advisory_id: str
    summary: str
    raw: bytes
    severity: tuple[dict[str, Any], ...]


def group_texts(session: Session, groups: Iterable[str], *, now: datetime | None = None) -> list[GroupText]:
    """The summaries, raw records and severity statements of the non-withdrawn advisories of these
    groups, by group, source and id (exports name few groups); embargoed records of groups with a
    public record left out, as :func:`group_advisories` does."""
    moment = now if now is not None else current_view().moment()
    adv = table_of(Advisory)
    out: list[tuple[GroupText, bool]] = []
    for chunk in chunks(sorted(set(groups)), _CHUNK):
        columns = (
            adv.c.group_key,
            adv.c.source,
            adv.c.advisory_id,
            adv.c.summary,
            adv.c.raw,
            adv.c.severity,
            adv.c.disclosed_at,
        )
        stmt = (
            sa.select(*columns)
            .where(adv.c.group_key.in_(chunk), adv.c.withdrawn_at.is_(None))
            .order_by(adv.c.group_key, adv.c.source, adv.c.advisory_id)
        )
        for group, source, advisory_id, summary, raw, severity, disclosed in session.execute(stmt):
            text = GroupText(group, source, advisory_id, summary or "", raw, tuple(severity or ()))
            out.append((text, is_embargoed(source, disclosed, moment)))
    return [t for t, _ in _public_part(out, lambda x: x[0].group_key, lambda x: x[1])]


# --- provenance (the NIS2 evidence pack's sources/advisories.csv) -------------------------------------


@dataclass(frozen=True, slots=True)
class RecordProvenance:
    """The stored records of one source that came from one origin (an import path, a feed URL).

    ``sha256`` covers what is kept of each record: SHA-256 over the lines ``<id>\\t<sha256 of the
    stored raw record (zlib-compressed JSON)>`` in id order, so a record changed in any way changes it.
    ``used``: records in the groups given (the figures' vulnerabilities), withdrawn ones not counted.
    """

    source: str
    origin: str
    records: int
    used: int
    newest_modified: datetime | None
    fetched_at: datetime | None
    sha256: str


def record_provenance(
    conn: Connection, groups: Collection[str], *, public_at: datetime | None = None
) -> list[RecordProvenance]:
    """The stored records per (source, origin): counts, newest change, fetch time, a hash over the
    records; with ``public_at``, Akrites records still under embargo at that moment are left out (an
    export must not show even that they exist)."""
    import hashlib  # noqa: PLC0415 - only the evidence pack needs it

    adv = table_of(Advisory)
    stmt = sa.select(
        adv.c.source,
        adv.c.origin,
        adv.c.advisory_id,
        adv.c.group_key,
        adv.c.withdrawn_at,
        adv.c.modified_at,
        adv.c.imported_at,
        adv.c.raw,
    ).order_by(adv.c.source, adv.c.origin, adv.c.advisory_id)
    if public_at is not None:
        stmt = stmt.where(
            sa.not_(
                sa.and_(
                    adv.c.source == "akrites",
                    adv.c.disclosed_at.is_not(None),
                    adv.c.disclosed_at > public_at,
                )
            )
        )
    wanted = set(groups)
    out: list[RecordProvenance] = []
    key: tuple[str, str] | None = None
    digest = hashlib.sha256()
    records = used = 0
    newest: datetime | None = None
    fetched: datetime | None = None

    def close() -> None:
        if key is not None:
            out.append(RecordProvenance(key[0], key[1], records, used, newest, fetched, digest.hexdigest()))

    for source, origin, advisory_id, group, withdrawn, modified, imported, raw in conn.execution_options(
        yield_per=2000
    ).execute(stmt):
        if (source, origin) != key:
            close()
            key, digest, records, used, newest, fetched = (source, origin), hashlib.sha256(), 0, 0, None, None
        records += 1
        used += withdrawn is None and group in wanted
        newest = modified if newest is None or modified > newest else newest
        fetched = imported if fetched is None or imported > fetched else fetched
        digest.update(f"{advisory_id}\t{hashlib.sha256(raw).hexdigest()}\n".encode())
    close()
    return out


def table_provenance(conn: Connection, cve_ids: Collection[str]) -> dict[str, tuple[int, int, str]]:
    """``kev`` / ``epss`` → (entries, entries among ``cve_ids``, the version the rows state: the KEV
    catalog version, the EPSS model and score date)."""
    out: dict[str, tuple[int, int, str]] = {}
    wanted = sorted(set(cve_ids))
    for name, table, version_columns in (
        ("kev", table_of(KevEntry), ("catalog_version",)),
        ("epss", table_of(EpssScore), ("model_version", "score_date")),
    ):
        total = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        used = 0
        for chunk in chunks(wanted, _CHUNK):
            stmt = sa.select(sa.func.count()).select_from(table).where(table.c.cve_id.in_(chunk))
            used += int(conn.execute(stmt).scalar_one())
        columns = [table.c[c] for c in version_columns]
        row = conn.execute(sa.select(*columns).limit(1)).first()
        version = " ".join(str(v) for v in row if v) if row is not None else ""
        out[name] = (total, used, version)
    return out
