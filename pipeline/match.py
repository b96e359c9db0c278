"""Fleet matching use-cases: match new package versions, re-match after advisories change, explain one.

Matching is memoized on distinct package versions (DESIGN.md). Each run is one write transaction:

1. ``store.queries.packages`` lists the package versions without match state (never matched, or
   invalidated because an advisory naming their package changed);
2. it loads only the live advisory entries whose key ``(eco_key, name_key)`` is one of theirs,
   rebuilds each as a ``core.advisories.AffectedPackage`` (``store.tables.advisories.affected_from_row``)
   and files it under that key, with its row id, in a ``matcher.index.AdvisoryIndex``;
3. ``matcher.index.match_versions`` — the one entry point the bench and the tests call too — answers
   every pending package version: versions of one package that answer alike share one outcome, and
   package versions that differ only by purl (Debian binary packages of one source package) one
   evaluation;
4. ``affected`` and ``unknown`` answers become ``match_result`` rows ("not affected" is no row), and
   every evaluated package version gets its ``package_match_state`` row.

``rematch_keys`` invalidates the package versions an advisory change names and runs the same steps in
the same transaction, so readers never see them unmatched. ``explain`` answers ``patchgap why``: it
matches live, through the same entry point, so what it prints is what the pipeline stores.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from packageurl import PackageURL

from core.advisories import AffectedRange
from core.errors import NotFoundError, PatchgapError
from core.packages import NotAssessable, PackageRef
from core.time import utcnow
from matcher import index as matching
from matcher.purls import package_for_purl, purl_key
from matcher.suggest import Suggestion, suggest_upgrade
from pipeline.embargo import hidden_records
from store.db import Database, Tx
from store.queries.packages import (
    AFFECTED,
    UNKNOWN,
    AffectedRow,
    MatchAnswer,
    MatchCounts,
    NewMatchResult,
    PackageKey,
    PendingVersion,
    affected_rows_for_keys,
    invalidate_all,
    invalidate_keys,
    match_counts,
    not_assessed_by_reason,
    set_package_versions,
    store_results,
    unmatched_package_versions,
)
from store.queries.systems import latest_snapshot, latest_snapshot_ids
from store.tables.advisories import affected_from_row


@dataclass(frozen=True, slots=True)
class MatchRun:
    """What one run did. ``evaluated`` package versions, of which ``affected`` have at least one
    affected result and ``unknown`` at least one undetermined one; ``invalidated`` were forgotten first.
    """

    evaluated: int
    affected: int
    unknown: int
    results: int
    advisory_entries: int
    invalidated: int
    seconds: float


def advisory_index(rows: Iterable[AffectedRow]) -> matching.AdvisoryIndex:
    """The run's advisory index: each stored entry rebuilt and filed under its stored key, with its id."""
    return matching.AdvisoryIndex.from_entries(
        (
            (row.eco_key, row.name_key),
            matching.Entry(
                row.advisory_id,
                row.position,
                affected_from_row(row.ecosystem, row.name, row.purl, row.data),
                row.id,
            ),
        )
        for row in rows
    )


def evaluate_versions(
    index: matching.AdvisoryIndex, versions: Sequence[PendingVersion]
) -> list[NewMatchResult]:
    """The ``affected``/``unknown`` results of each package version against the entries naming it.

    One ``MatchAnswer`` per answer of the matcher: package versions that share an outcome share its
    answers' rows' content, and neighbouring outcomes share answers (``store_results`` encodes each
    distinct ``MatchAnswer`` once)."""
    outcomes = matching.match_versions(index, [(pv.ecosystem, pv.name, pv.version) for pv in versions])
    # Rows package by package: a package's entries are neighbours in match_result's affected_id index,
    # and inserting their rows together measured ≈ 0.1 s faster for the fleet than in version order.
    by_package: dict[PackageKey, list[int]] = defaultdict(list)
    for n, pv in enumerate(versions):
        by_package[(pv.ecosystem, pv.name)].append(n)
    # Outcome and answer objects stay alive in ``outcomes`` and the index, so their ids are not reused.
    # Neighbouring outcomes share most answers: ``encoded`` makes each answer's row content once.
    encoded: dict[int, MatchAnswer] = {}
    answers_of = {
        id(outcome): [
            encoded.get(id(label)) or _answer(label, encoded)
            for labels in (outcome.hits, outcome.undetermined)
            for label in labels
        ]
        for outcome in {id(outcome): outcome for outcome in outcomes}.values()
    }
    return [
        (versions[n].id, answer)
        for members in by_package.values()
        for n in members
        for answer in answers_of[id(outcomes[n])]
    ]


