"""Stored exposures: build each system's exposure intervals from its snapshots and matches, and keep
them current.

Persistence (see ``store.tables.exposures``): each system's exposure intervals are stored and rebuilt as
a whole by :func:`rebuild_exposures` whenever an input changed. A report first calls
:func:`ensure_exposures`, which compares each system's input digest with the one its rows were built
from and rebuilds only the systems that differ — so a report is never stale, whoever forgot to
trigger a rebuild, and costs one digest query when nothing changed. Ingest, matching and triage (a
decision, a VEX import) may call :func:`rebuild_exposures` eagerly to take that cost off the next
report. Every rebuild also records, once, the CRA awareness facts it reveals
(``pipeline.cra.record_awareness``).

:func:`compute_timeline` is the one computation of intervals: a rebuild stores what it returns, and a
report evaluated before the newest snapshot (``as_of``) runs it on the snapshots up to that moment.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.kept import keep
from core.packages import NotAssessable
from core.time import require_utc
from core.triage import Analysis
from matcher.purls import purl_key
from pipeline.cra import record_awareness
from pipeline.database import refresh_statistics
from pipeline.exposures.triage import analysis_records
from reports.exposure_records import (
    Exposure,
    SnapshotRef,
    SystemHistory,
    Timeline,
)
from reports.timeline import build_timeline, histories_from_rows, split_purl_version
from reports.triage import AnalysisIndex
from store.db import Database, Tx
from store.queries import changes
from store.queries import exposures as q
from store.queries import systems as system_queries
from store.queries.organizations import get_organization, organization_id, organizations

# --- building timelines ----------------------------------------------------------------------------


def _probe_key(purl: str) -> tuple[str, str] | None:
    """The matcher's (ecosystem, name) of a purl with or without version (analysis records name none)."""
    found = purl_key(purl)
    return None if isinstance(found, NotAssessable) else found


def analysis_index(records: Sequence[Analysis], base: Mapping[tuple[str, str], str]) -> AnalysisIndex:
    """The records indexed under the exposures' spelling of each package: ``base`` maps the matcher's
    (ecosystem, name) to it; a record names its package as its author spelled it."""

    def display(record: Analysis) -> str:
        key = _probe_key(record.package)
        return base.get(key, record.package) if key is not None else record.package

    return AnalysisIndex(records, package_of=display)


@dataclass(frozen=True, slots=True)
class Built:
    timeline: Timeline
    systems: list[SystemHistory]
    # (system, package, group, version) → fixed versions, of each interval's deployed versions and,
    # when built with ``every_version``, of every version it ran.
    fixed: dict[tuple[str, str, str, str], list[str]]
    names: dict[str, tuple[str, str]]  # package purl base → (ecosystem, name)


def _runs(snapshots: list[tuple[datetime, str, int]]) -> list[tuple[datetime, str, int]]:
    """The first and last snapshot of every run of consecutive snapshots with the same component set.

    Intervals can only open or close where the set changes, and an interval's first_seen, L and R are
    always the first or last snapshot of a run; so the timeline of these boundary snapshots is the
    timeline of all of them, at a fraction of the rows (52 weekly snapshots are typically 10 runs).
    """
    snapshots.sort()
    last = len(snapshots) - 1
    return [
        snap
        for i, snap in enumerate(snapshots)
        if i in (0, last) or snapshots[i - 1][2] != snap[2] or snapshots[i + 1][2] != snap[2]
    ]


