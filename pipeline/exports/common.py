"""What the export gatherers share: the request as one value, what a gatherer returns, and the inputs
several formats use (the export moment, vulnerability details and what the advisories say of them, the
organization's decisions: its analysis records in VEX words)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from core.compression import DecompressionError, inflate_bounded
from core.errors import StorageError
from core.time import rfc3339
from core.triage import VEX_STATUS_OF_STATE
from pipeline.advisories.show import MAX_RAW_RECORD_BYTES
from pipeline.embargo import visible_analyses
from pipeline.exposures.reports import ReportInputs
from pipeline.exposures.triage import resolved_groups
from reports.exports.inputs import CvssScore, VexDecision, VexStatus, VulnDetails
from reports.exports.interface import Exporter
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import triage as triage_queries
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


def _cvss_version(kind: str, vector: str) -> str | None:
    if kind == "CVSS_V2":
        return "2.0"
    for version in ("3.0", "3.1", "4.0"):
        if vector.startswith(f"CVSS:{version}/"):
            return version
    return None


def _scores(texts: list[advisory_queries.GroupText]) -> tuple[CvssScore, ...]:
    """Every scored CVSS vector the group's advisories state, once each (the exporters pick from them)."""
    found: dict[tuple[str, str], float] = {}
    for t in texts:
        for s in t.severity:
            kind, vector, score = s.get("type"), s.get("vector"), s.get("score")
            if not isinstance(kind, str) or not isinstance(vector, str) or not isinstance(score, int | float):
                continue
            version = _cvss_version(kind, vector)
            if version is not None:
                found[(version, vector)] = max(float(score), found.get((version, vector), 0.0))
    return tuple(CvssScore(v, vector, score) for (v, vector), score in sorted(found.items()))


def _details(text: advisory_queries.GroupText) -> str:
    """The record's ``details`` (OSV-shaped records have one, CSAF documents do not), unpacked within the
    limit every stored raw record is read with; a record that cannot be read is a StorageError."""
    what = f"{text.source} {text.advisory_id} (stored record)"
    try:
        document = json.loads(inflate_bounded(text.raw, MAX_RAW_RECORD_BYTES))
    except DecompressionError as exc:
        raise StorageError(f"{what}: {exc}; refused", transient=False) from None
    except ValueError as exc:  # not UTF-8, not JSON
        raise StorageError(f"{what}: not JSON ({exc})", transient=False) from None
    found = document.get("details") if isinstance(document, dict) else None
    return found.strip() if isinstance(found, str) else ""


def advisory_texts(db: Database, groups: set[str]) -> dict[str, list[advisory_queries.GroupText]]:
    """Per group, what its advisories say in words and vectors (``store.queries.advisories.group_texts``)."""
    out: dict[str, list[advisory_queries.GroupText]] = {}
    with db.read() as session:
        for t in advisory_queries.group_texts(session, groups):
            out.setdefault(t.group_key, []).append(t)
    return out


def vuln_details(
    inputs: ReportInputs, texts: dict[str, list[advisory_queries.GroupText]] | None = None
) -> tuple[VulnDetails, ...]:
    """The groups' details; with ``texts``, also their title (the shortest advisory summary), description
    (the first advisory's details, else the title) and CVSS scores, for the formats that show them."""
    out = []
    for f in inputs.facts:
        info = inputs.groups.get(f.vuln_group)
        said = (texts or {}).get(f.vuln_group, [])
        # The shortest summary is the title: some records (PYSEC) carry their whole text as summary.
        title = min((t.summary.strip() for t in said if t.summary.strip()), key=len, default="")
        description = next((d for d in map(_details, said) if d), "") or title
        out.append(
            VulnDetails(
                f.vuln_group,
                tuple(info.aliases) if info else (),
                title=title,
                description=description,
                published=f.published,
                cvss=_scores(said),
                rating=f.rating,
                exploited=f.exploited,
                exploited_sources=("kev/advisory",) if f.exploited else (),
                epss=f.epss,
            )
        )
    return tuple(out)


def _action(state: str, comment: str | None, expires_at: datetime | None, approver: str | None) -> str:
    """What an ``affected`` decision says will be done: an accepted risk's terms, else its comment."""
    if state == "accepted_risk":
        terms = f"Risk accepted until {rfc3339(expires_at)}"
        terms += f", approved by {approver}" if approver else ""
        return terms + (f": {comment}" if comment else ".")
    return (comment or "") if state == "exploitable" else ""


def decisions(db: Database, org: str) -> tuple[VexDecision, ...]:
    """The organization's analysis records as they stand (VEX is a view of them), each under the
    vulnerability group its id or aliases name (its id as given when none does yet)."""
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        views = triage_queries.org_analyses(session, org_row.id)
        groups = resolved_groups(session, views)
        views = visible_analyses(session, views, groups)
    out: list[VexDecision] = []
    for v in views:
        e = v.current
        out.append(
            VexDecision(
                groups.get(v.id, v.vulnerability),
                v.package,
                _STATUSES.get(VEX_STATUS_OF_STATE.get(e.state, ""), "under_investigation"),
                system=v.system,
                version=v.version or None,
                justification=e.justification or "",
                impact_statement=e.impact_statement or "",
                action_statement=_action(e.state, e.comment, e.expires_at, e.approver),
                author=e.actor,
                decided_at=e.decided_at,
                source=e.source,
                state=e.state,
                comment=e.comment or "",
                expires_at=e.expires_at,
                approver=e.approver or "",
            )
        )
    return tuple(out)
