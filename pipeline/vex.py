"""VEX as a view of the analysis records: import an OpenVEX / CycloneDX VEX document as decisions, state
one VEX statement, list the records in VEX words.

An imported statement becomes an entry of the analysis record of its vulnerability, package and version
(every system): its status as the state (``not_affected`` → ``not_affected``, ``affected`` →
``exploitable``, ``fixed`` → ``resolved``, ``under_investigation`` → ``in_triage``; CycloneDX's own
state where it has one, so ``false_positive`` stays one), its justification and impact statement, the
document's author as the actor, the statement's own time as the decision time. Statements are checked
like every decision (``core.triage.check_decision``) before anything is written; importing the same
document again records nothing new. VEX statements may be made ahead of the advisory or the deploy, so
imports never require the organization to run what they name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import InputError
from core.time import require_utc, rfc3339, utcnow
from core.triage import STATE_OF_VEX_STATUS, STATES, VEX_STATUS_OF_STATE, Decision, check_decision
from core.vex import VexStatement
from ingest.vex import read_vex
from pipeline.embargo import visible_analyses
from pipeline.exposures.build import outdated_systems, rebuild_in
from pipeline.exposures.triage import resolved_groups
from pipeline.triage import Actor, check_vulnerability, record_decision, split_package
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import triage as triage_queries
from store.queries.organizations import get_or_create_organization, get_organization


@dataclass(frozen=True, slots=True)
class VexImportResult:
    source: str
    statements: int
    by_status: dict[str, int]
    rebuilt_systems: int


def _parse_time(value: str | None, source: str) -> datetime | None:
    if value is None:
        return None
    try:
        return require_utc(datetime.fromisoformat(value.replace("Z", "+00:00")), f"{source} timestamp")
    except (ValueError, InputError):
        raise InputError(source, f"timestamp {value!r} is not an RFC 3339 date-time with a zone") from None


@dataclass(frozen=True, slots=True)
class _Checked:
    statement: VexStatement
    decision: Decision
    package: str
    version: str | None
    decided_at: datetime


def _checked(statements: Sequence[VexStatement], source: str, now: datetime) -> list[_Checked]:
    """Every statement as a decision, or the first one's problem (so nothing is written)."""
    out = []
    for s in statements:
        where = f"{source}: {s.vulnerability} in {s.purl}"
        state = s.state if s.state in STATES else STATE_OF_VEX_STATUS[s.status]
        decision = check_decision(Decision(state, s.justification, s.impact_statement), now=now, source=where)
        package, version = split_package(s.purl, where)
        check_vulnerability(s.vulnerability, where)
        out.append(_Checked(s, decision, package, version, _parse_time(s.timestamp, source) or now))
    return out


def import_vex(db: Database, org: str, data: bytes, source: str, *, importer: str = "") -> VexImportResult:
    """Record the statements of one OpenVEX / CycloneDX VEX document as ``org``'s decisions (see the
    module docstring) and rebuild its exposures. ``importer`` (an API key's name, the CLI user) is
    named in each entry's source beside the document."""
    now = utcnow()
    checked = _checked(read_vex(data, source), source, now)
    origin = f"{source} (imported by {importer})" if importer else source
    with db.write() as session:
        org_row = get_or_create_organization(session, org)
        assert org_row.id is not None
        groups = advisory_queries.groups_for_ids(
            session, {i for c in checked for i in (c.statement.vulnerability, *c.statement.aliases)}
        )
        for c in checked:
            s = c.statement
            group = next((groups[i] for i in (s.vulnerability, *s.aliases) if i in groups), None)
            record_decision(
                session,
                org_row.id,
                vulnerability=s.vulnerability,
                group=group,
                aliases=s.aliases,
                package=c.package,
                version=c.version,
                system_id=None,
                decision=c.decision,
                actor=Actor(s.author or "(no author named)", "VEX author", origin),
                decided_at=c.decided_at,
                now=now,
            )
        # The systems running what the statements name (see ``input_digests``), not the organization.
        ids = outdated_systems(session, org_row.id)
        if ids:
            rebuild_in(session, ids)
    by_status = Counter(c.statement.status for c in checked)
    return VexImportResult(source, len(checked), dict(sorted(by_status.items())), len(ids))


def state_vex(
    db: Database,
    org: str,
    *,
    vulnerability: str,
    purl: str,
    status: str,
    justification: str | None,
    impact_statement: str | None,
    actor: Actor,
) -> VexImportResult:
    """One VEX statement (``POST /api/v1/vex``), recorded as the decision of ``actor`` now, like an
    imported one (ahead of the advisory or the deploy if need be)."""
    now = utcnow()
    where = "VEX statement"
    if status not in STATE_OF_VEX_STATUS:
        raise InputError(where, f"unknown status {status!r} (one of {', '.join(STATE_OF_VEX_STATUS)})")
    decision = check_decision(
        Decision(STATE_OF_VEX_STATUS[status], justification, impact_statement), now=now, source=where
    )
    name = check_vulnerability(vulnerability, where)
    package, version = split_package(purl, where)
    with db.write() as session:
        org_row = get_or_create_organization(session, org)
        assert org_row.id is not None
        group = advisory_queries.groups_for_ids(session, {name}).get(name)
        record_decision(
            session,
            org_row.id,
            vulnerability=name,
            group=group,
            aliases=(),
            package=package,
            version=version,
            system_id=None,
            decision=decision,
            actor=actor,
            decided_at=now,
            now=now,
        )
        # The systems running what the statements name (see ``input_digests``), not the organization.
        ids = outdated_systems(session, org_row.id)
        if ids:
            rebuild_in(session, ids)
    return VexImportResult(where, 1, {status: 1}, len(ids))


def list_vex(db: Database, org: str) -> list[dict[str, Any]]:
    """The organization's analysis records in VEX words (``vex list --format json``): each record's
    current decision, with the group it resolves to (``null``: none yet), its state and its system."""
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        views = triage_queries.org_analyses(session, org_row.id)
        groups = resolved_groups(session, views)
        views = visible_analyses(session, views, groups)
    return [
        {
            "vulnerability": v.vulnerability,
            "vuln_group": groups.get(v.id),
            "aliases": list(v.aliases),
            "package": v.package,
            "version": v.version or None,
            "status": VEX_STATUS_OF_STATE.get(v.current.state, v.current.state),
            "justification": v.current.justification,
            "impact_statement": v.current.impact_statement,
            "source": v.current.source,
            "stated_at": rfc3339(v.current.decided_at),
            "analysis_id": v.id,
            "state": v.current.state,
            "system": v.system,
        }
        for v in sorted(views, key=lambda v: (v.vulnerability, v.package, v.version, v.system or ""))
    ]
