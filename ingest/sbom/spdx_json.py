"""SPDX 2.1 / 2.2 / 2.3 JSON; also the builder the tag-value reader feeds (same fields, other syntax).

SPDX 2.1 defined only tag-value and RDF, but generators wrote its fields as JSON before 2.2 named that
serialization; every field read here (packages, ``externalRefs`` with ``purl``, relationships, creation
info) means the same in 2.1, 2.2 and 2.3, so all three are read alike.

Mapping: packages are components, except the package(s) the document describes (``documentDescribes``,
or a ``DESCRIBES`` / ``DESCRIBED_BY`` relationship with the document): the first of those is the
subject, further described packages stay components so nothing deployed is hidden. Files and snippets
are not components. The purl is the first ``externalRefs`` entry of referenceType ``purl`` (category
``PACKAGE-MANAGER``, or ``PACKAGE_MANAGER`` as some generators spell it). ``creationInfo.creators``
"Tool: x-1.0" entries are tools, "Organization:" and "Person:" entries authors. NOASSERTION and NONE
mean "no value".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.errors import SbomError
from core.sbom import Component, Hash, ParsedSbom, SbomFormat, Tool
from ingest.sbom.common import (
    component,
    load_json,
    objects,
    parse_timestamp,
    parsed_sbom,
    text,
    unique,
    unsupported_version,
)

SUPPORTED_SPEC_VERSIONS = ("SPDX-2.1", "SPDX-2.2", "SPDX-2.3")
# SPDX 2.2.1 and 2.2.2 are 2.2 re-published (ISO/IEC 5962:2021 and an errata release), same fields.
_SPEC = re.compile(r"SPDX-2\.([123])(?:\.\d+)?")
_SNIFF = re.compile(rb'"spdxVersion"\s*:')
_TOOL_VERSION = re.compile(r"^(?P<name>.+?)-(?P<version>v?\d[\w.+~-]*)$")
_NO_VALUE = frozenset({"NOASSERTION", "NONE"})


def value(raw: object) -> str | None:
    """A field as text, with SPDX's NOASSERTION / NONE read as absent."""
    result = text(raw)
    return None if result is None or result.upper() in _NO_VALUE else result


def agent(raw: object) -> str | None:
    """``Organization: Acme (a@b)`` → ``Acme (a@b)``; empty ``()`` dropped; NOASSERTION → ``None``."""
    result = value(raw)
    if result is None:
        return None
    kind, colon, rest = result.partition(":")
    if colon and kind.strip() in ("Organization", "Person", "Tool"):
        result = rest.strip()
    result = result.removesuffix("()").strip()
    return result or None


def creators(entries: Iterable[str]) -> tuple[list[Tool], list[str | None]]:
    tools: list[Tool] = []
    authors: list[str | None] = []
    for entry in entries:
        kind, colon, rest = entry.partition(":")
        rest = rest.strip()
        if not colon or not rest:
            continue
        kind = kind.strip()
        if kind == "Tool":
            m = _TOOL_VERSION.match(rest)
            tools.append(Tool(m["name"], m["version"]) if m else Tool(rest))
        elif kind in ("Organization", "Person"):
            authors.append(agent(entry))
    return tools, authors


def _purl(refs: object) -> str | None:
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("referenceType") == "purl":
            locator = text(ref.get("referenceLocator"))
            if locator:
                return locator
    return None


def _checksums(raw: object) -> tuple[Hash, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        Hash(alg, content)
        for c in raw
        if isinstance(c, dict)
        and (alg := text(c.get("algorithm")))
        and (content := text(c.get("checksumValue")))
    )


# trivy records a distribution package's source package only here, as "built package from: NAME VERSION".
_BUILT_FROM = re.compile(r"^built package from:\s*(\S+)(?:\s+(\S+))?\s*$")


def _source_package(raw: object) -> tuple[str | None, str | None]:
    match = _BUILT_FROM.match(raw) if isinstance(raw, str) else None
    return (match.group(1), match.group(2)) if match else (None, None)


