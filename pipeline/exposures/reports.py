"""The two exposure reports of an organization (the REST API returns exactly these documents), and the
same rows for one system or one exposure.

- :func:`exposures_report` → ``patchgap report exposures --format json``: one object per exposure.
- :func:`deploy_time_json` → ``patchgap report deploy-time --format json``.
- :func:`system_exposures` / :func:`find_exposures`: the rows of one system, read from that system's
  stored exposures only (the dashboard's system and exposure pages).

``as_of``: a report evaluated at or after the newest snapshot reads the stored rows; one evaluated at
an earlier moment reads them cut there (``reports.timeline.cut_timeline``: an interval open then ends
at the system's newest snapshot up to ``as_of``, on the versions its stored steps say were deployed
then). Both equal what computing the intervals from the snapshots up to ``as_of`` gives
(``pipeline.exposures.build.compute_timeline``, the code every stored row was built by; tested on
generated fleets), which ``report_inputs(recompute=True)`` still runs as the reference. The
deploy-time report cuts the stored rows as columns instead (``pipeline.exposures.summary``).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.embargo import current_view
from core.errors import InputError, NotFoundError
from core.time import moment_asked, now_including, rfc3339, within_range
from core.triage import Analysis
from pipeline.advice import Advice, PackageVersion, package_advice
from pipeline.embargo import hidden_groups
from pipeline.exposures.build import Built, analysis_index, compute_timeline, ensure_exposures
from pipeline.exposures.facts import fact_for as _fact_for
from pipeline.exposures.facts import ids_of as _ids_of
from pipeline.exposures.summary import newest_histories, stored_deploy_time
from pipeline.exposures.triage import analysis_records
from pipeline.sla import policy_of
from pipeline.systems import SystemFilter
from reports.deploy_time import (
    AssessedExposure,
    DeployTimeReport,
    Summary,
    assess_exposures,
    deploy_time_report,
)
from reports.exposure_records import (
    Exposure,
    SystemHistory,
    Timeline,
    VulnFacts,
)
from reports.sla import SlaPolicy
from reports.timeline import cut_timeline, exposure_sort_key
from store.db import Database, Tx
from store.queries import advisories as advisory_queries
from store.queries import exposures as q
from store.queries import registries as registry_queries
from store.queries import systems as system_queries
from store.queries.organizations import get_organization

__all__ = [
    "REPORT_STATUSES",
    "DeployTimeReport",
    "GroupInfo",
    "ReportInputs",
    "ReportStatus",
    "Summary",
    "SystemFilter",
    "built_before",
    "built_of_rows",
    "deploy_time",
    "deploy_time_from_inputs",
    "deploy_time_json",
    "deploy_time_reference",
    "exposures_from_inputs",
    "exposures_report",
    "find_exposures",
    "group_details",
    "inputs_of_built",
    "report_inputs",
    "rfc3339",
    "system_exposures",
]

ReportStatus = Literal["open", "resolved", "all", "excluded"]
REPORT_STATUSES: tuple[ReportStatus, ...] = ("open", "resolved", "all", "excluded")


# --- report inputs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupInfo:
    aliases: list[str]
    advisories: list[str]


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Everything both reports are computed from, for one organization at one moment."""

    org: str
    as_of: datetime
    timeline: Timeline
    systems: list[SystemHistory]
    facts: list[VulnFacts]
    groups: dict[str, GroupInfo]
    fixed: dict[tuple[str, str, str, str], list[str]]
    policy: SlaPolicy
    # package (purl base) → the matcher's (ecosystem, name); the upgrade advice of every affected version
    # deployed in an open exposure.
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    advice: dict[PackageVersion, Advice] = field(default_factory=dict)
    # system name → (owner, tags), shown in every exposure row.
    owners: dict[str, tuple[str | None, list[str]]] = field(default_factory=dict)

    def advice_for(self, package: str, version: str) -> Advice | None:
        key = self.names.get(package)
        return None if key is None else self.advice.get((*key, version))


def stored_exposure(r: q.StoredExposure, analysis: Analysis | None = None) -> Exposure:
    """The exposure a stored row holds (with the analysis record that decides about it, if given)."""
    return Exposure(
        r.system,
        r.package,
        r.ecosystem,
        r.vuln_group,
        r.versions,
        r.first_seen,
        r.last_affected_seen,
        r.resolved_at,
        r.resolution,  # type: ignore[arg-type]  # stored from a Resolution
        r.current_versions,
        analysis,
        r.steps,
    )


