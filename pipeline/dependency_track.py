"""The reads a Dependency-Track CI gate makes, answered from patchgap's records in DT's terms.

A CI plugin written for Dependency-Track uploads an SBOM, polls the token until processing ends, looks
the project up by name and version, then reads its findings (and sometimes its metrics) to fail the
build above a severity threshold (the upload itself is ``pipeline.uploads.queue_checked_upload``):

- **project** = a system. ``uuid`` is the system's ``project_uuid`` (``pipeline.uploads``), ``version``
  the release label of the system's latest snapshot (latest by ``observed_at``: the state the timeline
  calls current), ``lastBomImport`` the moment the newest upload of the system was stored or processed
  (a re-upload of unchanged bytes counts: Dependency-Track also stamps every import).
- **finding** = one affected version of an open exposure of the system (each version deployed at the
  exposure's last affected snapshot, which for an open exposure is the latest one). The vulnerability is
  the alias group (``vulnId`` its key, the other ids in ``aliases``), rated from the group's highest CVSS
  base score the way the reports rate it.
- **metrics** are counted from those findings the way Dependency-Track counts them (suppressed findings
  apart, ``INFO`` counted as low, ``findingsAudited`` = analysed and not suppressed, the inherited risk
  score 10·critical + 5·high + 3·medium + 1·low + 5·unassigned), computed when asked: nothing is stored,
  so a metrics refresh has nothing to do.

The analysis of a finding comes from :func:`analysis_for`, the one place that maps an exposure to
Dependency-Track's analysis (``NOT_SET`` until triage records exist to read there).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

from core.errors import NotFoundError
from core.sbom import SbomFormat
from core.time import utcnow
from pipeline.exposures.reports import system_exposures
from pipeline.systems import get_system, list_snapshots
from pipeline.uploads import project_uuid, system_for_project
from store.db import Database
from store.queries.jobs import last_processed_upload
from store.queries.organizations import organization_id

__all__ = [
    "ANALYSIS_STATES",
    "SEVERITIES",
    "DtAnalysis",
    "DtComponent",
    "DtFinding",
    "DtMetrics",
    "DtProject",
    "DtVulnerability",
    "analysis_for",
    "dt_analysis",
    "get_project",
    "lookup_project",
    "project_findings",
    "project_metrics",
    "refresh_project_metrics",
]

Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNASSIGNED"]
#: Dependency-Track's severities, highest first; a finding's ``severityRank`` is the index here.
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNASSIGNED")
# The reports' rating of a CVSS base score (``reports.deploy_time.severity_label``) → Dependency-Track's.
_SEVERITY_OF_LABEL: dict[str, Severity] = {
    "critical": "CRITICAL",
    "high": "HIGH",
    "medium": "MEDIUM",
    "low": "LOW",
    "none": "INFO",
    "unscored": "UNASSIGNED",
}

VulnSource = Literal["NVD", "GITHUB", "OSV"]
AnalysisState = Literal["NOT_SET", "IN_TRIAGE", "EXPLOITABLE", "NOT_AFFECTED", "FALSE_POSITIVE", "RESOLVED"]
#: Triage states (DESIGN.md "Triage") → Dependency-Track's analysis state and whether the finding is
#: suppressed: the states that exclude an exposure (``not_affected``, ``false_positive``) suppress it;
#: ``accepted_risk`` is still counted, so it is an exploitable finding, not a suppressed one.
ANALYSIS_STATES: dict[str, tuple[AnalysisState, bool]] = {
    "in_triage": ("IN_TRIAGE", False),
    "exploitable": ("EXPLOITABLE", False),
    "accepted_risk": ("EXPLOITABLE", False),
    "not_affected": ("NOT_AFFECTED", True),
    "false_positive": ("FALSE_POSITIVE", True),
    "resolved": ("RESOLVED", False),
}
# Analysed, in Dependency-Track's sense (``findingsAudited``): a state other than these.
_UNAUDITED: frozenset[AnalysisState] = frozenset({"NOT_SET", "IN_TRIAGE"})

_COMPONENT_NAMESPACE = uuid.UUID("2d6c5f0e-8f61-4b0a-a7f4-3f0d9b8e6c41")
_VULNERABILITY_NAMESPACE = uuid.UUID("9b1f3c7a-52e4-4d8b-8c0e-6a2f71d4e5b9")
# Dependency-Track's alias fields, by the prefix of an id; any other id (PYSEC, GO, RUSTSEC …) is OSV's.
_ALIAS_FIELDS = (("CVE-", "cveId"), ("GHSA-", "ghsaId"), ("SNYK-", "snykId"), ("GSD-", "gsdId"))


@dataclass(frozen=True, slots=True)
class DtProject:
    uuid: str
    name: str
    version: str | None
    last_bom_import: datetime | None
    last_bom_import_format: str | None
    # Dependency-Track's "active" is ours "not decommissioned"; its tags are the system's tags.
    active: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DtComponent:
    uuid: str
    name: str
    group: str | None
    version: str
    purl: str
    project: str


@dataclass(frozen=True, slots=True)
class DtVulnerability:
    uuid: str
    vuln_id: str
    source: VulnSource
    severity: Severity
    cvss_v3_base_score: float | None
    epss_score: float | None
    aliases: tuple[tuple[str, str], ...]  # (Dependency-Track's field, id)

    @property
    def severity_rank(self) -> int:
        return SEVERITIES.index(self.severity)


@dataclass(frozen=True, slots=True)
class DtAnalysis:
    state: AnalysisState
    is_suppressed: bool


@dataclass(frozen=True, slots=True)
class DtFinding:
    component: DtComponent
    vulnerability: DtVulnerability
    analysis: DtAnalysis

    @property
    def matrix(self) -> str:
        """Dependency-Track's finding key: project, component and vulnerability UUIDs."""
        return f"{self.component.project}:{self.component.uuid}:{self.vulnerability.uuid}"


