"""SPDX 2.1 / 2.2 / 2.3 tag-value: ``Tag: value`` lines, multi-line values inside ``<text>…</text>``.

The lines are gathered into the shape of the SPDX JSON serialization and handed to the same builder as
SPDX JSON (``spdx_json.read_spdx2``), so both syntaxes map fields identically. A small hand-written
scanner instead of spdx-tools: the few fields ingest needs do not justify its parser stack (ply, rdflib,
beartype, …) or its strict validation, which rejects documents that are usable for matching.

Sections: a package runs from ``PackageName`` to the next package, file (``FileName``), snippet
(``SnippetSPDXID``) or extracted licence (``LicenseID``); ``SPDXID`` belongs to the section it is in.
``Relationship`` lines count wherever they appear.

A document cut short or written out of order is refused with the line it breaks at, never read as less
than it says: a package field (``PackageVersion``, ``ExternalRef``, …) with no ``PackageName`` before it,
an empty ``PackageName``, an ``ExternalRef`` or ``Relationship`` without its three parts, an unclosed
``<text>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from core.errors import SbomError
from core.sbom import ParsedSbom, SbomFormat
from ingest.sbom.spdx_json import read_spdx2

_SNIFF = re.compile(rb"^[ \t]*SPDXVersion[ \t]*:", re.MULTILINE)
_LINE = re.compile(r"([A-Za-z][A-Za-z0-9]*)\s*:\s?(.*)")
_SECTION_ENDS = frozenset({"FileName", "SnippetSPDXID", "LicenseID"})
# Package fields that do not start with "Package" (SPDX 2.3 §7).
_PACKAGE_TAGS = frozenset(
    {
        "ExternalRef",
        "ExternalRefComment",
        "FilesAnalyzed",
        "PrimaryPackagePurpose",
        "ReleaseDate",
        "BuiltDate",
        "ValidUntilDate",
    }
)


def _tags(content: str, source: str) -> Iterator[tuple[int, str, str]]:
    """``(line, tag, value)``; ``<text>`` values may span lines and are returned without the markers."""
    lines = content.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise SbomError(source, f"malformed SPDX tag-value at line {i}: expected 'Tag: value'")
        tag, val, at = m[1], m[2].strip(), i
        if val.startswith("<text>"):
            start = i
            parts = [val.removeprefix("<text>")]
            while "</text>" not in parts[-1]:
                if i >= len(lines):
                    raise SbomError(
                        source, f"malformed SPDX tag-value at line {start}: <text> is never closed"
                    )
                parts.append(lines[i])
                i += 1
            val = "\n".join(parts).split("</text>", 1)[0].strip()
        yield at, tag, val


def _malformed(source: str, line: int, problem: str) -> SbomError:
    return SbomError(source, f"malformed SPDX tag-value at line {line}: {problem}")


def to_document(content: str, source: str) -> dict[str, Any]:
    """The tag-value lines as a dict shaped like SPDX JSON (only the fields ingest reads)."""
    creators: list[str] = []
    info: dict[str, Any] = {"creators": creators}
    packages: list[dict[str, Any]] = []
    relationships: list[dict[str, str]] = []
    files: list[dict[str, str]] = []
    document: dict[str, Any] = {
        "creationInfo": info,
        "packages": packages,
        "relationships": relationships,
        "files": files,
    }
    package: dict[str, Any] | None = None
    in_document = True
    for line, tag, val in _tags(content, source):
        if tag == "PackageName":
            if not val:
                raise _malformed(source, line, "PackageName has no value")
            package = {"name": val, "externalRefs": [], "checksums": []}
            packages.append(package)
            in_document = False
        elif tag in _SECTION_ENDS:
            package, in_document = None, False
            if tag == "FileName":
                files.append({"fileName": val})
        elif tag == "Relationship":
            parts = val.split()
            if len(parts) < 3:
                raise _malformed(source, line, "Relationship needs 'ELEMENT TYPE ELEMENT'")
            relationships.append(
                {"spdxElementId": parts[0], "relationshipType": parts[1], "relatedSpdxElement": parts[2]}
            )
        elif package is None and (tag.startswith("Package") or tag in _PACKAGE_TAGS):
            raise _malformed(source, line, f"{tag} outside a package (no PackageName before it)")
        elif in_document:
            if tag == "SPDXVersion":
                document["spdxVersion"] = val
            elif tag == "SPDXID":
                document["SPDXID"] = val
            elif tag == "DocumentNamespace":
                document["documentNamespace"] = val
            elif tag == "Creator":
                creators.append(val)
            elif tag == "Created":
                info["created"] = val
        elif package is not None:
            if tag == "SPDXID":
                package["SPDXID"] = val
            elif tag == "PackageVersion":
                package["versionInfo"] = val
            elif tag == "PackageSupplier":
                package["supplier"] = val
            elif tag == "PackageOriginator":
                package["originator"] = val
            elif tag == "PackageLicenseConcluded":
                package["licenseConcluded"] = val
            elif tag == "PackageLicenseDeclared":
                package["licenseDeclared"] = val
            elif tag == "PrimaryPackagePurpose":
                package["primaryPackagePurpose"] = val
            elif tag == "PackageChecksum":
                algorithm, _, checksum = val.partition(":")
                package["checksums"].append(
                    {"algorithm": algorithm.strip(), "checksumValue": checksum.strip()}
                )
            elif tag == "ExternalRef":
                ref = val.split(None, 2)
                if len(ref) < 3:
                    raise _malformed(source, line, "ExternalRef needs 'CATEGORY TYPE LOCATOR'")
                package["externalRefs"].append(
                    {"referenceCategory": ref[0], "referenceType": ref[1], "referenceLocator": ref[2]}
                )
    return document


class SpdxTagValueReader:
    format = SbomFormat.SPDX_TAG_VALUE

    def sniff(self, head: bytes) -> bool:
        return bool(_SNIFF.search(head))

    def read(self, data: bytes, source: str) -> ParsedSbom:
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SbomError(
                source, f"SPDX tag-value is not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from exc
        nul = content.find("\x00")
        if nul >= 0:
            # UTF-8 carries NUL as it is (JSON and XML cannot): refused as they are, naming the line.
            line = len((content[:nul] + "x").splitlines())  # numbered as _tags numbers lines
            raise SbomError(source, f"line {line} contains a NUL character (\\u0000)")
        document = to_document(content, source)
        if "spdxVersion" not in document:
            raise SbomError(source, "not an SPDX tag-value document (no SPDXVersion line)")
        return read_spdx2(document, source, SbomFormat.SPDX_TAG_VALUE)


READER = SpdxTagValueReader()
