"""Queries behind exposures, SLA policies and the reports built on them.

Every read is one set-based statement; the exposure use-cases turn their rows into the records of
``reports``. The exposure inputs of some systems come from two reads: their snapshots with the
component set each points at (``store.queries.systems.snapshot_rows``), and the distinct sets' contents
(:func:`set_inputs`):

    component_set_member ⋈ package_version, restricted to packages that some non-withdrawn advisory
    affects in some version, LEFT JOIN the (package version, vulnerability group) pairs of
    ``match_result`` rows with status ``affected`` of non-withdrawn advisories.

A row with a group is an *affected* observation; every row is a *presence* observation (the package
is in the set in some version, which tells an upgrade from a removal). Reading by set rather than by
snapshot matters: 52,000 weekly snapshots of 1,000 systems share a few hundred sets. A match through a
withdrawn advisory counts for nothing, so withdrawing an advisory withdraws its exposures at the next
rebuild.

Lists of ids are sent in chunks (``_CHUNK``) to stay under SQLite's bound-parameter limit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from core.time import require_utc, utcnow
from store.queries.changes import clock_of, lock_systems, mark_at_commit
from store.sql import chunks, driver_rows, named_driver_rows
from store.sql import dialect_insert as _insert
from store.sql import table_of as _t
from store.tables.advisories import Advisory, AffectedPackageRow
from store.tables.exposures import ExposureRow, ExposureState, SlaPolicyRow
from store.tables.packages import MatchEpoch, MatchResult, PackageMatchState, PackageVersion
from store.tables.systems import ComponentSetMember, Snapshot, System
from store.tables.triage import AnalysisEntryRow, AnalysisRow

_CHUNK = 900


# --- exposure inputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetRow:
    """One package version of a component set, and a group it is affected by (``None``: not affected)."""

    set_id: int
    package_version_id: int
    ecosystem: str
    name: str
    purl: str
    version: str
    vuln_group: str | None


def _affected_matches(*, fixes: bool = False) -> sa.Select[Any]:
    """(package version id, group key) of every affected match of a non-withdrawn advisory (with
    ``fixes``, and the fixed versions it names)."""
    mr, ap, adv = _t(MatchResult), _t(AffectedPackageRow), _t(Advisory)
    return (
        sa.select(mr.c.package_version_id, adv.c.group_key, *([mr.c.fixed_versions] if fixes else []))
        .select_from(mr.join(ap, ap.c.id == mr.c.affected_id).join(adv, adv.c.id == ap.c.advisory_pk))
        .where(mr.c.status == "affected", adv.c.withdrawn_at.is_(None))
    )


def _in(column: Any, name: str, postgresql: bool) -> Any:
    """``column`` in the list bound as ``name``: on PostgreSQL one array parameter (``= ANY``), so that
    the statement's text is the same for every list and the driver prepares it once; elsewhere an
    expanding ``IN``."""
    if postgresql:
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.Integer)))
    return column.in_(sa.bindparam(name, expanding=True))


def _members_stmt(postgresql: bool) -> sa.Select[Any]:
    member = _t(ComponentSetMember)
    return sa.select(member.c.set_id, member.c.package_version_id).where(
        _in(member.c.set_id, "sets", postgresql)
    )


def _versions_stmt(postgresql: bool) -> sa.Select[Any]:
    """Package versions by id, each with the group and the fixed versions of every affected match of a
    non-withdrawn advisory (``NULL``: none)."""
    pv = _t(PackageVersion)
    matched = _affected_matches(fixes=True).subquery("matched")
    return (
        sa.select(
            pv.c.id,
            pv.c.ecosystem,
            pv.c.name,
            pv.c.purl,
            pv.c.version,
            matched.c.group_key,
            matched.c.fixed_versions,
        )
        .select_from(pv.outerjoin(matched, matched.c.package_version_id == pv.c.id))
        .where(_in(pv.c.id, "ids", postgresql))
    )


# Built once per kind of database: constructing them costs more than a one-system rebuild's share
# of the statements.
_SET_READS = {pg: (_members_stmt(pg), _versions_stmt(pg)) for pg in (False, True)}


#: Up to this many component sets, :func:`set_inputs` reads their members and then their package
#: versions by id; past it, one statement per chunk joins the sets to every package an advisory affects
#: (the hash joins over the advisory side pay off when many systems are rebuilt at once: 200 systems'
#: 400 sets at 10,000 systems take 80–120 ms that way, 250–300 ms by id).
FEW_SETS = 64


@dataclass(frozen=True, slots=True)
class SetInputs:
    """What :func:`set_inputs` read: the observations, and for a few sets the fixed versions of their
    affected matches, by (package version id, group) — what :func:`fixed_versions` reads, taken in the
    same statement (``None``: not read, for many sets)."""

    rows: list[SetRow]
    fixes: dict[tuple[int, str], set[str]] | None


def set_inputs(session: Session, set_ids: Sequence[int]) -> SetInputs:
    """Affected and presence observations of component sets (see the module docstring).

    Keyed by set, not by snapshot: weekly snapshots mostly repeat their set, so this reads each
    distinct content once; ``pipeline`` joins the rows to the snapshots that point at the set.

    Presence rows are those of the packages affected in some version: for a few sets (one system's
    rebuild) a version the sets contain, read without any aggregate over every match of the database
    (which a one-system rebuild would pay for in proportion to the advisory database); for many, any
    version the database holds. The difference is presence rows of packages that none of these sets
    has affected, which have no exposure their presence could close: the exposures are the same
    (a system's exposures come from its own sets, all of them asked for together).
    """
    wanted = sorted(set(set_ids))
    if len(wanted) > FEW_SETS:
        return SetInputs(_joined_set_inputs(session, wanted), None)
    postgresql = session.get_bind().dialect.name == "postgresql"
    members_stmt, versions_stmt = _SET_READS[postgresql]

    def read(stmt: sa.Select[Any], name: str, values: Sequence[int]) -> Sequence[Any]:
        # On PostgreSQL through the driver's cursor: the statements' texts never change (one array
        # parameter), and SQLAlchemy's result rows cost more than the read itself (2 ms of a one-system
        # rebuild's ~40).
        if postgresql:
            return named_driver_rows(session, stmt, **{name: list(values)})
        return list(session.execute(stmt, {name: list(values)}))

    members: list[tuple[int, int]] = []
    for chunk in chunks(wanted, _CHUNK):
        members.extend((r[0], r[1]) for r in read(members_stmt, "sets", chunk))
    versions: dict[int, tuple[str, str, str, str]] = {}
    groups: dict[int, set[str]] = defaultdict(set)
    fixes: dict[tuple[int, str], set[str]] = defaultdict(set)
    for chunk in chunks(sorted({pv for _, pv in members}), _CHUNK):
        for r in read(versions_stmt, "ids", chunk):
            versions[r[0]] = (r[1], r[2], r[3], r[4])
            if r[5] is not None:
                groups[r[0]].add(r[5])
                fixes[(r[0], r[5])].update(r[6] or ())
    affected = {versions[pv][:2] for pv in groups}
    out: list[SetRow] = []
    for set_id, pv in members:
        ecosystem, name, purl, version = versions[pv]
        if (ecosystem, name) not in affected:
            continue
        found = groups.get(pv)
        if found:
            out.extend(SetRow(set_id, pv, ecosystem, name, purl, version, g) for g in sorted(found))
        else:
            out.append(SetRow(set_id, pv, ecosystem, name, purl, version, None))
    return SetInputs(out, dict(fixes))


def _joined_set_inputs(session: Session, set_ids: Sequence[int]) -> list[SetRow]:
    """:func:`set_inputs` of many sets: component_set_member ⋈ package_version, restricted to packages
    that some non-withdrawn advisory affects in some version, LEFT JOIN the (package version, group)
    pairs of the affected matches."""
    pv, member = _t(PackageVersion), _t(ComponentSetMember)
    affected = _affected_matches().distinct().cte("affected")
    apv = pv.alias("apv")
    packages = (
        sa.select(apv.c.ecosystem, apv.c.name)
        .select_from(affected.join(apv, apv.c.id == affected.c.package_version_id))
        .distinct()
        .cte("affected_packages")
    )
    out: list[SetRow] = []
    for chunk in chunks(set_ids, _CHUNK):
        stmt = (
            sa.select(
                member.c.set_id,
                pv.c.id,
                pv.c.ecosystem,
                pv.c.name,
                pv.c.purl,
                pv.c.version,
                affected.c.group_key,
            )
            .select_from(
                packages.join(
                    pv, sa.and_(pv.c.ecosystem == packages.c.ecosystem, pv.c.name == packages.c.name)
                )
                .join(member, member.c.package_version_id == pv.c.id)
                .outerjoin(affected, affected.c.package_version_id == pv.c.id)
            )
            .where(member.c.set_id.in_(chunk))
        )
        out.extend(SetRow(*r) for r in session.execute(stmt))
    return out


def fixed_versions(session: Session, package_version_ids: Sequence[int]) -> list[tuple[int, str, list[str]]]:
    """(package version id, group key, fixed versions) of the affected matches of these package versions."""
    mr, ap, adv = _t(MatchResult), _t(AffectedPackageRow), _t(Advisory)
    out: list[tuple[int, str, list[str]]] = []
    for chunk in chunks(sorted(set(package_version_ids)), _CHUNK):
        stmt = (
            sa.select(mr.c.package_version_id, adv.c.group_key, mr.c.fixed_versions)
            .select_from(mr.join(ap, ap.c.id == mr.c.affected_id).join(adv, adv.c.id == ap.c.advisory_pk))
            .where(
                mr.c.package_version_id.in_(chunk),
                mr.c.status == "affected",
                adv.c.withdrawn_at.is_(None),
            )
        )
        out.extend((r[0], r[1], list(r[2] or ())) for r in session.execute(stmt))
    return out


# --- build state ----------------------------------------------------------------------------------


def _retired(session: Session, system_ids: Sequence[int]) -> dict[int, str]:
    """System id → its decommissioning moment, for decommissioned systems: it closes their open
    exposures (``reports.timeline``), so it is input to their rows."""
    system = _t(System)
    out: dict[int, str] = {}
    for chunk in chunks(system_ids, _CHUNK):
        stmt = sa.select(system.c.id, system.c.decommissioned_at).where(
            system.c.id.in_(chunk), system.c.decommissioned_at.is_not(None)
        )
        out.update({r[0]: require_utc(r[1]).isoformat() for r in session.execute(stmt)})
    return out


# (database, system id) → (snapshot count and id sum, the system's snapshots per component set).
_RUNS: dict[tuple[str, int], tuple[tuple[int, int], list[tuple[int, int, int]]]] = {}
_RUNS_LOCK = threading.Lock()


def _snapshot_runs(session: Session, system_ids: Sequence[int]) -> dict[int, list[tuple[int, int, int]]]:
    """Per system, (component set, snapshot count, snapshot id sum) for each set its snapshots use.

    Snapshots are immutable, so a system with the snapshot count and id sum it had when last asked
    has the same runs: they are remembered in this process, and only systems whose count or sum moved
    (or never seen) are grouped by set again — the per-set grouping of every snapshot of a large fleet
    costs several times the per-system one.
    """
    snapshot = _t(Snapshot)
    url = str(session.get_bind().engine.url)
    spans: dict[int, tuple[int, int]] = {}
    for chunk in chunks(system_ids, _CHUNK):
        stmt = (
            sa.select(snapshot.c.system_id, sa.func.count(), sa.func.sum(snapshot.c.id))
            .where(snapshot.c.system_id.in_(chunk))
            .group_by(snapshot.c.system_id)
        )
        spans.update({r[0]: (int(r[1]), int(r[2] or 0)) for r in session.execute(stmt)})
    out: dict[int, list[tuple[int, int, int]]] = {}
    with _RUNS_LOCK:
        for sid in system_ids:
            known = _RUNS.get((url, sid))
            if known is not None and known[0] == spans.get(sid, (0, 0)):
                out[sid] = known[1]
    missing = [sid for sid in system_ids if sid not in out]
    found: dict[int, list[tuple[int, int, int]]] = {sid: [] for sid in missing}
    for chunk in chunks(missing, _CHUNK):
        stmt = (
            sa.select(
                snapshot.c.system_id, snapshot.c.component_set_id, sa.func.count(), sa.func.sum(snapshot.c.id)
            )
            .where(snapshot.c.system_id.in_(chunk))
            .group_by(snapshot.c.system_id, snapshot.c.component_set_id)
        )
        for r in session.execute(stmt):
            found[r[0]].append((r[1], int(r[2]), int(r[3] or 0)))
    with _RUNS_LOCK:
        if len(_RUNS) > 1_000_000:
            _RUNS.clear()
        for sid, runs in found.items():
            # Remembered under the span its runs add up to (what a later count and sum must equal).
            span = (sum(c for _, c, _ in runs), sum(i for _, _, i in runs))
            _RUNS[(url, sid)] = (span, runs)
    return {**out, **found}


def input_states(session: Session, system_ids: Sequence[int]) -> dict[int, str]:
    """Per system, a digest of what its exposure rows are built from, analysis records aside
    (``pipeline.exposures.build.input_digests`` adds the records that touch the system).

    Scoped to the system, so that a change rebuilds the systems it concerns and no others: the
    system's snapshots (count and id sum per component set: snapshots are immutable, so a new or
    backfilled one changes them), and per component set it ran, the affected match results of the
    set's package versions: count, package version and affected row id sums, the latest time one of
    those package versions was matched (results matched again with equal counts and sums but other
    content — after ``patchgap match --all`` with an upgraded matcher — still count as changed), the
    advisories' latest modified and imported times, withdrawn count, and their groups (how many, the
    first and last key). An advisory that appears, changes or is withdrawn moves the digest of the
    systems that run a package version it affects (or affected), and only theirs; one that joins
    another group has its package re-matched by the import (``changed_keys``), which moves the match
    time. Cheap aggregates rather than a hash of the rows: every writer that rewrites rows in place
    moves a count, a sum or a latest time.
    """
    mr, adv, ap, member, state = (
        _t(MatchResult),
        _t(Advisory),
        _t(AffectedPackageRow),
        _t(ComponentSetMember),
        _t(PackageMatchState),
    )
    runs = _snapshot_runs(session, system_ids)
    sqlite = session.get_bind().dialect.name == "sqlite"

    def raw(value: Any) -> Any:
        # Times as stored (SQLite's text; PostgreSQL's driver values): compared, never read as times.
        return sa.type_coerce(value, sa.Text) if sqlite else value

    per_set: dict[int, tuple[Any, ...]] = {}
    for chunk in chunks(sorted({set_id for found in runs.values() for set_id, _, _ in found}), _CHUNK):
        stmt = (
            sa.select(
                member.c.set_id,
                sa.func.count(sa.distinct(adv.c.group_key)),
                sa.func.min(adv.c.group_key),
                sa.func.max(adv.c.group_key),
                sa.func.count(),
                sa.func.sum(mr.c.package_version_id),
                sa.func.sum(mr.c.affected_id),
                raw(sa.func.max(state.c.matched_at)),
                raw(sa.func.max(adv.c.modified_at)),
                raw(sa.func.max(adv.c.imported_at)),
                sa.func.count(adv.c.withdrawn_at),
            )
            .select_from(
                mr.join(member, member.c.package_version_id == mr.c.package_version_id)
                .join(ap, ap.c.id == mr.c.affected_id)
                .join(adv, adv.c.id == ap.c.advisory_pk)
                .outerjoin(state, state.c.package_version_id == mr.c.package_version_id)
            )
            .where(mr.c.status == "affected", member.c.set_id.in_(chunk))
            .group_by(member.c.set_id)
        )
        for r in session.execute(stmt):
            per_set[r[0]] = tuple(r[1:])
    # Each set's state hashed once: sets are shared by many systems.
    sets = {set_id: hashlib.sha256(repr(row).encode()).hexdigest() for set_id, row in per_set.items()}
    retired = _retired(session, system_ids)
    return {
        sid: hashlib.sha256(
            (
                "|".join(f"{a},{b},{c},{sets.get(a, '')}" for a, b, c in sorted(found))
                + f"|retired {retired.get(sid, '')}"
            ).encode()
        ).hexdigest()
        for sid, found in runs.items()
    }


@dataclass(frozen=True, slots=True)
class ExposureKey:
    """A (system, vulnerability group, package) that stored exposure rows are about."""

    system_id: int
    system: str
    vuln_group: str
    ecosystem: str
    package_name: str


def exposure_keys(
    session: Session,
    org_id: int,
    groups: Sequence[str] | None = None,
    *,
    system_ids: Sequence[int] | None = None,
) -> list[ExposureKey]:
    """The distinct (system, group, package key) of the organization's stored rows (counted and
    excluded) of these vulnerability groups — where analysis records about them can change anything —,
    or of these systems (what advisories say about a system's rows is said about these), or of every
    system with neither."""
    table, system = _t(ExposureRow), _t(System)
    stmt = (
        sa.select(
            table.c.system_id, system.c.name, table.c.vuln_group, table.c.ecosystem, table.c.package_name
        )
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id)
        .distinct()
    )
    if groups is None and system_ids is None:
        return [ExposureKey(*r) for r in session.execute(stmt)]
    out: list[ExposureKey] = []
    if groups is not None:
        for chunk in chunks(sorted(set(groups)), _CHUNK):
            out.extend(ExposureKey(*r) for r in session.execute(stmt.where(table.c.vuln_group.in_(chunk))))
    else:
        for ids in chunks(sorted(set(system_ids or ())), _CHUNK):
            out.extend(ExposureKey(*r) for r in session.execute(stmt.where(table.c.system_id.in_(ids))))
    return out


def stored_digests(session: Session, system_ids: Sequence[int]) -> dict[int, str]:
    state = _t(ExposureState)
    out: dict[int, str] = {}
    for chunk in chunks(system_ids, _CHUNK):
        stmt = sa.select(state.c.system_id, state.c.inputs_digest).where(state.c.system_id.in_(chunk))
        out.update({r[0]: r[1] for r in session.execute(stmt)})
    return out


def lock_states(session: Session, system_ids: Sequence[int]) -> None:
    """Serialize concurrent rebuilds of the same systems (PostgreSQL row locks; SQLite's write lock
    is already taken by the write transaction)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # The systems first, then their build states (``store.queries.changes``: lock order).
    lock_systems(session, system_ids)
    state = _t(ExposureState)
    for chunk in chunks(sorted(system_ids), _CHUNK):
        session.execute(
            _insert(session, ExposureState)
            .values([{"system_id": sid, "inputs_digest": "", "built_at": utcnow()} for sid in chunk])
            .on_conflict_do_nothing(index_elements=["system_id"])
        )
        session.execute(
            sa.select(state.c.system_id).where(state.c.system_id.in_(chunk)).with_for_update()
        ).all()


@dataclass(frozen=True, slots=True)
class NewExposure:
    system_id: int
    package: str
    ecosystem: str
    package_name: str
    vuln_group: str
    versions: list[str]
    fixed_versions: list[str]
    first_seen: datetime
    last_affected_seen: datetime
    resolved_at: datetime | None
    resolution: str | None
    excluded_by: str  # "" counted, else the excluding state
    current_versions: list[str]
    version_fixes: dict[str, list[str]]
    analysis_id: int | None = None
    # ``reports.exposure_records.Exposure.steps``: (snapshot time, versions deployed from it on).
    steps: Sequence[tuple[datetime, Sequence[str]]] = ()


def _steps_json(steps: Sequence[tuple[datetime, Sequence[str]]]) -> list[list[Any]]:
    return [[at.astimezone(UTC).isoformat(), list(versions)] for at, versions in steps]


def replace_exposures(
    session: Session, org_id: int, digests: dict[int, str], exposures: Sequence[NewExposure]
) -> None:
    """Replace every exposure row of the systems in ``digests`` (of the organization) and record the
    digests they came from; the organization's change clock moves for them at commit."""
    table, state = _t(ExposureRow), _t(ExposureState)
    system_ids = sorted(digests)
    mark_at_commit(session, org_id, system_ids, inputs=False)
    for chunk in chunks(system_ids, _CHUNK):
        session.execute(table.delete().where(table.c.system_id.in_(chunk)))
        session.execute(state.delete().where(state.c.system_id.in_(chunk)))
    if exposures:
        session.execute(
            sa.insert(table),
            [
                {
                    "system_id": e.system_id,
                    "package": e.package,
                    "ecosystem": e.ecosystem,
                    "package_name": e.package_name,
                    "vuln_group": e.vuln_group,
                    "versions": e.versions,
                    "fixed_versions": e.fixed_versions,
                    "first_seen": e.first_seen,
                    "last_affected_seen": e.last_affected_seen,
                    "resolved_at": e.resolved_at,
                    "resolution": e.resolution,
                    "excluded_by": e.excluded_by,
                    "current_versions": e.current_versions,
                    "version_fixes": e.version_fixes,
                    "analysis_id": e.analysis_id,
                    "version_steps": _steps_json(e.steps),
                }
                for e in exposures
            ],
        )
    now = utcnow()
    if system_ids:
        session.execute(
            sa.insert(state),
            [{"system_id": sid, "inputs_digest": digests[sid], "built_at": now} for sid in system_ids],
        )


# --- reading exposures back ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredExposure:
    system: str
    package: str
    ecosystem: str
    vuln_group: str
    versions: tuple[str, ...]
    fixed_versions: tuple[str, ...]
    first_seen: datetime
    last_affected_seen: datetime
    resolved_at: datetime | None
    resolution: str | None
    excluded_by: str
    package_name: str
    current_versions: tuple[str, ...]
    version_fixes: dict[str, tuple[str, ...]]
    analysis_id: int | None = None
    # The row's id (``exposure.id``): new at every rebuild, so not part of the row's value.
    id: int | None = field(default=None, compare=False, repr=False)
    # ``reports.exposure_records.Exposure.steps`` (empty when the deployed versions never changed).
    steps: tuple[tuple[datetime, tuple[str, ...]], ...] = field(default=(), compare=False, repr=False)


class _Memo:
    """Decode repeated column values once: a fleet's exposures share few distinct version lists and times.

    Reading 60,000 exposure rows through the JSON and UTC-datetime column types costs ~1.5 s, nearly all
    of it decoding the same few hundred strings again and again; the columns are read raw and decoded
    through these caches instead.
    """

    def __init__(self, dialect: str) -> None:
        self._lists: dict[str, tuple[str, ...]] = {}
        self._fixes: dict[str, dict[str, tuple[str, ...]]] = {}
        self._times: dict[Any, datetime] = {}
        self._steps: dict[str, tuple[tuple[datetime, tuple[str, ...]], ...]] = {}
        self._sqlite = dialect == "sqlite"

    def list_(self, raw: str) -> tuple[str, ...]:
        found = self._lists.get(raw)
        if found is None:
            found = self._lists[raw] = tuple(json.loads(raw))
        return found

    def fixes(self, raw: str) -> dict[str, tuple[str, ...]]:
        found = self._fixes.get(raw)
        if found is None:
            found = self._fixes[raw] = {v: tuple(f) for v, f in json.loads(raw).items()}
        return found

    def steps(self, raw: str) -> tuple[tuple[datetime, tuple[str, ...]], ...]:
        if raw == "[]":
            return ()
        found = self._steps.get(raw)
        if found is None:
            found = self._steps[raw] = tuple(
                (datetime.fromisoformat(at), tuple(versions)) for at, versions in json.loads(raw)
            )
        return found

    def time(self, raw: Any) -> datetime | None:
        if raw is None:
            return None
        found = self._times.get(raw)
        if found is None:
            # UTCDateTime stores naive UTC text on SQLite; PostgreSQL returns aware datetimes.
            found = datetime.fromisoformat(raw).replace(tzinfo=UTC) if self._sqlite else raw.astimezone(UTC)
            self._times[raw] = found
        return found


def stored_exposures(
    session: Session,
    org_id: int,
    system_ids: Sequence[int] | None = None,
    *,
    open_only: bool = False,
    exposure_ids: Sequence[int] | None = None,
    seen_by: datetime | None = None,
    open_at: datetime | None = None,
) -> list[StoredExposure]:
    """Every stored exposure row of the organization's systems, or of these systems of it (counted and
    excluded by triage); only the open ones (``resolved_at`` null) with ``open_only``; only the rows
    of these ids with ``exposure_ids``; only those first seen by ``seen_by``; only those open at
    ``open_at`` (first seen by then, resolved after it or never)."""
    table, system = _t(ExposureRow), _t(System)
    dialect = session.get_bind().dialect.name
    memo = _Memo(dialect)
    raw_time = sa.DateTime(timezone=True)
    stmt = (
        sa.select(
            system.c.name,
            table.c.package,
            table.c.ecosystem,
            table.c.vuln_group,
            sa.cast(table.c.versions, sa.Text),
            sa.cast(table.c.fixed_versions, sa.Text),
            sa.type_coerce(table.c.first_seen, raw_time),
            sa.type_coerce(table.c.last_affected_seen, raw_time),
            sa.type_coerce(table.c.resolved_at, raw_time),
            table.c.resolution,
            table.c.excluded_by,
            table.c.package_name,
            sa.cast(table.c.current_versions, sa.Text),
            sa.cast(table.c.version_fixes, sa.Text),
            table.c.analysis_id,
            table.c.id,
            sa.cast(table.c.version_steps, sa.Text),
        )
        .select_from(table.join(system, system.c.id == table.c.system_id))
    )
    if (system_ids is None and exposure_ids is None) or dialect != "sqlite":
        stmt = stmt.where(system.c.org_id == org_id)
    else:
        # On SQLite the organization is tested as an expression, which no index serves: the rows are
        # sought by their ids or systems. Otherwise SQLite, without statistics of the system indexes,
        # walks every system of the organization along one and then its exposures (0.25 s at 10,000
        # systems for a page of 100 rows). Not on PostgreSQL: it estimates such an expression at 0.5 %
        # of the systems and then walks every system's exposures for the ids (118 ms for a page of
        # 1,000 rows of the export at 10,000 systems, against 7 ms seeking the ids by key).
        stmt = stmt.where(system.c.org_id + 0 == org_id)
    if system_ids is not None:
        stmt = stmt.where(table.c.system_id.in_(list(system_ids)))
    if exposure_ids is not None:
        stmt = stmt.where(table.c.id.in_(list(exposure_ids)))
    if open_only:
        stmt = stmt.where(table.c.resolved_at.is_(None))
    if seen_by is not None:
        stmt = stmt.where(table.c.first_seen <= seen_by)
    if open_at is not None:
        later = sa.or_(table.c.resolved_at.is_(None), table.c.resolved_at > open_at)
        stmt = stmt.where(table.c.first_seen <= open_at, later)
    if dialect == "sqlite":
        # SQLite's DateTime type would parse every value with a regular expression; read the text.
        stmt = stmt.with_only_columns(
            *stmt.selected_columns[:6],
            *(
                sa.type_coerce(c, sa.Text)
                for c in (table.c.first_seen, table.c.last_affected_seen, table.c.resolved_at)
            ),
            *stmt.selected_columns[9:],
        )
    lists, times = memo.list_, memo.time
    return [
        StoredExposure(
            r[0],
            r[1],
            r[2],
            r[3],
            lists(r[4]),
            lists(r[5]),
            cast(datetime, times(r[6])),
            cast(datetime, times(r[7])),
            times(r[8]),
            r[9],
            r[10],
            r[11],
            lists(r[12]),
            memo.fixes(r[13]),
            r[14],
            r[15],
            memo.steps(r[16]),
        )
        for r in session.execute(stmt).all()
    ]


def open_groups(session: Session) -> set[str]:
    """The vulnerability groups of every open, counted exposure of every organization."""
    table = _t(ExposureRow)
    stmt = (
        sa.select(table.c.vuln_group)
        .where(table.c.resolved_at.is_(None), table.c.excluded_by == "")
        .distinct()
    )
    return {r[0] for r in session.execute(stmt)}


def open_systems_in_groups(session: Session, groups: Sequence[str]) -> dict[int, list[int]]:
    """Organization → its systems that have an open, counted exposure of one of these groups."""
    table, system = _t(ExposureRow), _t(System)
    out: dict[int, set[int]] = {}
    for chunk in chunks(sorted(set(groups)), _CHUNK):
        stmt = (
            sa.select(system.c.org_id, system.c.id)
            .select_from(table.join(system, system.c.id == table.c.system_id))
            .where(table.c.vuln_group.in_(chunk), table.c.resolved_at.is_(None), table.c.excluded_by == "")
            .distinct()
        )
        for org_id, system_id in session.execute(stmt):
            out.setdefault(org_id, set()).add(system_id)
    return {org_id: sorted(ids) for org_id, ids in sorted(out.items())}


def withdrawn_groups(session: Session, org_id: int) -> list[str]:
    """Groups whose every advisory is withdrawn and that name a package the organization runs.

    These are the exposures a withdrawal removed (or would have opened); the deploy-time report names
    them. Matched through the advisory's package key, not ``match_result``: matching drops the results
    of withdrawn records.
    """
    ap, adv, pv, member, snapshot, system = (
        _t(AffectedPackageRow),
        _t(Advisory),
        _t(PackageVersion),
        _t(ComponentSetMember),
        _t(Snapshot),
        _t(System),
    )
    live = sa.select(adv.c.group_key).where(adv.c.withdrawn_at.is_(None))
    org_sets = (
        sa.select(snapshot.c.component_set_id)
        .select_from(snapshot.join(system, system.c.id == snapshot.c.system_id))
        .where(system.c.org_id == org_id)
    )
    stmt = (
        sa.select(adv.c.group_key)
        .select_from(
            adv.join(ap, ap.c.advisory_pk == adv.c.id)
            .join(pv, sa.and_(pv.c.ecosystem == ap.c.eco_key, pv.c.name == ap.c.name_key))
            .join(member, member.c.package_version_id == pv.c.id)
        )
        .where(
            adv.c.withdrawn_at.is_not(None),
            member.c.set_id.in_(org_sets),
            adv.c.group_key.not_in(live),
        )
        .distinct()
        .order_by(adv.c.group_key)
    )
    return [r[0] for r in session.execute(stmt)]


# --- SLA policies ----------------------------------------------------------------------------------


def sla_policy(session: Session, org_id: int) -> dict[str, Any] | None:
    table = _t(SlaPolicyRow)
    row = session.execute(sa.select(table.c.policy).where(table.c.org_id == org_id)).first()
    return None if row is None else dict(row[0])


def set_sla_policy(session: Session, org_id: int, policy: dict[str, Any]) -> None:
    stmt = _insert(session, SlaPolicyRow).values(org_id=org_id, policy=policy, updated_at=utcnow())
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["org_id"],
            set_={"policy": stmt.excluded.policy, "updated_at": stmt.excluded.updated_at},
        )
    )