def _from_stored(
    session: Tx,
    org_id: int,
    systems: Sequence[system_queries.SystemRow],
    *,
    scoped: bool,
    open_only: bool = False,
) -> Built:
    ids = [s.id for s in systems] if scoped else None
    return built_of_rows(
        session, org_id, q.stored_exposures(session, org_id, ids, open_only=open_only), systems
    )


@dataclass(frozen=True, slots=True)
class _Cut:
    """An earlier moment the stored rows are cut at, and each system's newest snapshot up to it."""

    moment: datetime
    last_at: dict[str, datetime]  # system name → its newest snapshot at or before ``moment``


def built_of_rows(
    session: Tx,
    org_id: int,
    rows: Sequence[q.StoredExposure],
    systems: Sequence[system_queries.SystemRow],
    *,
    cut: _Cut | None = None,
) -> Built:
    """The timeline of these stored rows (of ``systems``), each with the analysis record it names; with
    ``cut``, as the snapshots up to its moment saw them (:func:`_before`)."""
    # Rows are rebuilt whenever a record changes (the input digest holds the triage history), so the
    # record each row names is the one that decides about it now.
    named = any(r.analysis_id for r in rows)
    every = analysis_records(session, org_id) if named or cut is not None else []
    records = {r.id: r for r in every}
    counted: list[Exposure] = []
    excluded: list[Exposure] = []
    # ``version_fixes`` names every version an interval ran: those deployed at its end, or then.
    fixes: dict[tuple[str, str, str, str], tuple[str, ...]] = {}
    names: dict[str, tuple[str, str]] = {}
    for r in rows:
        e = stored_exposure(r, records.get(r.analysis_id) if r.analysis_id is not None else None)
        (excluded if r.excluded_by else counted).append(e)
        fixes[(e.system, e.package, e.vuln_group, e.version)] = r.fixed_versions
        for version, fixed_in in r.version_fixes.items():
            fixes[(e.system, e.package, e.vuln_group, version)] = fixed_in
        names[e.package] = (r.ecosystem, r.package_name)
    counted.sort(key=exposure_sort_key)
    excluded.sort(key=exposure_sort_key)
    timeline = Timeline(tuple(counted), tuple(excluded), tuple(q.withdrawn_groups(session, org_id)))
    if cut is not None:
        spelled = {(r.ecosystem, r.package_name): r.package for r in rows}
        timeline = cut_timeline(timeline, cut.moment, cut.last_at, analysis_index(every, spelled))
    # Each interval's deployed versions (an export lists every fix it names).
    fixed: dict[tuple[str, str, str, str], list[str]] = {}
    for e in (*timeline.exposures, *timeline.vex_excluded):
        for v in e.current or e.versions[-1:]:  # ``e.deployed``
            key = (e.system, e.package, e.vuln_group, v)
            fixed[key] = list(fixes.get(key, ()))
    # Staleness and the breakdowns need each system's newest snapshot only.
    if cut is None:
        histories = newest_histories(systems)
    else:
        at = cut.last_at
        histories = newest_histories(systems, {s.id: at[s.name] for s in systems if s.name in at})
    return Built(timeline, histories, fixed, names)


def _before(
    session: Tx,
    org_id: int,
    systems: Sequence[system_queries.SystemRow],
    moment: datetime,
    *,
    scoped: bool,
    open_only: bool = False,
) -> Built:
    """The timeline the snapshots up to ``moment`` (before the newest snapshot) give, from the stored
    rows cut there (``reports.timeline.cut_timeline``): ``compute_timeline`` at ``moment`` gives the
    same (tested), at the cost of reading the rows and each system's newest snapshot up to it, instead
    of every snapshot's components. ``open_only``: the intervals open then."""
    ids = [s.id for s in systems] if scoped else None
    if open_only:
        rows = q.stored_exposures(session, org_id, ids, open_at=moment)
    else:
        rows = q.stored_exposures(session, org_id, ids, seen_by=moment)
    return built_before(session, org_id, rows, systems, moment, scoped=scoped)


