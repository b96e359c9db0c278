"""The deploy-time report of a whole organization from its stored exposures, as columns.

``deploy_time_json`` / ``deploy_time`` (``pipeline.exposures.reports``) answer through here: the
counted rows are read as columns (``store.queries.exposures.counted_columns``) and summarized over
arrays by ``reports.deploy_time_columns``. A report evaluated before the newest snapshot (a look back)
cuts the same columns at its moment (:func:`_report_before`) — what recomputing the intervals from the
snapshots up to it gives — except where a version's analysis record could decide otherwise then; that
case, and the embargo's, takes the per-exposure path over the stored rows cut there as whole intervals
(``pipeline.exposures.reports.report_inputs``). The definition stays the per-exposure report computed
from the snapshots (:func:`pipeline.exposures.reports.deploy_time_reference`): tests compare
both on generated fleets, at moments after and before the newest snapshot.

The counted rows are kept per system in this process (:class:`_RowCache`), each under the build
state it was read with (``exposure_state``: input digest and build time, rewritten with the rows by
every rebuild). A summary reads the organization's build states — one row per system — and then only
the rows of systems rebuilt since: after one new snapshot of one system, that system's rows. Each
system's snapshot span (count, first and last) and its excluded intervals are kept with its rows, under
the same state (its snapshots are among the build's inputs), so the systems' attributes are read
without aggregating every snapshot again. The first summary of an organization in a process reads
them all.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import operator
import threading
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from core.embargo import current_view
from core.kept import keep as kept_in
from core.time import moment_asked, now_including, require_utc, within_range
from pipeline.embargo import excluded_in_groups, hidden_groups
from pipeline.exposures.build import ensure_exposures
from pipeline.exposures.facts import fact_for, ids_of
from pipeline.exposures.triage import analysis_records
from pipeline.sla import policy_of
from pipeline.systems import SystemFilter
from reports.deploy_time import DeployTimeReport, GapSplit, MonthTrend, StaleSystem, Summary
from reports.deploy_time_columns import (
    ExposureColumns,
    deploy_time_report_columns,
    micros,
    monthly_trend,
    overall_and_gap,
    overall_clocks,
    pair_fixes,
    stale_of,
)
from reports.exposure_records import SnapshotRef, SystemHistory, VulnFacts
from reports.sla import SlaPolicy
from store.db import Database, Tx
from store.queries import advisories as advisory_queries
from store.queries import changes
from store.queries import exposures as q
from store.queries import lists as lq
from store.queries import registries as registry_queries
from store.queries import systems as system_queries
from store.queries.organizations import get_organization

K = TypeVar("K", bound=Hashable)


class _Codes(dict[K, int]):
    """Value → dense integer code, in order of first appearance."""

    def __missing__(self, key: K) -> int:
        code = self[key] = len(self)
        return code


@dataclass(frozen=True, slots=True)
class _ShapeTable:
    """The shapes' values as arrays indexed by shape code (pairs, ecosystems and resolutions as codes
    into the dicts, in order of first appearance; ``analysis_id`` −1 for none), and their groups:
    extended as shapes are added, so that a summary reads its columns by one array lookup per row."""

    pair: np.ndarray
    ecosystem: np.ndarray
    first_seen: np.ndarray
    last_affected: np.ndarray
    resolved: np.ndarray  # 0 while open
    closed: np.ndarray
    resolution: np.ndarray
    analysis_id: np.ndarray
    pairs: dict[tuple[str, str], int]
    ecosystems: dict[str, int]
    resolutions: dict[str | None, int]
    groups: frozenset[str]

    @staticmethod
    def empty() -> _ShapeTable:
        none = np.zeros(0, dtype=np.int64)
        return _ShapeTable(
            none, none, none, none, none, np.zeros(0, dtype=bool), none, none, {}, {}, {}, frozenset()
        )

    def extended(self, new: Sequence[q.ExposureShape]) -> _ShapeTable:
        """This table with ``new`` shapes appended (codes copied: readers may hold this one)."""
        if not new:
            return self
        pairs, ecosystems = _Codes(self.pairs), _Codes(self.ecosystems)
        resolutions: _Codes[str | None] = _Codes(self.resolutions)
        m = len(new)

        def column(values: Iterable[int]) -> np.ndarray:
            return np.fromiter(values, dtype=np.int64, count=m)

        def add(old: np.ndarray, more: np.ndarray) -> np.ndarray:
            return np.concatenate([old, more])

        return _ShapeTable(
            pair=add(self.pair, column(pairs[(x.vuln_group, x.package)] for x in new)),
            ecosystem=add(self.ecosystem, column(ecosystems[x.ecosystem] for x in new)),
            first_seen=add(self.first_seen, column(x.first_seen for x in new)),
            last_affected=add(self.last_affected, column(x.last_affected_seen for x in new)),
            resolved=add(self.resolved, column(x.resolved_at or 0 for x in new)),
            closed=add(self.closed, np.fromiter((x.resolved_at is not None for x in new), bool, m)),
            resolution=add(self.resolution, column(resolutions[x.resolution] for x in new)),
            analysis_id=add(self.analysis_id, column(x.analysis_id or -1 for x in new)),
            pairs=pairs,
            ecosystems=ecosystems,
            resolutions=resolutions,
            groups=self.groups | {x.vuln_group for x in new},
        )

    def subset(self, kept: Sequence[int], shapes: Sequence[q.ExposureShape]) -> _ShapeTable:
        """The table of the shapes ``kept`` (their codes in order), ``shapes`` being those shapes."""
        return _ShapeTable(
            self.pair[kept],
            self.ecosystem[kept],
            self.first_seen[kept],
            self.last_affected[kept],
            self.resolved[kept],
            self.closed[kept],
            self.resolution[kept],
            self.analysis_id[kept],
            self.pairs,
            self.ecosystems,
            self.resolutions,
            frozenset(x.vuln_group for x in shapes),
        )


@dataclass(frozen=True, slots=True)
class _OrgRows:
    """One organization's counted rows as last read: per system, its build state and the codes of
    its rows' shapes in ``shapes``."""

    states: dict[int, tuple[str, object]]
    codes: dict[int, np.ndarray]
    shapes: list[q.ExposureShape]
    index: dict[q.ExposureShape, int]
    # Per system, what is read with its rows and changes only with its build state: its snapshot span
    # (its snapshots are among the build's inputs) and its excluded intervals by resolution.
    spans: dict[int, system_queries.Span]
    excluded: dict[int, dict[str, int]]
    table: _ShapeTable
    digest: bytes  # of ``states``: the rows change only with them
    seq: int  # the change clock's number ``states`` are current at (−1: none)


