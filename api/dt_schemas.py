"""Response bodies of the Dependency-Track CI-gate routes, in Dependency-Track's own shapes.

Field names are Dependency-Track's (camelCase; its ``Project``, ``Finding`` and ``ProjectMetrics``
models, as its OpenAPI document publishes them), so its CI clients read them unchanged. As in
Dependency-Track, fields without a value are left out of the answer rather than sent as ``null``. What
each field means in patchgap is said in ``pipeline.dependency_track`` and the README.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNASSIGNED"]
AnalysisState = Literal["NOT_SET", "IN_TRIAGE", "EXPLOITABLE", "NOT_AFFECTED", "FALSE_POSITIVE", "RESOLVED"]

_UUID = "0b8a7a3e-5f0e-5a53-9d0c-3f1c2b0a9e11"
_MS = 1714564800000


class DtTagOut(BaseModel):
    name: str


class DtProjectOut(BaseModel):
    """A project: one system of the organization, described by its latest snapshot."""

    uuid: str = Field(json_schema_extra={"format": "uuid"}, examples=[_UUID])
    name: str = Field(examples=["webshop"])
    version: str | None = Field(default=None, description="The latest snapshot's release label.")
    classifier: Literal["APPLICATION"] = "APPLICATION"
    active: bool = True
    isLatest: bool = True
    tags: list[DtTagOut] = Field(default_factory=list)
    lastBomImport: int | None = Field(
        default=None,
        description="When the system's newest upload was stored or processed: UNIX epoch milliseconds.",
        examples=[_MS],
    )
    lastBomImportFormat: str | None = Field(default=None, examples=["CycloneDX 1.5"])


class DtFindingComponentOut(BaseModel):
    uuid: str = Field(json_schema_extra={"format": "uuid"})
    name: str = Field(examples=["minimist"])
    group: str | None = Field(default=None, description="The purl namespace (npm scope, Maven group …).")
    version: str = Field(examples=["1.2.5"])
    purl: str = Field(examples=["pkg:npm/minimist@1.2.5"])
    project: str = Field(json_schema_extra={"format": "uuid"}, description="The project's UUID.")


class DtAliasOut(BaseModel):
    """One other id of the vulnerability, under Dependency-Track's field for its kind."""

    cveId: str | None = None
    ghsaId: str | None = None
    osvId: str | None = None
    snykId: str | None = None
    gsdId: str | None = None


class DtVulnerabilityOut(BaseModel):
    uuid: str = Field(json_schema_extra={"format": "uuid"})
    vulnId: str = Field(examples=["CVE-2021-44906"], description="The vulnerability's alias-group key.")
    source: Literal["NVD", "GITHUB", "OSV"] = Field(description="Whose id vulnId is.")
    severity: Severity
    severityRank: int = Field(ge=0, le=5, description="0 for CRITICAL … 5 for UNASSIGNED.")
    cvssV3BaseScore: float | None = Field(
        default=None, description="The highest CVSS base score of the group's advisories."
    )
    epssScore: float | None = None
    aliases: list[DtAliasOut] = Field(default_factory=list)


class DtAnalysisOut(BaseModel):
    state: AnalysisState
    isSuppressed: bool


class DtFindingOut(BaseModel):
    """One affected version of an open exposure of the system's current state."""

    component: DtFindingComponentOut
    vulnerability: DtVulnerabilityOut
    analysis: DtAnalysisOut
    matrix: str = Field(description="project:component:vulnerability UUIDs, the finding's key.")


class DtMetricsOut(BaseModel):
    """The project's current metrics, counted from its findings when asked."""

    critical: int
    high: int
    medium: int
    low: int = Field(description="LOW and INFO findings, as Dependency-Track counts them.")
    unassigned: int
    vulnerabilities: int = Field(description="Findings that are not suppressed.")
    vulnerableComponents: int
    components: int = Field(description="Components of the latest snapshot.")
    suppressed: int
    findingsTotal: int
    findingsAudited: int
    findingsUnaudited: int
    inheritedRiskScore: float
    firstOccurrence: int = Field(description="UNIX epoch milliseconds: when these figures were computed.")
    lastOccurrence: int = Field(description="UNIX epoch milliseconds: when these figures were computed.")
