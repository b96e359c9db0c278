"""SPDX 3.0.x JSON-LD (the ``@context`` + ``@graph`` serialization), read as plain JSON.

No JSON-LD processing: the SPDX 3 serialization spec fixes the compact property names, so elements are
looked up by ``spdxId`` (or ``@id`` for blank nodes such as ``_:creationinfo``); a property may hold a
reference or the object itself, and both are accepted.

Mapping: elements of a package type (``software_Package`` and its subclasses ``ai_AIPackage`` and
``dataset_DatasetPackage``) are components. The subject is the document's root element; when that root
is itself an ``software_Sbom`` (or another bundle), its root element is followed. The purl is
``software_packageUrl``, else an ``externalIdentifier`` of type ``packageUrl``. Time, spec version,
tools (``createdUsing``) and authors (``createdBy``) come from the document's ``CreationInfo``; licences
from ``hasConcludedLicense`` / ``hasDeclaredLicense`` relationships; the serial number is the
``SpdxDocument``'s ``spdxId``; ``security_Vulnerability`` elements are counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.errors import SbomError
from core.sbom import Component, Hash, ParsedSbom, SbomFormat, Tool
from ingest.sbom.common import component, load_json, parse_timestamp, parsed_sbom, text, unsupported_version
from ingest.sbom.spdx_json import value

SUPPORTED_SPEC_VERSIONS = ("3.0.0", "3.0.1")
CONTEXT_PREFIX = "spdx.org/rdf/3."
PACKAGE_TYPES = frozenset(
    {"software_Package", "Package", "ai_AIPackage", "AIPackage", "dataset_DatasetPackage", "DatasetPackage"}
)
_DOCUMENT_TYPES = frozenset({"SpdxDocument"})
_BUNDLE_TYPES = frozenset({"software_Sbom", "Sbom", "Bundle", "Bom", "SpdxDocument"})
_LICENSE_RELATIONSHIPS = frozenset({"hasConcludedLicense", "hasDeclaredLicense"})
_SNIFF = re.compile(rb'"@context"\s*:\s*\[?\s*"https?://spdx\.org/rdf/3\.')

Element = Mapping[str, Any]


def _context_is_spdx3(context: object) -> bool:
    if isinstance(context, str):
        return CONTEXT_PREFIX in context
    if isinstance(context, list):
        return any(isinstance(c, str) and CONTEXT_PREFIX in c for c in context)
    return False


def _type(element: Element) -> str | None:
    kind = element.get("type", element.get("@type"))
    return kind if isinstance(kind, str) else None


def _id(element: Element) -> str | None:
    return text(element.get("spdxId")) or text(element.get("@id"))


def _refs(raw: object) -> list[object]:
    return raw if isinstance(raw, list) else [] if raw is None else [raw]


class _Graph:
    def __init__(self, graph: list[Any], source: str) -> None:
        self.source = source
        self.elements: list[Element] = [e for e in graph if isinstance(e, dict)]
        self.by_id: dict[str, Element] = {}
        for element in self.elements:
            if (key := _id(element)) is not None:
                self.by_id[key] = element

    def resolve(self, ref: object) -> Element | None:
        """A property's value: an inline object, or the element a string points at."""
        if isinstance(ref, dict):
            return ref
        if isinstance(ref, str):
            return self.by_id.get(ref)
        return None

    def name_of(self, ref: object) -> str | None:
        element = self.resolve(ref)
        if element is None:
            return text(ref)
        return text(element.get("name")) or _id(element)

    def subject(self, document: Element | None) -> Element | None:
        """Follow root elements through bundles (SpdxDocument → Sbom → package) to a package."""
        seen: set[int] = set()
        current = document
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            roots = [r for r in (self.resolve(x) for x in _refs(current.get("rootElement"))) if r is not None]
            if not roots:
                roots = self._described_by(current)
            packages = [r for r in roots if _type(r) in PACKAGE_TYPES]
            if packages:
                return packages[0]
            current = next((r for r in roots if _type(r) in _BUNDLE_TYPES), None)
        return None

    def _described_by(self, element: Element) -> list[Element]:
        own = _id(element)
        return [
            target
            for rel in self.elements
            if _type(rel) == "Relationship"
            and rel.get("relationshipType") == "describes"
            and rel.get("from") == own
            for target in (self.resolve(t) for t in _refs(rel.get("to")))
            if target is not None
        ]

    def licenses(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for rel in self.elements:
            if _type(rel) != "Relationship" or rel.get("relationshipType") not in _LICENSE_RELATIONSHIPS:
                continue
            source_id = text(rel.get("from"))
            if source_id is None:
                continue
            for ref in _refs(rel.get("to")):
                lic = self.resolve(ref)
                expression = (
                    value(lic.get("simplelicensing_licenseExpression")) or value(lic.get("name"))
                    if lic is not None
                    else None
                )
                if expression:
                    found.setdefault(source_id, []).append(expression)
        return found


def _purl(p: Element) -> str | None:
    purl = text(p.get("software_packageUrl"))
    if purl:
        return purl
    for ident in _refs(p.get("externalIdentifier")):
        if (
            isinstance(ident, dict)
            and ident.get("externalIdentifierType") == "packageUrl"
            and (found := text(ident.get("identifier")))
        ):
            return found
    return None


def _hashes(p: Element) -> tuple[Hash, ...]:
    return tuple(
        Hash(alg, content)
        for h in _refs(p.get("verifiedUsing"))
        if isinstance(h, dict)
        and _type(h) == "Hash"
        and (alg := text(h.get("algorithm")))
        and (content := text(h.get("hashValue")))
    )


def _package(p: Element, graph: _Graph, licenses: Mapping[str, list[str]]) -> Component:
    key = _id(p)
    supplier = p.get("suppliedBy")
    return component(
        name=text(p.get("name")),
        version=value(p.get("software_packageVersion")),
        purl=_purl(p),
        bom_ref=key,
        type_=text(p.get("software_primaryPurpose")),
        supplier=graph.name_of(supplier) if supplier is not None else None,
        hashes=_hashes(p),
        licenses=tuple(dict.fromkeys(licenses.get(key, ()))) if key else (),
    )


def read_spdx3(document: Mapping[str, Any], source: str) -> ParsedSbom:
    raw_graph = document.get("@graph")
    if not isinstance(raw_graph, list):
        raise SbomError(source, "SPDX 3 document has no @graph array")
    graph = _Graph(raw_graph, source)

    spdx_document = next((e for e in graph.elements if _type(e) in _DOCUMENT_TYPES), None)
    # An SBOM may come without the SpdxDocument wrapper: then its Sbom element is the holder.
    holder = spdx_document or next((e for e in graph.elements if _type(e) in _BUNDLE_TYPES), None)
    info = graph.resolve(holder.get("creationInfo")) if holder is not None else None
    if info is None:
        info = next((e for e in graph.elements if _type(e) == "CreationInfo"), None)
    if info is None:
        raise SbomError(source, "SPDX 3 document has no CreationInfo")
    spec = text(info.get("specVersion"))
    if spec is None:
        raise SbomError(source, "SPDX 3 CreationInfo has no specVersion")
    if spec not in SUPPORTED_SPEC_VERSIONS:
        raise unsupported_version(source, "SPDX", spec, SUPPORTED_SPEC_VERSIONS)

    subject_element = graph.subject(holder)
    licenses = graph.licenses()
    subject: Component | None = None
    components: list[Component] = []
    for element in graph.elements:
        if _type(element) not in PACKAGE_TYPES:
            continue
        package = _package(element, graph, licenses)
        if element is subject_element:
            subject = package
        else:
            components.append(package)

    tools = [Tool(name) for ref in _refs(info.get("createdUsing")) if (name := graph.name_of(ref))]
    authors = [graph.name_of(ref) for ref in _refs(info.get("createdBy"))]
    return parsed_sbom(
        source,
        format=SbomFormat.SPDX3_JSONLD,
        spec_version=spec,
        serial_number=_id(spdx_document) if spdx_document is not None else None,
        timestamp=parse_timestamp(info.get("created"), source, "CreationInfo.created"),
        subject=subject,
        tools=tools,
        components=components,
        vulnerability_count=sum(1 for e in graph.elements if _type(e) == "security_Vulnerability"),
        authors=authors,
    )


class Spdx3Reader:
    format = SbomFormat.SPDX3_JSONLD

    def sniff(self, head: bytes) -> bool:
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and bool(_SNIFF.search(head))

    def accepts(self, document: Mapping[str, Any]) -> bool:
        return _context_is_spdx3(document.get("@context"))

    def read_document(self, document: Mapping[str, Any], source: str) -> ParsedSbom:
        if not self.accepts(document):
            raise SbomError(source, "not an SPDX 3 JSON-LD document (no spdx.org/rdf/3 @context)")
        return read_spdx3(document, source)

    def read(self, data: bytes, source: str) -> ParsedSbom:
        document = load_json(data, source)
        if not isinstance(document, dict):
            raise SbomError(source, "not an SPDX 3 JSON-LD document (the top level is not an object)")
        return self.read_document(document, source)


READER = Spdx3Reader()
