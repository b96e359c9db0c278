"""Triage use-cases: record a decision about a vulnerability in a package (an analysis record), list the
records, show one's history; and tell anything built on exposures which ones triage excludes.

A record is scoped to a vulnerability group and a package, optionally narrowed to a version and/or a
system; each decision appends an entry to its history (``store.queries.triage``: nothing is ever
updated or deleted). The most specific record decides (``reports.triage``). A decision is checked
before anything is written (``core.triage.check_decision``), and must be about something the
organization runs — a vulnerability group some advisory names, in a package (and version, and system)
one of its exposures holds — unless ``allow_unmatched`` says it is made ahead of the advisory or the
deploy. Recording a decision rebuilds the organization's exposures in the same transaction, so the
reports read after it already reflect it.

VEX documents are one more way in (``pipeline.vex``): their statements become entries signed by the
document's author at the statement's own time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import InputError, NotFoundError
from core.packages import NotAssessable
from core.text import IDENTIFIER_MAX_CHARS, PURL_MAX_BYTES, text_problem
from core.time import rfc3339, utcnow
from core.triage import PURL_PATTERN, VULNERABILITY_PATTERN, Analysis, Decision, check_decision
from matcher.purls import purl_key
from pipeline.embargo import hidden_groups, visible_analyses
from pipeline.exposures.build import ensure_exposures, outdated_systems, rebuild_in
from pipeline.exposures.triage import analysis_records, resolved_groups
from reports.timeline import split_purl_version
from reports.triage import AnalysisIndex
from store.db import Database, Tx
from store.queries import advisories as advisory_queries
from store.queries import exposures as exposure_queries
from store.queries import systems as system_queries
from store.queries import triage as q
from store.queries.organizations import get_or_create_organization, get_organization

SOURCE = "triage"
_VULNERABILITY = re.compile(VULNERABILITY_PATTERN)
_PURL = re.compile(PURL_PATTERN)
MAX_VULNERABILITY = IDENTIFIER_MAX_CHARS
MAX_ACTOR = 200  # the column's length: a longer name (a VEX document's author) is cut


@dataclass(frozen=True, slots=True)
class Actor:
    """Who records a decision: an API key (its name and role), the CLI user (role ``cli``), a VEX
    document's author; ``source`` is the way it came in (``api``, ``dashboard``, ``cli``, a document)."""

    name: str
    role: str
    source: str


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """A decision about ``vulnerability`` (any id, alias or group key) in the package of ``purl``: a
    version in the purl narrows it to that version, ``system`` to that system."""

    vulnerability: str
    purl: str
    state: str
    system: str | None = None
    justification: str | None = None
    impact_statement: str | None = None
    comment: str | None = None
    expires_at: datetime | None = None
    approver: str | None = None


def check_vulnerability(value: str, source: str = SOURCE) -> str:
    """``value`` without trailing blanks, when it is a vulnerability id (``VULNERABILITY_PATTERN``)."""
    problem = text_problem(value, "vulnerability id", single_line=True, max_chars=MAX_VULNERABILITY)
    if problem is not None:
        raise InputError(source, problem)
    if not _VULNERABILITY.fullmatch(value):
        limit = f"1 to {MAX_VULNERABILITY} characters"
        raise InputError(source, f"a vulnerability id has {limit}, no control characters, no leading blank")
    return value.rstrip(" ")


def split_package(purl: str, source: str = SOURCE) -> tuple[str, str | None]:
    """(package purl without version, version or ``None``) of a purl given to a decision."""
    problem = text_problem(purl, "purl", PURL_MAX_BYTES, single_line=True)
    if problem is not None:
        raise InputError(source, problem)
    if not _PURL.fullmatch(purl):
        raise InputError(source, f"{purl[:80]!r} is not a package URL (pkg:<type>/<name>)")
    return split_purl_version(purl)


def _key(purl: str) -> tuple[str, str] | None:
    found = purl_key(purl)
    return None if isinstance(found, NotAssessable) else found


def _same_package(row: exposure_queries.GroupExposure, package: str, keys: set[tuple[str, str]]) -> bool:
    return row.package == package or (row.ecosystem, row.package_name) in keys


