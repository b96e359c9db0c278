"""The input of the NIS2 evidence pack: the period's exposures, report, snapshots and advisory feeds, the
organization's decisions, and the accepted risks behind exposures kept out of SLA breaches."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from core.embargo import current_view
from core.errors import InputError
from core.time import require_utc
from pipeline.exports.common import Gathered, Options, decisions
from pipeline.exposures.reports import report_inputs
from reports.deploy_time import AssessedExposure, assess_exposures, deploy_time_report
from reports.exports.inputs import AdvisorySource, EvidenceInput, SlaException, SnapshotSource
from reports.exports.interface import Exporter
from store.db import Database
from store.queries.advisories import feed_states, record_provenance, table_provenance
from store.queries.registries import registry_provenance
from store.queries.systems import list_snapshots, list_systems


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _exceptions(assessed: tuple[AssessedExposure, ...]) -> tuple[SlaException, ...]:
    """The accepted risk of each exposure one keeps out of SLA breaches (its comment as the reason)."""
    out = []
    for a in assessed:
        record = a.exposure.analysis
        if a.sla_status == "risk_accepted" and record is not None:
            e = a.exposure
            reason = record.comment or "accepted risk"
            approver = record.approver or ""
            out.append(SlaException(e.system, e.package, e.vuln_group, reason, approver, record.expires_at))
    return tuple(out)


_TABLE_FEEDS = ("kev", "epss")


def advisory_provenance(db: Database, groups: set[str], cves: set[str]) -> list[AdvisorySource]:
    """Every advisory source the figures rest on (``sources/advisories.csv``): the stored records per
    source and origin (OSV, Akrites and CSAF, imported from files or fetched), the KEV and EPSS tables
    with their feed's version, fetch time and sha256, the registry release times per ecosystem, and the
    state of every other fetched feed. ``groups`` / ``cves``: the pack's vulnerabilities, whose records
    and entries are counted as used."""
    with db.connect() as conn:
        states = {f.name: f for f in feed_states(conn)}
        # Exports read under a locked public view: embargoed Akrites records are left out entirely.
        records = record_provenance(conn, groups, public_at=current_view().moment())
        tables = table_provenance(conn, cves)
        registries = registry_provenance(conn)
    out = [
        AdvisorySource(
            r.source,
            "",
            r.newest_modified,
            r.sha256,
            r.records,
            origin=r.origin,
            fetched_at=r.fetched_at,
            records_used=r.used,
        )
        for r in records
    ]
    for name in _TABLE_FEEDS:
        entries, used, version = tables[name]
        state = states.get(name)
        if not entries and state is None:
            continue
        out.append(
            AdvisorySource(
                name,
                (state.version if state is not None and state.version else version),
                _http_date(state.last_modified) if state is not None else None,
                state.sha256 if state is not None else None,
                entries,
                fetched_at=state.fetched_at if state is not None else None,
                records_used=used,
            )
        )
    out += [
        AdvisorySource(
            f"registry:{r.ecosystem}",
            "",
            None,
            r.sha256,
            r.answers,
            fetched_at=r.fetched_at,
            records_used=None,
        )
        for r in registries
    ]
    out += [
        AdvisorySource(
            f"feed:{f.name}",
            f.version or f.etag or "",
            _http_date(f.last_modified),
            f.sha256,
            None,
            fetched_at=f.fetched_at,
        )
        for name, f in sorted(states.items())
        if name not in _TABLE_FEEDS
    ]
    return out


def gather(db: Database, org: str, options: Options, exporter: Exporter[Any]) -> Gathered:
    """The evidence for [start, as_of]: exposures whose interval overlaps the period, as of its end."""
    if options.start is None:
        raise InputError(options.command, "the evidence pack needs a period start")
    if options.as_of is not None:
        require_utc(options.as_of, "--to")
    start = require_utc(options.start, "--from")
    inputs = report_inputs(db, org, options.as_of, advice=False)
    moment = inputs.as_of  # "now": the second's start, or an upload's moment within it
    assessed = tuple(
        a
        for a in assess_exposures(inputs.timeline, inputs.systems, inputs.facts, moment, policy=inputs.policy)
        if a.exposure.first_seen <= moment
        and (a.exposure.resolved_at is None or a.exposure.resolved_at >= start)
    )
    report = deploy_time_report(
        inputs.timeline, inputs.systems, inputs.facts, moment, policy=inputs.policy, assessed=assessed
    )
    snapshots: list[SnapshotSource] = []
    with db.read() as session:
        for s in list_systems(session, org):
            snapshots += [
                SnapshotSource(
                    s.name,
                    x.observed_at,
                    x.received_at,
                    x.sha256,
                    x.format,
                    x.spec_version,
                    None,
                    x.component_count,
                )
                for x in list_snapshots(session, org, s.name)
                if start <= x.observed_at <= moment
            ]
    groups = {a.exposure.vuln_group for a in assessed}
    ids = {i for g in groups for i in (g, *inputs.groups[g].aliases) if g in inputs.groups} | groups
    feeds = advisory_provenance(db, groups, {i for i in ids if i.startswith("CVE-")})
    data = EvidenceInput(
        org,
        start,
        moment,
        report,
        assessed,
        inputs.policy,
        decisions(db, org),
        tuple(snapshots),
        tuple(feeds),
        _exceptions(assessed),
    )
    return Gathered(data, moment)