# --- what an organization runs (triage checks) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupExposure:
    """One stored interval of a vulnerability group: where, which package (and its matcher key), which
    versions."""

    system: str
    package: str
    ecosystem: str
    package_name: str
    versions: tuple[str, ...]


def group_exposures(session: Session, org_id: int, group: str) -> list[GroupExposure]:
    """Every stored interval (counted or excluded) of ``group`` in the organization's systems."""
    table, system = _t(ExposureRow), _t(System)
    stmt = (
        sa.select(system.c.name, table.c.package, table.c.ecosystem, table.c.package_name, table.c.versions)
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id, table.c.vuln_group == group)
    )
    return [GroupExposure(r[0], r[1], r[2], r[3], tuple(r[4] or ())) for r in session.execute(stmt)]


def exposure_packages(session: Session, org_id: int) -> dict[tuple[str, str], str]:
    """(ecosystem, name) → the package purl the organization's stored exposures spell it as."""
    table, system = _t(ExposureRow), _t(System)
    stmt = (
        sa.select(table.c.ecosystem, table.c.package_name, sa.func.min(table.c.package))
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id)
        .group_by(table.c.ecosystem, table.c.package_name)
    )
    return {(r[0], r[1]): r[2] for r in session.execute(stmt)}


# --- the deploy-time summary's columns --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposureShape:
    """Everything a counted exposure row holds for the deploy-time summary but its system: rows of
    systems that deploy the same releases share it. Times are microseconds since 1970-01-01 UTC."""

    package: str
    ecosystem: str
    vuln_group: str
    first_seen: int
    last_affected_seen: int
    resolved_at: int | None
    resolution: str | None
    analysis_id: int | None


