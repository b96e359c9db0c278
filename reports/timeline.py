"""Exposure timeline: from each system's snapshot history to exposure intervals, and when fixes existed.

Definitions are DESIGN.md's "Time-to-deploy — definitions": an exposure of a (system, package,
vulnerability group) opens at the first snapshot showing an affected version (``first_seen``), stays open
through the last consecutive affected snapshot (L) and closes at the next snapshot without one (R):
``upgraded`` when the package is still there in another version, ``removed`` when it is gone. An affected
version appearing again after a clean snapshot opens a new exposure. An interval still open when its
system was decommissioned (at or before ``as_of``) ends at that moment with resolution
``decommissioned``: the software stopped running, though no fix was deployed.

Order independence: snapshots are sorted by (observed_at, key) here, so the result depends only on the
set of snapshots, never on the order in which they arrived or were stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from core.errors import InputError
from core.time import require_utc
from core.triage import Analysis
from reports.exposure_records import (
    AffectedHistory,
    Exposure,
    FixAvailability,
    FixSource,
    Resolution,
    SnapshotRef,
    SystemHistory,
    Timeline,
    VexStatement,
    VulnFacts,
)
from reports.triage import AnalysisIndex

# The resolution of an interval an analysis record excludes, by the record's state.
_EXCLUDED_AS: dict[str, Resolution] = {"not_affected": "vex_not_affected", "false_positive": "false_positive"}


def ordered_snapshots(history: SystemHistory, as_of: datetime | None = None) -> tuple[SnapshotRef, ...]:
    """The system's snapshots up to ``as_of`` (inclusive), sorted by time, ties broken by key."""
    cutoff = require_utc(as_of, "as_of") if as_of is not None else None
    where = f"{history.system} snapshot"
    snaps = [SnapshotRef(require_utc(s.observed_at, where), s.key) for s in history.snapshots]
    if cutoff is not None:
        snaps = [s for s in snaps if s.observed_at <= cutoff]
    return tuple(sorted(set(snaps), key=lambda s: (s.observed_at, s.key)))


def split_purl_version(package: str) -> tuple[str, str | None]:
    """(purl without version, qualifiers and subpath; version or None).

    The version separator is the last ``@`` after the last ``/``; an ``@`` in an npm scope is
    percent-encoded in canonical purls and sits before that ``/`` anyway.
    """
    base = package.split("#", 1)[0].split("?", 1)[0]
    slash = base.rfind("/")
    at = base.rfind("@")
    if at > slash:
        return base[:at], base[at + 1 :] or None
    return base, None


def _intervals(
    history: AffectedHistory,
    snapshots: Sequence[SnapshotRef],
    affected: dict[str, list[str]],
    resolution_override: Resolution | None = None,
    retired: datetime | None = None,
) -> list[Exposure]:
    """Walk the sorted snapshots once, opening and closing intervals on affected/clean transitions;
    an interval open at the end closes at ``retired`` (the system's decommissioning) when given."""
    out: list[Exposure] = []
    first: datetime | None = None
    last: datetime | None = None
    versions: list[str] = []
    current: list[str] = []
    steps: list[tuple[datetime, tuple[str, ...]]] = []
    for snap in snapshots:
        found = affected.get(snap.key)
        if found:
            if first is None:
                first, versions, steps = snap.observed_at, [], []
            last = snap.observed_at
            current = sorted(set(found))
            if not steps or list(steps[-1][1]) != current:
                steps.append((snap.observed_at, tuple(current)))
            for v in current:
                if v not in versions:
                    versions.append(v)
        elif first is not None and last is not None:
            resolution: Resolution = (
                resolution_override
                if resolution_override is not None
                else ("upgraded" if snap.key in history.present_in else "removed")
            )
            out.append(
                _exposure(
                    history,
                    versions=versions,
                    current=current,
                    steps=steps,
                    first=first,
                    last=last,
                    resolved=snap.observed_at,
                    resolution=resolution,
                )
            )
            first = last = None
    if first is not None and last is not None:
        out.append(
            _exposure(
                history,
                versions=versions,
                current=current,
                steps=steps,
                first=first,
                last=last,
                resolved=retired,
                resolution=resolution_override or ("decommissioned" if retired is not None else None),
            )
        )
    return out


def _exposure(
    h: AffectedHistory,
    *,
    versions: list[str],
    current: list[str],
    steps: list[tuple[datetime, tuple[str, ...]]],
    first: datetime,
    last: datetime,
    resolved: datetime | None,
    resolution: Resolution | None,
) -> Exposure:
    return Exposure(
        h.system,
        h.package,
        h.ecosystem,
        h.vuln_group,
        tuple(versions),
        first,
        last,
        resolved,
        resolution,
        tuple(current),
        steps=tuple(steps) if len(steps) > 1 else (),
    )


