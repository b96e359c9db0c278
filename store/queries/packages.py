"""Queries on package versions and their memoized match results: what is still to match, the advisory
rows a run needs, results, invalidation and counts.

Matching is memoized on distinct package versions (DESIGN.md): ``package_match_state`` has a row for
every package version that has been matched against the advisories as they were then, and
``match_result`` one row per (package version, affected entry) that is ``affected`` or ``unknown``.
So:

- "what is new" is an anti-join (``package_version LEFT JOIN package_match_state … IS NULL``);
- the advisory rows a run needs are only those whose ``(eco_key, name_key)`` is the key of such a
  package version (a semi-join, answered by the ``(eco_key, name_key)`` index), never the whole table;
- a new, changed or withdrawn advisory invalidates the state of the package versions whose
  ``(ecosystem, name)`` it names, and the next run re-matches exactly those.

Withdrawn advisories are filtered here (``withdrawn_at IS NULL``), so they match nothing.
Writes are set-based: one executemany per table, ``ON CONFLICT DO NOTHING`` so that two runs racing
over the same new package versions store one copy of identical results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult
from sqlmodel import Session

from core.time import utcnow
from store.queries.organizations import organization_id
from store.sql import dialect_insert
from store.sql import table_of as _table
from store.tables.advisories import Advisory, AffectedPackageRow
from store.tables.packages import MatchEpoch, MatchResult, PackageMatchState, PackageVersion
from store.tables.systems import ComponentSetMember, NotAssessableComponent, Snapshot, System

PackageKey = tuple[str, str]

#: Keys per ``(ecosystem, name) IN (…)`` statement: 2 bound parameters each, far below every limit.
KEY_BATCH: Final = 400

AFFECTED: Final = "affected"
UNKNOWN: Final = "unknown"
#: The ``match_result.reason`` code (``matcher.ranges.INVALID_VERSION``) counted as "invalid version".
INVALID_VERSION: Final = "invalid-version"


@dataclass(frozen=True, slots=True)
class PendingVersion:
    """A package version to match (or to explain)."""

    id: int
    ecosystem: str
    name: str
    version: str
    purl: str


@dataclass(frozen=True, slots=True)
class AffectedRow:
    """One stored ``affected[]`` entry of a live (not withdrawn) advisory, with its advisory's identity."""

    id: int
    advisory_id: str
    source: str
    group_key: str
    aliases: tuple[str, ...]
    ecosystem: str | None
    name: str | None
    purl: str | None
    eco_key: str
    name_key: str
    position: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MatchAnswer:
    """What a ``match_result`` row says about its package version (``store.tables.packages.MatchResult``).

    Package versions in one slot of the matcher share one answer object; ``store_results`` encodes
    each distinct object once."""

    affected_id: int
    status: str
    range_index: int | None = None
    introduced: str | None = None
    boundary_kind: str | None = None
    boundary_value: str | None = None
    fixed_versions: tuple[str, ...] = ()
    reason: str | None = None
    detail: str = ""


#: A ``match_result`` row to insert: ``(package_version_id, answer)``.
NewMatchResult = tuple[int, MatchAnswer]


@dataclass(frozen=True, slots=True)
class MatchCounts:
    """Totals over a scope (the whole database, or one organization's snapshots)."""

    package_versions: int
    matched: int
    affected_package_versions: int
    unknown_by_reason: dict[str, int]  # reason code -> package versions with such an "unknown"
    vulnerability_groups: int  # distinct groups affecting at least one package version
    affected_pairs: int  # (package version, group) pairs: a group counts once per package version


def _batches(keys: Iterable[PackageKey]) -> Iterable[list[PackageKey]]:
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), KEY_BATCH):
        yield ordered[start : start + KEY_BATCH]


# --- what to match ------------------------------------------------------------------------------


def _unmatched_ids() -> sa.Select[Any]:
    pv, state = _table(PackageVersion), _table(PackageMatchState)
    return (
        sa.select(pv.c.id, pv.c.ecosystem, pv.c.name, pv.c.version, pv.c.purl)
        .select_from(pv.outerjoin(state, state.c.package_version_id == pv.c.id))
        .where(state.c.package_version_id.is_(None))
    )


def unmatched_package_versions(session: Session) -> list[PendingVersion]:
    """Every package version that has no match state yet (never matched, or invalidated)."""
    return [PendingVersion(*row) for row in session.execute(_unmatched_ids())]


