"""Events: what changed an organization's picture, written with the change that causes it (the outbox).

Every event is recorded through ``store.queries.notifications`` in the transaction of its change, so a
change rolled back announces nothing and a committed one is never lost; its *subject* (hashed into the
outbox's unique dedupe key with organization and kind) makes recording the same fact again a no-op.
The payload is the event's ``data`` (schema in the README, "Events"): ``organization``, ``system``
(:func:`system_payload`, the one builder of that object), ``exposure`` / ``sla`` / ``stale`` /
``upload`` as the kind needs, and a readable ``summary`` sentence.

Where each kind is written:

- ``exposure.opened`` / ``exposure.closed``: :func:`record_exposure_changes`, called by
  ``pipeline.exposures.build.rebuild_in`` with the system's open intervals as stored before the rebuild.
  An interval is keyed by (system, package, vulnerability group, first_seen). *Opened*: a counted,
  open interval that was not stored open before — so the first build of a system with a long history
  announces only what is open now, never its closed past, and a re-introduction (a new first_seen)
  opens anew. *Closed*: an interval stored open before and now resolved (``upgraded``, ``removed``,
  or ``decommissioned`` when the system is), or now excluded by triage (``not_affected`` →
  resolution ``vex_not_affected``, ``false_positive``): the exposure left the open list and the
  resolution says why, so a rule can tell a fix from a statement. An open interval that is gone from
  the rebuild altogether is closed with resolution ``no_longer_matched`` (its advisory withdrawn or
  its range changed), unless an open interval of the same system, package and group took its place
  (a snapshot backfilled before first_seen moves the interval's start: the same exposure, no event).
  An interval that triage excluded and then counted again does not open twice (its subject is the
  interval key). A rebuild with the same inputs changes no row, so it writes nothing.
- ``exposure.exploited``: :func:`exploited_groups` before and :func:`announce_exploited` after a KEV
  import (``pipeline.advisories.tables``) or an advisory import whose records set the exploited flag
  (``pipeline.advisories.importing``), in the import's transaction: each open, counted exposure of a
  group exploited now and not before, in every organization, once per interval. An exposure that opens
  while its group is already exploited says so in its ``opened`` event (``exposure.kev``) instead.
- ``sla.due_soon`` / ``sla.breached`` / ``system.stale``: :func:`evaluate_deadlines` (a scheduled job),
  once per (interval, deadline) and per (system, last snapshot): a changed deadline (another tier) or
  a new silent period announces again. Exposures whose accepted risk is in force get no SLA events.
- ``upload.failed``: :func:`upload_failed`, called by ``pipeline.uploads`` in the transaction that
  marks a queued upload failed.
- ``sync.failed`` is written by the job runner (``core.events.SYNC_FAILED``).

Tier, deadline and the KEV flag of an exposure are the reports' (``reports.deploy_time.assess_exposures``
over ``pipeline.exposures.reports.group_details`` and the organization's SLA policy), never derived here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.embargo import public, viewing
from core.events import (
    EXPOSURE_CLOSED,
    EXPOSURE_EXPLOITED,
    EXPOSURE_OPENED,
    SLA_BREACHED,
    SLA_DUE_SOON,
    SYSTEM_STALE,
    UPLOAD_FAILED,
)
from core.time import require_utc, rfc3339, utcnow
from pipeline.embargo import disclosed_at_of, hidden_groups
from pipeline.exposures.reports import GroupInfo, group_details, report_inputs, stored_exposure
from pipeline.sla import policy_of
from reports.deploy_time import AssessedExposure, assess_exposures, stale_systems
from reports.exposure_records import Exposure, SnapshotRef, SystemHistory, Timeline
from store.db import Conn, Database, Tx
from store.queries import exposures as exposure_queries
from store.queries import notifications as q
from store.queries import systems as system_queries
from store.queries.exposures import StoredExposure
from store.queries.organizations import get_organization
from store.queries.systems import SystemRow

__all__ = [
    "DEFAULT_DUE_WITHIN_DAYS",
    "EventView",
    "announce_exploited",
    "evaluate_deadlines",
    "event_page",
    "exploited_groups",
    "installation_events",
    "record_exposure_changes",
    "system_payload",
    "upload_failed",
]

log = logging.getLogger(__name__)

#: How far back :func:`announce_disclosed` looks for disclosures (the hourly job covers it many times).
DISCLOSURE_WINDOW = timedelta(days=30)
#: ``sla.due_soon`` is written when an open exposure's deadline is at most this many days away.
DEFAULT_DUE_WITHIN_DAYS = 3
_DAY = 86400.0
# Resolution of an open interval that disappeared from a rebuild without another taking its place.
NO_LONGER_MATCHED = "no_longer_matched"

IntervalKey = tuple[str, str, str, datetime]  # (system name, package, vulnerability group, first_seen)


# --- payloads ------------------------------------------------------------------------------------


def system_payload(system: SystemRow) -> dict[str, Any]:
    """The ``system`` object of every event about a system (what rule filters on environment, system,
    owner and tags read)."""
    return {
        "name": system.name,
        "environment": system.environment,
        "internet_exposed": system.internet_exposed,
        "criticality": system.criticality,
        "owner": system.owner,
        "tags": list(system.tags),
    }


def _may_be_stale(system: SystemRow) -> bool:
    """Whether a system can be announced stale: the one place a decommissioned system is left out."""
    return system.decommissioned_at is None


def _utc(moment: datetime) -> str:
    """A subject's spelling of a moment: full precision, so two intervals never share one."""
    return moment.astimezone(UTC).isoformat()