@dataclass(frozen=True, slots=True)
class CountedColumns:
    """Counted exposure rows: per row its system id and its shape (parallel lists)."""

    system_id: Sequence[int]
    shape: Sequence[ExposureShape]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class _Shapes(dict[tuple[Any, ...], ExposureShape]):
    """Raw row values → one shared :class:`ExposureShape` (times parsed once per distinct shape)."""

    def __init__(self, sqlite: bool) -> None:
        super().__init__()
        self._sqlite = sqlite

    def _micros(self, raw: Any) -> int:
        if not self._sqlite:
            return int(raw)
        # UTCDateTime stores fixed naive UTC text on SQLite.
        return (datetime.fromisoformat(raw).replace(tzinfo=UTC) - _EPOCH) // _MICRO

    def __missing__(self, key: tuple[Any, ...]) -> ExposureShape:
        package, ecosystem, group, first, last, resolved, resolution, analysis = key
        found = self[key] = ExposureShape(
            package,
            ecosystem,
            group,
            self._micros(first),
            self._micros(last),
            None if resolved is None else self._micros(resolved),
            resolution,
            analysis,
        )
        return found


def counted_columns(session: Session, org_id: int, system_ids: Sequence[int] | None = None) -> CountedColumns:
    """The counted (not excluded) stored exposures of the organization's systems (or of these of its
    systems), as columns."""
    table, system = _t(ExposureRow), _t(System)
    sqlite = session.get_bind().dialect.name == "sqlite"

    def when(column: Any) -> Any:
        if sqlite:
            return sa.type_coerce(column, sa.Text)  # parsed once per distinct shape
        # EXTRACT(EPOCH) is numeric on PostgreSQL ≥ 14: exact microseconds.
        return sa.cast(sa.extract("epoch", column) * 1_000_000, sa.BigInteger)

    stmt = (
        sa.select(
            table.c.system_id,
            table.c.package,
            table.c.ecosystem,
            table.c.vuln_group,
            when(table.c.first_seen),
            when(table.c.last_affected_seen),
            when(table.c.resolved_at),
            table.c.resolution,
            table.c.analysis_id,
        )
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id, table.c.excluded_by == "")
    )
    rows: list[tuple[Any, ...]] = []
    for chunk in [None] if system_ids is None else chunks(sorted(set(system_ids)), _CHUNK):
        chosen = stmt if chunk is None else stmt.where(table.c.system_id.in_(chunk))
        # The driver's cursor, not SQLAlchemy's rows: a result row object per exposure costs more
        # than the whole read.
        rows.extend(driver_rows(session, chosen))
    shapes = _Shapes(sqlite)
    return CountedColumns([r[0] for r in rows], [shapes[r[1:]] for r in rows])