@dataclass(frozen=True, slots=True)
class DtMetrics:
    critical: int
    high: int
    medium: int
    low: int
    unassigned: int
    vulnerabilities: int
    vulnerable_components: int
    components: int
    suppressed: int
    findings_total: int
    findings_audited: int
    findings_unaudited: int
    inherited_risk_score: float
    first_occurrence: datetime
    last_occurrence: datetime


# --- projects -------------------------------------------------------------------------------------


def _import_format(format_: str, spec_version: str) -> str:
    """Dependency-Track's ``lastBomImportFormat``: the format's family and its spec version."""
    return f"{SbomFormat(format_).family} {spec_version}"


def _project_of(db: Database, org: str, system: str) -> DtProject:
    row = get_system(db, org, system)
    snapshots = list_snapshots(db, org, system)
    latest = snapshots[-1] if snapshots else None
    with db.read() as session:
        processed = last_processed_upload(session, organization_id(session, org), system)
    stamps = [s.received_at for s in snapshots] + ([processed] if processed is not None else [])
    return DtProject(
        uuid=project_uuid(org, system),
        name=system,
        version=latest.release_label if latest is not None else None,
        last_bom_import=max(stamps, default=None),
        last_bom_import_format=_import_format(latest.format, latest.spec_version) if latest else None,
        active=row.decommissioned_at is None,
        tags=row.tags,
    )


def get_project(db: Database, org: str, uuid_: str) -> DtProject:
    """The project (system) of ``org`` with this UUID (another organization's: ``NotFoundError``)."""
    return _project_of(db, org, system_for_project(db, org, uuid_))


def lookup_project(db: Database, org: str, name: str, version: str | None) -> DtProject:
    """The project named ``name`` whose current version (latest snapshot's release label) is ``version``.

    Without a version (or an empty one) the system is found by name alone. A version that is not the
    system's current one is "not found": the findings describe the current state only, so answering
    for an older release would gate a build on another deployment's findings.
    """
    system = get_system(db, org, name).name
    found = _project_of(db, org, system)
    wanted = (version or "").strip() or None
    if wanted is not None and wanted != found.version:
        current = "no release label" if found.version is None else f"release {found.version!r}"
        raise NotFoundError(
            f"project {name!r} version {wanted!r} does not exist in organization {org!r} "
            f"(its latest snapshot has {current})"
        )
    return found


# --- findings and metrics -------------------------------------------------------------------------


def dt_analysis(state: str | None) -> DtAnalysis:
    """Dependency-Track's analysis of a triage state (``None``: not analysed, ``NOT_SET``)."""
    if state is None:
        return DtAnalysis("NOT_SET", False)
    dt_state, suppressed = ANALYSIS_STATES[state]
    return DtAnalysis(dt_state, suppressed)


def analysis_for(exposure: Mapping[str, Any], version: str) -> DtAnalysis:
    """The analysis of one affected ``version`` of an open exposure (a row of the exposures report):
    the state of the triage record that decides about the exposure (its ``analysis``), as
    Dependency-Track names it; ``NOT_SET`` when no record does."""
    record = exposure.get("analysis")
    return dt_analysis(str(record["state"]) if isinstance(record, Mapping) else None)


