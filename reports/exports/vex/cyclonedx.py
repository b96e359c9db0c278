"""CycloneDX 1.6 BOM with vulnerabilities (a VEX BOM), built with cyclonedx-python-lib's models.

Shape: ``metadata.component`` is the scope (the organization, or the one system); each system is an
``application`` component whose nested components are the latest snapshot's packages (bom-ref
``<system>|<purl>``, so a package deployed on two systems is two components). ``dependencies`` link scope
→ systems → packages. Each vulnerability group yields one ``vulnerabilities`` entry per distinct analysis
(CycloneDX keeps the analysis on the vulnerability, not per affected component), with ``affects`` naming
the components by bom-ref:

| finding             | analysis.state | justification         | response               | affects    |
|---------------------|----------------|-----------------------|------------------------|------------|
| affected            | exploitable    | —                     | update or can_not_fix, | affected   |
|                     |                |                       | + workaround_available |            |
| fixed               | resolved       | —                     | update                 | unaffected |
| not_affected        | not_affected   | mapped from the label | —                      | unaffected |
| under_investigation | in_triage      | —                     | —                      | unknown    |

A finding whose decision says ``false_positive`` has that state (CycloneDX has the word), and an
accepted risk adds the response ``will_not_fix`` (for now: the action statement says until when).

``serialNumber`` is a UUID derived from the scope and ``version`` counts content changes (see
``tracking``), as CycloneDX prescribes for successive versions of one BOM.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.impact_analysis import (
    ImpactAnalysisAffectedStatus,
    ImpactAnalysisJustification,
    ImpactAnalysisResponse,
    ImpactAnalysisState,
)
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from core.errors import InputError
from core.severity import cvss_rating
from core.time import rfc3339
from reports.exports.inputs import (
    Component,
    Finding,
    Justification,
    Revision,
    TrackingState,
    VexInput,
    VexStatus,
    VulnDetails,
)
from reports.exports.interface import content_digest, json_bytes, short_hash
from reports.exports.vex.common import (
    document_key,
    remediation_for,
    scope_name,
    status_summary,
    upgrade_advice,
    vulns_by_group,
)
from reports.exports.vex.tracking import VexExporter, next_tracking

_JUSTIFICATION: dict[Justification, ImpactAnalysisJustification] = {
    "component_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_in_execute_path": ImpactAnalysisJustification.CODE_NOT_REACHABLE,
    "vulnerable_code_cannot_be_controlled_by_adversary": ImpactAnalysisJustification.REQUIRES_ENVIRONMENT,
    "inline_mitigations_already_exist": ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL,
}
_STATE: dict[VexStatus, ImpactAnalysisState] = {
    "affected": ImpactAnalysisState.EXPLOITABLE,
    "fixed": ImpactAnalysisState.RESOLVED,
    "not_affected": ImpactAnalysisState.NOT_AFFECTED,
    "under_investigation": ImpactAnalysisState.IN_TRIAGE,
}
_AFFECTS: dict[VexStatus, ImpactAnalysisAffectedStatus] = {
    "affected": ImpactAnalysisAffectedStatus.AFFECTED,
    "fixed": ImpactAnalysisAffectedStatus.UNAFFECTED,
    "not_affected": ImpactAnalysisAffectedStatus.UNAFFECTED,
    "under_investigation": ImpactAnalysisAffectedStatus.UNKNOWN,
}
_METHOD = {
    "2.0": VulnerabilityScoreSource.CVSS_V2,
    "3.0": VulnerabilityScoreSource.CVSS_V3,
    "3.1": VulnerabilityScoreSource.CVSS_V3_1,
    "4.0": VulnerabilityScoreSource.CVSS_V4,
}
# Placeholders while the content digest is taken; the real values are set afterwards.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ref(system: str, purl: str) -> str:
    return f"{system}|{purl}"


def _purl(text: str) -> PackageURL | None:
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _library(system: str, c: Component) -> CdxComponent:
    return CdxComponent(
        type=ComponentType.LIBRARY,
        name=c.name or c.purl,
        version=c.version or None,
        purl=_purl(c.purl),
        bom_ref=_ref(system, c.purl),
    )


def _source(vuln_id: str) -> VulnerabilitySource | None:
    if vuln_id.startswith("CVE-"):
        return VulnerabilitySource(name="NVD", url=None)
    if vuln_id.startswith("GHSA-"):
        return VulnerabilitySource(name="GitHub")
    return VulnerabilitySource(name="OSV") if "-" in vuln_id else None


def _ratings(vuln: VulnDetails) -> list[VulnerabilityRating]:
    best: dict[str, Any] = {}
    for s in vuln.cvss:
        if s.version in _METHOD and (s.version not in best or s.score > best[s.version].score):
            best[s.version] = s
    return [
        VulnerabilityRating(
            score=Decimal(str(s.score)),
            severity=_severity(s.score),
            method=_METHOD[s.version],
            vector=s.vector,
        )
        for _, s in sorted(best.items())
    ]


def _severity(score: float) -> VulnerabilitySeverity:
    """The CVSS rating (``core.severity``) as CycloneDX's severity (the same words)."""
    return VulnerabilitySeverity(cvss_rating(score))


