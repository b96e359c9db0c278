"""``patchgap plan`` / ``GET /api/v1/plan``: the organization's remediation plan (``reports.plan``) from
its open exposures and the upgrade advice of every affected version they deploy.

Exposures a VEX statement excludes are not in it (they are not counted as open); the plan covers what
the exposures report calls open, at the same moment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.embargo import current_view, public, viewing
from pipeline.advice import package_advice
from pipeline.exposures.reports import ReportInputs, report_inputs
from pipeline.systems import SystemFilter
from reports.deploy_time import AssessedExposure, assess_exposures
from reports.plan import CSV_FIELDS, Action, Plan, PlanItem, base_weight, build_plan, csv_row, micros
from store.db import Database, Tx
from store.queries.systems import SystemRow

__all__ = [
    "CSV_FIELDS",
    "Action",
    "Plan",
    "assessed_items",
    "csv_row",
    "item_of_row",
    "item_rows",
    "items_from_inputs",
    "plan_from_inputs",
    "plan_items",
    "plan_json",
    "public_advice",
    "remediation_plan",
]


def plan_items(
    db: Database,
    org: str,
    *,
    system: str | None = None,
    environment: str | None = None,
    as_of: datetime | None = None,
    only: SystemFilter | None = None,
) -> tuple[datetime, list[PlanItem]]:
    """The moment and one item per (open exposure, affected version deployed at its last snapshot)
    of the systems selected (``system``, ``environment``, ``only``: owner and tags)."""
    inputs = report_inputs(db, org, as_of, system=system, open_only=True, only=only)
    return inputs.as_of, items_from_inputs(inputs, environment=environment)


def items_from_inputs(
    inputs: ReportInputs,
    assessed: Sequence[AssessedExposure] | None = None,
    *,
    environment: str | None = None,
) -> list[PlanItem]:
    """The plan's items from report inputs already read (and assessed, when the caller has done it:
    the dashboard overview and the CISO report build the plan from the inputs of their own report)."""
    if assessed is None:
        assessed = assess_exposures(
            inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
        )
    return [item for _, item in assessed_items(inputs, assessed, environment=environment)]


def assessed_items(
    inputs: ReportInputs, assessed: Sequence[AssessedExposure], *, environment: str | None = None
) -> Iterator[tuple[AssessedExposure, PlanItem]]:
    """Each item of the plan with the assessed exposure it comes from: one per open exposure and
    affected version deployed at its last snapshot that has advice in ``inputs``."""
    for a in assessed:
        e = a.exposure
        if e.resolved_at is not None or (environment is not None and a.environment != environment):
            continue
        for version in e.deployed:
            found = inputs.advice_for(e.package, version)
            if found is None:
                continue  # no matcher key: cannot happen for a matched package, but never guess
            s = found.suggestion
            yield (
                a,
                PlanItem(
                    system=e.system,
                    environment=a.environment,
                    internet_exposed=a.risk.internet_exposed,
                    package=e.package,
                    ecosystem=e.ecosystem,
                    version=version,
                    vulnerability=e.vuln_group,
                    severity=a.severity,
                    cvss=a.risk.cvss,
                    kev=a.risk.exploited,
                    epss=a.risk.epss,
                    sla_due=a.sla_due,
                    advice=s.status,
                    to_version=s.version,
                    advice_detail=s.detail,
                    major_upgrade=found.major_upgrade,
                    in_major=found.in_major,
                    in_major_leaves_open=found.in_major_leaves_open,
                    last_resort_maintainer=a.last_resort_maintainer,
                ),
            )


def public_advice(session: Tx, inputs: ReportInputs) -> ReportInputs:
    """``inputs`` with the advice of every version its open counted exposures deploy, as a reader
    without embargo entitlement sees it (what the stored plan keeps: an entitled reader's plan with
    embargoed records is computed in memory instead)."""
    wanted = {
        (*inputs.names[e.package], version)
        for e in inputs.timeline.exposures
        if e.resolved_at is None and e.package in inputs.names
        for version in e.deployed
    }
    with viewing(public(current_view().now)):
        found = package_advice(session, wanted)
    return replace(inputs, advice=found)


def item_rows(
    inputs: ReportInputs,
    assessed: Sequence[AssessedExposure],
    exposure_ids: Mapping[tuple[str, str, str, datetime], int],
    systems: Mapping[str, SystemRow],
    org_id: int,
) -> list[dict[str, Any]]:
    """The stored plan's rows (``store.tables.plan``) of these assessed exposures: ``exposure_ids``
    maps a counted exposure's (system, package, group, first seen) to its stored row id."""
    rows = []
    for a, item in assessed_items(inputs, assessed):
        e = a.exposure
        system = systems[e.system]
        rows.append(
            {
                "exposure_id": exposure_ids[(e.system, e.package, e.vuln_group, e.first_seen)],
                "org_id": org_id,
                "system_id": system.id,
                "owner_key": system.owner.casefold() if system.owner else None,
                "tags_key": "|" + "".join(f"{t}|" for t in system.tags),
                "system": item.system,
                "environment": item.environment,
                "internet_exposed": item.internet_exposed,
                "package": item.package,
                "ecosystem": item.ecosystem,
                "version": item.version,
                "vulnerability": item.vulnerability,
                "severity": item.severity,
                "cvss": item.cvss,
                "kev": item.kev,
                "epss": item.epss,
                "sla_due": item.sla_due,
                "due_us": micros(item.sla_due) if item.sla_due is not None else None,
                "advice": item.advice,
                "to_version": item.to_version,
                "advice_detail": item.advice_detail,
                "major_upgrade": item.major_upgrade,
                "in_major": item.in_major,
                "in_major_leaves_open": json.dumps(list(item.in_major_leaves_open)),
                "last_resort_maintainer": item.last_resort_maintainer,
                "weight": base_weight(item),
            }
        )
    return rows