def deployed_package_versions(conn: Connection) -> list[tuple[str, str, str]]:
    """Distinct (ecosystem, name, version) of every stored package version: what an OSV sync asks about."""
    pv = _table(PackageVersion)
    rows = conn.execute(
        sa.select(pv.c.ecosystem, pv.c.name, pv.c.version)
        .distinct()
        .order_by(pv.c.ecosystem, pv.c.name, pv.c.version)
    )
    return [(r.ecosystem, r.name, r.version) for r in rows]


def set_package_versions(
    session: Session, set_id: int, ecosystem: str, name: str, purl_prefix: str | None = None
) -> list[PendingVersion]:
    """The package versions of one component set with this key (or whose purl starts with the prefix)."""
    pv, member = _table(PackageVersion), _table(ComponentSetMember)
    same = sa.and_(pv.c.ecosystem == ecosystem, pv.c.name == name)
    if purl_prefix is not None:
        same = sa.or_(same, pv.c.purl.startswith(purl_prefix, autoescape=True))
    stmt = (
        sa.select(pv.c.id, pv.c.ecosystem, pv.c.name, pv.c.version, pv.c.purl)
        .select_from(member.join(pv, pv.c.id == member.c.package_version_id))
        .where(member.c.set_id == set_id, same)
        .order_by(pv.c.ecosystem, pv.c.name, pv.c.version)
    )
    return [PendingVersion(*row) for row in session.execute(stmt)]


def _affected_select() -> sa.Select[Any]:
    ap, adv = _table(AffectedPackageRow), _table(Advisory)
    return (
        sa.select(
            ap.c.id,
            adv.c.advisory_id,
            adv.c.source,
            adv.c.group_key,
            adv.c.aliases,
            ap.c.ecosystem,
            ap.c.name,
            ap.c.purl,
            ap.c.eco_key,
            ap.c.name_key,
            ap.c.position,
            ap.c.data,
        )
        .select_from(ap.join(adv, adv.c.id == ap.c.advisory_pk))
        .where(adv.c.withdrawn_at.is_(None), ap.c.eco_key.is_not(None), ap.c.name_key.is_not(None))
    )


def _affected_rows(session: Session, stmt: sa.Select[Any]) -> list[AffectedRow]:
    ap = _table(AffectedPackageRow)
    ordered = stmt.order_by(ap.c.eco_key, ap.c.name_key, ap.c.id)
    return [
        AffectedRow(
            id=row[0],
            advisory_id=row[1],
            source=row[2],
            group_key=row[3],
            aliases=tuple(row[4] or ()),
            ecosystem=row[5],
            name=row[6],
            purl=row[7],
            eco_key=row[8],
            name_key=row[9],
            position=row[10],
            data=row[11] or {},
        )
        for row in session.execute(ordered)
    ]


def affected_rows_for_keys(session: Session, keys: Iterable[PackageKey]) -> list[AffectedRow]:
    """The live advisory entries naming any of ``keys`` (batched ``IN`` on the key index)."""
    ap = _table(AffectedPackageRow)
    rows: list[AffectedRow] = []
    for batch in _batches(keys):
        stmt = _affected_select().where(sa.tuple_(ap.c.eco_key, ap.c.name_key).in_(batch))
        rows.extend(_affected_rows(session, stmt))
    return rows


# --- invalidation and storage -------------------------------------------------------------------


def invalidate_keys(session: Session, keys: Iterable[PackageKey]) -> int:
    """Forget the results and match state of every package version named by ``keys``; how many."""
    pv, state, result = _table(PackageVersion), _table(PackageMatchState), _table(MatchResult)
    invalidated = 0
    for batch in _batches(keys):
        ids = sa.select(pv.c.id).where(sa.tuple_(pv.c.ecosystem, pv.c.name).in_(batch))
        session.execute(sa.delete(result).where(result.c.package_version_id.in_(ids)))
        deleted = session.execute(sa.delete(state).where(state.c.package_version_id.in_(ids)))
        invalidated += cast(CursorResult[Any], deleted).rowcount
    if invalidated:
        _next_epoch(session)
    return invalidated


def invalidate_all(session: Session) -> None:
    """Forget every match result and state: the next run re-matches the whole database."""
    session.execute(sa.delete(_table(MatchResult)))
    session.execute(sa.delete(_table(PackageMatchState)))
    _next_epoch(session)