def _states_digest(states: Mapping[int, tuple[str, object]]) -> bytes:
    return hashlib.sha1(repr(sorted(states.items())).encode(), usedforsecurity=False).digest()


class _RowCache:
    """Counted rows per (database, organization), refreshed by system (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orgs: dict[tuple[str, int], _OrgRows] = {}
        # With the change clock's number they are current at.
        self._systems: dict[tuple[str, int], tuple[int, dict[int, system_queries.KeptSystem]]] = {}
        self._histories: dict[tuple[str, int], dict[int, tuple[system_queries.SystemRow, SystemHistory]]] = {}
        self._digests: dict[tuple[str, int], tuple[list[system_queries.SystemRow], bytes]] = {}

    def systems(
        self, session: Tx, db: Database, org_id: int, spans: Mapping[int, system_queries.Span]
    ) -> list[system_queries.SystemRow]:
        """The organization's systems with these spans, reading again only those the change clock names
        as changed since the last call and decoding only those whose attributes or span moved
        (``org_systems_spanned``)."""
        key = (str(db.url), org_id)
        with self._lock:
            found = self._systems.get(key)
        only: list[int] | None = None
        if found is not None:
            # Only the systems the change clock names as changed since: a change of a system's
            # attributes or snapshots moves its inputs' number (a list write or a rebuild, neither),
            # when none was added or deleted and they are few.
            seq, moved = changes.changed_since(session, org_id, found[0], inputs_only=True)
            kept = found[1]
            same = len(kept) == system_queries.system_count(session, org_id)
            if same and len(moved) <= changes.FEW_SYSTEMS and all(sid in kept for sid in moved):
                only = moved
        else:
            seq, kept = changes.current_seq(session, org_id), None
        rows, keep = system_queries.org_systems_spanned(session, org_id, spans, kept, only)
        with self._lock:
            kept_in(self._systems, key, (seq, keep))
        return rows

    def histories(
        self, db: Database, org_id: int, systems: Sequence[system_queries.SystemRow]
    ) -> list[SystemHistory]:
        """:func:`newest_histories` of these systems, reusing the history of a system whose row is the
        very one it was built from (rows are reused while a system is unchanged: :meth:`systems`)."""
        key = (str(db.url), org_id)
        with self._lock:
            kept = self._histories.get(key, {})
        out: list[SystemHistory] = []
        keep = dict(kept)  # a filtered call keeps the others' too
        for s in systems:
            found = kept.get(s.id)
            history = found[1] if found is not None and found[0] is s else newest_histories((s,))[0]
            out.append(history)
            keep[s.id] = (s, history)
        with self._lock:
            kept_in(self._histories, key, keep)
        return out

    def systems_digest(self, key: tuple[str, int], systems: list[system_queries.SystemRow]) -> bytes:
        """A digest of what the systems' histories are made of, computed again only when a row is not
        the very one it was computed from (rows are reused while a system is unchanged: :meth:`systems`)."""
        with self._lock:
            kept = self._digests.get(key)
        if kept is not None and len(kept[0]) == len(systems) and all(map(operator.is_, kept[0], systems)):
            return kept[1]

        def of(s: system_queries.SystemRow) -> tuple[Any, ...]:
            times = [None if t is None else micros(t) for t in (s.last_observed_at, s.decommissioned_at)]
            return (s.id, s.name, s.environment, s.internet_exposed, s.cadence_days, s.criticality, *times)

        digest = hashlib.sha1(repr([of(s) for s in systems]).encode(), usedforsecurity=False).digest()
        with self._lock:
            kept_in(self._digests, key, (list(systems), digest))
        return digest

    def rows(self, session: Tx, db: Database, org_id: int) -> _OrgRows:
        # States first: a rebuild committed between the two reads leaves rows newer than their
        # recorded state, which the next summary reads again.
        key = (str(db.url), org_id)
        with self._lock:
            old = self._orgs.get(key)
        states, seq = _build_states(session, org_id, old)
        with self._lock:
            changed = [sid for sid, state in states.items() if old is None or old.states.get(sid) != state]
            if old is None or len(old.shapes) > 4 * max(1, sum(len(c) for c in old.codes.values())):
                # Start over, and drop shapes no row uses any more.
                old = _OrgRows({}, {}, [], {}, {}, {}, _ShapeTable.empty(), b"", -1)
                changed = list(states)
            some = None if len(changed) == len(states) else changed
            fresh = q.counted_columns(session, org_id, some)
            unchanged = states.keys() - set(changed)
            spans = {sid: span for sid, span in old.spans.items() if sid in unchanged}
            spans.update(system_queries.snapshot_spans(session, org_id, some))
            excluded = {sid: n for sid, n in old.excluded.items() if sid in unchanged}
            excluded.update(q.excluded_by_system(session, org_id, some))
            index, shapes = dict(old.index), list(old.shapes)
            by_system: dict[int, list[int]] = {sid: [] for sid in changed}
            for sid, shape in zip(fresh.system_id, fresh.shape, strict=True):
                code = index.get(shape)
                if code is None:
                    code = index[shape] = len(shapes)
                    shapes.append(shape)
                by_system[sid].append(code)
            table = old.table.extended(shapes[len(old.shapes) :])
            ordered = _in_interval_order(table, [by_system[sid] for sid in changed])
            read = dict(zip(changed, ordered, strict=True))
            codes = {sid: read[sid] if sid in read else old.codes[sid] for sid in states}
            # No system changed and none left: the same states.
            same = not changed and len(states) == len(old.states)
            digest = old.digest if same else _states_digest(states)
            found = _OrgRows(dict(states), codes, shapes, index, spans, excluded, table, digest, seq)
            return kept_in(self._orgs, key, found)


def _build_states(
    session: Tx, org_id: int, old: _OrgRows | None
) -> tuple[Mapping[int, tuple[str, object]], int]:
    """The organization's build states (``q.build_states``) and the change clock's number they are
    current at, reading only those of the systems the clock names as changed since ``old`` was read
    (``changes.per_system_since``: a build state is written in a transaction that moves the clock)."""
    seq, states = changes.per_system_since(
        session,
        org_id,
        None if old is None or old.seq < 0 else (old.seq, old.states),
        lambda ids: q.build_states(session, org_id, ids),
        lambda: lq.built_count(session, org_id),
    )
    return states, seq


_ROWS = _RowCache()


def _in_interval_order(table: _ShapeTable, systems: Sequence[list[int]]) -> list[np.ndarray]:
    """Each system's row codes ordered by the interval they are — (group and package, first sighting),
    which a rebuild does not change — not by the order the database returned them in (a rebuilt
    system's rows may come back in another): the same intervals give the same columns in the same
    order, and so the same cut key (``_cut_key``) after an upload that leaves a previous period's
    cut as it was."""
    lengths = [len(codes) for codes in systems]
    if not systems:
        return []
    every = np.array([c for codes in systems for c in codes], dtype=np.int64)
    owner = np.repeat(np.arange(len(systems), dtype=np.int64), lengths)
    order = np.lexsort((table.first_seen[every], table.pair[every], owner))
    return np.split(every[order], np.cumsum(lengths)[:-1])


def _without_groups(rows: _OrgRows, hidden: frozenset[str]) -> _OrgRows:
    """``rows`` without the shapes (and so the rows) of the groups the reader may not see
    (``pipeline.embargo``); the cache itself keeps every row."""
    if not hidden or not any(x.vuln_group in hidden for x in rows.shapes):
        return rows
    kept = [i for i, x in enumerate(rows.shapes) if x.vuln_group not in hidden]
    remap = np.full(len(rows.shapes), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept), dtype=np.int64)
    codes = {sid: remap[c][remap[c] >= 0] for sid, c in rows.codes.items()}
    shapes = [rows.shapes[i] for i in kept]
    return _OrgRows(
        rows.states,
        codes,
        shapes,
        {x: i for i, x in enumerate(shapes)},
        rows.spans,
        rows.excluded,
        rows.table.subset(kept, shapes),
        rows.digest,
        rows.seq,
    )


def newest_histories(
    systems: Iterable[system_queries.SystemRow], newest: Mapping[int, datetime] | None = None
) -> list[SystemHistory]:
    """Each system's history with its newest snapshot only — all that staleness and the breakdowns
    need: its last one, or (``newest``: system id → snapshot time) the newest up to an earlier moment."""
    out = []
    for s in systems:
        last = s.last_observed_at if newest is None else newest.get(s.id)
        out.append(
            SystemHistory(
                s.name,
                (SnapshotRef(last, "newest"),) if last else (),
                s.environment,
                s.internet_exposed,
                s.cadence_days,
                s.decommissioned_at,
                s.criticality,
            )
        )
    return out


def stored_time_to_deploy_before(db: Database, org: str, moment: datetime) -> dict[str, Any] | None:
    """The deploy-time document's ``time_to_deploy`` figures at ``moment`` from the stored rows cut at
    it, when ``moment`` lies before the newest snapshot (``None`` otherwise, or when the embargo asks
    for the per-exposure path): what the report recomputed from the snapshots up to ``moment`` says.

    A stored interval is what the snapshots up to any moment after its first sighting say of it, cut
    there: one first seen after ``moment`` did not exist yet; one closed after ``moment`` (a snapshot
    without it, or a decommissioning) was open then, last seen affected at the system's newest snapshot
    up to ``moment`` (every snapshot of an interval shows it affected). Facts — advisories, KEV, EPSS,
    fix releases, analysis records, the SLA policy — are today's in both. The previous-period figures
    of the dashboard overview come from here: one pass over the stored columns instead of a rebuild of
    every interval from the snapshots; tests compare both on generated fleets.
    """
    moment = require_utc(moment, "as_of")
    stored = _stored_columns(db, org, None)
    if stored is None:
        return None
    newest = _newest(stored.systems)
    if newest is None or moment >= newest:
        return None
    return _time_to_deploy_before(db, stored, moment)


def _newest(systems: Iterable[system_queries.SystemRow]) -> datetime | None:
    """The newest snapshot or decommissioning: a moment before it is a look back (as ``report_inputs``
    decides: the stored rows hold every snapshot and a decommissioning)."""
    return max(
        (t for s in systems for t in (s.last_observed_at, s.decommissioned_at) if t is not None),
        default=None,
    )


def _time_to_deploy_before(db: Database, stored: _Stored, moment: datetime) -> dict[str, Any]:
    """:func:`stored_time_to_deploy_before` from columns already read."""
    with db.read() as session:
        last_at = _last_snapshots_at(session, stored, moment)
    keep, closed_then, last_affected = _cut_masks(stored, moment, last_at)
    key = _cut_key(stored, keep, closed_then, last_affected)
    with _BEFORE_LOCK:
        kept = _BEFORE.get(key)
    if kept is not None:
        return copy.deepcopy(kept)
    cut_columns = _cut_columns(stored.columns, keep, closed_then, last_affected)
    figures: dict[str, Any] = overall_clocks(cut_columns, stored.facts).summary().time_to_deploy.to_json()
    with _BEFORE_LOCK:
        kept_in(_BEFORE, key, copy.deepcopy(figures), _BEFORE_KEPT)
    return figures


def _cut_masks(
    stored: _Stored, moment: datetime, last_at: Mapping[int, datetime]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stored row: whether it was first seen up to ``moment`` (``keep``), whether it was closed
    then, and its last affected sighting as of then (a row closed after the moment is open then, last
    seen affected at its system's newest snapshot up to the moment: ``last_at``)."""
    c, cut = stored.columns, micros(moment)
    last_of_system = np.array(
        [micros(last_at[s.id]) if s.id in last_at else 0 for s in stored.systems], dtype=np.int64
    )
    keep = c.first_seen <= cut
    closed_then = c.closed & (c.resolved <= cut)
    last_affected = np.where(closed_then, c.last_affected, last_of_system[c.system])
    return keep, closed_then, last_affected


def _cut_columns(
    c: ExposureColumns, keep: np.ndarray, closed_then: np.ndarray, last_affected: np.ndarray
) -> ExposureColumns:
    """The columns of the rows as the snapshots up to the moment of :func:`_cut_masks` show them: a
    row closed after it is open (no resolution)."""
    none_code = len(c.resolutions)
    return ExposureColumns(
        system=c.system[keep],
        pair=c.pair[keep],
        ecosystem=c.ecosystem[keep],
        first_seen=c.first_seen[keep],
        last_affected=last_affected[keep],
        resolved=c.resolved[keep],
        closed=closed_then[keep],
        resolution=np.where(c.closed & ~closed_then, none_code, c.resolution)[keep],
        analysis=c.analysis[keep],
        pairs=c.pairs,
        ecosystems=c.ecosystems,
        resolutions=[*c.resolutions, None],
        analyses=c.analyses,
    )


def _cut_key(stored: _Stored, keep: np.ndarray, closed_then: np.ndarray, last_affected: np.ndarray) -> bytes:
    """A digest of all the previous period's figures at a moment are computed from
    (:func:`_time_to_deploy_before`): per row first seen up to it (``keep``), in the columns' order
    (the systems' order, each system's rows in interval order: ``_stored_columns``), its pair, its
    first sighting, its last affected one as of the moment, and if closed then R and the resolution (0
    and −1 while open then, whether it closes later or not); the pairs' fixes (of the facts); what the
    codes stand for. An upload dated after the moment leaves it as it was."""
    c = stored.columns
    h = hashlib.sha256()  # hashes ~1 GB/s here (blake2b half that): 23 MB of rows at 10,000 systems
    h.update(repr((list(c.pairs), list(c.resolutions))).encode())
    has_fix, fix_at = pair_fixes(c.pairs, stored.facts)
    h.update(has_fix.tobytes() + fix_at.tobytes())
    for values in (
        c.pair,
        c.first_seen,
        last_affected,
        np.where(closed_then, c.resolved, 0),
        np.where(closed_then, c.resolution, -1),
    ):
        h.update(np.ascontiguousarray(values[keep], dtype=np.int64).data)
        h.update(b"|")
    return h.digest()


# (database URL, organization id, moment) → (the build states the systems' newest snapshots up to the
# moment were read under, system id → that snapshot's time). A system's snapshots are among its build's
# inputs: its entry is read again only when its build state moved (an upload, a backfill, a deletion)
# or it has none, so that a previous period's figures after an upload read one system, not 10,000.
_LAST_AT: dict[tuple[str, int, datetime], tuple[Mapping[int, tuple[str, object]], dict[int, datetime]]] = {}
_LAST_AT_KEPT = 8


def _last_snapshots_at(session: Tx, stored: _Stored, moment: datetime) -> dict[int, datetime]:
    """System id → its newest snapshot at or before ``moment``, of the stored columns' systems
    (``system_queries.last_snapshots_at``), reading again only the systems whose build state moved
    since this process last read them at this moment (``_LAST_AT``)."""
    url, org_id = stored.org
    key = (url, org_id, moment)
    with _BEFORE_LOCK:
        kept = _LAST_AT.get(key)
    wanted = [s.id for s in stored.systems]
    again: list[int] | None = None
    if kept is not None:
        states, found = kept
        again = [sid for sid in wanted if sid not in stored.states or states.get(sid) != stored.states[sid]]
        if len(again) > changes.FEW_SYSTEMS:  # every one, in one statement
            again = None
    if kept is None or again is None:
        last_at = system_queries.last_snapshots_at(session, org_id, moment)
    else:
        last_at = {sid: found[sid] for sid in wanted if sid in found}
        for sid in again:
            last_at.pop(sid, None)
        if again:
            last_at.update(system_queries.last_snapshots_at(session, org_id, moment, again))
    with _BEFORE_LOCK:
        kept_in(_LAST_AT, key, (stored.states, last_at), _LAST_AT_KEPT)
    return last_at


# Digest of what a previous period's figures were computed from (``_cut_key``) → those figures: a change
# after the period's moment (a new snapshot, an interval closed since) leaves its cut rows as they were,
# and their summary is not computed again.
_BEFORE: dict[bytes, dict[str, Any]] = {}
_BEFORE_KEPT = 16
_BEFORE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Headlines:
    """What the dashboard's overview takes from the deploy-time report at a moment — the overall
    summary (its time-to-deploy figures and survival curve), the gap, the monthly trend and the stale
    systems — with the ``time_to_deploy`` figures at an earlier moment (``previous``) and the systems.

    None of these depends on what the facts say of severity — CVSS, rating, KEV, EPSS — and the overall
    summary and the gap not on the moment either (a clock runs from a fix's availability to the rows'
    own times): they are kept under a digest of the rest (``_Stored.headline_key``), so that a KEV entry
    or an EPSS score (which changes the list rows of every system with its group) or a new minute does
    not compute them again; the trend and the stale systems are computed at each moment. Shared: read,
    never change them."""

    overall: Summary
    gap: GapSplit
    monthly: tuple[MonthTrend, ...]
    stale_systems: tuple[StaleSystem, ...]
    previous: Mapping[str, Any]
    systems: list[system_queries.SystemRow]

    @classmethod
    def of(
        cls, report: DeployTimeReport, previous: Mapping[str, Any], systems: list[system_queries.SystemRow]
    ) -> Headlines:
        return cls(report.overall, report.gap, report.monthly, report.stale_systems, previous, systems)


def severity_free(facts: VulnFacts) -> VulnFacts:
    """The facts without severity (CVSS, rating, KEV, EPSS): what a fix's availability, upstream's part
    of the gap and the last-resort flag are computed from (``reports.deploy_time``) is all kept."""
    return dataclasses.replace(facts, cvss=None, rating=None, exploited=False, epss=None)


# Digest of the headlines' inputs but the moments (``_Stored.headline_key``) → the overall summary and
# the gap; with the previous period's moment → its ``time_to_deploy`` figures. Oldest dropped first.
_OVERALL: dict[bytes, tuple[Summary, GapSplit]] = {}
_PREVIOUS: dict[tuple[bytes, datetime], Mapping[str, Any]] = {}
_HEADLINES_KEPT = 16
_HEADLINES_LOCK = threading.Lock()


def stored_headlines(
    db: Database, org: str, moment: datetime, previous: datetime, *, current: bool = False
) -> Headlines | None:
    """The :class:`Headlines` at ``moment`` (at or after the newest snapshot), with the
    ``time_to_deploy`` figures at ``previous`` (before it: :func:`stored_time_to_deploy_before`; else
    the report's at that moment), from one read of the stored columns; ``None`` when ``moment`` is a
    look back or the embargo asks for the per-exposure path. ``current``: the caller just brought the
    stored exposures current.
    """
    moment, previous = require_utc(moment, "as_of"), require_utc(previous, "as_of")
    stored = _stored_columns(db, org, None, current=current)
    if stored is None:
        return None
    newest = _newest(stored.systems)
    if newest is not None and moment < newest:
        return None
    stored = dataclasses.replace(stored, facts=[severity_free(f) for f in stored.facts])
    key = stored.headline_key()
    with _HEADLINES_LOCK:
        kept, before = _OVERALL.get(key), _PREVIOUS.get((key, previous))
    if kept is None:
        kept = overall_and_gap(stored.columns, stored.facts)
        with _HEADLINES_LOCK:
            kept_in(_OVERALL, key, kept, _HEADLINES_KEPT)
    if before is None:
        if newest is not None and previous < newest:
            before = MappingProxyType(_time_to_deploy_before(db, stored, previous))
        else:  # nothing changed since: the overall figures (which do not depend on the moment)
            before = MappingProxyType(kept[0].time_to_deploy.to_json())
        with _HEADLINES_LOCK:
            kept_in(_PREVIOUS, (key, previous), before, _HEADLINES_KEPT)
    monthly = monthly_trend(stored.columns, moment)
    return Headlines(kept[0], kept[1], monthly, stale_of(stored.histories, moment), before, stored.systems)


def _stored_columns(
    db: Database, org: str, only: SystemFilter | None, *, current: bool = False
) -> _Stored | None:
    """The organization's counted stored rows as columns (over the systems ``only`` selects) with the
    systems, facts and policy a summary needs; ``None`` when the embargo asks for the per-exposure path."""
    if not current:
        ensure_exposures(db, org)
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        org_id = org_row.id
        hidden = hidden_groups(session)
        if hidden and excluded_in_groups(session, org_row.id, hidden):
            # Triage-excluded rows of groups the reader may not see: the per-exposure path leaves
            # them out of the excluded counts (rare: such rows come from an entitled key's decision).
            return None
        raw = _without_groups(_ROWS.rows(session, db, org_row.id), hidden)
        systems = _ROWS.systems(session, db, org_row.id, raw.spans)
        if only:
            systems = only.select(systems)
        excluded = _by_resolution(raw.excluded.get(s.id, {}) for s in systems)
        withdrawn = tuple(g for g in q.withdrawn_groups(session, org_row.id) if g not in hidden)
        table = raw.table
        records = analysis_records(session, org_row.id) if (table.analysis_id >= 0).any() else []
        groups = set(table.groups)
        advisories: dict[str, list[advisory_queries.GroupAdvisory]] = defaultdict(list)
        for a in advisory_queries.group_advisories(session, groups):
            advisories[a.group_key].append(a)
        cves = {i for g in groups for i in ids_of(g, advisories[g]) if i.startswith("CVE-")}
        kev = advisory_queries.kev_ids(session, cves)
        epss = advisory_queries.epss_scores(session, cves)
        released = registry_queries.group_fix_releases(session, groups, public_at=current_view().moment())
        policy = policy_of(session, org_row.id, org)
    facts = [fact_for(g, advisories[g], kev, epss, released) for g in sorted(groups)]
    system_index = {s.id: i for i, s in enumerate(systems)}
    # In the systems' order, not the order the build states were read in (a rebuilt system's state
    # row may come last): the same rows give the same columns, and so the same cut key
    # (``_cut_key``) after a change that leaves a previous period's cut as it was.
    present = [s.id for s in systems if s.id in raw.codes]
    lengths = [len(raw.codes[sid]) for sid in present]
    shape = np.concatenate([raw.codes[sid] for sid in present]) if present else np.zeros(0, dtype=np.int64)
    # The record of each analysis id, as its index in ``records`` (−1: none, or not a record now).
    ids = np.array([r.id for r in records], dtype=np.int64)
    top = int(max(ids.max(initial=-1), table.analysis_id.max(initial=-1))) + 1
    record_of = np.full(top + 1, -1, dtype=np.int64)  # the last entry: "no analysis" (−1)
    record_of[ids] = np.arange(len(records), dtype=np.int64)
    columns = ExposureColumns(
        system=np.repeat(np.array([system_index[sid] for sid in present], dtype=np.int64), lengths),
        pair=table.pair[shape],
        ecosystem=table.ecosystem[shape],
        first_seen=table.first_seen[shape],
        last_affected=table.last_affected[shape],
        resolved=table.resolved[shape],
        closed=table.closed[shape],
        resolution=table.resolution[shape],
        analysis=record_of[table.analysis_id[shape]],
        pairs=list(table.pairs),
        ecosystems=list(table.ecosystems),
        resolutions=list(table.resolutions),
        analyses=records,
    )
    histories = _ROWS.histories(db, org_id, systems)
    state = hashlib.sha1(raw.digest + repr(sorted(hidden)).encode(), usedforsecurity=False).digest()
    found = (facts, policy, excluded, withdrawn, histories, state, (str(db.url), org_id))
    return _Stored(columns, systems, *found, raw.states)


def _by_resolution(systems: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Excluded intervals by resolution, summed over the systems' counts (``q.excluded_by_system``)."""
    out: dict[str, int] = defaultdict(int)
    for counts in systems:
        for resolution, n in counts.items():
            out[resolution] += n
    return dict(out)


@dataclass(frozen=True, slots=True)
class _Stored:
    columns: ExposureColumns
    systems: list[system_queries.SystemRow]
    facts: list[VulnFacts]
    policy: SlaPolicy
    excluded: dict[str, int]
    withdrawn: tuple[str, ...]
    histories: list[SystemHistory]  # the systems' newest snapshots (newest_histories)
    # A digest of the rows' build states and the groups left out (the rows change only with them).
    rows_state: bytes
    org: tuple[str, int]  # (database URL, organization id)
    states: Mapping[int, tuple[str, object]]  # each built system's build state, as the rows were read

    def headline_key(self) -> bytes:
        """A digest of everything :func:`stored_headlines` computes from but the moments, with these
        facts: the rows (``rows_state``; a system's snapshots are among its build's inputs, so its
        newest snapshot up to any moment is too), the systems (all their histories are made of), the
        facts and the analysis records."""

        systems = _ROWS.systems_digest(self.org, self.systems)
        text = repr((self.facts, self.columns.analyses)).encode()
        return hashlib.sha1(self.rows_state + systems + text, usedforsecurity=False).digest()

    def report(self, moment: datetime, *, breakdowns: bool = True) -> DeployTimeReport:
        """The deploy-time report of these rows at ``moment`` (at or after the newest snapshot)."""
        return deploy_time_report_columns(
            self.columns,
            self.histories,
            self.facts,
            moment,
            policy=self.policy,
            excluded=self.excluded,
            withdrawn_groups_skipped=self.withdrawn,
            breakdowns=breakdowns,
        )


def stored_deploy_time(
    db: Database, org: str, as_of: datetime | None = None, *, only: SystemFilter | None = None
) -> DeployTimeReport | None:
    """The organization's deploy-time report from its stored rows (over the systems ``only`` selects),
    cut at ``as_of`` when it lies before their newest snapshot or decommissioning (a look back:
    :func:`_report_before`); ``None`` when the embargo or a version's analysis record asks for the
    per-exposure path (the caller then reads the rows as whole intervals, cut at ``as_of``)."""
    if as_of is not None:
        within_range(as_of, "as_of", "report")
    moment, now = moment_asked(as_of)
    stored = _stored_columns(db, org, only)
    if stored is None:
        return None
    newest = _newest(stored.systems)
    if now is not None:  # "now" shows a snapshot or decommissioning since the second began
        moment = now_including(moment, newest, now)
    if newest is not None and moment < newest:
        return _report_before(db, stored, moment, whole=not only)
    return stored.report(moment)


def _report_before(
    db: Database, stored: _Stored, moment: datetime, *, whole: bool
) -> DeployTimeReport | None:
    """The deploy-time report at ``moment``, before the newest snapshot, from the stored rows cut there
    (:func:`stored_time_to_deploy_before` says why that is what recomputing the intervals from the
    snapshots up to it gives), with each system's newest snapshot up to the moment and the excluded
    intervals first seen by then; ``whole``: the columns are the whole organization's (no filter).

    ``None`` (the caller recomputes the intervals) when a version's analysis record may decide about
    an interval otherwise then than now: a row carries the record that decides about its last version,
    and an interval seen affected after the moment in several versions may have run another one then.
    (A record that names a version none of those intervals ran decides about none of their versions:
    every version of such an interval is decided by the same record.)"""
    org_id = stored.org[1]
    ids = [s.id for s in stored.systems]
    with db.read() as session:
        named: dict[str, set[str]] = defaultdict(set)
        for r in analysis_records(session, org_id):
            if r.version is not None:
                named[r.vuln_group].add(r.version)
        for group, versions in q.versions_across(session, org_id, named, moment):
            if len(versions) > 1 and not named[group].isdisjoint(versions):
                return None
        if whole:
            last_at = _last_snapshots_at(session, stored, moment)
        else:
            last_at = system_queries.last_snapshots_at(session, org_id, moment, ids)
        found = q.excluded_by_system(session, org_id, None if whole else ids, first_seen_until=moment)
        excluded = _by_resolution(found.values())
    columns = _cut_columns(stored.columns, *_cut_masks(stored, moment, last_at))
    return deploy_time_report_columns(
        columns,
        newest_histories(stored.systems, last_at),
        stored.facts,
        moment,
        policy=stored.policy,
        excluded=excluded,
        withdrawn_groups_skipped=stored.withdrawn,
    )
