"""Helpers the VEX formats share: scope naming, document keys, lookups, advice and the revision summary."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from reports.exports.inputs import Finding, Remediation, VexInput, VexStatus, VulnDetails
from reports.exports.interface import slug
from reports.timeline import split_purl_version


def scope_name(data: VexInput) -> str:
    return f"{data.organization} / {data.system}" if data.system else data.organization


def document_key(data: VexInput) -> str:
    """``<org>`` or ``<org>-<system>``, slugged, plus a short hash so distinct names never collide."""
    raw = data.organization + ("\x00" + data.system if data.system else "")
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
    return f"{slug(data.organization)}{'-' + slug(data.system) if data.system else ''}-{digest}"


def vulns_by_group(data: VexInput) -> dict[str, VulnDetails]:
    """Details per group; a group with findings but no details gets a bare record (its id only)."""
    out = {v.vuln_group: v for v in data.vulnerabilities}
    for f in data.findings:
        out.setdefault(f.vuln_group, VulnDetails(f.vuln_group))
    return out


def findings_by_group(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.vuln_group, []).append(f)
    return out


def remediation_for(data: VexInput, group: str, purl: str) -> Remediation | None:
    package = split_purl_version(purl)[0]
    return next(
        (
            r
            for r in data.remediations
            if r.vuln_group == group and split_purl_version(r.package)[0] == package
        ),
        None,
    )


def upgrade_advice(remediation: Remediation | None, component_name: str) -> str:
    if remediation is None or not remediation.fixed_versions:
        return f"No fixed version of {component_name} is known; apply the advisory's mitigations."
    return f"Upgrade {component_name} to {' or '.join(remediation.fixed_versions)} (or later)."


def status_summary(findings: Iterable[Finding]) -> str:
    """``2 affected, 1 fixed`` — the revision summary of a new version."""
    counts = Counter(f.status for f in findings)
    order: tuple[VexStatus, ...] = ("affected", "fixed", "not_affected", "under_investigation")
    parts = [f"{counts[s]} {s.replace('_', ' ')}" for s in order if counts[s]]
    return "Statements: " + (", ".join(parts) if parts else "none") + "."