def _next_epoch(session: Session) -> None:
    """Count one forgetting of stored results (``store.tables.packages.MatchEpoch``)."""
    stmt = dialect_insert(session, MatchEpoch).values(id=1, epoch=1, changed_at=utcnow())
    epoch = _table(MatchEpoch).c.epoch
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"], set_={"epoch": epoch + 1, "changed_at": stmt.excluded.changed_at}
        )
    )


_RESULT_COLUMNS: Final = (
    "package_version_id",
    "affected_id",
    "status",
    "range_index",
    "introduced",
    "boundary_kind",
    "boundary_value",
    "fixed_versions",
    "reason",
    "details",
)


def store_results(
    session: Session, results: Sequence[NewMatchResult], matched_ids: Iterable[int], matched_at: datetime
) -> None:
    """Insert the results and mark ``matched_ids`` as matched (also those with no result: not affected).

    One driver-level executemany per table: a whole-fleet run writes a quarter of a million result
    rows, and building SQLAlchemy parameter dictionaries for them took longer than matching (measured
    in ``bench/match.py``: 8 s of 17 s on SQLite). Each distinct answer object is encoded (its JSON
    columns serialized) once, however many package versions share it.
    """
    dialect = session.get_bind().dialect.name
    conn = session.connection()
    if results:
        # By identity: ``results`` keeps every answer alive while this runs, so ids are not reused.
        encoded: dict[int, tuple[Any, ...]] = {}
        rows: list[tuple[Any, ...]] = []
        for package_version_id, answer in results:
            values = encoded.get(id(answer))
            if values is None:
                values = encoded[id(answer)] = _encode(answer)
            rows.append((package_version_id, *values))
        conn.exec_driver_sql(_insert_sql(dialect, "match_result", _RESULT_COLUMNS, json_columns=(7, 9)), rows)
    stamp: datetime | str = matched_at
    if dialect == "sqlite":
        # As SQLAlchemy's SQLite DATETIME stores it (naive UTC, see store.tables.base.UTCDateTime).
        stamp = matched_at.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    states = [(pv_id, stamp) for pv_id in matched_ids]
    if states:
        sql = _insert_sql(
            dialect, "package_match_state", ("package_version_id", "matched_at"), json_columns=()
        )
        conn.exec_driver_sql(sql, states)


def _encode(answer: MatchAnswer) -> tuple[Any, ...]:
    """The ``match_result`` columns after ``package_version_id``, JSON columns serialized."""
    return (
        answer.affected_id,
        answer.status,
        answer.range_index,
        answer.introduced,
        answer.boundary_kind,
        answer.boundary_value,
        json.dumps(list(answer.fixed_versions)),
        answer.reason,
        json.dumps({"detail": answer.detail} if answer.detail else {}),
    )


def _insert_sql(dialect: str, table: str, columns: Sequence[str], *, json_columns: Sequence[int]) -> str:
    """``INSERT … ON CONFLICT DO NOTHING`` in the driver's own parameter style (both dialects)."""
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
    elif dialect == "postgresql":
        # Text parameters need an explicit cast into json columns.
        marks = ", ".join("CAST(%s AS json)" if i in json_columns else "%s" for i in range(len(columns)))
    else:  # pragma: no cover
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608 - constant names


# --- reading results ----------------------------------------------------------------------------


def _org_package_versions(org_id: int) -> sa.Select[Any]:
    """Ids of the package versions in any snapshot of the organization."""
    member, snap, system = _table(ComponentSetMember), _table(Snapshot), _table(System)
    return (
        sa.select(member.c.package_version_id)
        .select_from(
            member.join(snap, snap.c.component_set_id == member.c.set_id).join(
                system, system.c.id == snap.c.system_id
            )
        )
        .where(system.c.org_id == org_id)
        .distinct()
    )


