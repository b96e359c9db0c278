"""Auditor exports use-case: gather each format's input from the store, then call the pure exporter.

Built on ``pipeline.exposures.report_inputs`` (stored exposures, facts, aliases, fixed versions, SLA
policy) plus the latest snapshot of each system and the organization's VEX statements. What the store
does not hold yet is stated where it matters:

- CVSS *vectors* are not stored with the group facts (only the highest score), so VEX exports carry no
  ``scores`` / ``ratings`` yet;
- the CRA register (:func:`cra_register`) is for organizations marked as manufacturers
  (``patchgap orgs set ORG --manufacturer``); it reads the awareness facts ``pipeline.cra`` recorded
  when they happened (exploited, present) and the manufacturer's own records, never re-deriving an
  awareness time from today's rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from core.errors import InputError, NotFoundError
from pipeline.cra import record_exploitation
from pipeline.exposures.reports import ReportInputs, deploy_time_from_inputs, report_inputs
from reports.deploy_time import assess_exposures, deploy_time_report
from reports.exports.ciso_report import CisoHtmlExporter, CisoPdfExporter
from reports.exports.cra_register import CraRegisterCsvExporter, CraRegisterExporter, awareness
from reports.exports.inputs import (
    AdvisorySource,
    CisoInput,
    Component,
    CraCase,
    CraInput,
    CvssScore,
    EvidenceInput,
    ProductSnapshot,
    Publisher,
    Remediation,
    SnapshotSource,
    Submission,
    TrackingState,
    VexDecision,
    VexInput,
    VexStatus,
    VulnDetails,
)
from reports.exports.interface import Exporter, ExportResult, slug
from reports.exports.nis2_evidence import Nis2EvidenceExporter
from reports.exports.vex.csaf import CsafVexExporter
from reports.exports.vex.cyclonedx import CycloneDxVexExporter
from reports.exports.vex.findings import build_findings
from reports.exports.vex.openvex import OpenVexExporter
from reports.exposure_records import Exposure, FixAvailability
from reports.timeline import fix_available, utc
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import cra as cq
from store.queries import exposures as q
from store.queries import organizations as organization_queries
from store.queries import systems as system_queries
from store.queries.advisories import feed_states
from store.queries.organizations import get_organization
from store.queries.systems import list_snapshots, list_systems, snapshot_components

VEX_FORMATS: dict[str, Exporter[VexInput]] = {
    e.format: e for e in (CsafVexExporter(), CycloneDxVexExporter(), OpenVexExporter())
}
_STATUSES: dict[str, VexStatus] = {
    "affected": "affected",
    "fixed": "fixed",
    "not_affected": "not_affected",
    "under_investigation": "under_investigation",
}
FORMATS = (*VEX_FORMATS, "cra-register", "nis2-evidence", "report-html", "report-pdf")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime | None
    end: datetime | None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _basename(fmt: str, org: str, system: str | None, as_of: datetime) -> str:
    scope = slug(org) + (f"-{slug(system)}" if system else "")
    return f"{scope}-{fmt}-{as_of.strftime('%Y%m%dT%H%M%SZ')}"


def _vulns(inputs: ReportInputs) -> tuple[VulnDetails, ...]:
    out = []
    for f in inputs.facts:
        info = inputs.groups.get(f.vuln_group)
        out.append(
            VulnDetails(
                f.vuln_group,
                tuple(info.aliases) if info else (),
                published=f.published,
                rating=f.rating,
                exploited=f.exploited,
                exploited_sources=("kev/advisory",) if f.exploited else (),
                epss=f.epss,
            )
        )
    return tuple(out)


def _remediations(inputs: ReportInputs) -> tuple[Remediation, ...]:
    facts = {f.vuln_group: f for f in inputs.facts}
    merged: dict[tuple[str, str], set[str]] = {}
    for (_, package, group, _), versions in inputs.fixed.items():
        merged.setdefault((group, package), set()).update(versions)
    return tuple(
        Remediation(group, package, tuple(sorted(versions)), fix_available(facts.get(group)))
        for (group, package), versions in sorted(merged.items())
    )


def _products(db: Database, org: str, system: str | None, as_of: datetime) -> tuple[ProductSnapshot, ...]:
    out: list[ProductSnapshot] = []
    with db.read() as session:
        names = [s.name for s in list_systems(session, org)]
        if system is not None and system not in names:
            raise NotFoundError(f"system {system!r} does not exist in organization {org!r}")
        for name in names if system is None else [system]:
            snaps = [s for s in list_snapshots(session, org, name) if s.observed_at <= as_of]
            if not snaps:
                continue
            latest = snaps[-1]
            packages = snapshot_components(session, org, latest.id).packages
            components = tuple(Component(p.purl, p.name, p.version, p.ecosystem) for p in packages)
            out.append(ProductSnapshot(name, latest.sha256, latest.observed_at, components))
    return tuple(out)


def _decisions(db: Database, org: str) -> tuple[VexDecision, ...]:
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        rows = q.vex_rows(session, org_row.id)
        groups = advisory_queries.groups_for_ids(
            session, {i for r in rows for i in (r.vulnerability, *r.aliases)}
        )
    out: list[VexDecision] = []
    for r in rows:
        group = next((groups[i] for i in (r.vulnerability, *r.aliases) if i in groups), r.vulnerability)
        status = _STATUSES.get(r.status, "not_affected")
        out.append(
            VexDecision(
                group,
                r.package,
                status,
                version=r.version or None,
                justification=r.justification or "",
                impact_statement=r.impact_statement or "",
                decided_at=r.stated_at,
                source=r.source,
            )
        )
    return tuple(out)


def vex_input(
    db: Database,
    org: str,
    *,
    system: str | None = None,
    as_of: datetime | None = None,
    publisher: Publisher | None = None,
    previous: TrackingState | None = None,
) -> VexInput:
    moment = utc(as_of, "as_of") if as_of is not None else _now()
    inputs = report_inputs(db, org, moment)
    products = _products(db, org, system, moment)
    decisions = _decisions(db, org)
    findings = build_findings(products, inputs.timeline.exposures, inputs.timeline.vex_excluded, decisions)
    return VexInput(
        org,
        system,
        moment,
        publisher or Publisher(org, f"urn:patchgap:{org}"),
        products,
        _vulns(inputs),
        findings,
        _remediations(inputs),
        previous,
    )


def export_vex(
    db: Database,
    org: str,
    fmt: str,
    *,
    system: str | None = None,
    as_of: datetime | None = None,
    previous: TrackingState | None = None,
) -> ExportResult:
    exporter = VEX_FORMATS.get(fmt)
    if exporter is None:
        raise InputError("export", f"unknown VEX format {fmt!r}; one of {', '.join(VEX_FORMATS)}")
    data = vex_input(db, org, system=system, as_of=as_of, previous=previous)
    return exporter.export(data, basename=_basename(fmt, org, system, data.as_of))


def export_ciso(db: Database, org: str, *, pdf: bool, as_of: datetime | None = None) -> ExportResult:
    inputs = report_inputs(db, org, as_of)
    assessed = assess_exposures(
        inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
    )
    report = deploy_time_from_inputs(inputs)
    data = CisoInput(org, report, assessed, _vulns(inputs), systems=len(inputs.systems))
    exporter: Exporter[CisoInput] = CisoPdfExporter() if pdf else CisoHtmlExporter()
    return exporter.export(data, basename=_basename("report", org, None, inputs.as_of))


def export_nis2(db: Database, org: str, *, start: datetime, end: datetime | None = None) -> ExportResult:
    """The evidence pack for [start, end]: exposures whose interval overlaps the period, as of its end."""
    moment = utc(end, "--to") if end is not None else _now()
    start = utc(start, "--from")
    inputs = report_inputs(db, org, moment)
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
    with db.connect() as conn:
        feeds = [
            AdvisorySource(
                f.name,
                f.version or f.etag or "",
                _http_date(f.last_modified) or f.fetched_at,
                f.sha256,
                0,  # the feed state does not count records
            )
            for f in feed_states(conn)
        ]
    data = EvidenceInput(
        org,
        start,
        moment,
        report,
        assessed,
        inputs.policy,
        _decisions(db, org),
        tuple(snapshots),
        tuple(feeds),
    )
    return Nis2EvidenceExporter().export(data, basename=_basename("nis2-evidence", org, None, moment))


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _cra_cases(db: Database, org_id: int, inputs: ReportInputs) -> tuple[CraCase, ...]:
    """One case per (product, exploited group) among the counted exposures (VEX-excluded ones are not
    present in the sense of Article 14), with the recorded facts and the manufacturer's records."""
    present: dict[tuple[str, str], list[Exposure]] = defaultdict(list)
    for e in inputs.timeline.exposures:
        present[(e.system, e.vuln_group)].append(e)
    groups = {g for _, g in present}
    with db.write() as session:
        # A KEV update changes no exposure, so no rebuild recorded it: record it now.
        record_exploitation(session, groups)
        exploited = cq.exploited(session, groups)
        known_present = cq.presence(session, org_id)
        missing = {s for s, g in present if g in exploited and (s, g) not in known_present}
        if missing:
            # Exposures stored before presence was recorded: record it from the stored timestamps.
            ids = {s.name: s.id for s in system_queries.org_systems(session, org_id)}
            cq.record_presence(session, [ids[name] for name in sorted(missing) if name in ids])
            known_present = cq.presence(session, org_id)
        records = cq.cases(session, org_id)
        advisories = advisory_queries.group_advisories(session, {g for g in groups if g in exploited})
    titles: dict[str, str] = {}
    for a in advisories:
        if a.summary:
            titles.setdefault(a.group_key, a.summary)
    facts = {f.vuln_group: f for f in inputs.facts}
    details = {v.vuln_group: v for v in _vulns(inputs)}
    out: list[CraCase] = []
    for (system, group), exposures in sorted(present.items()):
        fact = exploited.get(group)
        if fact is None:
            continue
        base = details.get(group, VulnDetails(group))
        score = facts[group].cvss if group in facts else None
        vuln = replace(
            base,
            title=titles.get(group, ""),
            cvss=(CvssScore("", "", score),) if score is not None else (),
            exploited=True,
            exploited_sources=fact.sources,
            exploited_since=fact.kev_date_added,
            known_ransomware=fact.known_ransomware,
        )
        fixed = sorted(
            {v for e in exposures for v in inputs.fixed.get((system, e.package, group, e.version), [])}
        )
        # Without a fixed version there is no fix, whatever date ``published`` would approximate one with.
        fix = fix_available(facts.get(group)) if fixed else FixAvailability(None, None, approximated=False)
        record = records.get((system, group))
        out.append(
            CraCase(
                vuln,
                system,
                tuple(exposures),
                exploited_known_at=fact.known_at,
                present_known_at=known_present.get((system, group)),
                fix=fix,
                fixed_versions=tuple(fixed),
                mitigations=record.mitigations if record else (),
                awareness_override=record.awareness_at if record else None,
                awareness_note=record.awareness_note if record else "",
                submissions=Submission(
                    record.early_warning_at, record.notification_at, record.final_report_at
                )
                if record
                else Submission(),
            )
        )
    return tuple(out)


