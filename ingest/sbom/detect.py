"""Which SBOM format a document is, decided from its content only, never from a file name.

- JSON (first non-blank byte ``{``): parsed once, then told apart by top-level keys — ``bomFormat:
  CycloneDX``, ``spdxVersion``, an SPDX 3 ``@context`` (spdx.org/rdf/3.x) over an ``@graph``, or syft's
  ``artifacts`` beside its ``schema.url`` (anchore/syft …/schema/json/schema-N.json). Keys are checked on
  the parsed object because their order is free (Trivy writes ``spdxVersion`` last, syft its ``schema``).
  The standards are tried first: a document claiming to be CycloneDX or SPDX is read as that.
- XML (first non-blank byte ``<``): CycloneDX when the CycloneDX BOM namespace appears in the head;
  the reader then checks that it really is the root's namespace.
- Text: SPDX tag-value when a line starts with ``SPDXVersion:``.
Anything else is ``SbomError(source, "unknown SBOM format: …")``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import SbomError
from core.sbom import ParsedSbom, SbomFormat
from ingest.sbom import cyclonedx_json, cyclonedx_xml, spdx3, spdx_json, spdx_tagvalue, syft_json
from ingest.sbom.common import load_json
from ingest.sbom.interface import JsonSbomReader, SbomReader

JSON_READERS: tuple[JsonSbomReader, ...] = (
    cyclonedx_json.READER,
    spdx_json.READER,
    spdx3.READER,
    syft_json.READER,
)
TEXT_READERS: tuple[SbomReader, ...] = (cyclonedx_xml.READER, spdx_tagvalue.READER)
READERS: dict[SbomFormat, SbomReader] = {r.format: r for r in (*JSON_READERS, *TEXT_READERS)}

# Enough for any real prologue (XML declaration, comments) before the root element or first tag line.
HEAD_BYTES = 64 * 1024
_BLANK = b"\xef\xbb\xbf \t\r\n"


@dataclass(frozen=True, slots=True)
class Detection:
    """The reader for a document and, for JSON, the object ``detect`` already parsed."""

    reader: SbomReader
    document: Mapping[str, Any] | None = None

    @property
    def format(self) -> SbomFormat:
        return self.reader.format

    def read(self, data: bytes, source: str) -> ParsedSbom:
        if self.document is not None and isinstance(self.reader, JsonSbomReader):
            return self.reader.read_document(self.document, source)
        return self.reader.read(data, source)


def detect(data: bytes, source: str) -> Detection:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SbomError(source, "unknown SBOM format: UTF-16 text (SBOM files must be UTF-8)")
    head = data[:HEAD_BYTES]
    start = head.lstrip(_BLANK)[:1]
    if not start:
        raise SbomError(source, "file is empty")
    if start == b"{":
        document = load_json(data, source)
        for json_reader in JSON_READERS:
            if json_reader.accepts(document):
                return Detection(json_reader, document)
        raise SbomError(
            source,
            "unknown SBOM format: JSON without bomFormat CycloneDX, spdxVersion, an SPDX 3 @context "
            "or syft's artifacts and schema",
        )
    for reader in TEXT_READERS:
        if reader.sniff(head):
            return Detection(reader)
    if start == b"<":
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            # Say the real reason: even a CycloneDX document would be refused for its DTD.
            raise SbomError(source, cyclonedx_xml.DTD_NOT_ALLOWED)
        raise SbomError(source, "unknown SBOM format: XML without the CycloneDX BOM namespace")
    if start == b"[" and _is_json(data):
        raise SbomError(source, "unknown SBOM format: a JSON array, not an SBOM document")
    raise SbomError(source, "unknown SBOM format: not JSON, XML or SPDX tag-value")


def _is_json(data: bytes) -> bool:
    # A leading "[" is as likely a Markdown link as a JSON array; say "JSON" only when it is JSON.
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def detect_format(data: bytes, source: str) -> SbomFormat:
    """The format alone (parses JSON once to decide)."""
    return detect(data, source).format
