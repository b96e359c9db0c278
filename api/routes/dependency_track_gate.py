"""The Dependency-Track reads a CI gate makes after an upload, so DT CI plugins gate builds unchanged.

- ``GET /api/v1/project/lookup?name=&version=`` and ``GET /api/v1/project/{uuid}``: the project (a
  system; version = its latest snapshot's release label, ``lastBomImport`` in epoch milliseconds).
- ``GET /api/v1/finding/project/{uuid}``: each affected version of an open exposure as a finding.
- ``GET /api/v1/metrics/project/{uuid}/current``: severity counts and totals of those findings.
- ``GET /api/v1/metrics/project/{uuid}/refresh`` and ``GET /api/v1/metrics/portfolio/refresh``: 200
  and nothing else (metrics are computed when read).

A reader key suffices for every one (the refreshes change nothing). Another organization's project
UUID or name answers 404 like a missing one. The mapping is ``pipeline.dependency_track``'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from api.deps import DatabaseDep, Reader
from api.dt_schemas import (
    DtAliasOut,
    DtAnalysisOut,
    DtFindingComponentOut,
    DtFindingOut,
    DtMetricsOut,
    DtProjectOut,
    DtTagOut,
    DtVulnerabilityOut,
)
from api.errors import problem_responses
from core.text import SYSTEM_NAME_MAX, SYSTEM_NAME_PATTERN
from pipeline import dependency_track as dt

router = APIRouter(prefix="/api/v1", tags=["dependency-track"], responses=problem_responses(401))

ProjectUuid = Annotated[UUID, Path(description="The project's UUID: a system's `project_uuid`.")]
_NOT_FOUND = problem_responses(404)
_EMPTY_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "Accepted; nothing to do (metrics are computed when read).", "content": {}}
}


def _ms(moment: datetime) -> int:
    """Dependency-Track's dates: UNIX epoch milliseconds."""
    return round(moment.timestamp() * 1000)


def project_out(found: dt.DtProject) -> DtProjectOut:
    return DtProjectOut(
        uuid=found.uuid,
        name=found.name,
        version=found.version,
        lastBomImport=_ms(found.last_bom_import) if found.last_bom_import else None,
        lastBomImportFormat=found.last_bom_import_format,
        active=found.active,
        tags=[DtTagOut(name=t) for t in found.tags],
    )


def finding_out(finding: dt.DtFinding) -> DtFindingOut:
    c, v, a = finding.component, finding.vulnerability, finding.analysis
    return DtFindingOut(
        component=DtFindingComponentOut(
            uuid=c.uuid, name=c.name, group=c.group, version=c.version, purl=c.purl, project=c.project
        ),
        vulnerability=DtVulnerabilityOut(
            uuid=v.uuid,
            vulnId=v.vuln_id,
            source=v.source,
            severity=v.severity,
            severityRank=v.severity_rank,
            cvssV3BaseScore=v.cvss_v3_base_score,
            epssScore=v.epss_score,
            aliases=[DtAliasOut.model_validate({field: value}) for field, value in v.aliases],
        ),
        analysis=DtAnalysisOut(state=a.state, isSuppressed=a.is_suppressed),
        matrix=finding.matrix,
    )


@router.get(
    "/project/lookup",
    summary="Find a project by name and version (Dependency-Track)",
    response_model_exclude_none=True,
    responses=_NOT_FOUND,
)
def lookup_project(
    principal: Reader,
    db: DatabaseDep,
    name: Annotated[
        str,
        Query(min_length=1, max_length=SYSTEM_NAME_MAX, pattern=SYSTEM_NAME_PATTERN, description="A system."),
    ],
    version: Annotated[
        str | None,
        Query(max_length=200, description="Its current release label (omitted: any)."),
    ] = None,
) -> DtProjectOut:
    """The system named ``name``; with ``version``, only while that is its latest snapshot's label."""
    return project_out(dt.lookup_project(db, principal.org, name, version))


@router.get(
    "/project/{uuid}",
    summary="Show a project (Dependency-Track)",
    response_model_exclude_none=True,
    responses=_NOT_FOUND,
)
def get_project(principal: Reader, db: DatabaseDep, uuid: ProjectUuid) -> DtProjectOut:
    return project_out(dt.get_project(db, principal.org, str(uuid)))


@router.get(
    "/finding/project/{uuid}",
    summary="Findings of a project (Dependency-Track)",
    response_model_exclude_none=True,
    responses={
        200: {
            "description": "Every finding of the project's current state.",
            "headers": {"X-Total-Count": {"description": "Findings listed.", "schema": {"type": "integer"}}},
        },
        **_NOT_FOUND,
    },
)
def project_findings(
    principal: Reader,
    db: DatabaseDep,
    response: Response,
    uuid: ProjectUuid,
    suppressed: Annotated[bool, Query(description="Also list suppressed findings.")] = False,
) -> list[DtFindingOut]:
    """Each affected version of an open exposure of the system, as a Dependency-Track finding."""
    findings = dt.project_findings(db, principal.org, str(uuid), suppressed=suppressed)
    response.headers["X-Total-Count"] = str(len(findings))
    return [finding_out(f) for f in findings]


@router.get(
    "/metrics/project/{uuid}/current",
    summary="Current metrics of a project (Dependency-Track)",
    responses=_NOT_FOUND,
)
def project_metrics(principal: Reader, db: DatabaseDep, uuid: ProjectUuid) -> DtMetricsOut:
    m = dt.project_metrics(db, principal.org, str(uuid))
    return DtMetricsOut(
        critical=m.critical,
        high=m.high,
        medium=m.medium,
        low=m.low,
        unassigned=m.unassigned,
        vulnerabilities=m.vulnerabilities,
        vulnerableComponents=m.vulnerable_components,
        components=m.components,
        suppressed=m.suppressed,
        findingsTotal=m.findings_total,
        findingsAudited=m.findings_audited,
        findingsUnaudited=m.findings_unaudited,
        inheritedRiskScore=m.inherited_risk_score,
        firstOccurrence=_ms(m.first_occurrence),
        lastOccurrence=_ms(m.last_occurrence),
    )


@router.get(
    "/metrics/project/{uuid}/refresh",
    summary="Refresh a project's metrics (Dependency-Track; nothing to do)",
    response_class=Response,
    responses={**_EMPTY_OK, **_NOT_FOUND},
)
def refresh_project_metrics(principal: Reader, db: DatabaseDep, uuid: ProjectUuid) -> Response:
    """Answers 200 for a project of the organization; metrics are computed when read."""
    dt.refresh_project_metrics(db, principal.org, str(uuid))
    return Response(status_code=200)


@router.get(
    "/metrics/portfolio/refresh",
    summary="Refresh the portfolio's metrics (Dependency-Track; nothing to do)",
    response_class=Response,
    responses=_EMPTY_OK,
)
def refresh_portfolio_metrics(principal: Reader) -> Response:
    """Answers 200; metrics are computed when read."""
    return Response(status_code=200)
