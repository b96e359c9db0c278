"""CSAF 2.0 VEX (profile ``csaf_vex``) of one system or a whole organization.

Shape:

- ``product_tree``: each system is a product (its latest snapshot's sha256 in
  ``product_identification_helper.hashes``); each deployed component with a statement is a product with
  its purl; a ``relationships`` entry ``installed_on`` makes "component on system" the product every
  status names, so one document can say "lodash 4.17.20 on web is affected, on api it is fixed".
- one ``vulnerabilities`` entry per vulnerability group: ``cve`` (lowest CVE of the group) and every
  other identifier in ``ids``; ``product_status`` (known_affected / fixed / known_not_affected /
  under_investigation); ``flags`` with the VEX justification label for not-affected products and
  ``threats`` of category ``impact`` with the impact statement (both when the decision gives both; a
  free-text justification is an impact statement); ``remediations`` (``vendor_fix`` with the
  fixed versions and the fix-available date, else ``none_available``, plus the organization's own action
  statement as a ``mitigation``); ``threats`` ``exploit_status`` from KEV / Akrites; ``scores`` (the
  highest CVSS v3.x and v2 vector; CSAF 2.0 has no CVSS v4 field).
- ``tracking``: id, version and ``revision_history`` continue the previous export (see ``tracking``).
- ``distribution.tlp``: WHITE (TLP:CLEAR), since exports never hold embargoed records.

Only components with a statement are listed in the product tree; the full component list is the SBOM
the system hash identifies (and the CycloneDX export).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.errors import InputError
from core.severity import cvss_rating
from core.time import rfc3339
from reports.exports.inputs import CvssScore, Finding, Revision, TrackingState, VexInput, VulnDetails
from reports.exports.interface import content_digest, json_bytes, short_hash
from reports.exports.vex.common import (
    document_key,
    findings_by_group,
    remediation_for,
    scope_name,
    status_summary,
    upgrade_advice,
    vulns_by_group,
)
from reports.exports.vex.tracking import VexExporter, next_tracking

# Traffic Light Protocol marking of every export: nothing under Akrites embargo is ever in one (they are
# gathered under ``core.embargo.public``), so it may be shared freely. CSAF 2.0's schema knows the TLP 1.0
# labels only, where WHITE is what TLP 2.0 calls CLEAR.
TLP: dict[str, Any] = {"tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"}}

_STATUS = {
    "affected": "known_affected",
    "fixed": "fixed",
    "not_affected": "known_not_affected",
    "under_investigation": "under_investigation",
}


def _severity(score: float) -> str:
    """CSAF's ``baseSeverity``: the CVSS rating (``core.severity``) in capitals."""
    return cvss_rating(score).upper()


def _system_id(system: str) -> str:
    return f"SYS-{short_hash('system', system)}"


def _component_id(purl: str) -> str:
    return f"PKG-{short_hash('component', purl)}"


def _installed_id(system: str, purl: str) -> str:
    return f"{_system_id(system)}:{_component_id(purl)}"


def _best(scores: tuple[CvssScore, ...], versions: tuple[str, ...]) -> CvssScore | None:
    usable = [s for s in scores if s.version in versions]
    return max(usable, key=lambda s: (s.score, s.vector), default=None)


def _scores(vuln: VulnDetails, products: list[str]) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"products": products}
    v3 = _best(vuln.cvss, ("3.1", "3.0"))
    if v3 is not None and v3.vector.startswith(f"CVSS:{v3.version}/"):
        entry["cvss_v3"] = {
            "version": v3.version,
            "vectorString": v3.vector,
            "baseScore": v3.score,
            "baseSeverity": _severity(v3.score),
        }
    v2 = _best(vuln.cvss, ("2.0",))
    if v2 is not None:
        vector = v2.vector[v2.vector.find("AV:") :] if "AV:" in v2.vector else v2.vector
        entry["cvss_v2"] = {"version": "2.0", "vectorString": vector, "baseScore": v2.score}
    return [entry] if len(entry) > 1 else []