def _interval_subject(system_id: int, e: Exposure) -> str:
    return f"{system_id}|{e.package}|{e.vuln_group}|{_utc(e.first_seen)}"


def _display(system: SystemRow) -> str:
    return f"{system.name} ({system.environment})" if system.environment else system.name


def _package_name(e: Exposure, names: Mapping[str, tuple[str, str]]) -> str:
    return names.get(e.package, (e.ecosystem, e.package))[1]


def _fixes(fixed: Sequence[str]) -> str:
    if not fixed:
        return "no fixed version is known"
    shown = ", ".join(fixed[:3]) + (", …" if len(fixed) > 3 else "")
    return f"fixed in {shown}"


@dataclass(frozen=True, slots=True)
class _Context:
    """What every exposure payload of one organization needs besides the assessed exposure."""

    org: str
    systems: dict[str, SystemRow]  # by name
    info: dict[str, GroupInfo]
    fixed: dict[tuple[str, str, str, str], list[str]]
    names: dict[str, tuple[str, str]]

    def exposure(self, a: AssessedExposure) -> dict[str, Any]:
        e = a.exposure
        ecosystem, name = self.names.get(e.package, (e.ecosystem, e.package))
        info = self.info.get(e.vuln_group, GroupInfo([], []))
        return {
            "package": e.package,
            "ecosystem": ecosystem,
            "package_name": name,
            "vulnerability": e.vuln_group,
            "aliases": list(info.aliases),
            "versions": list(e.deployed),
            "fixed_versions": list(self.fixed.get((e.system, e.package, e.vuln_group, e.version), [])),
            "first_seen": rfc3339(e.first_seen),
            "resolved_at": rfc3339(e.resolved_at),
            "resolution": e.resolution,
            "tier": a.sla_tier,
            "kev": a.risk.exploited,
            "due_at": rfc3339(a.sla_due),
        }

    def event(
        self, kind: str, subject: str, a: AssessedExposure, summary: str, **extra: Any
    ) -> dict[str, Any]:
        system = self.systems[a.exposure.system]
        return {
            "org_id": None,  # filled by the caller, which knows the organization's id
            "kind": kind,
            "subject": subject,
            "system_id": system.id,
            "vuln_group": a.exposure.vuln_group,
            "payload": {
                "organization": self.org,
                "system": system_payload(system),
                "exposure": self.exposure(a),
                **extra,
                "summary": summary,
            },
        }

    def runs(self, a: AssessedExposure) -> str:
        """ "checkout (prod) runs log4j-core 2.14.1"."""
        e = a.exposure
        system = self.systems[e.system]
        return f"{_display(system)} runs {_package_name(e, self.names)} {', '.join(e.deployed)}"

    def fixes(self, a: AssessedExposure) -> str:
        e = a.exposure
        return _fixes(self.fixed.get((e.system, e.package, e.vuln_group, e.version), []))