def _require_running(
    session: Tx,
    *,
    org_id: int,
    org: str,
    vulnerability: str,
    group: str | None,
    purl: str,
    system: str | None,
) -> None:
    """Refuse a decision about something the organization does not run (see the module docstring)."""
    hint = "(--allow-unmatched / allow_unmatched records a decision ahead of it)"
    if group is None:
        raise InputError(SOURCE, f"{vulnerability}: no stored advisory has this id or alias {hint}")
    package, version = split_package(purl)
    keys = {k for k in (_key(purl), _key(package)) if k is not None}
    rows = [
        r for r in exposure_queries.group_exposures(session, org_id, group) if _same_package(r, package, keys)
    ]
    where = f" on system {system!r}" if system is not None else ""
    if system is not None:
        rows = [r for r in rows if r.system == system]
    if not rows:
        raise InputError(
            SOURCE, f"organization {org!r} does not run {package} affected by {vulnerability}{where} {hint}"
        )
    if version is not None and not any(version in r.versions for r in rows):
        what = f"{package}@{version} affected by {vulnerability}{where}"
        raise InputError(SOURCE, f"organization {org!r} does not run {what} {hint}")


def analysis_json(view: q.AnalysisView, group: str | None) -> dict[str, Any]:
    """One record as ``triage list --format json`` and ``GET /api/v1/analyses`` show it."""
    e = view.current
    record = Analysis(
        view.id, group or view.vulnerability, view.package, e.state, view.version or None, view.system
    )
    return {
        "id": view.id,
        "vulnerability": view.vulnerability,
        "vuln_group": group,
        "aliases": list(view.aliases),
        "package": view.package,
        "version": view.version or None,
        "system": view.system,
        "scope": record.scope,
        **_decision_json(e),
        "created_at": rfc3339(view.created_at),
    }


def entry_json(e: q.EntryView) -> dict[str, Any]:
    """One history entry: the change (old state → new state) and everything said with it."""
    return {
        "id": e.id,
        "previous_state": e.previous_state,
        **_decision_json(e),
    }


def _decision_json(e: q.EntryView) -> dict[str, Any]:
    """What one decision says, as both the record (its current decision) and its history show it."""
    return {
        "state": e.state,
        "justification": e.justification,
        "impact_statement": e.impact_statement,
        "comment": e.comment,
        "expires_at": rfc3339(e.expires_at),
        "approver": e.approver,
        "actor": e.actor,
        "actor_role": e.actor_role,
        "source": e.source,
        "decided_at": rfc3339(e.decided_at),
        "recorded_at": rfc3339(e.recorded_at),
    }


def record_decision(
    session: Tx,
    org_id: int,
    *,
    vulnerability: str,
    group: str | None,
    aliases: tuple[str, ...],
    package: str,
    version: str | None,
    system_id: int | None,
    decision: Decision,
    actor: Actor,
    decided_at: datetime,
    now: datetime,
) -> tuple[int, bool]:
    """Append one checked decision to the record of its scope (created on first use); returns the
    record's id and whether an entry was written (an identical one already recorded is not)."""
    scope_aliases = tuple(sorted({*aliases, vulnerability} - {group or vulnerability}))
    scope = q.Scope(group or vulnerability, package, version or "", system_id, scope_aliases)
    analysis_id = q.ensure_analysis(session, org_id, scope, now)
    written = q.append_entry(
        session,
        analysis_id,
        q.NewEntry(
            state=decision.state,
            justification=decision.justification,
            impact_statement=decision.impact_statement,
            comment=decision.comment,
            expires_at=decision.expires_at,
            approver=decision.approver,
            actor=actor.name[:MAX_ACTOR],
            actor_role=actor.role[:50],
            source=actor.source,
            decided_at=decided_at,
            recorded_at=now,
        ),
    )
    return analysis_id, written is not None