def cut_at(e: Exposure, last: datetime) -> Exposure:
    """The interval ``e`` as the snapshots up to a moment within it saw it, ``last`` being the system's
    newest snapshot by then (first seen at or before it, resolved after it or never): open, last seen
    affected at ``last``, with the versions seen up to it (``Exposure.steps``). Every snapshot of an
    interval shows it affected, so nothing else differs; an excluded interval keeps its resolution
    (``vex_not_affected`` / ``false_positive``, which it has while open too), and the analysis record
    is the caller's to find again when the version deployed last is another one then."""
    resolution = e.resolution if e.resolution in _EXCLUDED_AS.values() else None
    versions, current, steps = e.versions, e.current, e.steps
    if steps:
        seen: list[str] = []
        kept = [step for step in steps if step[0] <= last]
        for _, deployed in kept:
            seen.extend(v for v in deployed if v not in seen)
        versions, current, steps = tuple(seen), kept[-1][1], tuple(kept) if len(kept) > 1 else ()
    # Built directly: ``dataclasses.replace`` costs 3x as much (a look back cuts 300,000 intervals).
    return Exposure(
        e.system,
        e.package,
        e.ecosystem,
        e.vuln_group,
        versions,
        e.first_seen,
        last,
        None,
        resolution,
        current,
        e.analysis,
        steps,
    )


def cut_timeline(
    timeline: Timeline, moment: datetime, last_at: Mapping[str, datetime], analyses: AnalysisIndex
) -> Timeline:
    """The timeline the snapshots up to ``moment`` give, from the timeline of all of them: ``last_at``
    maps each system to its newest snapshot up to ``moment``, ``analyses`` are the records the
    timeline was built with.

    An interval is what the snapshots up to any moment after its first sighting say of it, cut there:
    one first seen after ``moment`` did not exist yet; one resolved by then is as it is; one resolved
    after it (a snapshot without it, a decommissioning) or never was open then (:func:`cut_at`), with
    the record that decides about the version deployed last then. The order is kept
    (:func:`exposure_sort_key` holds no field a cut changes).
    """

    def cut(exposures: Iterable[Exposure]) -> tuple[Exposure, ...]:
        out: list[Exposure] = []
        for e in exposures:
            if e.first_seen > moment:
                continue
            if e.resolved_at is not None and e.resolved_at <= moment:
                out.append(e)
                continue
            then = cut_at(e, last_at[e.system])
            if then.version != e.version:
                then = replace(then, analysis=analyses.find(e.system, e.vuln_group, e.package, then.version))
            out.append(then)
        return tuple(out)

    return Timeline(cut(timeline.exposures), cut(timeline.vex_excluded), timeline.withdrawn_groups_skipped)


def _vex_index(vex: Iterable[VexStatement]) -> dict[tuple[str, str], set[str | None]]:
    """(vuln group, package key) → versions covered; ``None`` in the set covers every version."""
    index: dict[tuple[str, str], set[str | None]] = {}
    for statement in vex:
        package, purl_version = split_purl_version(statement.package)
        version = statement.version or purl_version
        index.setdefault((statement.vuln_group, package), set()).add(version)
    return index


def _annotated(exposures: list[Exposure], index: AnalysisIndex, package: str) -> list[Exposure]:
    """The exposures, each with the analysis record that decides about its last version."""
    if not index:
        return exposures
    out = []
    for e in exposures:
        found = index.find(e.system, e.vuln_group, package, e.version)
        out.append(e if found is None else replace(e, analysis=found))
    return out