def _answer(label: matching.Hit | matching.Undetermined, encoded: dict[int, MatchAnswer]) -> MatchAnswer:
    """The row content of one answer of the matcher, kept in ``encoded`` by the answer's identity."""
    affected_id = label.entry.id
    assert affected_id is not None  # every entry of the run's index is a stored row
    if isinstance(label, matching.Hit):
        result = label.result
        answer = MatchAnswer(
            affected_id=affected_id,
            status=AFFECTED,
            range_index=result.range_index,
            introduced=result.introduced,
            boundary_kind=result.boundary.kind if result.boundary else None,
            boundary_value=result.boundary.value if result.boundary else None,
            fixed_versions=result.fixed_versions,
        )
    else:
        code, detail = label.reason.code, label.reason.detail
        answer = MatchAnswer(affected_id=affected_id, status=UNKNOWN, reason=code, detail=detail)
    encoded[id(label)] = answer
    return answer


def _match_pending(session: Tx, invalidated: int, started: float) -> MatchRun:
    pending = unmatched_package_versions(session)
    if not pending:
        return MatchRun(0, 0, 0, 0, 0, invalidated, time.perf_counter() - started)
    # By key through the (eco_key, name_key) index: measured 10x faster than one semi-join against
    # the anti-join when a few new package versions meet a large advisory table.
    rows = affected_rows_for_keys(session, {(pv.ecosystem, pv.name) for pv in pending})
    # Rebuilding entries, matching and the rows of the answers keep many new acyclic objects: the
    # cyclic collector's passes over them and everything else in memory would cost more than the
    # matching (matcher.index.paused_cyclic_gc; match_versions pauses it too, for its own part).
    with matching.paused_cyclic_gc():
        results = evaluate_versions(advisory_index(rows), pending)
    store_results(session, results, (pv.id for pv in pending), utcnow())
    affected = {pv_id for pv_id, answer in results if answer.status == AFFECTED}
    unknown = {pv_id for pv_id, answer in results if answer.status == UNKNOWN}
    return MatchRun(
        evaluated=len(pending),
        affected=len(affected),
        unknown=len(unknown),
        results=len(results),
        advisory_entries=len(rows),
        invalidated=invalidated,
        seconds=time.perf_counter() - started,
    )


def match_new(db: Database) -> MatchRun:
    """Match every package version never matched before (one transaction)."""
    started = time.perf_counter()
    with db.write() as session:
        return _match_pending(session, 0, started)


def rematch_keys(db: Database, keys: Iterable[PackageKey]) -> MatchRun:
    """Re-match the package versions whose ``(ecosystem, name)`` is in ``keys`` (advisories changed).

    Also matches any other package version still unmatched, which the next ``match_new`` would do anyway.
    """
    started = time.perf_counter()
    wanted = set(keys)
    with db.write() as session:
        invalidated = invalidate_keys(session, wanted) if wanted else 0
        return _match_pending(session, invalidated, started)


def rematch_all(db: Database) -> MatchRun:
    """Forget every result and match the whole database again (after a matcher upgrade, say)."""
    started = time.perf_counter()
    with db.write() as session:
        invalidate_all(session)
        return _match_pending(session, 0, started)


@dataclass(frozen=True, slots=True)
class SystemSummary:
    """One system's latest snapshot: its id and the components not assessed, by reason."""

    system: str
    snapshot_id: int
    not_assessed: dict[str, int]


@dataclass(frozen=True, slots=True)
class MatchReport:
    counts: MatchCounts
    systems: tuple[SystemSummary, ...] = ()


def match_report(db: Database, org: str | None = None) -> MatchReport:
    """Counts after a run: whole database, or one organization with its systems' latest snapshots."""
    with db.read() as session:
        counts = match_counts(session, org)
        if org is None:
            return MatchReport(counts)
        latest = latest_snapshot_ids(session, org)
        by_snapshot = not_assessed_by_reason(session, list(latest.values()))
        systems = tuple(
            SystemSummary(name, snapshot_id, by_snapshot.get(snapshot_id, {}))
            for name, snapshot_id in latest.items()
        )
        return MatchReport(counts, systems)


# --- explain ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RangeMatch:
    """One advisory entry that affects the version: which range (``None``: the versions list) and why."""

    advisory_id: str
    source: str
    affected_position: int
    range_index: int | None
    range: AffectedRange | None
    introduced: str | None
    boundary_kind: str | None
    boundary_value: str | None
    fixed_versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupExplanation:
    """One vulnerability (alias group) affecting the version, with every advisory that says so."""

    group_key: str
    advisories: tuple[tuple[str, str], ...]  # (source, advisory id), every source
    aliases: tuple[str, ...]
    matches: tuple[RangeMatch, ...]
    fixed_versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Undetermined:
    advisory_id: str
    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """``patchgap why`` for one package version of a system's latest snapshot."""

    org: str
    system: str
    snapshot_id: int
    observed_at: datetime
    package: PackageRef
    version_from: str  # "purl" or "deployed"
    deployed_versions: tuple[str, ...]
    groups: tuple[GroupExplanation, ...]
    undetermined: tuple[Undetermined, ...]
    suggestion: Suggestion
    advisories_known: int = field(default=0)