def built_before(
    session: Tx,
    org_id: int,
    rows: Sequence[q.StoredExposure],
    systems: Sequence[system_queries.SystemRow],
    moment: datetime,
    *,
    scoped: bool = True,
) -> Built:
    """:func:`built_of_rows` of these stored rows (of ``systems``) cut at ``moment``, an earlier moment
    than their systems' newest snapshot (``reports.timeline.cut_timeline``): rows first seen after it
    are left out. ``scoped=False``: ``systems`` are the organization's (their newest snapshots up to
    the moment are read in one statement, not by id)."""
    ids = [s.id for s in systems] if scoped else None
    last_at = system_queries.last_snapshots_at(session, org_id, moment, ids)
    name_of = {s.id: s.name for s in systems}
    cut = _Cut(moment, {name_of[sid]: at for sid, at in last_at.items() if sid in name_of})
    return built_of_rows(session, org_id, rows, systems, cut=cut)


def report_inputs(
    db: Database,
    org: str,
    as_of: datetime | None = None,
    *,
    system: str | None = None,
    open_only: bool = False,
    advice: bool = True,
    only: SystemFilter | None = None,
    recompute: bool = False,
) -> ReportInputs:
    """Bring stored exposures up to date, then read what both reports need (see the module docstring).

    With ``system``, only that system's exposures are brought up to date and read (a system of
    another organization, or none, is "not found"). With ``open_only`` the timeline holds only the
    exposures still open at ``as_of`` (what the remediation plan needs: half the rows of a fleet).
    ``advice=False`` skips the upgrade advice of the open exposures' versions (the deploy-time report
    and the exports that show no advice need none). ``only`` keeps the systems it selects (owner,
    tags): every figure is then computed over those systems' exposures alone. ``recompute``: a moment
    before the newest snapshot computes every interval from the snapshots up to it
    (``compute_timeline``), as the stored rows were built, instead of cutting them there — the
    from-scratch definition tests and benchmarks compare with.
    """
    if as_of is not None:
        within_range(as_of, "as_of", "report")
    moment, now = moment_asked(as_of)
    ensure_exposures(db, org, system)
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        systems = system_queries.org_systems(session, org_row.id, system)
        if system is not None and not systems:
            raise NotFoundError(f"system {system!r} does not exist in organization {org!r}")
        if only:
            systems = only.select(systems)
        # The stored rows hold every snapshot and a decommissioning: a moment before either recomputes.
        newest = max(
            (t for s in systems for t in (s.last_observed_at, s.decommissioned_at) if t is not None),
            default=None,
        )
        if now is not None:  # "now" shows a snapshot or decommissioning since the second began
            moment = now_including(moment, newest, now)
        if newest is None or moment >= newest:
            built = _from_stored(
                session, org_row.id, systems, scoped=system is not None or bool(only), open_only=open_only
            )
        elif recompute:
            built = compute_timeline(session, org_row.id, systems, moment)
            withdrawn = tuple(q.withdrawn_groups(session, org_row.id))
            built = Built(
                Timeline(built.timeline.exposures, built.timeline.vex_excluded, withdrawn),
                built.systems,
                built.fixed,
                built.names,
            )
        else:
            built = _before(
                session,
                org_row.id,
                systems,
                moment,
                scoped=system is not None or bool(only),
                open_only=open_only,
            )
        built = _visible(built, hidden_groups(session))
        return inputs_of_built(session, org, org_row.id, built, systems, moment=moment, advice=advice)


def _visible(built: Built, hidden: frozenset[str]) -> Built:
    """``built`` without the exposures of groups the reader may not see (``pipeline.embargo``): every
    report, list, plan and export is computed from what is left, as if those groups did not exist."""
    if not hidden:
        return built
    timeline = Timeline(
        tuple(e for e in built.timeline.exposures if e.vuln_group not in hidden),
        tuple(e for e in built.timeline.vex_excluded if e.vuln_group not in hidden),
        tuple(g for g in built.timeline.withdrawn_groups_skipped if g not in hidden),
    )
    return Built(timeline, built.systems, built.fixed, built.names)


