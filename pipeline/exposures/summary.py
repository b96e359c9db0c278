"""The deploy-time report of a whole organization from its stored exposures, as columns.

``deploy_time_json`` / ``deploy_time`` (``pipeline.exposures.reports``) answer through here whenever
the report reads stored rows (``as_of`` at or after the newest snapshot): the counted rows are read
as columns (``store.queries.exposures.counted_columns``) and summarized over arrays by
``reports.deploy_time_columns``. A report evaluated earlier recomputes intervals from snapshots and
takes the per-exposure path (:func:`pipeline.exposures.reports.deploy_time_reference`), which stays the
definition: tests compare both on generated fleets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import TypeVar

import numpy as np

from core.time import require_utc, utcnow_seconds, within_range
from pipeline.exposures.build import ensure_exposures
from pipeline.exposures.facts import fact_for, ids_of
from pipeline.exposures.triage import analysis_records
from pipeline.sla import policy_of
from reports.deploy_time import DeployTimeReport
from reports.deploy_time_columns import ExposureColumns, deploy_time_report_columns
from reports.exposure_records import SnapshotRef, SystemHistory
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import exposures as q
from store.queries import systems as system_queries
from store.queries.organizations import get_organization

K = TypeVar("K", bound=Hashable)


class _Codes(dict[K, int]):
    """Value → dense integer code, in order of first appearance."""

    def __missing__(self, key: K) -> int:
        code = self[key] = len(self)
        return code


def _encode(values: Iterable[K], codes: _Codes[K], count: int) -> np.ndarray:
    getter: Callable[[K], int] = codes.__getitem__
    return np.fromiter(map(getter, values), dtype=np.int64, count=count)


def stored_deploy_time(db: Database, org: str, as_of: datetime | None = None) -> DeployTimeReport | None:
    """The organization's deploy-time report from its stored rows; ``None`` when ``as_of`` lies before
    its newest snapshot (the caller then recomputes the intervals up to ``as_of``)."""
    if as_of is not None:
        within_range(as_of, "as_of", "report")
    moment = require_utc(as_of, "as_of") if as_of is not None else utcnow_seconds()
    ensure_exposures(db, org)
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        systems = system_queries.org_systems(session, org_row.id)
        newest = max((s.last_observed_at for s in systems if s.last_observed_at), default=None)
        if newest is not None and moment < newest:
            return None
        raw = q.counted_columns(session, org_row.id)
        excluded = q.excluded_counts(session, org_row.id)
        withdrawn = tuple(q.withdrawn_groups(session, org_row.id))
        records = analysis_records(session, org_row.id) if any(a is not None for a in raw.analysis_id) else []
        groups = set(raw.vuln_group)
        advisories: dict[str, list[advisory_queries.GroupAdvisory]] = defaultdict(list)
        for a in advisory_queries.group_advisories(session, groups):
            advisories[a.group_key].append(a)
        cves = {i for g in groups for i in ids_of(g, advisories[g]) if i.startswith("CVE-")}
        kev = advisory_queries.kev_ids(session, cves)
        epss = advisory_queries.epss_scores(session, cves)
        policy = policy_of(session, org_row.id, org)
    facts = [fact_for(g, advisories[g], kev, epss) for g in sorted(groups)]
    # Staleness and the breakdowns need each system's newest snapshot only.
    histories = [
        SystemHistory(
            s.name,
            (SnapshotRef(s.last_observed_at, "newest"),) if s.last_observed_at else (),
            s.environment,
            s.internet_exposed,
            s.cadence_days,
        )
        for s in systems
    ]
    n = len(raw.system_id)
    system_codes: _Codes[int] = _Codes({s.id: i for i, s in enumerate(systems)})
    pairs: _Codes[tuple[str, str]] = _Codes()
    ecosystems: _Codes[str] = _Codes()
    resolutions: _Codes[str | None] = _Codes()
    record_codes: _Codes[int | None] = _Codes({r.id: i for i, r in enumerate(records)})
    record_codes[None] = -1
    resolved = raw.resolved_at
    columns = ExposureColumns(
        system=_encode(raw.system_id, system_codes, n),
        pair=_encode(zip(raw.vuln_group, raw.package, strict=True), pairs, n),
        ecosystem=_encode(raw.ecosystem, ecosystems, n),
        first_seen=np.fromiter(raw.first_seen, dtype=np.int64, count=n),
        last_affected=np.fromiter(raw.last_affected_seen, dtype=np.int64, count=n),
        resolved=np.fromiter((0 if r is None else r for r in resolved), dtype=np.int64, count=n),
        closed=np.fromiter((r is not None for r in resolved), dtype=bool, count=n),
        resolution=_encode(raw.resolution, resolutions, n),
        analysis=_encode(raw.analysis_id, record_codes, n),
        pairs=list(pairs),
        ecosystems=list(ecosystems),
        resolutions=list(resolutions),
        analyses=records,
    )
    return deploy_time_report_columns(
        columns,
        histories,
        facts,
        moment,
        policy=policy,
        excluded=excluded,
        withdrawn_groups_skipped=withdrawn,
    )