def _product_tree(data: VexInput) -> dict[str, Any]:
    referenced = sorted({(f.system, f.component.purl) for f in data.findings})
    components = {f.component.purl: f.component for f in data.findings}
    names: list[dict[str, Any]] = []
    products = {p.system: p for p in data.products}
    for system in sorted({s for s, _ in referenced}):
        p = products.get(system)
        entry: dict[str, Any] = {
            "name": f"{system} ({p.environment})" if p and p.environment else system,
            "product_id": _system_id(system),
        }
        if p is not None:
            entry["product_identification_helper"] = {
                "hashes": [
                    {
                        "file_hashes": [{"algorithm": "sha256", "value": p.snapshot_key}],
                        "filename": f"{system} SBOM observed {rfc3339(p.observed_at)}",
                    }
                ]
            }
        names.append(entry)
    for purl in sorted({purl for _, purl in referenced}):
        c = components[purl]
        names.append(
            {
                "name": f"{c.name} {c.version}".strip(),
                "product_id": _component_id(purl),
                "product_identification_helper": {"purl": purl},
            }
        )
    relationships = [
        {
            "category": "installed_on",
            "full_product_name": {
                "name": f"{components[purl].name} {components[purl].version} on {system}",
                "product_id": _installed_id(system, purl),
                # The purl again on the product the statuses name, so importers need not follow the
                # relationship to know which package is meant.
                "product_identification_helper": {"purl": purl},
            },
            "product_reference": _component_id(purl),
            "relates_to_product_reference": _system_id(system),
        }
        for system, purl in referenced
    ]
    return {"full_product_names": names, "relationships": relationships}