def _package(p: Mapping[str, Any]) -> Component:
    source_name, source_version = _source_package(p.get("sourceInfo"))
    return component(
        name=text(p.get("name")),
        version=value(p.get("versionInfo")),
        purl=_purl(p.get("externalRefs")),
        bom_ref=text(p.get("SPDXID")),
        type_=text(p.get("primaryPackagePurpose")),
        supplier=agent(p.get("supplier")) or agent(p.get("originator")),
        hashes=_checksums(p.get("checksums")),
        licenses=unique((value(p.get("licenseConcluded")), value(p.get("licenseDeclared")))),
        source_name=source_name,
        source_version=source_version,
    )


def _described(document: Mapping[str, Any], source: str) -> list[str]:
    doc_id = text(document.get("SPDXID")) or "SPDXRef-DOCUMENT"
    listed = document.get("documentDescribes")
    described = [d for d in (text(x) for x in listed) if d] if isinstance(listed, list) else []
    for rel in objects(document.get("relationships"), source, "relationships"):
        kind = text(rel.get("relationshipType"))
        left, right = text(rel.get("spdxElementId")), text(rel.get("relatedSpdxElement"))
        # Trivy (2022) wrote "DESCRIBE"; SPDX has only DESCRIBES, so the alias cannot mislead.
        if kind in ("DESCRIBES", "DESCRIBE") and left == doc_id and right:
            described.append(right)
        elif kind == "DESCRIBED_BY" and right == doc_id and left:
            described.append(left)
    return list(dict.fromkeys(described))


def read_spdx2(document: Mapping[str, Any], source: str, format: SbomFormat) -> ParsedSbom:
    """Read an SPDX 2 document shaped like the JSON serialization (the tag-value reader builds one)."""
    spec = text(document.get("spdxVersion"))
    if spec is None:
        raise SbomError(source, "SPDX document has no spdxVersion")
    match = _SPEC.fullmatch(spec)
    if match is None:
        supported = (v.removeprefix("SPDX-") for v in SUPPORTED_SPEC_VERSIONS)
        raise unsupported_version(source, "SPDX", spec.removeprefix("SPDX-"), supported)

    info = document.get("creationInfo")
    if info is None:
        info = {}
    elif not isinstance(info, dict):
        raise SbomError(source, "creationInfo is not an object")
    raw_creators = info.get("creators")
    tools, authors = creators(
        c for c in (raw_creators if isinstance(raw_creators, list) else ()) if isinstance(c, str)
    )

    described = set(_described(document, source))
    subject: Component | None = None
    components: list[Component] = []
    for p in objects(document.get("packages"), source, "packages"):
        package = _package(p)
        if subject is None and package.bom_ref in described:
            subject = package
        else:
            components.append(package)
    files = document.get("files")
    if subject is None and not components and isinstance(files, list) and files:
        # REUSE writes such documents (a source tree's files and their licences): say why it is refused.
        raise SbomError(
            source,
            f"SBOM has no components: the SPDX document lists {len(files)} files and no packages "
            "(patchgap reads packages)",
        )

    return parsed_sbom(
        source,
        format=format,
        spec_version=spec.removeprefix("SPDX-"),
        serial_number=text(document.get("documentNamespace")),
        timestamp=parse_timestamp(info.get("created"), source, "creationInfo.created"),
        subject=subject,
        tools=tools,
        components=components,
        authors=authors,
    )


class SpdxJsonReader:
    format = SbomFormat.SPDX_JSON

    def sniff(self, head: bytes) -> bool:
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and bool(_SNIFF.search(head))

    def accepts(self, document: Mapping[str, Any]) -> bool:
        return "spdxVersion" in document

    def read_document(self, document: Mapping[str, Any], source: str) -> ParsedSbom:
        if not self.accepts(document):
            raise SbomError(source, "not an SPDX JSON document (no spdxVersion)")
        return read_spdx2(document, source, SbomFormat.SPDX_JSON)

    def read(self, data: bytes, source: str) -> ParsedSbom:
        document = load_json(data, source)
        if not isinstance(document, dict):
            raise SbomError(source, "not an SPDX JSON document (the top level is not an object)")
        return self.read_document(document, source)


READER = SpdxJsonReader()
