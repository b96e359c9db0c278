"""The analysis records exposures are built with: an organization's records as ``core.triage.Analysis``,
each under the vulnerability group its id (or an alias) names today.

A record stored before its advisory was known (``--allow-unmatched``, a VEX document ahead of the feed)
decides about nothing until an advisory names its id; then it counts, as VEX statements always did.
"""

from __future__ import annotations

from core.triage import Analysis
from store.db import Tx
from store.queries import advisories as advisory_queries
from store.queries import triage as triage_queries


def to_analysis(view: triage_queries.AnalysisView, group: str) -> Analysis:
    e = view.current
    return Analysis(
        id=view.id,
        vuln_group=group,
        package=view.package,
        state=e.state,
        version=view.version or None,
        system=view.system,
        justification=e.justification,
        impact_statement=e.impact_statement,
        comment=e.comment,
        expires_at=e.expires_at,
        approver=e.approver,
        actor=e.actor,
        actor_role=e.actor_role,
        decided_at=e.decided_at,
        source=e.source,
    )


def resolved_groups(session: Tx, views: list[triage_queries.AnalysisView]) -> dict[int, str]:
    """Record id → the vulnerability group its id or aliases name (records naming none are left out)."""
    groups = advisory_queries.groups_for_ids(
        session, {i for v in views for i in (v.vulnerability, *v.aliases)}
    )
    out: dict[int, str] = {}
    for v in views:
        group = next((groups[i] for i in (v.vulnerability, *v.aliases) if i in groups), None)
        if group is not None:
            out[v.id] = group
    return out


def analysis_records(session: Tx, org_id: int) -> list[Analysis]:
    """The organization's records that name a known vulnerability group, as they stand."""
    views = triage_queries.org_analyses(session, org_id)
    groups = resolved_groups(session, views)
    return [to_analysis(v, groups[v.id]) for v in views if v.id in groups]