def _as_of_view(case: CraCase, as_of: datetime) -> CraCase | None:
    """The case as it stood at ``as_of``: not yet aware → absent; later submissions not yet made."""
    aware, _ = awareness(case)
    # Compared at the register's precision (seconds): a fact recorded during as_of's second counts.
    if aware is None or aware.replace(microsecond=0) > as_of:
        return None
    s = case.submissions

    def by(moment: datetime | None) -> datetime | None:
        return moment if moment is not None and moment <= as_of else None

    return replace(
        case, submissions=Submission(by(s.early_warning_at), by(s.notification_at), by(s.final_report_at))
    )


CRA_FORMATS: dict[str, Exporter[CraInput]] = {"json": CraRegisterExporter(), "csv": CraRegisterCsvExporter()}


def cra_register(
    db: Database, org: str, as_of: datetime | None = None, *, fmt: str = "json"
) -> ExportResult:
    """The CRA Article 14 register of a manufacturer organization (JSON or CSV), as of ``as_of``.

    Refuses (naming the flag) when the organization is not marked as a manufacturer.
    """
    exporter = CRA_FORMATS.get(fmt)
    if exporter is None:
        raise InputError("cra-register", f"unknown format {fmt!r}; one of {', '.join(CRA_FORMATS)}")
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        manufacturer = organization_queries.is_manufacturer(session, org_id)
    if not manufacturer:
        raise InputError(
            "cra-register",
            f"{org} is not marked as a manufacturer; the CRA Article 14 register applies to manufacturers "
            f"only (set the manufacturer flag: patchgap orgs set {org} --manufacturer)",
        )
    moment = utc(as_of, "as_of") if as_of is not None else _now()
    inputs = report_inputs(db, org, moment)
    cases = tuple(c for c in (_as_of_view(c, moment) for c in _cra_cases(db, org_id, inputs)) if c)
    data = CraInput(org, True, moment, cases)
    return exporter.export(data, basename=_basename("cra-register", org, None, moment))
