"""What the export gatherers share: the request as one value, what a gatherer returns, and the inputs
several formats use (the export moment, vulnerability details, the organization's VEX decisions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from pipeline.exposures.reports import ReportInputs
from reports.exports.inputs import VexDecision, VexStatus, VulnDetails
from reports.exports.interface import Exporter
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import exposures as q
from store.queries.organizations import get_organization

_STATUSES: dict[str, VexStatus] = {
    "affected": "affected",
    "fixed": "fixed",
    "not_affected": "not_affected",
    "under_investigation": "under_investigation",
}


@dataclass(frozen=True, slots=True)
class Options:
    """The arguments of one ``pipeline.exports.export`` call, as the gatherers receive them."""

    command: str  # the format's command ("cra-register"): what errors name first
    system: str | None = None
    as_of: datetime | None = None  # the period's end for the evidence pack
    start: datetime | None = None
    previous: bytes | None = None
    previous_origin: str = "previous export"


@dataclass(frozen=True, slots=True)
class Gathered:
    """An exporter's input record and what the file is named after (the moment and the one system)."""

    data: Any
    as_of: datetime
    system: str | None = None


#: One per input kind of the registry: reads the store and builds the input record for ``exporter``.
Gatherer: TypeAlias = Callable[[Database, str, Options, Exporter[Any]], Gathered]



def vuln_details(inputs: ReportInputs) -> tuple[VulnDetails, ...]:
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


def decisions(db: Database, org: str) -> tuple[VexDecision, ...]:
    """The organization's VEX statements, each under the vulnerability group its id or aliases name."""
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