def set_analysis(
    db: Database,
    org: str,
    request: AnalysisRequest,
    actor: Actor,
    *,
    allow_unmatched: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record a decision (see the module docstring) and return the record as it now stands.

    Refused with an ``InputError`` (nothing written): an unknown state or justification, an expiry that
    is missing for ``accepted_risk`` or not in the future, a vulnerability or package the organization
    does not run (unless ``allow_unmatched``). An unknown organization or system is ``NotFoundError``.
    """
    moment = now or utcnow()
    decision = check_decision(
        Decision(
            request.state,
            request.justification,
            request.impact_statement,
            request.comment,
            request.expires_at,
            request.approver or (actor.name if request.state == "accepted_risk" else None),
        ),
        now=moment,
        source=SOURCE,
    )
    vulnerability = check_vulnerability(request.vulnerability)
    package, version = split_package(request.purl)
    if not allow_unmatched:
        ensure_exposures(db, org)  # the check reads stored exposures: bring them up to date first
    with db.write() as session:
        org_row = (
            get_or_create_organization(session, org) if allow_unmatched else get_organization(session, org)
        )
        assert org_row.id is not None
        system_id = None
        if request.system is not None:
            found = system_queries.org_systems(session, org_row.id, request.system)
            if not found:
                raise NotFoundError(f"system {request.system!r} does not exist in organization {org!r}")
            system_id = found[0].id
        hidden = hidden_groups(session)
        group = advisory_queries.groups_for_ids(session, {vulnerability}).get(vulnerability)
        if group in hidden:
            group = None  # a group under embargo for this key is unknown to it, as a missing one is
        if not allow_unmatched:
            _require_running(
                session,
                org_id=org_row.id,
                org=org,
                vulnerability=vulnerability,
                group=group,
                purl=request.purl,
                system=request.system,
            )
        analysis_id, _ = record_decision(
            session,
            org_row.id,
            vulnerability=vulnerability,
            group=group,
            aliases=(),
            package=package,
            version=version,
            system_id=system_id,
            decision=decision,
            actor=actor,
            decided_at=moment,
            now=moment,
        )
        # The systems running what the decision names (see ``input_digests``), not the organization.
        stale = outdated_systems(session, org_row.id)
        if stale:
            rebuild_in(session, stale)
        view = q.get_analysis(session, org_row.id, org, analysis_id)
        groups = {i: g for i, g in resolved_groups(session, [view]).items() if g not in hidden}
    return analysis_json(view, groups.get(view.id))


def list_analyses(
    db: Database, org: str, *, state: str | None = None, system: str | None = None
) -> list[dict[str, Any]]:
    """The organization's records as they stand, by id; ``state`` / ``system`` keep those in that state
    / narrowed to that system."""
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        views = q.org_analyses(session, org_row.id)
        groups = resolved_groups(session, views)
        views = visible_analyses(session, views, groups)
    return [
        analysis_json(v, groups.get(v.id))
        for v in views
        if (state is None or v.current.state == state) and (system is None or v.system == system)
    ]


def analysis_history(db: Database, org: str, analysis_id: int) -> dict[str, Any]:
    """One record and every entry of its history, in the order they were recorded (another
    organization's record is "not found", like a missing one)."""
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        view = q.get_analysis(session, org_row.id, org, analysis_id)
        groups = resolved_groups(session, [view])
        if not visible_analyses(session, [view], groups):
            raise NotFoundError(f"analysis {analysis_id} does not exist in organization {org!r}")
        entries = q.entries_of(session, [view.id])
    return {"analysis": analysis_json(view, groups.get(view.id)), "history": [entry_json(e) for e in entries]}


def triage_index(db: Database, org: str) -> AnalysisIndex:
    """The organization's records, looked up under the package spelling of its exposures: what the
    remediation plan (or anything else built on exposures) asks ``.excluded(system, group, package,
    version)`` or ``.find(…)`` of. Exposure records carry the same answer as ``Exposure.analysis``."""
    ensure_exposures(db, org)
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        records = analysis_records(session, org_row.id)
        spelling = exposure_queries.exposure_packages(session, org_row.id)

    def package_of(record: Analysis) -> str:
        key = _key(record.package)
        return spelling.get(key, record.package) if key is not None else record.package

    return AnalysisIndex(records, package_of=package_of)