def item_of_row(row: Mapping[str, Any]) -> PlanItem:
    """The plan item a stored row holds (``store.queries.plan`` reads its columns by these names)."""
    return PlanItem(
        system=row["system"],
        environment=row["environment"],
        internet_exposed=bool(row["internet_exposed"]),
        package=row["package"],
        ecosystem=row["ecosystem"],
        version=row["version"],
        vulnerability=row["vulnerability"],
        severity=row["severity"],
        cvss=row["cvss"],
        kev=bool(row["kev"]),
        epss=row["epss"],
        sla_due=row["sla_due"],
        advice=row["advice"],
        to_version=row["to_version"],
        advice_detail=row["advice_detail"],
        major_upgrade=None if row["major_upgrade"] is None else bool(row["major_upgrade"]),
        in_major=row["in_major"],
        in_major_leaves_open=tuple(json.loads(row["in_major_leaves_open"])),
        last_resort_maintainer=bool(row["last_resort_maintainer"]),
    )


def plan_from_inputs(inputs: ReportInputs, assessed: Sequence[AssessedExposure] | None = None) -> Plan:
    """The plan of report inputs already read (every system and environment they hold)."""
    return build_plan(items_from_inputs(inputs, assessed), inputs.as_of)


def remediation_plan(
    db: Database,
    org: str,
    *,
    system: str | None = None,
    environment: str | None = None,
    as_of: datetime | None = None,
    only: SystemFilter | None = None,
) -> Plan:
    moment, items = plan_items(db, org, system=system, environment=environment, as_of=as_of, only=only)
    return build_plan(items, moment)


def plan_json(
    db: Database,
    org: str,
    *,
    system: str | None = None,
    environment: str | None = None,
    as_of: datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
    only: SystemFilter | None = None,
) -> dict[str, Any]:
    """The plan document (README "Remediation plan"): ``actions`` ranked from ``offset`` (at most
    ``limit`` of them), every ``unfixable`` version, and the totals; read from the stored plan
    (``pipeline.lists.plan``) whenever the moment allows."""
    from pipeline.lists.plan import PlanQuery, plan_document  # noqa: PLC0415  (it imports this module)

    only = only or SystemFilter()
    query = PlanQuery(system, environment, only.owner, only.tags, as_of)
    return plan_document(db, org, query, limit=limit, offset=offset)[0]
