"""``patchgap plan`` / ``GET /api/v1/plan``: the organization's remediation plan (``reports.plan``) from
its open exposures and the upgrade advice of every affected version they deploy.

Exposures a VEX statement excludes are not in it (they are not counted as open); the plan covers what
the exposures report calls open, at the same moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.errors import InputError
from core.time import rfc3339
from pipeline.exposures.reports import ReportInputs, report_inputs
from pipeline.systems import SystemFilter
from reports.deploy_time import AssessedExposure, assess_exposures
from reports.plan import CSV_FIELDS, Action, Plan, PlanItem, build_plan, csv_row
from store.db import Database

__all__ = [
    "CSV_FIELDS",
    "Action",
    "Plan",
    "csv_row",
    "items_from_inputs",
    "plan_from_inputs",
    "plan_items",
    "plan_json",
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
    items = []
    for a in assessed:
        e = a.exposure
        if e.resolved_at is not None or (environment is not None and a.environment != environment):
            continue
        for version in e.deployed:
            found = inputs.advice_for(e.package, version)
            if found is None:
                continue  # no matcher key: cannot happen for a matched package, but never guess
            s = found.suggestion
            items.append(
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
                )
            )
    return items


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
    ``limit`` of them), every ``unfixable`` version, and the totals."""
    if offset < 0 or (limit is not None and limit < 0):
        raise InputError("plan", "offset and limit must not be negative")
    plan = remediation_plan(db, org, system=system, environment=environment, as_of=as_of, only=only)
    end = len(plan.actions) if limit is None else offset + limit
    return {
        "organization": org,
        "as_of": rfc3339(plan.as_of),
        "system": system,
        "environment": environment,
        "total_actions": len(plan.actions),
        "total_unfixable": len(plan.unfixable),
        "actions": [a.to_json(rank) for rank, a in enumerate(plan.actions[offset:end], start=offset + 1)],
        "unfixable": [u.to_json() for u in plan.unfixable],
    }