def inputs_of_built(
    session: Tx,
    org: str,
    org_id: int,
    built: Built,
    systems: Sequence[system_queries.SystemRow],
    *,
    moment: datetime,
    advice: bool = True,
) -> ReportInputs:
    """The report inputs of a timeline already built: the facts of its groups, the policy, the advice
    of its open versions, the owners of ``systems``."""
    groups = {e.vuln_group for e in (*built.timeline.exposures, *built.timeline.vex_excluded)}
    facts, info = group_details(session, groups)
    policy = policy_of(session, org_id, org)
    found = package_advice(
        session,
        {
            (*built.names[e.package], version)
            for e in (*built.timeline.exposures, *built.timeline.vex_excluded)
            if e.resolved_at is None and e.package in built.names
            for version in e.deployed
        }
        if advice
        else (),
    )
    return ReportInputs(
        org,
        moment,
        built.timeline,
        built.systems,
        [facts[g] for g in sorted(groups)],
        info,
        built.fixed,
        policy,
        built.names,
        found,
        {s.name: (s.owner, list(s.tags)) for s in systems},
    )


def group_details(session: Tx, groups: Iterable[str]) -> tuple[dict[str, VulnFacts], dict[str, GroupInfo]]:
    """What the advisories, KEV and EPSS say about these vulnerability groups (severity, exploitation,
    EPSS, fix dates) and their aliases, as every report derives them; ``pipeline.events`` reads the same
    facts, so an event's tier and KEV flag are the reports'."""
    wanted = set(groups)
    advisories: dict[str, list[advisory_queries.GroupAdvisory]] = defaultdict(list)
    for a in advisory_queries.group_advisories(session, wanted):
        advisories[a.group_key].append(a)
    cves = {i for g in wanted for i in _ids_of(g, advisories[g]) if i.startswith("CVE-")}
    kev = advisory_queries.kev_ids(session, cves)
    epss = advisory_queries.epss_scores(session, cves)
    released = registry_queries.group_fix_releases(session, wanted, public_at=current_view().moment())
    facts = {g: _fact_for(g, advisories[g], kev, epss, released) for g in wanted}
    info = {
        g: GroupInfo(
            sorted(_ids_of(g, advisories[g]) - {g}),
            sorted({a.advisory_id for a in advisories[g]}),
        )
        for g in wanted
    }
    return facts, info


# --- the two reports --------------------------------------------------------------------------------


def _exposure_json(inputs: ReportInputs, a: AssessedExposure) -> dict[str, Any]:
    e = a.exposure
    info = inputs.groups.get(e.vuln_group, GroupInfo([], []))
    owner, tags = inputs.owners.get(e.system, (None, []))
    return {
        **a.to_json(),
        "owner": owner,
        "tags": tags,
        "aliases": info.aliases,
        "advisories": info.advisories,
        "fixed_versions": inputs.fixed.get((e.system, e.package, e.vuln_group, e.version), []),
        "affected_versions": [_version_json(inputs, e, version) for version in e.deployed],
        # The exposure's span split: first_seen → clock start (upstream had no fix yet), clock start →
        # R, or L while open (the fix existed and was not deployed).
        "days_waiting_for_fix": round(a.days_waiting_for_fix, 2),
        "days_waiting_for_deployment": round(a.days_conservative, 2),
        "last_resort_maintainer": a.last_resort_maintainer,
    }


def _version_json(inputs: ReportInputs, e: Exposure, version: str) -> dict[str, Any]:
    """One affected version deployed at the exposure's last affected snapshot, with its own way out:
    the fixed versions of this vulnerability for it, and (while open) the upgrade that clears every known
    advisory of the package (``patchgap why``'s suggestion)."""
    found = inputs.advice_for(e.package, version) if e.resolved_at is None else None
    advice = found.suggestion if found is not None else None
    return {
        "version": version,
        "fixed_versions": inputs.fixed.get((e.system, e.package, e.vuln_group, version), []),
        "upgrade_to": advice.version if advice is not None else None,
        "advice": advice.status if advice is not None else None,
        "advice_detail": advice.detail if advice is not None else None,
    }


