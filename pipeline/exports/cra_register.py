"""The input of the CRA Article 14 register (JSON and CSV) of a manufacturer organization.

The register reads the awareness facts ``pipeline.cra`` recorded when they happened (exploited, present)
and the manufacturer's own records, never re-deriving an awareness time from today's rows; it refuses,
naming the flag, an organization not marked as a manufacturer (``patchgap orgs set ORG --manufacturer``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.errors import InputError
from core.time import require_utc
from pipeline.cra import record_exploitation
from pipeline.exports.common import Gathered, Options, vuln_details
from pipeline.exposures.reports import ReportInputs, report_inputs
from reports.exports.cra_register import awareness
from reports.exports.inputs import CraCase, CraInput, CvssScore, Submission, VulnDetails
from reports.exports.interface import Exporter
from reports.exposure_records import Exposure, FixAvailability
from reports.timeline import fix_available
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import cra as cq
from store.queries import organizations as organization_queries
from store.queries import systems as system_queries
from store.queries.organizations import get_organization


def _cases(db: Database, org_id: int, inputs: ReportInputs) -> tuple[CraCase, ...]:
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
    details = {v.vuln_group: v for v in vuln_details(inputs)}
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


def gather(db: Database, org: str, options: Options, exporter: Exporter[Any]) -> Gathered:
    """The register as of ``options.as_of`` (default now)."""
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        manufacturer = organization_queries.is_manufacturer(session, org_id)
    if not manufacturer:
        raise InputError(
            options.command,
            f"{org} is not marked as a manufacturer; the CRA Article 14 register applies to manufacturers "
            f"only (set the manufacturer flag: patchgap orgs set {org} --manufacturer)",
        )
    if options.as_of is not None:
        require_utc(options.as_of, "as_of")
    inputs = report_inputs(db, org, options.as_of, advice=False)
    moment = inputs.as_of  # "now": the second's start, or an upload's moment within it
    cases = tuple(c for c in (_as_of_view(c, moment) for c in _cases(db, org_id, inputs)) if c)
    return Gathered(CraInput(org, True, moment, cases), moment)