def _alias(vuln_id: str) -> tuple[str, str]:
    field = next((f for prefix, f in _ALIAS_FIELDS if vuln_id.startswith(prefix)), "osvId")
    return field, vuln_id


def _source(vuln_id: str) -> VulnSource:
    if vuln_id.startswith("CVE-"):
        return "NVD"
    if vuln_id.startswith("GHSA-"):
        return "GITHUB"
    return "OSV"


def _name_and_group(package: str) -> tuple[str, str | None]:
    """Component name and group (purl namespace) of a package purl without version."""
    path = package.split("/", 1)[1] if "/" in package else package
    *namespace, name = path.split("/")
    return unquote(name), ("/".join(unquote(n) for n in namespace) or None)


def _vulnerability(row: Mapping[str, Any]) -> DtVulnerability:
    group = str(row["vulnerability"])
    return DtVulnerability(
        uuid=str(uuid.uuid5(_VULNERABILITY_NAMESPACE, group)),
        vuln_id=group,
        source=_source(group),
        severity=_SEVERITY_OF_LABEL.get(str(row["severity"]), "UNASSIGNED"),
        cvss_v3_base_score=row["cvss"],
        epss_score=row["epss"],
        aliases=tuple(_alias(a) for a in row["aliases"] if a != group),
    )


def _findings_of(org: str, system: str, rows: Sequence[Mapping[str, Any]]) -> list[DtFinding]:
    project_id = project_uuid(org, system)
    findings: list[DtFinding] = []
    for row in rows:
        vulnerability = _vulnerability(row)
        package = str(row["package"])
        name, group = _name_and_group(package)
        for version in [v["version"] for v in row["affected_versions"]] or [row["version"]]:
            purl = f"{package}@{version}"
            component = DtComponent(
                uuid=str(uuid.uuid5(_COMPONENT_NAMESPACE, f"{project_id}\x00{purl}")),
                name=name,
                group=group,
                version=version,
                purl=purl,
                project=project_id,
            )
            findings.append(DtFinding(component, vulnerability, analysis_for(row, version)))
    return findings


def project_findings(db: Database, org: str, uuid_: str, *, suppressed: bool = False) -> list[DtFinding]:
    """The findings of the project's current state, suppressed ones only when asked (as in DT)."""
    system = system_for_project(db, org, uuid_)
    findings = _findings_of(org, system, _current_rows(db, org, system))
    return [f for f in findings if suppressed or not f.analysis.is_suppressed]


def _current_rows(db: Database, org: str, system: str) -> list[dict[str, Any]]:
    """The system's open exposures, with those a triage record excludes (not_affected, false_positive:
    Dependency-Track's suppressed findings, shown with ``?suppressed=true``)."""
    counted = system_exposures(db, org, system, "open")
    excluded = [r for r in system_exposures(db, org, system, "excluded") if r["resolved_at"] is None]
    return counted + excluded


def project_metrics(db: Database, org: str, uuid_: str) -> DtMetrics:
    """The project's current metrics, counted from its findings (see the module docstring)."""
    system = system_for_project(db, org, uuid_)
    findings = _findings_of(org, system, _current_rows(db, org, system))
    moment = utcnow()
    counted = [f for f in findings if not f.analysis.is_suppressed]
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for f in counted:
        by_severity[f.vulnerability.severity] += 1
    snapshots = list_snapshots(db, org, system)
    audited = sum(1 for f in counted if f.analysis.state not in _UNAUDITED)
    critical, high, medium = by_severity["CRITICAL"], by_severity["HIGH"], by_severity["MEDIUM"]
    low = by_severity["LOW"] + by_severity["INFO"]
    unassigned = by_severity["UNASSIGNED"]
    return DtMetrics(
        critical=critical,
        high=high,
        medium=medium,
        low=low,
        unassigned=unassigned,
        vulnerabilities=len(counted),
        vulnerable_components=len({f.component.uuid for f in counted}),
        components=snapshots[-1].component_count if snapshots else 0,
        suppressed=len(findings) - len(counted),
        findings_total=len(counted),
        findings_audited=audited,
        findings_unaudited=len(counted) - audited,
        inherited_risk_score=float(10 * critical + 5 * high + 3 * medium + low + 5 * unassigned),
        first_occurrence=moment,
        last_occurrence=moment,
    )


def refresh_project_metrics(db: Database, org: str, uuid_: str) -> None:
    """Dependency-Track's metrics refresh: metrics are computed when read, so only check the project."""
    system_for_project(db, org, uuid_)
