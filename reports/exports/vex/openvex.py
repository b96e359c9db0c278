"""OpenVEX 0.2.0 document of one system or a whole organization.

Each statement covers one vulnerability group with one status and one wording; its ``products`` are the
systems (``urn:patchgap:system:<org>:<system>``, percent-encoded) with the deployed packages as
``subcomponents`` (``@id`` and ``identifiers.purl`` = the purl). Per status:

- ``affected``: ``action_statement`` is the organization's own action if recorded, else the upgrade
  advice from the fixed versions (the schema requires one);
- ``not_affected``: the ``justification`` (the shared label) and the ``impact_statement`` (free text),
  each when the decision gives it, at least one (the 0.2.0 schema's ``anyOf``; its first draft said
  ``oneOf``, corrected upstream in openvex/spec 7b78cf1, "both justification and impact_statement are
  allowed");
- ``fixed``: ``status_notes`` names the fixed version now deployed;
- ``under_investigation``: ``status_notes`` says why the match could not be decided.

``timestamp`` is the document's first issue, ``last_updated`` and ``version`` follow the history
(``tracking``); statement ``timestamp`` is when the status became true.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from core.errors import InputError
from core.time import rfc3339
from reports.exports.inputs import Finding, Revision, TrackingState, VexInput
from reports.exports.interface import content_digest, json_bytes
from reports.exports.vex.common import (
    document_key,
    remediation_for,
    scope_name,
    status_summary,
    upgrade_advice,
    vulns_by_group,
)
from reports.exports.vex.tracking import VexExporter, next_tracking

CONTEXT = "https://openvex.dev/ns/v0.2.0"


def system_iri(organization: str, system: str) -> str:
    return f"urn:patchgap:system:{quote(organization, safe='')}:{quote(system, safe='')}"


def _wording(data: VexInput, f: Finding) -> tuple[tuple[str, str], ...]:
    """The status-dependent fields of a statement, as sorted (key, value) pairs (a grouping key)."""
    if f.status == "affected":
        advice = upgrade_advice(remediation_for(data, f.vuln_group, f.component.purl), f.component.name)
        return (("action_statement", f.action_statement or advice),)
    if f.status == "not_affected":
        fields: list[tuple[str, str]] = []
        if f.justification is not None:
            fields.append(("justification", f.justification))
        if f.impact_statement or f.justification is None:
            impact = f.impact_statement or "Declared not affected by the organization."
            fields.append(("impact_statement", impact))
        return tuple(fields)
    if f.status == "fixed":
        return (("status_notes", f"A fixed version ({f.component.version}) is deployed."),)
    return (("status_notes", f.impact_statement or "The match could not be decided automatically."),)


def _statements(data: VexInput) -> list[dict[str, Any]]:
    vulns = vulns_by_group(data)
    grouped: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[Finding]] = {}
    for f in data.findings:
        grouped.setdefault((f.vuln_group, f.status, _wording(data, f)), []).append(f)
    out: list[dict[str, Any]] = []
    for (group, status, wording), findings in sorted(grouped.items()):
        vuln = vulns[group]
        aliases = [i for i in vuln.all_ids if i != vuln.display_id]
        vulnerability: dict[str, Any] = {"name": vuln.display_id}
        if vuln.title:
            vulnerability["description"] = vuln.title
        if aliases:
            vulnerability["aliases"] = aliases
        systems: dict[str, set[str]] = {}
        for f in findings:
            systems.setdefault(f.system, set()).add(f.component.purl)
        statement: dict[str, Any] = {"vulnerability": vulnerability}
        since = [f.since for f in findings if f.since is not None]
        if since:
            statement["timestamp"] = rfc3339(max(since))
        statement["products"] = [
            {
                "@id": system_iri(data.organization, system),
                "subcomponents": [{"@id": p, "identifiers": {"purl": p}} for p in sorted(purls)],
            }
            for system, purls in sorted(systems.items())
        ]
        statement["status"] = status
        statement.update(dict(wording))
        out.append(statement)
    return out


def _without_history(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in {"timestamp", "last_updated", "version"}}


def tracking_from_document(doc: Any, *, origin: str = "previous OpenVEX export") -> TrackingState:
    try:
        document_id = str(doc["@id"])
        version = int(doc["version"])
        first = datetime.fromisoformat(doc["timestamp"])
        last = datetime.fromisoformat(doc.get("last_updated") or doc["timestamp"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(origin, f"has no @id/version/timestamp ({exc})") from None
    return TrackingState(
        document_id, first, (Revision(version, last, ""),), content_digest(_without_history(doc))
    )


class OpenVexExporter(VexExporter):
    format = "openvex"
    media_type = "application/json"
    extension = ".openvex.json"

    def build(self, data: VexInput) -> dict[str, Any]:
        if not data.findings:
            raise self.fail(f"{scope_name(data)}: no VEX statements to export (no matched vulnerabilities)")
        doc: dict[str, Any] = {
            "@context": CONTEXT,
            "@id": f"urn:patchgap:openvex:{document_key(data)}",
            "author": data.publisher.name,
            "role": "Document Creator",
            "tooling": f"patchgap {data.tool_version}",
            "statements": _statements(data),
        }
        state = next_tracking_for(data, doc)
        return {
            "@context": doc["@context"],
            "@id": doc["@id"],
            "author": doc["author"],
            "role": doc["role"],
            "timestamp": rfc3339(state.initial_release),
            "last_updated": rfc3339(state.current_release),
            "version": state.version,
            "tooling": doc["tooling"],
            "statements": doc["statements"],
        }

    def render(self, data: VexInput) -> bytes:
        return json_bytes(self.build(data))

    def read_tracking(self, doc: Any, *, origin: str = "previous OpenVEX export") -> TrackingState:
        return tracking_from_document(doc, origin=origin)


def next_tracking_for(data: VexInput, content: dict[str, Any]) -> TrackingState:
    return next_tracking(
        data.previous,
        document_id=content["@id"],
        digest=content_digest(_without_history(content)),
        as_of=data.as_of,
        summary=status_summary(data.findings),
    )