def _kev(a: AssessedExposure) -> str:
    return " (KEV)" if a.risk.exploited else ""


def _assess(
    session: Tx,
    org_id: int,
    org: str,
    *,
    exposures: Sequence[Exposure],
    systems: Sequence[SystemRow],
    now: datetime,
) -> tuple[list[AssessedExposure], dict[str, GroupInfo]]:
    """The reports' assessment (tier, deadline, KEV flag) of these exposures at ``now``."""
    facts, info = group_details(session, {e.vuln_group for e in exposures})
    histories = [
        SystemHistory(
            s.name,
            (SnapshotRef(s.last_observed_at, "newest"),) if s.last_observed_at else (),
            s.environment,
            s.internet_exposed,
            s.cadence_days,
        )
        for s in systems
    ]
    assessed = assess_exposures(
        Timeline(tuple(exposures), (), ()),
        histories,
        facts.values(),
        now,
        policy=policy_of(session, org_id, org),
    )
    return list(assessed), info


def _org_name(session: Tx, org_id: int) -> str:
    return q.organization_names(session, [org_id])[org_id]


def _with_org(events: Iterable[dict[str, Any]], org_id: int, now: datetime) -> list[dict[str, Any]]:
    return [{**e, "org_id": org_id, "now": now} for e in events]


# --- exposure.opened / exposure.closed -------------------------------------------------------------


def open_before(session: Tx, org_id: int, system_ids: Sequence[int]) -> list[StoredExposure]:
    """The counted, open intervals of these systems as stored now: read before a rebuild replaces them,
    handed to :func:`record_exposure_changes` after."""
    rows = exposure_queries.stored_exposures(session, org_id, system_ids, open_only=True)
    return [r for r in rows if not r.excluded_by]


def record_exposure_changes(
    session: Tx,
    org_id: int,
    *,
    systems: Sequence[SystemRow],
    before: Sequence[StoredExposure],
    counted: Sequence[Exposure],
    excluded: Sequence[Exposure],
    fixed: Mapping[tuple[str, str, str, str], list[str]],
    names: Mapping[str, tuple[str, str]],
    now: datetime | None = None,
) -> int:
    """Write ``exposure.opened`` / ``exposure.closed`` for what a rebuild of ``systems`` changed (rules
    in the module docstring); ``before`` from :func:`open_before`, the rest from the rebuild. Returns
    the events written."""
    moment = now or utcnow()

    def key(e: Exposure | StoredExposure) -> IntervalKey:
        return (e.system, e.package, e.vuln_group, e.first_seen)

    was_open = {key(r): r for r in before}
    now_counted = {key(e): e for e in counted}
    now_excluded = {key(e): e for e in excluded if key(e) not in now_counted}
    opened = [e for k, e in now_counted.items() if e.resolved_at is None and k not in was_open]
    closed: list[Exposure] = []
    closed_as: dict[IntervalKey, str] = {}
    vanished: list[StoredExposure] = []
    for k, r in was_open.items():
        after = now_counted.get(k) or now_excluded.get(k)
        if after is None:
            vanished.append(r)
        elif after.resolved_at is not None or k in now_excluded:
            closed.append(after)
            closed_as[k] = after.resolution or ""
    # An interval whose start moved (a snapshot backfilled before it) is the same exposure.
    moved = {(e.system, e.package, e.vuln_group) for e in opened} & {
        (r.system, r.package, r.vuln_group) for r in vanished
    }
    opened = [e for e in opened if (e.system, e.package, e.vuln_group) not in moved]
    for r in vanished:
        if (r.system, r.package, r.vuln_group) not in moved:
            closed.append(stored_exposure(r))
            closed_as[key(r)] = NO_LONGER_MATCHED
    if not opened and not closed:
        return 0
    org = _org_name(session, org_id)
    by_name = {s.name: s for s in systems}
    assessed, info = _assess(session, org_id, org, exposures=[*opened, *closed], systems=systems, now=moment)
    ctx = _Context(org, by_name, info, dict(fixed), dict(names))
    events: list[dict[str, Any]] = []
    for a in assessed[: len(opened)]:
        e = a.exposure
        subject = _interval_subject(by_name[e.system].id, e)
        summary = f"{ctx.runs(a)}, affected by {e.vuln_group}{_kev(a)}; {ctx.fixes(a)}"
        events.append(ctx.event(EXPOSURE_OPENED, subject, a, summary))
    for a in assessed[len(opened) :]:
        e = a.exposure
        resolution = closed_as[key(e)]
        subject = f"{_interval_subject(by_name[e.system].id, e)}|closed|{resolution}|{_closed_at(e)}"
        event = ctx.event(EXPOSURE_CLOSED, subject, a, _closed_summary(ctx, a, resolution))
        event["payload"]["exposure"]["resolution"] = resolution
        events.append(event)
    return q.add_events(session, _with_org(events, org_id, moment))