def explain(db: Database, *, org: str, system: str, purl: str) -> list[Explanation]:
    """Why the package of ``purl`` is flagged in the system's latest snapshot.

    With a version in the purl, that version is explained; without one, each version of the package
    deployed in the latest snapshot is.
    """
    try:
        parsed = PackageURL.from_string(purl.strip())
    except ValueError as exc:
        raise PatchgapError(f"{purl}: not a package URL ({exc})") from None
    # The package with the purl's version, or only its key when the purl has none.
    probe = package_for_purl(purl) if parsed.version else purl_key(parsed)
    if isinstance(probe, NotAssessable):
        raise PatchgapError(f"{purl}: cannot be assessed ({probe.reason}: {probe.detail})")
    key = (probe.ecosystem, probe.name) if isinstance(probe, PackageRef) else probe
    prefix = PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name).to_string() + "@"
    with db.read() as session:
        snapshot = latest_snapshot(session, org, system)
        assert snapshot.id is not None
        deployed = set_package_versions(session, snapshot.component_set_id, key[0], key[1], prefix)
        keys = {(pv.ecosystem, pv.name) for pv in deployed} | {key}
        hidden = hidden_records(session)  # records under embargo for this reader explain nothing
        rows = [r for r in affected_rows_for_keys(session, keys) if (r.source, r.advisory_id) not in hidden]
    if isinstance(probe, PackageRef):
        targets = [probe]
        version_from = "purl"
    else:
        if not deployed:
            raise NotFoundError(
                f"{purl}: no version of this package in the latest snapshot ({snapshot.id}) "
                f"of system {system!r}"
            )
        targets = list(
            {
                (pv.ecosystem, pv.name, pv.version): PackageRef(pv.ecosystem, pv.name, pv.version, pv.purl)
                for pv in deployed
            }.values()
        )
        version_from = "deployed"
    index = advisory_index(rows)
    outcomes = matching.match_versions(index, [(t.ecosystem, t.name, t.version) for t in targets])
    by_id: dict[int | None, AffectedRow] = {row.id: row for row in rows}
    return [
        _explain_one(
            org,
            system,
            snapshot.id,
            snapshot.observed_at,
            target,
            version_from,
            tuple(sorted({pv.version for pv in deployed if pv.name == target.name})),
            outcome,
            index.candidates((target.ecosystem, target.name)),
            by_id,
        )
        for target, outcome in zip(targets, outcomes, strict=True)
    ]


def _explain_one(  # noqa: PLR0917 - private helper, called once with every field of the answer
    org: str,
    system: str,
    snapshot_id: int,
    observed_at: datetime,
    package: PackageRef,
    version_from: str,
    deployed_versions: tuple[str, ...],
    outcome: matching.Outcome,
    entries: Sequence[matching.Entry],
    rows: dict[int | None, AffectedRow],
) -> Explanation:
    """One package version's explanation from its outcome; ``entries`` are all the entries naming the
    package (for the upgrade suggestion), ``rows`` the stored rows by id (sources, groups, aliases)."""
    by_group: dict[str, list[tuple[AffectedRow, matching.Hit]]] = defaultdict(list)
    for hit in outcome.hits:
        row = rows[hit.entry.id]
        by_group[row.group_key].append((row, hit))
    undetermined = tuple(
        Undetermined(u.advisory_id, rows[u.entry.id].source, u.reason.reason) for u in outcome.undetermined
    )
    groups = []
    for group_key, hits in sorted(by_group.items()):
        matches = tuple(_range_match(row, hit) for row, hit in hits)
        groups.append(
            GroupExplanation(
                group_key=group_key,
                advisories=tuple(sorted({(row.source, row.advisory_id) for row, _ in hits})),
                aliases=tuple(sorted({alias for row, _ in hits for alias in row.aliases})),
                matches=matches,
                fixed_versions=tuple(dict.fromkeys(v for m in matches for v in m.fixed_versions)),
            )
        )
    return Explanation(
        org=org,
        system=system,
        snapshot_id=snapshot_id,
        observed_at=observed_at,
        package=package,
        version_from=version_from,
        deployed_versions=deployed_versions,
        groups=tuple(groups),
        undetermined=undetermined,
        suggestion=suggest_upgrade(
            package.ecosystem, package.version, [(entry.advisory_id, entry.affected) for entry in entries]
        ),
        advisories_known=len({entry.advisory_id for entry in entries}),
    )


def _range_match(row: AffectedRow, hit: matching.Hit) -> RangeMatch:
    result = hit.result
    return RangeMatch(
        advisory_id=row.advisory_id,
        source=row.source,
        affected_position=row.position,
        range_index=result.range_index,
        range=hit.entry.affected.ranges[result.range_index] if result.range_index is not None else None,
        introduced=result.introduced,
        boundary_kind=result.boundary.kind if result.boundary else None,
        boundary_value=result.boundary.value if result.boundary else None,
        fixed_versions=result.fixed_versions,
    )