def compute_timeline(
    session: Tx,
    org_id: int,
    systems: Sequence[system_queries.SystemRow],
    as_of: datetime | None,
    records: Sequence[Analysis] | None = None,
    *,
    every_version: bool = False,
) -> Built:
    """Exposure intervals of ``systems`` from their snapshots (up to ``as_of``), match results and the
    organization's analysis records (which exclude, and which every interval carries: see
    ``reports.timeline.build_timeline``).

    Systems are keyed by name in the records (names are unique within an organization). The fixed
    versions are those of each interval's deployed versions, or of every version it ran with
    ``every_version`` (what is stored, for the versions an earlier moment deployed).
    """
    cutoff = require_utc(as_of, "as_of") if as_of is not None else None
    by_system: dict[int, list[tuple[datetime, str, int]]] = defaultdict(list)
    for system_id, sha, observed, set_id in system_queries.snapshot_rows(session, [s.id for s in systems]):
        if cutoff is None or observed <= cutoff:
            by_system[system_id].append((observed, sha, set_id))
    kept = {system_id: _runs(snaps) for system_id, snaps in by_system.items()}
    read = q.set_inputs(session, sorted({snap[2] for snaps in kept.values() for snap in snaps}))
    rows = read.rows
    # One display purl per (ecosystem, name): the smallest base, so the choice never depends on order.
    base: dict[tuple[str, str], str] = {}
    for r in rows:
        candidate = split_purl_version(r.purl)[0]
        key = (r.ecosystem, r.name)
        if key not in base or candidate < base[key]:
            base[key] = candidate
    affected_in: dict[int, list[tuple[str, str, str, str]]] = defaultdict(list)
    present_in: dict[int, set[str]] = defaultdict(set)
    pv_of: dict[tuple[str, str], int] = {}
    for r in rows:
        package = base[(r.ecosystem, r.name)]
        present_in[r.set_id].add(package)
        pv_of[(package, r.version)] = min(
            r.package_version_id, pv_of.get((package, r.version), r.package_version_id)
        )
        if r.vuln_group is not None:
            affected_in[r.set_id].append((package, r.ecosystem, r.vuln_group, r.version))
    histories_in: list[SystemHistory] = []
    affected: list[tuple[str, str, str, str, str, str]] = []
    presence: list[tuple[str, str, str]] = []
    for s in systems:
        snaps = kept.get(s.id, [])
        histories_in.append(
            SystemHistory(
                s.name,
                tuple(SnapshotRef(observed, sha) for observed, sha, _ in snaps),
                s.environment,
                s.internet_exposed,
                s.cadence_days,
                s.decommissioned_at,
                s.criticality,
            )
        )
        for _, sha, set_id in snaps:
            affected.extend((s.name, sha, *a) for a in affected_in.get(set_id, ()))
            presence.extend((s.name, sha, package) for package in present_in.get(set_id, ()))

    if records is None:
        records = analysis_records(session, org_id)
    index = analysis_index(records, base)
    timeline = build_timeline(
        histories_in, histories_from_rows(affected, presence), as_of=as_of, analyses=index
    )
    fixed_by_pv = read.fixes
    if fixed_by_pv is None:  # many sets: read in a statement of their own
        fixed_by_pv = defaultdict(set)
        for pv_id, group, fixed_list in q.fixed_versions(session, list(set(pv_of.values()))):
            fixed_by_pv[(pv_id, group)].update(fixed_list)
    fixed: dict[tuple[str, str, str, str], list[str]] = {}
    for e in (*timeline.exposures, *timeline.vex_excluded):
        for version in dict.fromkeys((*e.versions, *e.deployed)) if every_version else e.deployed:
            found = pv_of.get((e.package, version))
            known = fixed_by_pv.get((found, e.vuln_group), set()) if found is not None else set()
            fixed[(e.system, e.package, e.vuln_group, version)] = sorted(known)
    names = {package: key for key, package in base.items()}
    return Built(timeline, histories_in, fixed, names)


# The excluding state of an interval, by its resolution (``reports.timeline``).
_EXCLUDED_BY = {"vex_not_affected": "not_affected", "false_positive": "false_positive"}


def _as_new(e: Exposure, system_id: int, built: Built, excluded: bool) -> q.NewExposure:
    ecosystem, name = built.names.get(e.package, (e.ecosystem, e.package))
    fixes = {
        v: built.fixed.get((e.system, e.package, e.vuln_group, v), [])
        for v in dict.fromkeys((*e.versions, *e.deployed))
    }
    return q.NewExposure(
        system_id=system_id,
        package=e.package,
        ecosystem=ecosystem,
        package_name=name,
        vuln_group=e.vuln_group,
        versions=list(e.versions),
        fixed_versions=built.fixed.get((e.system, e.package, e.vuln_group, e.version), []),
        first_seen=e.first_seen,
        last_affected_seen=e.last_affected_seen,
        resolved_at=e.resolved_at,
        resolution=e.resolution,
        excluded_by=_EXCLUDED_BY[e.resolution or ""] if excluded else "",
        current_versions=list(e.deployed),
        version_fixes=fixes,
        analysis_id=e.analysis.id if e.analysis is not None else None,
        steps=e.steps,
    )


# --- persistence ---------------------------------------------------------------------------------