def _analysis_key(data: VexInput, f: Finding) -> tuple[str, str, str, str]:
    """What makes two findings share one vulnerability entry: state, justification, detail, response."""
    response = ""
    if f.status == "affected":
        r = remediation_for(data, f.vuln_group, f.component.purl)
        response = "update" if r is not None and r.fixed_versions else "can_not_fix"
        if f.state == "accepted_risk":
            response += "+will_not_fix"
        elif f.action_statement:
            response += "+workaround_available"
    elif f.status == "fixed":
        response = "update"
    state = "false_positive" if f.state == "false_positive" else f.status
    return (state, f.justification or "", f.impact_statement or f.action_statement, response)


def _vulnerabilities(data: VexInput) -> list[Vulnerability]:
    vulns = vulns_by_group(data)
    grouped: dict[tuple[str, tuple[str, str, str, str]], list[Finding]] = {}
    for f in data.findings:
        grouped.setdefault((f.vuln_group, _analysis_key(data, f)), []).append(f)
    out: list[Vulnerability] = []
    for (group, key), findings in sorted(grouped.items()):
        status, justification, detail, response = key
        vuln = vulns[group]
        first = findings[0]
        responses = [ImpactAnalysisResponse(r) for r in response.split("+") if r]
        remediation = remediation_for(data, group, first.component.purl)
        properties = [Property(name="patchgap:vulnerability-group", value=group)]
        properties += [Property(name="patchgap:alias", value=i) for i in vuln.all_ids if i != vuln.display_id]
        if vuln.exploited:
            properties.append(
                Property(name="patchgap:exploited", value=",".join(vuln.exploited_sources) or "yes")
            )
        if remediation is not None and remediation.fix.at is not None:
            properties.append(
                Property(name="patchgap:fix-available-at", value=rfc3339(remediation.fix.at) or "")
            )
        since = [f.since for f in findings if f.since is not None]
        out.append(
            Vulnerability(
                bom_ref=f"{vuln.display_id}:{status}:{short_hash(group, *key)}",
                id=vuln.display_id,
                source=_source(vuln.display_id),
                description=vuln.title or vuln.description or None,
                detail=vuln.description or None,
                recommendation=upgrade_advice(remediation, first.component.name)
                if status == "affected"
                else None,
                workaround=(first.action_statement or None) if first.state != "accepted_risk" else None,
                published=vuln.published,
                updated=vuln.modified,
                ratings=_ratings(vuln),
                analysis=VulnerabilityAnalysis(
                    state=ImpactAnalysisState.FALSE_POSITIVE
                    if status == "false_positive"
                    else _STATE[status],  # type: ignore[index]
                    justification=_JUSTIFICATION[justification] if justification else None,  # type: ignore[index]
                    responses=responses or None,
                    detail=detail or None,
                    first_issued=min(since) if since else None,
                ),
                affects=[
                    BomTarget(
                        ref=_ref(f.system, f.component.purl),
                        versions=[
                            BomTargetVersionRange(version=f.component.version, status=_AFFECTS[f.status])
                        ]
                        if f.component.version
                        else None,
                    )
                    for f in sorted(findings, key=lambda f: (f.system, f.component.purl))
                ],
                properties=properties,
            )
        )
    return out