def exposures_from_inputs(
    inputs: ReportInputs,
    status: ReportStatus = "open",
    assessed: Sequence[AssessedExposure] | None = None,
) -> list[dict[str, Any]]:
    """The exposures report of already-read inputs (``exposures_report`` reads them first); the
    counted exposures' assessment when the caller has made it (not for ``excluded``)."""
    if status not in REPORT_STATUSES:
        raise InputError("report", f"status must be one of {', '.join(REPORT_STATUSES)}, not {status!r}")
    if status == "excluded":
        excluded = Timeline(inputs.timeline.vex_excluded, (), ())
        assessed = assess_exposures(
            excluded, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
        )
        # An excluded interval has no deadline: the organization stated it is not affected.
        return [
            {**_exposure_json(inputs, a), "sla_tier": None, "sla_due": None, "sla_status": None}
            for a in assessed
        ]
    if assessed is None:
        assessed = assess_exposures(
            inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
        )
    return [
        _exposure_json(inputs, a)
        for a in assessed
        if status == "all" or (a.exposure.resolved_at is None) == (status == "open")
    ]


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a report allocates its ~1M acyclic objects.

    Measured on the 60,000-exposure benchmark: the collector's repeated full passes over the growing
    heap took 40 % of each report (3.1 s → 1.8 s without them). Nothing a report builds is cyclic, so
    reference counting frees it all; the collector runs again as soon as the report is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def exposures_report(
    db: Database,
    org: str,
    status: ReportStatus = "open",
    as_of: datetime | None = None,
    *,
    only: SystemFilter | None = None,
) -> list[dict[str, Any]]:
    """``patchgap report exposures --format json``: one object per exposure, sorted by system, package,
    vulnerability, first_seen. ``status`` ``excluded`` lists the intervals analysis records exclude
    (``not_affected`` / ``false_positive``, each row's ``analysis`` saying which record and why)."""
    with _no_cyclic_gc():
        # The open ones read (and, at an earlier moment, cut) alone: each row is assessed by itself.
        inputs = report_inputs(db, org, as_of, only=only, open_only=status == "open")
        return exposures_from_inputs(inputs, status)


def deploy_time_from_inputs(inputs: ReportInputs) -> DeployTimeReport:
    return deploy_time_report(
        inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
    )


def deploy_time_reference(
    db: Database,
    org: str,
    as_of: datetime | None = None,
    *,
    only: SystemFilter | None = None,
    recompute: bool = True,
) -> DeployTimeReport:
    """The deploy-time report computed one exposure at a time, at a moment before the newest snapshot
    from the snapshots up to it (``recompute``, :func:`report_inputs`): the definition the columnar
    summary (``pipeline.exposures.summary``) is tested against. Without ``recompute``, the path where
    that one declines (the embargo, or a look back where a version's analysis record could decide
    otherwise then)."""
    with _no_cyclic_gc():
        inputs = report_inputs(db, org, as_of, advice=False, only=only, recompute=recompute)
        return deploy_time_from_inputs(inputs)


def deploy_time(
    db: Database, org: str, as_of: datetime | None = None, *, only: SystemFilter | None = None
) -> DeployTimeReport:
    """The deploy-time report as records (for tables); :func:`deploy_time_json` is its JSON."""
    found = stored_deploy_time(db, org, as_of, only=only)
    if found is None:
        found = deploy_time_reference(db, org, as_of, only=only, recompute=False)
    return found


def deploy_time_json(
    db: Database, org: str, as_of: datetime | None = None, *, only: SystemFilter | None = None
) -> dict[str, Any]:
    """``patchgap report deploy-time --format json`` (``filter`` names the owner and tags it covers,
    only when a filter is given, so the unfiltered document stays as it was)."""
    with _no_cyclic_gc():
        document = {"organization": org, **deploy_time(db, org, as_of, only=only).to_json()}
    if only:
        document["filter"] = {"owner": only.owner, "tags": list(only.tags)}
    return document


def system_exposures(
    db: Database, org: str, system: str, status: ReportStatus = "open", as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """The exposures report's rows of one system, read from that system's exposures only."""
    return exposures_from_inputs(report_inputs(db, org, as_of, system=system), status)


def find_exposures(
    db: Database,
    org: str,
    *,
    system: str,
    package: str,
    version: str,
    vulnerability: str,
    first_seen: str | None = None,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """The rows (any status, excluded ones too) of one system that are this exposure: its package,
    version and vulnerability group, and its ``first_seen`` when given; evaluated at ``as_of``
    (default now: before its first sighting there is none)."""
    wanted = {"package": package, "version": version, "vulnerability": vulnerability}
    if first_seen:
        wanted["first_seen"] = first_seen
    inputs = report_inputs(db, org, as_of, system=system)
    rows = [*exposures_from_inputs(inputs, "all"), *exposures_from_inputs(inputs, "excluded")]
    return [row for row in rows if all(row[k] == v for k, v in wanted.items())]