def _vulnerability(data: VexInput, vuln: VulnDetails, findings: list[Finding]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cve = vuln.cve
    if cve:
        out["cve"] = cve
    other = [i for i in vuln.all_ids if i != cve]
    if other:
        out["ids"] = [
            {"system_name": i.split("-", 1)[0] if "-" in i else "patchgap", "text": i} for i in other
        ]
    text = vuln.description or vuln.title or f"Vulnerability group {vuln.vuln_group} (no description)."
    out["notes"] = [{"category": "description", "text": text, "title": "Description"}]
    if vuln.published is not None:
        out["release_date"] = rfc3339(vuln.published)
    if vuln.title:
        out["title"] = vuln.title
    status: dict[str, list[str]] = {}
    for f in findings:
        status.setdefault(_STATUS[f.status], []).append(_installed_id(f.system, f.component.purl))
    out["product_status"] = {k: sorted(v) for k, v in sorted(status.items())}
    flags: dict[str, list[str]] = {}
    impacts: dict[str, list[str]] = {}
    for f in findings:
        if f.status != "not_affected":
            continue
        pid = _installed_id(f.system, f.component.purl)
        if f.justification is not None:
            flags.setdefault(f.justification, []).append(pid)
        if f.impact_statement or f.justification is None:
            impacts.setdefault(f.impact_statement, []).append(pid)
    if flags:
        out["flags"] = [{"label": label, "product_ids": sorted(ids)} for label, ids in sorted(flags.items())]
    remediations = _remediations(data, vuln.vuln_group, findings)
    if remediations:
        out["remediations"] = remediations
    threats: list[dict[str, Any]] = [
        {"category": "impact", "details": text, "product_ids": sorted(ids)}
        for text, ids in sorted(impacts.items())
    ]
    all_ids = sorted(pid for ids in status.values() for pid in ids)
    if vuln.exploited:
        sources = ", ".join(vuln.exploited_sources) or "an advisory"
        details = f"Exploited in the wild (source: {sources})."
        if vuln.known_ransomware:
            details += " Known use in ransomware campaigns."
        threat: dict[str, Any] = {"category": "exploit_status", "details": details, "product_ids": all_ids}
        if vuln.exploited_since is not None:
            threat["date"] = rfc3339(vuln.exploited_since)
        threats.append(threat)
    if threats:
        out["threats"] = threats
    affected_ids = sorted(status.get("known_affected", []))
    scores = _scores(vuln, affected_ids or all_ids)
    if scores:
        out["scores"] = scores
    return out


def _remediations(data: VexInput, group: str, findings: list[Finding]) -> list[dict[str, Any]]:
    """One remediation per (category, details, date), listing the affected products it applies to."""
    merged: dict[tuple[str, str, str | None], list[str]] = {}
    for f in findings:
        if f.status != "affected":
            continue
        pid = _installed_id(f.system, f.component.purl)
        r = remediation_for(data, group, f.component.purl)
        name = f.component.name
        if r is not None and r.fixed_versions:
            key = ("vendor_fix", upgrade_advice(r, name), rfc3339(r.fix.at))
        else:
            key = ("none_available", upgrade_advice(r, name), None)
        merged.setdefault(key, []).append(pid)
        if f.action_statement:
            merged.setdefault(("mitigation", f.action_statement, rfc3339(f.since)), []).append(pid)
    out: list[dict[str, Any]] = []
    for (category, details, date), ids in sorted(
        merged.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
    ):
        entry: dict[str, Any] = {"category": category, "details": details, "product_ids": sorted(ids)}
        if date is not None:
            entry["date"] = date
        out.append(entry)
    return out


def _revision_json(r: Revision) -> dict[str, Any]:
    return {"date": rfc3339(r.date), "number": str(r.number), "summary": r.summary}


def without_tracking(doc: Mapping[str, Any]) -> dict[str, Any]:
    content = copy.deepcopy(dict(doc))
    content.get("document", {}).pop("tracking", None)
    return content


def tracking_from_document(doc: Any, *, origin: str = "previous CSAF export") -> TrackingState:
    """The history of a previously exported document (read back from its JSON)."""
    try:
        tracking = doc["document"]["tracking"]
        revisions = tuple(
            Revision(int(r["number"]), datetime.fromisoformat(r["date"]), r["summary"])
            for r in tracking["revision_history"]
        )
        initial = datetime.fromisoformat(tracking["initial_release_date"])
        document_id = str(tracking["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(origin, f"has no readable CSAF tracking section ({exc})") from None
    if not revisions:
        raise InputError(origin, "has an empty revision history")
    return TrackingState(document_id, initial, revisions, content_digest(without_tracking(doc)))


class CsafVexExporter(VexExporter):
    format = "csaf-vex"
    media_type = "application/csaf+json"
    extension = ".json"

    def build(self, data: VexInput) -> dict[str, Any]:
        if not data.findings:
            raise self.fail(f"{scope_name(data)}: no VEX statements to export (no matched vulnerabilities)")
        vulns = vulns_by_group(data)
        grouped = findings_by_group(data.findings)
        document: dict[str, Any] = {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "distribution": copy.deepcopy(TLP),
            "lang": "en",
            "notes": [
                {
                    "category": "summary",
                    "title": "Scope",
                    "text": (
                        f"Vulnerability status of the deployed software of {scope_name(data)}, from the "
                        "latest SBOM snapshot of each system, as recorded by patchgap."
                    ),
                }
            ],
            "publisher": {
                "category": "user",
                "name": data.publisher.name,
                "namespace": data.publisher.namespace,
                **({"contact_details": data.publisher.contact} if data.publisher.contact else {}),
            },
            "title": f"VEX for {scope_name(data)}",
        }
        doc: dict[str, Any] = {
            "document": document,
            "product_tree": _product_tree(data),
            "vulnerabilities": [_vulnerability(data, vulns[g], grouped[g]) for g in sorted(grouped)],
        }
        state = next_tracking(
            data.previous,
            document_id=f"patchgap-vex-{document_key(data)}",
            digest=content_digest(doc),
            as_of=data.as_of,
            summary=status_summary(data.findings),
        )
        document["tracking"] = {
            "current_release_date": rfc3339(state.current_release),
            "generator": {"engine": {"name": "patchgap", "version": data.tool_version}},
            "id": state.document_id,
            "initial_release_date": rfc3339(state.initial_release),
            "revision_history": [_revision_json(r) for r in state.revisions],
            "status": "final",
            "version": str(state.version),
        }
        return doc

    def render(self, data: VexInput) -> bytes:
        return json_bytes(self.build(data))

    def read_tracking(self, doc: Any, *, origin: str = "previous CSAF export") -> TrackingState:
        return tracking_from_document(doc, origin=origin)