def _closed_at(e: Exposure) -> str:
    return _utc(e.resolved_at) if e.resolved_at is not None else "-"


_CLOSED_WHY = {
    "upgraded": "upgraded to a version that is not affected",
    "removed": "the package was removed",
    "decommissioned": "the system was decommissioned",
    "vex_not_affected": "triaged as not affected",
    "false_positive": "triaged as a false positive",
    NO_LONGER_MATCHED: "no advisory matches it any more",
}


def _closed_summary(ctx: _Context, a: AssessedExposure, resolution: str) -> str:
    e = a.exposure
    system = ctx.systems[e.system]
    why = _CLOSED_WHY.get(resolution, resolution)
    return (
        f"{_display(system)}: {e.vuln_group} in {_package_name(e, ctx.names)} {', '.join(e.deployed)} "
        f"is closed ({why})"
    )


# --- exposure.exploited ------------------------------------------------------------------------------


def exploited_groups(session: Tx) -> set[str]:
    """The groups of open, counted exposures (any organization) that are exploited now: KEV lists one of
    their ids or an advisory flags them (the reports' rule, ``group_details``). Read before an import
    changes either, and handed to :func:`announce_exploited` after it, in the same transaction."""
    facts, _ = group_details(session, exposure_queries.open_groups(session))
    return {group for group, f in facts.items() if f.exploited}


def announce_exploited(session: Tx, before: set[str], *, now: datetime | None = None) -> int:
    """Write ``exposure.exploited`` for each open, counted exposure, in every organization, of a group
    exploited now and not in ``before`` (:func:`exploited_groups` read before the change); returns the
    events written."""
    moment = now or utcnow()
    newly = exploited_groups(session) - before
    if not newly:
        return 0
    written = 0
    names = q.every_organization(session)
    for org_id, system_ids in exposure_queries.open_systems_in_groups(session, sorted(newly)).items():
        org = names[org_id]
        systems = system_queries.org_systems(session, org_id)
        rows = [
            r
            for r in exposure_queries.stored_exposures(session, org_id, system_ids, open_only=True)
            if not r.excluded_by and r.vuln_group in newly
        ]
        exposures = [stored_exposure(r) for r in rows]
        assessed, info = _assess(session, org_id, org, exposures=exposures, systems=systems, now=moment)
        fixed = {
            (r.system, r.package, r.vuln_group, v): list(f) for r in rows for v, f in r.version_fixes.items()
        }
        for r in rows:
            fixed.setdefault((r.system, r.package, r.vuln_group, r.versions[-1]), list(r.fixed_versions))
        ctx = _Context(
            org,
            {s.name: s for s in systems},
            info,
            fixed,
            {r.package: (r.ecosystem, r.package_name) for r in rows},
        )
        events = []
        for a in assessed:
            e = a.exposure
            subject = f"{_interval_subject(ctx.systems[e.system].id, e)}|exploited"
            due = f"; SLA due {rfc3339(a.sla_due)} ({a.sla_tier})" if a.sla_due is not None else ""
            summary = f"{e.vuln_group} is now known to be exploited: {ctx.runs(a)}{due}; {ctx.fixes(a)}"
            events.append(ctx.event(EXPOSURE_EXPLOITED, subject, a, summary))
        written += q.add_events(session, _with_org(events, org_id, moment))
    return written


