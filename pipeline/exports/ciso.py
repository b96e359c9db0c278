"""The input of the CISO report (HTML and PDF): the deploy-time report and the exposures behind it, the
same figures at the start of the comparison period, the systems' owners and how fresh the data is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pipeline.exports.common import Gathered, Options, vuln_details
from pipeline.exposures.reports import ReportInputs, deploy_time_from_inputs, report_inputs
from pipeline.plan import plan_from_inputs
from reports.deploy_time import assess_exposures
from reports.exports.inputs import COMPARISON_DAYS, AdvisoryFreshness, CisoInput, PeriodFigures
from reports.exports.interface import Exporter
from store.db import Database
from store.queries import advisories as advisory_queries

PERIOD = timedelta(days=COMPARISON_DAYS)


def period_figures(inputs: ReportInputs) -> PeriodFigures:
    """The headline figures of ``inputs``' moment, computed as the report itself computes them."""
    assessed = assess_exposures(
        inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
    )
    return PeriodFigures.of(deploy_time_from_inputs(inputs), assessed)


def _previous(db: Database, org: str, inputs: ReportInputs) -> PeriodFigures | None:
    """The figures at ``as_of − PERIOD``; None when no system had a snapshot by then."""
    moment = inputs.as_of - PERIOD
    if not any(s.observed_at <= moment for h in inputs.systems for s in h.snapshots):
        return None
    return period_figures(report_inputs(db, org, moment))


def _last_snapshots(inputs: ReportInputs) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    for history in inputs.systems:
        if history.retired_by(inputs.as_of) is not None:
            continue
        seen = [s.observed_at for s in history.snapshots if s.observed_at <= inputs.as_of]
        if seen:
            last[history.system] = max(seen)
    return last


def _freshness(db: Database) -> tuple[AdvisoryFreshness, ...]:
    """Per advisory source, the newest import; per fetched feed (KEV, EPSS, OSV API …), the last fetch."""
    with db.connect() as conn:
        imports = advisory_queries.last_import_per_source(conn)
        feeds = {f.name: f.fetched_at for f in advisory_queries.feed_states(conn)}
    merged = {**imports, **{name: when for name, when in feeds.items() if name not in imports}}
    return tuple(AdvisoryFreshness(name, when) for name, when in sorted(merged.items()))


def gather(db: Database, org: str, options: Options, exporter: Exporter[Any]) -> Gathered:
    inputs = report_inputs(db, org, options.as_of)
    assessed = assess_exposures(
        inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
    )
    report = deploy_time_from_inputs(inputs)
    plan = plan_from_inputs(inputs, assessed)
    data = CisoInput(
        org,
        report,
        assessed,
        vuln_details(inputs),
        systems=len(inputs.systems),
        actions=plan.actions,
        previous=_previous(db, org, inputs),
        owners={name: owner for name, (owner, _tags) in inputs.owners.items() if owner},
        last_snapshots=_last_snapshots(inputs),
        advisory_freshness=_freshness(db),
    )
    return Gathered(data, inputs.as_of)