def build_timeline(
    systems: Iterable[SystemHistory],
    histories: Iterable[AffectedHistory],
    vex: Iterable[VexStatement] = (),
    withdrawn_groups: Iterable[str] = (),
    as_of: datetime | None = None,
    *,
    analyses: AnalysisIndex | Iterable[Analysis] = (),
) -> Timeline:
    """Exposure intervals of a fleet, evaluated as of ``as_of`` (later snapshots ignored).

    Observations (system, group, package, version) whose deciding analysis record (``reports.triage``:
    the most specific wins) is ``not_affected`` or ``false_positive`` do not count as affected; the
    intervals they would have formed are returned in ``vex_excluded``, one set per excluding state, with
    resolution ``vex_not_affected`` / ``false_positive``. A bare ``VexStatement`` excludes as a
    ``not_affected`` record would. Every interval carries the record that decides about its last
    version (``Exposure.analysis``). Histories of withdrawn groups produce nothing and are named in
    ``withdrawn_groups_skipped``.
    """
    index = analyses if isinstance(analyses, AnalysisIndex) else AnalysisIndex(analyses)
    snapshots_by_system: dict[str, tuple[SnapshotRef, ...]] = {}
    known_keys: dict[str, set[str]] = {}
    retired_at: dict[str, datetime | None] = {}
    cutoff = require_utc(as_of, "as_of") if as_of is not None else None
    for system in systems:
        snapshots_by_system[system.system] = ordered_snapshots(system, as_of)
        known_keys[system.system] = {s.key for s in system.snapshots}
        retired = system.retired_by(cutoff)
        where = f"{system.system} decommissioned"
        retired_at[system.system] = None if retired is None else require_utc(retired, where)
    vex_index = _vex_index(vex)
    withdrawn = set(withdrawn_groups)
    skipped: set[str] = set()
    exposures: list[Exposure] = []
    excluded: list[Exposure] = []
    for history in histories:
        if history.vuln_group in withdrawn:
            skipped.add(history.vuln_group)
            continue
        if history.system not in snapshots_by_system:
            raise InputError("report", f"exposure history for unknown system {history.system!r}")
        package = split_purl_version(history.package)[0]
        covered = vex_index.get((history.vuln_group, package), set())
        counted: dict[str, list[str]] = {}
        by_state: dict[str, dict[str, list[str]]] = {}
        for key, version in history.affected:
            if key not in known_keys[history.system]:
                raise InputError("report", f"{history.system}: snapshot {key!r} is not one of its snapshots")
            if None in covered or version in covered:
                target = by_state.setdefault("not_affected", {})
            else:
                found = index.find(history.system, history.vuln_group, package, version) if index else None
                target = by_state.setdefault(found.state, {}) if found and found.excludes else counted
            target.setdefault(key, []).append(version)
        snapshots = snapshots_by_system[history.system]
        retired = retired_at[history.system]
        exposures.extend(_annotated(_intervals(history, snapshots, counted, None, retired), index, package))
        for state, observations in sorted(by_state.items()):
            excluded.extend(
                _annotated(
                    _intervals(history, snapshots, observations, _EXCLUDED_AS[state], retired), index, package
                )
            )
    return Timeline(
        tuple(sorted(exposures, key=exposure_sort_key)),
        tuple(sorted(excluded, key=exposure_sort_key)),
        tuple(sorted(skipped)),
    )


def histories_from_rows(
    affected_rows: Iterable[tuple[str, str, str, str, str, str]],
    presence_rows: Iterable[tuple[str, str, str]],
) -> list[AffectedHistory]:
    """Group two flat query results into :class:`AffectedHistory` records.

    ``affected_rows``: (system, snapshot key, package, ecosystem, vuln group, version), one per affected
    version present in a snapshot. ``presence_rows``: (system, snapshot key, package), one per package
    present in a snapshot; only packages that appear in ``affected_rows`` matter, so the query can
    semi-join on them.
    """
    grouped: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {}
    for system, key, package, ecosystem, group, version in affected_rows:
        grouped.setdefault((system, package, ecosystem, group), []).append((key, version))
    present: dict[tuple[str, str], set[str]] = {}
    for system, key, package in presence_rows:
        present.setdefault((system, package), set()).add(key)
    return [
        AffectedHistory(
            system, package, ecosystem, group, tuple(rows), frozenset(present.get((system, package), ()))
        )
        for (system, package, ecosystem, group), rows in grouped.items()
    ]


def exposure_sort_key(e: Exposure) -> tuple[str, str, str, datetime]:
    """The stable order of exposures in every report: system, package, group, first seen."""
    return (e.system, e.package, e.vuln_group, e.first_seen)


# Among equal dates the more specific source wins: a vendor's own statement over a registry's clock.
_SOURCE_PREFERENCE: tuple[FixSource, ...] = ("csaf", "akrites", "registry")


def fix_available(facts: VulnFacts | None) -> FixAvailability:
    """Earliest of CSAF vendor_fix, Akrites fix_released_at and registry release; else ``published``.

    Without any date the fix time is unknown (``at`` None): the clock then starts at ``first_seen``.
    """
    if facts is None:
        return FixAvailability(None, None, approximated=True)
    candidates: list[tuple[datetime, int, FixSource]] = []
    for rank, (source, moment) in enumerate(
        zip(
            _SOURCE_PREFERENCE,
            (facts.csaf_vendor_fix, facts.akrites_fix_released, facts.registry_release),
            strict=True,
        )
    ):
        if moment is not None:
            candidates.append((require_utc(moment, f"{facts.vuln_group} {source} fix date"), rank, source))
    if candidates:
        at, _, source = min(candidates)
        return FixAvailability(at, source, approximated=False)
    if facts.published is not None:
        return FixAvailability(
            require_utc(facts.published, f"{facts.vuln_group} published"), "published", approximated=True
        )
    return FixAvailability(None, None, approximated=True)


def clock_start(exposure: Exposure, fix: FixAvailability) -> datetime:
    """max(fix available, first_seen): nobody can deploy a fix before it exists or before running the bug."""
    if fix.at is None:
        return exposure.first_seen
    return max(fix.at, exposure.first_seen)