def rebuild_in(
    session: Tx,
    system_ids: Sequence[int],
    *,
    records: Sequence[Analysis] | None = None,
    states: Mapping[int, str] | None = None,
) -> int:
    """Rebuild the exposure rows of these systems in the caller's transaction, announcing the exposures
    that opened and closed (``pipeline.events``); returns the rows written.

    ``records`` (the organization's analysis records) and ``states`` (the systems' input states,
    ``store.queries.exposures.input_states``) may be passed when the caller read them in this
    transaction for one organization's systems, before this call: the digests then stored are never
    newer than the rows, so a change in between is rebuilt by the next check."""
    # pipeline.events reads the reports' facts, and the reports import this module.
    from pipeline import events  # noqa: PLC0415

    by_org: dict[int, list[int]] = defaultdict(list)
    for system_id, org_id in system_queries.system_orgs(session, system_ids).items():
        by_org[org_id].append(system_id)
    written = 0
    for org_id, ids in sorted(by_org.items()):
        q.lock_states(session, ids)
        systems = system_queries.org_systems(session, org_id, ids=ids)
        if records is None or len(by_org) > 1:
            records = analysis_records(session, org_id)
        built = compute_timeline(session, org_id, systems, None, records, every_version=True)
        id_of = {s.name: s.id for s in systems}
        new = [_as_new(e, id_of[e.system], built, False) for e in built.timeline.exposures]
        new += [_as_new(e, id_of[e.system], built, True) for e in built.timeline.vex_excluded]
        before = events.open_before(session, org_id, [s.id for s in systems])
        # The digest's record part is read from the rows being written (see input_digests).
        name_of = {s.id: s.name for s in systems}
        keys = [
            q.ExposureKey(n.system_id, name_of[n.system_id], n.vuln_group, n.ecosystem, n.package_name)
            for n in new
        ]
        known = states if len(by_org) == 1 else None
        digests = input_digests(session, org_id, [s.id for s in systems], records, keys, states=known)
        q.replace_exposures(session, org_id, digests, new)
        # What the rebuild opened and closed is announced in its transaction (``pipeline.events``).
        events.record_exposure_changes(
            session,
            org_id,
            systems=systems,
            before=before,
            counted=built.timeline.exposures,
            excluded=built.timeline.vex_excluded,
            fixed=built.fixed,
            names=built.names,
        )
        # The CRA register's awareness facts are recorded as they appear, never recomputed later.
        groups: dict[int, set[str]] = {sid: set() for sid in ids}
        for n in new:
            groups[n.system_id].add(n.vuln_group)
        record_awareness(session, groups)
        written += len(new)
    return written


def rebuild_exposures(db: Database, system_ids: Sequence[int]) -> int:
    """Recompute and store the exposure rows of these systems from scratch; returns the rows written.

    One transaction: readers see the old rows or the new ones, never a mix.
    """
    if not system_ids:
        return 0
    with db.write() as session:
        return rebuild_in(session, sorted(set(system_ids)))


