"""The remediation plan, paged: the actions of ``patchgap plan`` ranked by the risk they remove, one
keyset page at a time (``core.paging``), and the top of the plan for the overview.

Actions are exactly the plan's (``pipeline.plan``): the same JSON, the same order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.plan import remediation_plan
from pipeline.systems import SystemFilter
from store.db import Database

__all__ = ["top_actions"]


def top_actions(
    db: Database, org: str, as_of: datetime | None, n: int, only: SystemFilter | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The first ``n`` actions of the organization's plan at ``as_of`` (``None``: now) as their JSON,
    ranked 1..n, and how many actions the whole plan holds."""
    plan = remediation_plan(db, org, as_of=as_of, only=only)
    return [a.to_json(rank) for rank, a in enumerate(plan.actions[:n], start=1)], len(plan.actions)