def match_counts(session: Session, org_name: str | None = None) -> MatchCounts:
    """Counts over the whole database, or over the package versions of one organization's snapshots."""
    pv, state, result = _table(PackageVersion), _table(PackageMatchState), _table(MatchResult)
    ap, adv = _table(AffectedPackageRow), _table(Advisory)
    scope: sa.Subquery | None = None
    if org_name is not None:
        scope = _org_package_versions(organization_id(session, org_name)).subquery()

    def scoped(stmt: sa.Select[Any], column: sa.ColumnElement[Any]) -> sa.Select[Any]:
        return stmt if scope is None else stmt.where(column.in_(sa.select(scope.c.package_version_id)))

    total = session.execute(scoped(sa.select(sa.func.count()).select_from(pv), pv.c.id)).scalar_one()
    matched = session.execute(
        scoped(sa.select(sa.func.count()).select_from(state), state.c.package_version_id)
    ).scalar_one()
    affected_pvs = session.execute(
        scoped(
            sa.select(sa.func.count(sa.distinct(result.c.package_version_id))).where(
                result.c.status == AFFECTED
            ),
            result.c.package_version_id,
        )
    ).scalar_one()
    unknown = session.execute(
        scoped(
            sa.select(result.c.reason, sa.func.count(sa.distinct(result.c.package_version_id)))
            .where(result.c.status == UNKNOWN)
            .group_by(result.c.reason),
            result.c.package_version_id,
        )
    ).all()
    pairs = (
        scoped(
            sa.select(result.c.package_version_id, adv.c.group_key)
            .select_from(
                result.join(ap, ap.c.id == result.c.affected_id).join(adv, adv.c.id == ap.c.advisory_pk)
            )
            .where(result.c.status == AFFECTED),
            result.c.package_version_id,
        )
        .distinct()
        .subquery()
    )
    pair_count, group_count = session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(pairs.c.group_key))).select_from(pairs)
    ).one()
    return MatchCounts(
        package_versions=int(total),
        matched=int(matched),
        affected_package_versions=int(affected_pvs),
        unknown_by_reason={
            str(reason): int(count) for reason, count in sorted(unknown, key=lambda r: str(r[0]))
        },
        vulnerability_groups=int(group_count),
        affected_pairs=int(pair_count),
    )


def not_assessed_by_reason(session: Session, snapshot_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per snapshot: components not assessed, by reason code.

    ``no-purl``, ``invalid-purl``, ``no-version``, ``unsupported-ecosystem`` … come from the
    components kept aside at ingest; ``invalid-version`` counts the snapshot's package versions that an
    advisory names but whose version does not parse in that ecosystem (an ``unknown`` result with that
    reason). A version nobody's advisory names is never evaluated, so it is not counted.
    """
    if not snapshot_ids:
        return {}
    snap, na = _table(Snapshot), _table(NotAssessableComponent)
    member, result = _table(ComponentSetMember), _table(MatchResult)
    ids = sorted(set(snapshot_ids))
    kept = (
        sa.select(snap.c.id, na.c.reason, sa.func.count())
        .select_from(snap.join(na, na.c.set_id == snap.c.component_set_id))
        .where(snap.c.id.in_(ids))
        .group_by(snap.c.id, na.c.reason)
    )
    invalid = (
        sa.select(
            snap.c.id, sa.literal(INVALID_VERSION), sa.func.count(sa.distinct(member.c.package_version_id))
        )
        .select_from(
            snap.join(member, member.c.set_id == snap.c.component_set_id).join(
                result, result.c.package_version_id == member.c.package_version_id
            )
        )
        .where(snap.c.id.in_(ids), result.c.status == UNKNOWN, result.c.reason == INVALID_VERSION)
        .group_by(snap.c.id)
    )
    counts: dict[int, dict[str, int]] = {snapshot_id: {} for snapshot_id in ids}
    for snapshot_id, reason, count in session.execute(sa.union_all(kept, invalid)):
        by_reason = counts[int(snapshot_id)]
        by_reason[str(reason)] = by_reason.get(str(reason), 0) + int(count)
    return {snapshot_id: dict(sorted(c.items())) for snapshot_id, c in counts.items()}


def matched_set(session: Session, snapshot_id: int) -> set[tuple[str, str, str, str, str]]:
    """``(ecosystem, name, version, source, advisory id)`` of every affected result of a snapshot."""
    snap, member, pv = _table(Snapshot), _table(ComponentSetMember), _table(PackageVersion)
    result, ap, adv = _table(MatchResult), _table(AffectedPackageRow), _table(Advisory)
    stmt = (
        sa.select(pv.c.ecosystem, pv.c.name, pv.c.version, adv.c.source, adv.c.advisory_id)
        .select_from(
            snap.join(member, member.c.set_id == snap.c.component_set_id)
            .join(pv, pv.c.id == member.c.package_version_id)
            .join(result, result.c.package_version_id == pv.c.id)
            .join(ap, ap.c.id == result.c.affected_id)
            .join(adv, adv.c.id == ap.c.advisory_pk)
        )
        .where(snap.c.id == snapshot_id, result.c.status == AFFECTED)
    )
    return {(str(e), str(n), str(v), str(s), str(a)) for e, n, v, s, a in session.execute(stmt)}