def input_digests(
    session: Tx,
    org_id: int,
    system_ids: Sequence[int],
    records: Sequence[Analysis] | None = None,
    keys: Sequence[q.ExposureKey] | None = None,
    *,
    states: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """A digest per system of everything its exposure rows are built from: what the store scopes to
    the system (``store.queries.exposures.input_states``: its snapshots, the advisories and match
    results of the packages it runs) and the analysis records that touch it.

    A record can only change rows of the (system, group, package) it names that the system has rows
    for (affected observations are stored as counted or excluded rows), so the record part of a system
    holds the records, as they stand, whose group and package key match one of its stored rows (``keys``:
    read from the store, or the rows a rebuild is writing) and whose system, if any, is this one. A
    decision thus rebuilds the systems running what it names, not the organization. ``states``: the
    systems' input states when the caller read them already in this transaction.
    """
    records = analysis_records(session, org_id) if records is None else records
    by_key: dict[tuple[str, str, str], list[Analysis]] = defaultdict(list)
    for r in records:
        key = _probe_key(r.package)
        if key is not None:
            by_key[(r.vuln_group, *key)].append(r)
    if keys is None:
        keys = q.exposure_keys(session, org_id, sorted({g for g, _, _ in by_key})) if by_key else []
    touching: dict[int, set[str]] = defaultdict(set)
    for k in keys:
        for r in by_key.get((k.vuln_group, k.ecosystem, k.package_name), ()):
            if r.system is None or r.system == k.system:
                touching[k.system_id].add(repr(r))
    if states is None:
        states = q.input_states(session, system_ids)
    return {
        sid: hashlib.sha256(f"{states[sid]}|{sorted(touching.get(sid, ()))}".encode()).hexdigest()
        for sid in system_ids
    }


def outdated_systems(session: Tx, org_id: int, system: str | None = None) -> list[int]:
    """Systems of the organization (or the one named) whose stored exposures were built from other
    inputs than today's."""
    return _outdated_among(session, org_id, system_queries.org_system_ids(session, org_id, system))


def _outdated_among(session: Tx, org_id: int, ids: Sequence[int]) -> list[int]:
    current = input_digests(session, org_id, ids)
    stored = q.stored_digests(session, ids)
    return [sid for sid in ids if stored.get(sid) != current[sid]]


def _outdated_since(session: Tx, org_id: int, earlier: q.InputsToken, now: q.InputsToken) -> list[int]:
    """:func:`outdated_systems` of the organization, given that every system was current when the
    token was ``earlier``: when only the organization's change clock moved since
    (:meth:`~store.queries.exposures.InputsToken.only_clock_moved`), only the systems it names as
    changed since in their exposure inputs are checked (every change up to the clock's number in
    ``now`` is among them, however late it committed: ``store.queries.changes``; list writes and
    rebuilds move the clock without naming them); else all of them."""
    if now.only_clock_moved(earlier):
        _, changed = changes.changed_since(session, org_id, earlier.seq, inputs_only=True)
        return _outdated_among(session, org_id, changed) if changed else []
    return outdated_systems(session, org_id)


# (database URL, organization id) → the inputs token (``store.queries.exposures.inputs_token``) read
# before the last check that left every system of the organization current.
_CURRENT: dict[tuple[str, int], q.InputsToken] = {}
_CURRENT_LOCK = threading.Lock()


def ensure_exposures(db: Database, org: str, system: str | None = None) -> int:
    """Rebuild the organization's out-of-date systems (or the named one, if out of date; none when
    nothing changed); returns how many.

    The full check computes a digest of every system's inputs (a quarter of a second at 10,000
    systems); when the inputs token (the organization's change clock and database-wide facts) is
    what it was before the last check of the organization in this process, no input moved since,
    and it is not run again; when only the organization's change clock moved since, only the systems
    it names as changed in their exposure inputs are checked (a rebuild or a list refresh, which
    moves the clock too, names none)."""
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        key = (str(db.url), org_id)
        token = q.inputs_token(session, org_id)
        with _CURRENT_LOCK:
            earlier = _CURRENT.get(key)
        if system is None and earlier == token:
            return 0
        if system is None and earlier is not None:
            stale = _outdated_since(session, org_id, earlier, token)
        else:
            stale = outdated_systems(session, org_id, system)
    if stale:
        with db.write() as session:
            # Checked again under the write lock (those found, not the whole organization again): a
            # concurrent report may have rebuilt them meanwhile.
            records = analysis_records(session, org_id)
            states = q.input_states(session, stale)
            current = input_digests(session, org_id, stale, records, states=states)
            stored = q.stored_digests(session, stale)
            stale = [sid for sid in stale if stored.get(sid) != current[sid]]
            rebuild_in(session, stale, records=records, states=states)
        if stale:
            refresh_statistics(db)
    if system is None:
        # The token read before the check: whatever moved since moves it, and the next call checks
        # (also after a rebuild, which moves the clock: one more check of the systems rebuilt, then
        # it holds).
        with _CURRENT_LOCK:
            keep(_CURRENT, key, token)
    return len(stale)


# --- rebuilding everything derived -------------------------------------------------------------------

#: Systems rebuilt per transaction by :func:`rebuild_all`: one transaction per batch keeps each
#: transaction short (readers see a batch's old rows or its new ones, never a mix within a system).
REBUILD_BATCH = 200


@dataclass(frozen=True, slots=True)
class RebuildResult:
    organizations: int
    systems: int
    rows: int


def rebuild_all(db: Database, org: str | None = None) -> RebuildResult:
    """Recompute every stored exposure row (and its build state) of the organization, or of every
    organization, from the raw facts — snapshots, match results, advisories, analysis records — as if
    nothing had been built before (``patchgap db rebuild``). Whatever the digests say: this is the
    from-scratch computation the incremental path must agree with.
    """
    with db.read() as session:
        names = [org] if org is not None else [o.name for o in organizations(session)]
        ids = [(n, system_queries.org_system_ids(session, organization_id(session, n))) for n in names]
    systems = rows = 0
    for _, system_ids in ids:
        for i in range(0, len(system_ids), REBUILD_BATCH):
            rows += rebuild_exposures(db, system_ids[i : i + REBUILD_BATCH])
        systems += len(system_ids)
    refresh_statistics(db)
    return RebuildResult(len(ids), systems, rows)
