"""CycloneDX VEX (JSON, spec 1.4 and later) reader.

Read: ``vulnerabilities[]`` with ``id``, ``references[].id`` (aliases), ``analysis.state``,
``analysis.justification``, ``analysis.detail`` and ``affects[].ref``. A ``ref`` is resolved to a purl
through the ``bom-ref`` of the document's components (nested ones too); a BOM-Link
(``urn:cdx:<serial>/<version>#<bom-ref>``) is resolved by its fragment, and a ``ref`` that is itself a
purl is taken as is.

States map onto OpenVEX statuses as CycloneDX's own VEX guidance does: ``not_affected`` and
``false_positive`` → ``not_affected``; ``exploitable`` → ``affected``; ``resolved`` and
``resolved_with_pedigree`` → ``fixed``; ``in_triage`` → ``under_investigation``; the state itself is
kept too (``resolved_with_pedigree`` as ``resolved``), since patchgap's analysis records use CycloneDX's
words. A vulnerability without an analysis says nothing about status and is skipped. The author is the
first named ``metadata.authors`` entry, else the ``metadata.manufacturer`` / ``supplier``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.errors import InputError
from core.vex import VexStatement, VexStatus
from ingest.vex.common import identifier, items, justification, obj, purl, text

STATE_TO_STATUS: dict[str, VexStatus] = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "exploitable": "affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "in_triage": "under_investigation",
}


def _author(document: dict[str, Any]) -> str | None:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return None
    authors = metadata.get("authors")
    named = [a.get("name") for a in authors if isinstance(a, dict)] if isinstance(authors, list) else []
    for entity in (*named, *(metadata.get(k) for k in ("manufacturer", "supplier"))):
        name = entity.get("name") if isinstance(entity, dict) else entity
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def _components(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The metadata component and every component, nested ones included."""
    metadata = document.get("metadata")
    stack: list[Any] = [metadata.get("component")] if isinstance(metadata, dict) else []
    stack.extend(document.get("components") or [])
    while stack:
        component = stack.pop()
        if isinstance(component, dict):
            yield component
            stack.extend(component.get("components") or [])


def _resolve(ref: str, purls: dict[str, str], source: str, where: str) -> str:
    if ref.startswith("pkg:"):
        return purl(ref, source, where)
    key = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
    found = purls.get(key)
    if found is None:
        raise InputError(source, f"{where}: ref {ref!r} names no component with a purl")
    return purl(found, source, where)


def read_cyclonedx_vex(document: dict[str, Any], source: str) -> list[VexStatement]:
    """Every (vulnerability, affected component) pair with an analysis, in document order."""
    purls = {
        str(c["bom-ref"]): str(c["purl"]) for c in _components(document) if c.get("bom-ref") and c.get("purl")
    }
    default_time = text((document.get("metadata") or {}).get("timestamp"), source, "metadata.timestamp")
    author = _author(document)
    out: list[VexStatement] = []
    for i, raw in enumerate(items(document.get("vulnerabilities"), source, "vulnerabilities")):
        where = f"vulnerabilities[{i}]"
        vuln = obj(raw, source, where)
        vuln_id = identifier(vuln.get("id"), source, f"{where}.id", required=True)
        assert vuln_id is not None
        analysis = vuln.get("analysis")
        if analysis is None:
            continue
        analysis = obj(analysis, source, f"{where}.analysis")
        state = text(analysis.get("state"), source, f"{where}.analysis.state")
        if state is None:
            continue
        status = STATE_TO_STATUS.get(state)
        if status is None:
            raise InputError(source, f"{where}.analysis.state: unknown state {state!r}")
        aliases = tuple(
            ref_id
            for r in items(vuln.get("references"), source, f"{where}.references")
            if isinstance(r, dict)
            and (ref_id := identifier(r.get("id"), source, f"{where}.references")) is not None
        )
        stamp = (
            text(analysis.get("lastUpdated"), source, f"{where}.analysis.lastUpdated")
            or text(vuln.get("updated"), source, f"{where}.updated")
            or default_time
        )
        affects = items(vuln.get("affects"), source, f"{where}.affects")
        if not affects:
            raise InputError(source, f"{where}: analysis without affects[]")
        for j, raw_affect in enumerate(affects):
            awhere = f"{where}.affects[{j}]"
            ref = text(obj(raw_affect, source, awhere).get("ref"), source, f"{awhere}.ref", required=True)
            assert ref is not None
            out.append(
                VexStatement(
                    vulnerability=vuln_id,
                    purl=_resolve(ref, purls, source, awhere),
                    status=status,
                    aliases=aliases,
                    justification=justification(
                        analysis.get("justification"), source, f"{where}.analysis.justification"
                    ),
                    impact_statement=text(analysis.get("detail"), source, f"{where}.analysis.detail"),
                    timestamp=stamp,
                    author=author,
                    state="resolved" if state == "resolved_with_pedigree" else state,
                )
            )
    return out