def exploited_groups_over(conn: Conn) -> set[str]:
    """:func:`exploited_groups` inside a Core transaction (the imports write through one)."""
    with q.session_over(conn) as session:
        return exploited_groups(session)


def announce_exploited_over(conn: Conn, before: set[str]) -> int:
    """:func:`announce_exploited` inside a Core transaction (the imports write through one)."""
    with q.session_over(conn) as session:
        return announce_exploited(session, before)


# --- sla.due_soon / sla.breached / system.stale ----------------------------------------------------


def evaluate_deadlines(db: Database, now: datetime, *, due_within_days: int) -> int:
    """Write ``sla.due_soon`` (deadline within ``due_within_days`` days), ``sla.breached`` and
    ``system.stale`` for every organization at ``now``; returns the events written.

    Per organization: its open exposures are assessed exactly as the exposures report does at ``now``
    (stored exposures brought up to date first, which may itself announce opened/closed exposures),
    stale systems as the deploy-time report flags them; then its events are written in one
    transaction. Running it again writes nothing new (one event per interval and deadline, per system
    and last snapshot).
    """
    moment = require_utc(now, "now")
    if due_within_days < 0:
        raise ValueError("due_within_days must not be negative")
    with viewing(public(moment)):
        return announce_disclosed(db, moment) + _evaluate_deadlines(db, moment, due_within_days)


def announce_disclosed(db: Database, now: datetime, *, window: timedelta = DISCLOSURE_WINDOW) -> int:
    """Write ``exposure.exploited`` for the exposures whose group became exploited when an Akrites record
    of it was disclosed (in the ``window`` before ``now``): until then an embargoed record's flag was
    no fact of its public group. The events of wholly embargoed groups need nothing here: they were
    written when the exposures changed and are held until disclosure (``pipeline.notifications``).
    Once per interval however often it runs (the events' subjects)."""
    with db.write() as session:
        disclosed = disclosed_at_of(session, now - window, now)
        if not disclosed:
            return 0
        newly: set[str] = set()
        for moment, groups in sorted(disclosed.items()):
            with viewing(public(moment - timedelta(microseconds=1))):
                facts, _ = group_details(session, groups)
            newly |= {g for g, f in facts.items() if not f.exploited}
        with viewing(public(now)):
            exploited = exploited_groups(session)
            return announce_exploited(session, exploited - newly, now=now)


def _evaluate_deadlines(db: Database, moment: datetime, due_within_days: int) -> int:
    with db.read() as session:
        orgs = sorted(q.every_organization(session).items())
    written = 0
    for org_id, org in orgs:
        inputs = report_inputs(db, org, moment, open_only=True, advice=False)
        open_ = Timeline(tuple(e for e in inputs.timeline.exposures if e.resolved_at is None), (), ())
        assessed = assess_exposures(open_, inputs.systems, inputs.facts, moment, policy=inputs.policy)
        stale = stale_systems(inputs.systems, moment)
        with db.write() as session:
            systems = {s.name: s for s in system_queries.org_systems(session, org_id)}
            ctx = _Context(org, systems, inputs.groups, inputs.fixed, inputs.names)
            events = [
                event
                for a in assessed
                if a.exposure.system in systems
                for event in _deadline(ctx, a, moment, due_within_days)
            ]
            for name, last in sorted(stale.items()):
                system = systems.get(name)
                if system is not None and _may_be_stale(system):
                    events.append(_stale_event(org, system, last))
            written += q.add_events(session, _with_org(events, org_id, moment))
    return written