def _components(data: VexInput) -> tuple[list[CdxComponent], list[Dependency]]:
    systems: list[CdxComponent] = []
    dependencies: list[Dependency] = []
    # Findings may name components that a narrowed component list lacks: add them so every affects
    # reference resolves.
    extra: dict[str, dict[str, Component]] = {}
    for f in data.findings:
        extra.setdefault(f.system, {})[f.component.purl] = f.component
    by_system = {p.system: p for p in data.products}
    for name in sorted(set(by_system) | set(extra)):
        product = by_system.get(name)
        members = {c.purl: c for c in (product.components if product else ())}
        for purl, c in extra.get(name, {}).items():
            members.setdefault(purl, c)
        children = [_library(name, members[p]) for p in sorted(members)]
        properties = []
        if product is not None:
            properties = [
                Property(name="patchgap:snapshot-sha256", value=product.snapshot_key),
                Property(name="patchgap:snapshot-observed-at", value=rfc3339(product.observed_at) or ""),
            ]
            if product.environment:
                properties.append(Property(name="patchgap:environment", value=product.environment))
        system = CdxComponent(
            type=ComponentType.APPLICATION,
            name=name,
            bom_ref=f"system|{name}",
            components=children,
            properties=properties,
        )
        systems.append(system)
        dependencies.append(
            Dependency(ref=system.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in children])
        )
        dependencies.extend(Dependency(ref=c.bom_ref) for c in children)
    return systems, dependencies


def _serialize(bom: Bom) -> dict[str, Any]:
    text = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6).output_as_string()
    doc: dict[str, Any] = json.loads(text)
    return doc


def _without_history(doc: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(json.dumps(doc))
    content.pop("version", None)
    content.get("metadata", {}).pop("timestamp", None)
    return content


def tracking_from_document(doc: Any, *, origin: str = "previous CycloneDX export") -> TrackingState:
    """The serial number, version and time of a previously exported BOM."""
    try:
        serial = str(doc["serialNumber"])
        version = int(doc["version"])
        at = datetime.fromisoformat(doc["metadata"]["timestamp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(origin, f"has no serialNumber/version/metadata.timestamp ({exc})") from None
    # CycloneDX keeps no revision list: the previous version stands for the whole history.
    return TrackingState(serial, at, (Revision(version, at, ""),), content_digest(_without_history(doc)))


class CycloneDxVexExporter(VexExporter):
    format = "cyclonedx-vex"
    media_type = "application/vnd.cyclonedx+json; version=1.6"
    extension = ".cdx.json"

    def build(self, data: VexInput) -> dict[str, Any]:
        # No findings is still a document: the deployed components with no vulnerabilities (CycloneDX
        # allows an empty list; CSAF's VEX profile and OpenVEX need at least one statement).
        systems, dependencies = _components(data)
        serial = uuid.uuid5(uuid.NAMESPACE_URL, f"patchgap:cyclonedx-vex:{document_key(data)}")
        scope = CdxComponent(
            type=ComponentType.APPLICATION,
            name=data.system or data.organization,
            bom_ref="scope",
            description=f"Deployed software of {scope_name(data)} (latest SBOM snapshot of each system)",
        )
        bom = Bom(
            serial_number=serial,
            version=1,
            metadata=BomMetaData(
                timestamp=_EPOCH,
                component=scope,
                supplier=OrganizationalEntity(name=data.publisher.name),
            ),
            components=systems,
            vulnerabilities=_vulnerabilities(data),
            dependencies=[
                Dependency(ref=scope.bom_ref, dependencies=[Dependency(ref=s.bom_ref) for s in systems]),
                *dependencies,
            ],
        )
        doc = _serialize(bom)
        state = next_tracking(
            data.previous,
            document_id=bom.serial_number.urn,
            digest=content_digest(_without_history(doc)),
            as_of=data.as_of,
            summary=status_summary(data.findings),
        )
        doc["version"] = state.version
        doc["metadata"]["timestamp"] = rfc3339(state.current_release)
        return doc

    def render(self, data: VexInput) -> bytes:
        return json_bytes(self.build(data))

    def read_tracking(self, doc: Any, *, origin: str = "previous CycloneDX export") -> TrackingState:
        return tracking_from_document(doc, origin=origin)
