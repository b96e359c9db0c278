"""The organization's overview figures (the dashboard's first page), as one document.

Every figure is the one the API answers for the same moment: the open rows of ``GET /api/v1/exposures``
(counted as fixable when they name a fixed version), ``GET /api/v1/reports/deploy-time`` and
``GET /api/v1/plan``.

Periods: ``period_days`` (30 or 90) sets the comparison: each time-to-deploy figure is given at
``as_of`` and at ``as_of − period_days`` (the *previous period*: the same report evaluated at that
earlier moment, over what was known then of the snapshots; facts such as advisories are today's).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from core.errors import InputError
from core.time import require_utc, rfc3339, utcnow_seconds, within_range
from pipeline.exposures.reports import (
    deploy_time,
    deploy_time_from_inputs,
    exposures_from_inputs,
    report_inputs,
)
from pipeline.plan import plan_from_inputs
from reports.sla import SlaPolicy
from reports.timeline import ordered_snapshots
from store.db import Database
from store.queries.advisories import feed_states

__all__ = ["PERIODS", "overview"]

PERIODS = (30, 90)
_TOP_ACTIONS = 5
_WORST = 10
_STALE_SHOWN = 10


def _tier_order(names: set[str], policy: SlaPolicy) -> list[str]:
    """Tiers most severe (fewest days) first, then any other name, then ``none``."""
    ranked = sorted(policy.tiers, key=lambda t: (t.days, t.name))
    known = [t.name for t in ranked if t.name in names]
    rest = sorted(names - set(known) - {"none"})
    return known + rest + (["none"] if "none" in names else [])


def overview(db: Database, org: str, as_of: datetime | None = None, period_days: int = 30) -> dict[str, Any]:
    """The overview document of ``org`` at ``as_of`` (default now); see the module docstring.

    Keys: ``open_fixable``, ``open_fixable_kev``, ``open_fixable_past_due`` (SLA status ``breached``),
    ``excluded_open`` (open intervals triage excludes), ``risk_accepted_open``; ``time_to_deploy``
    (half-life and within-30-days now and for the previous period); ``top_actions``/``total_actions``;
    ``worst_systems`` (most open fixable, then most KEV); ``stale_systems`` (count and the first ten
    by name); ``tiers`` (open fixable per SLA tier, most severe first); ``survival`` (points of the
    conservative time-to-deploy curve: days, share deployed); ``monthly``; ``freshness`` (last fetch
    per advisory feed, oldest and newest last SBOM of the active systems).
    """
    if period_days not in PERIODS:
        raise InputError("period_days", f"must be one of {', '.join(map(str, PERIODS))}, not {period_days}")
    if as_of is not None:
        within_range(as_of, "as_of", "overview")
    moment = require_utc(as_of, "as_of") if as_of is not None else utcnow_seconds()
    inputs = report_inputs(db, org, moment)
    report = deploy_time_from_inputs(inputs)
    document = report.to_json()
    rows = exposures_from_inputs(inputs, "open")
    excluded = exposures_from_inputs(inputs, "excluded")
    plan = plan_from_inputs(inputs)
    fixable = [r for r in rows if r["fixed_versions"]]
    previous_moment = moment - timedelta(days=period_days)
    previous = deploy_time(db, org, previous_moment).to_json()
    tiers = Counter(str(r["sla_tier"] or "none") for r in fixable)
    per_system = Counter(str(r["system"]) for r in fixable)
    kev_system = Counter(str(r["system"]) for r in fixable if r["kev"])
    worst = sorted(per_system, key=lambda name: (-per_system[name], -kev_system[name], name))[:_WORST]
    curve = report.overall.time_to_deploy.conservative_curve
    stale = sorted(document["stale_systems"], key=lambda s: s["system"])
    active = [
        snaps[-1].observed_at
        for s in inputs.systems
        if s.retired_by(moment) is None and (snaps := ordered_snapshots(s, moment))
    ]
    with db.connect() as conn:
        feeds = [{"source": f.name, "fetched_at": rfc3339(f.fetched_at)} for f in feed_states(conn)]

    def ttd(doc: dict[str, Any]) -> dict[str, Any]:
        figures = doc["time_to_deploy"]
        return {"half_life_days": figures["km_median_days"], "within_30_days": figures["within_days"]["30"]}

    return {
        "organization": org,
        "as_of": rfc3339(moment),
        "period_days": period_days,
        "previous_as_of": rfc3339(previous_moment),
        "open_fixable": len(fixable),
        "open_fixable_kev": sum(1 for r in fixable if r["kev"]),
        "open_fixable_past_due": sum(1 for r in fixable if r["sla_status"] == "breached"),
        "excluded_open": sum(1 for r in excluded if r["resolved_at"] is None),
        "risk_accepted_open": sum(1 for r in rows if r["sla_status"] == "risk_accepted"),
        "time_to_deploy": {**ttd(document), "previous": ttd(previous)},
        "top_actions": [a.to_json(rank) for rank, a in enumerate(plan.actions[:_TOP_ACTIONS], start=1)],
        "total_actions": len(plan.actions),
        "worst_systems": [
            {"system": name, "open_fixable": per_system[name], "kev": kev_system[name]} for name in worst
        ],
        "stale_systems": {"count": len(stale), "first": stale[:_STALE_SHOWN]},
        "tiers": [{"tier": t, "open_fixable": tiers[t]} for t in _tier_order(set(tiers), inputs.policy)],
        "survival": [[0.0, 0.0]] + [[step.time, 1.0 - step.survival] for step in curve.steps],
        "monthly": document["monthly"],
        "freshness": {
            "advisory_feeds": feeds,
            "oldest_last_sbom": rfc3339(min(active, default=None)),
            "newest_last_sbom": rfc3339(max(active, default=None)),
        },
    }