def _deadline(ctx: _Context, a: AssessedExposure, now: datetime, within: int) -> list[dict[str, Any]]:
    if a.sla_due is None or a.sla_status not in ("open", "breached"):
        return []  # no tier, or an accepted risk in force
    e = a.exposure
    days_left = (a.sla_due - now).total_seconds() / _DAY
    sla = {
        "tier": a.sla_tier,
        "days": _tier_days(a),
        "due_at": rfc3339(a.sla_due),
        "days_left": round(days_left, 2),
    }
    base = f"{_interval_subject(ctx.systems[e.system].id, e)}|{{}}|{_utc(a.sla_due)}"
    what = f"{e.vuln_group} in {_package_name(e, ctx.names)} {', '.join(e.deployed)}{_kev(a)}"
    where = _display(ctx.systems[e.system])
    if a.sla_status == "breached":
        summary = f"{where}: {what} passed its {a.sla_tier} SLA deadline {rfc3339(a.sla_due)}; {ctx.fixes(a)}"
        return [ctx.event(SLA_BREACHED, base.format("breached"), a, summary, sla=sla)]
    if days_left <= within:
        summary = (
            f"{where}: {what} is due in {days_left:.1f} days ({rfc3339(a.sla_due)}, {a.sla_tier} tier); "
            f"{ctx.fixes(a)}"
        )
        return [ctx.event(SLA_DUE_SOON, base.format("due_soon"), a, summary, sla=sla)]
    return []


def _tier_days(a: AssessedExposure) -> float | None:
    if a.sla_due is None:
        return None
    start = a.start
    return round((a.sla_due - start).total_seconds() / _DAY, 2)


def _stale_event(org: str, system: SystemRow, last: datetime) -> dict[str, Any]:
    summary = (
        f"{_display(system)} sent no SBOM since {rfc3339(last)} (expected every {system.cadence_days} days)"
    )
    return {
        "org_id": None,
        "kind": SYSTEM_STALE,
        "subject": f"{system.id}|stale|{_utc(last)}",
        "system_id": system.id,
        "payload": {
            "organization": org,
            "system": system_payload(system),
            "stale": {"last_snapshot_at": rfc3339(last), "cadence_days": system.cadence_days},
            "summary": summary,
        },
    }


# --- upload.failed -----------------------------------------------------------------------------------


def upload_failed(
    session: Tx, org_id: int, *, token: str, system: str, error: str, now: datetime | None = None
) -> bool:
    """Write ``upload.failed`` for a queued upload finished failed (call it in the transaction that
    marks it so); the system object is there when the system exists. ``False`` when already written."""
    org = _org_name(session, org_id)
    found = system_queries.org_systems(session, org_id, system)
    payload: dict[str, Any] = {"organization": org}
    if found:
        payload["system"] = system_payload(found[0])
    payload["upload"] = {"token": token, "system": system, "error": error}
    payload["summary"] = f"the upload {token} of {system} failed: {error}"
    return q.add_event(
        session,
        org_id,
        UPLOAD_FAILED,
        token,
        payload,
        system_id=found[0].id if found else None,
        now=now,
    )


# --- reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventView:
    """One event as the API and the CLI show it."""

    id: int
    kind: str
    organization: str | None  # None: an event of the installation
    created_at: datetime
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "organization": self.organization,
            "created_at": rfc3339(self.created_at),
            "data": self.data,
        }


def event_page(
    db: Database, org: str, *, after: int = 0, kinds: Sequence[str] | None = None, limit: int = 100
) -> list[EventView]:
    """The organization's events and the installation's with ids above ``after``, oldest first."""
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        hidden = hidden_groups(session)
        rows = q.list_events(session, org_id, after_id=after, kinds=kinds, limit=limit, hidden_groups=hidden)
    return [
        EventView(r.id, r.kind, org if r.org_id is not None else None, r.created_at, r.payload) for r in rows
    ]


def installation_events(
    db: Database, *, after: int = 0, kinds: Sequence[str] | None = None, limit: int = 100
) -> list[EventView]:
    """Every organization's events and the installation's (the operator's view), oldest first."""
    with db.read() as session:
        hidden = hidden_groups(session)
        rows = q.list_all_events(session, after_id=after, kinds=kinds, limit=limit, hidden_groups=hidden)
    return [EventView(r.id, r.kind, name, r.created_at, r.payload) for r, name in rows]