def build_states(
    session: Session, org_id: int, system_ids: Sequence[int] | None = None
) -> dict[int, tuple[str, object]]:
    """System id → (input digest, build time as the driver returns it: compared, never computed with)
    of the organization's built systems (or of these of its systems that are built): their exposure
    rows change only together with these (``replace_exposures``)."""
    state, system = _t(ExposureState), _t(System)
    stmt = (
        # The time read raw: parsing 10,000 timestamps would cost more than the rest of the read.
        sa.select(state.c.system_id, state.c.inputs_digest, sa.type_coerce(state.c.built_at, sa.Text))
        .select_from(state.join(system, system.c.id == state.c.system_id))
        .where(system.c.org_id == org_id)
    )
    if system_ids is None:
        return {r[0]: (r[1], r[2]) for r in session.execute(stmt)}
    parts = (stmt.where(state.c.system_id.in_(c)) for c in chunks(sorted(set(system_ids)), _CHUNK))
    return {r[0]: (r[1], r[2]) for part in parts for r in session.execute(part)}


def excluded_counts(session: Session, org_id: int, system_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Stored intervals that analysis records exclude, counted by resolution (of these systems only)."""
    table, system = _t(ExposureRow), _t(System)
    stmt = (
        sa.select(table.c.resolution, sa.func.count())
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id, table.c.excluded_by != "")
        .group_by(table.c.resolution)
    )
    if system_ids is None:
        return {r[0]: r[1] for r in session.execute(stmt)}
    out: dict[str, int] = {}
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        for resolution, count in session.execute(stmt.where(table.c.system_id.in_(chunk))):
            out[resolution] = out.get(resolution, 0) + count
    return out


def excluded_by_system(
    session: Session,
    org_id: int,
    system_ids: Sequence[int] | None = None,
    *,
    first_seen_until: datetime | None = None,
) -> dict[int, dict[str, int]]:
    """:func:`excluded_counts` per system (of the organization, or of these of its systems; those
    without excluded intervals are left out); with ``first_seen_until``, of the intervals first seen
    at or before it only (those the snapshots up to it show)."""
    table, system = _t(ExposureRow), _t(System)
    stmt = (
        sa.select(table.c.system_id, table.c.resolution, sa.func.count())
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id, table.c.excluded_by != "")
        .group_by(table.c.system_id, table.c.resolution)
    )
    if first_seen_until is not None:
        stmt = stmt.where(table.c.first_seen <= first_seen_until)
    parts = [stmt]
    if system_ids is not None:
        parts = [stmt.where(table.c.system_id.in_(c)) for c in chunks(sorted(set(system_ids)), _CHUNK)]
    out: dict[int, dict[str, int]] = {}
    for part in parts:
        for sid, resolution, count in session.execute(part):
            out.setdefault(sid, {})[resolution] = count
    return out


def versions_across(
    session: Session, org_id: int, groups: Collection[str], moment: datetime
) -> list[tuple[str, list[str]]]:
    """(vulnerability group, versions seen) of the organization's counted intervals of these groups
    that were first seen at or before ``moment`` and last seen affected after it: the intervals whose
    version at ``moment`` may not be their last one."""
    if not groups:
        return []
    table, system = _t(ExposureRow), _t(System)
    stmt = sa.select(table.c.vuln_group, table.c.versions).select_from(
        table.join(system, system.c.id == table.c.system_id)
    )
    stmt = stmt.where(
        system.c.org_id == org_id,
        table.c.excluded_by == "",
        table.c.first_seen <= moment,
        table.c.last_affected_seen > moment,
    )
    out: list[tuple[str, list[str]]] = []
    for part in chunks(sorted(set(groups)), _CHUNK):
        for group, versions in session.execute(stmt.where(table.c.vuln_group.in_(part))):
            out.append((group, list(versions)))
    return out


class InputsToken(NamedTuple):
    """See :func:`inputs_token`."""

    seq: int  # the organization's change clock (``store.queries.changes``)
    match_results: int
    matched_packages: int
    match_epoch: int | None
    affected: int
    affected_max_id: int | None
    advisory_max_id: int | None
    analysis_max_id: int | None
    analysis_entry_max_id: int | None

    def only_clock_moved(self, earlier: InputsToken) -> bool:
        """Whether nothing moved since ``earlier`` but the organization's change clock (no match
        result, advisory or decision): then the systems whose inputs can have moved are those the
        clock names as changed since (``store.queries.changes.changed_since``)."""
        return self.seq >= earlier.seq and self._replace(seq=earlier.seq) == earlier


def inputs_token(session: Session, org_id: int) -> InputsToken:
    """Aggregates that move whenever any of the organization's systems' exposure inputs
    (``input_states`` and the analysis records) can have moved: the organization's change clock, which
    every write of a system, its snapshots or its build state moves in its transaction (and in commit
    order: a snapshot that commits late still moves it; ``store.queries.changes``), and database-wide
    facts no system row carries: match results written or forgotten (their count, the forgetting
    epoch), an advisory's affected rows replaced (every changed advisory's are deleted and inserted
    again: the count or the newest id moves), an analysis decision. Each is one index lookup or one
    count: a few milliseconds, against a digest per system for the full check; read in one statement.

    Equal tokens mean no input moved, so a check that found every system current need not run again
    (``pipeline.exposures.build.ensure_exposures``); a differing token says nothing more than "check"
    (or, :meth:`InputsToken.only_clock_moved`, "check the systems the clock names").
    """
    result, epoch = _t(MatchResult), _t(MatchEpoch)
    affected, advisory = _t(AffectedPackageRow), _t(Advisory)
    analysis, entry, matched = _t(AnalysisRow), _t(AnalysisEntryRow), _t(PackageMatchState)

    def scalar(stmt: Any) -> Any:
        return stmt.scalar_subquery()

    row = session.execute(
        sa.select(
            clock_of(org_id),
            scalar(sa.select(sa.func.count()).select_from(result)),
            scalar(sa.select(sa.func.count()).select_from(matched)),
            scalar(sa.select(sa.func.max(epoch.c.epoch))),
            scalar(sa.select(sa.func.count()).select_from(affected)),
            scalar(sa.select(sa.func.max(affected.c.id))),
            scalar(sa.select(sa.func.max(advisory.c.id))),
            scalar(sa.select(sa.func.max(analysis.c.id))),
            scalar(sa.select(sa.func.max(entry.c.id))),
        )
    ).one()
    return InputsToken(*row)
