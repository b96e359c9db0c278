"""Format detection from content only, and the refusals for content that is no SBOM at all."""

from __future__ import annotations

import json

import pytest

from core.errors import SbomError
from core.sbom import SbomFormat
from ingest.sbom.detect import detect, detect_format

CDX_JSON = b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}'
CDX_XML = b'<?xml version="1.0"?>\n<!-- made by hand -->\n<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>'
SPDX_JSON = b'{"SPDXID": "SPDXRef-DOCUMENT", "packages": [], "spdxVersion": "SPDX-2.3"}'
SPDX_TV = b"# comment\nSPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n"
SPDX3 = json.dumps({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}).encode()
SYFT_URL = "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.0.json"
SYFT = json.dumps({"artifacts": [], "schema": {"version": "16.0.0", "url": SYFT_URL}}).encode()
SYFT_OLD = json.dumps({"artifacts": [], "descriptor": {"name": "syft", "version": "0.1.0"}}).encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CDX_JSON, SbomFormat.CYCLONEDX_JSON),
        (b"\xef\xbb\xbf\n  " + CDX_JSON, SbomFormat.CYCLONEDX_JSON),
        (CDX_XML, SbomFormat.CYCLONEDX_XML),
        (SPDX_JSON, SbomFormat.SPDX_JSON),
        (SPDX_TV, SbomFormat.SPDX_TAG_VALUE),
        (SPDX3, SbomFormat.SPDX3_JSONLD),
        (SYFT, SbomFormat.SYFT_JSON),
        (SYFT_OLD, SbomFormat.SYFT_JSON),
    ],
)
def test_each_format_is_recognised_whatever_the_file_is_called(data: bytes, expected: SbomFormat) -> None:
    # The source name is deliberately misleading: only the content may decide.
    assert detect_format(data, "upload.xml.json.spdx") is expected


def test_the_distinguishing_key_may_come_last() -> None:
    # Trivy writes spdxVersion at the very end, far beyond any sniffing window.
    padding = ", ".join(f'"k{i}": "{"x" * 100}"' for i in range(2000))
    data = f'{{{padding}, "spdxVersion": "SPDX-2.2"}}'.encode()
    assert len(data) > 128 * 1024
    detection = detect(data, "trivy.json")
    assert detection.format is SbomFormat.SPDX_JSON
    assert detection.document is not None  # parsed once, handed on to the reader


def test_syft_is_told_by_its_schema_url_wherever_it_stands() -> None:
    # syft writes artifacts first and its schema block last.
    artifacts = [{"name": f"p{i}", "version": "1", "purl": f"pkg:npm/p{i}@1"} for i in range(3000)]
    data = json.dumps({"artifacts": artifacts, "schema": {"version": "16.0.0", "url": SYFT_URL}}).encode()
    assert len(data) > 64 * 1024
    assert detect_format(data, "image.json") is SbomFormat.SYFT_JSON


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        # The standards win: a document that says it is CycloneDX or SPDX is read as that.
        (
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "artifacts": [], "schema": {"url": SYFT_URL}},
            SbomFormat.CYCLONEDX_JSON,
        ),
        ({"spdxVersion": "SPDX-2.3", "artifacts": [], "schema": {"url": SYFT_URL}}, SbomFormat.SPDX_JSON),
    ],
)
def test_a_standard_format_is_never_mistaken_for_syft(
    document: dict[str, object], expected: SbomFormat
) -> None:
    assert detect_format(json.dumps(document).encode(), "f") is expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "f: file is empty"),
        (b" \n\t", "f: file is empty"),
        (
            b"# README\n\nThese are example SBOMs.\n",
            "f: unknown SBOM format: not JSON, XML or SPDX tag-value",
        ),
        (
            b'{"name": "package.json"}',
            "f: unknown SBOM format: JSON without bomFormat CycloneDX, spdxVersion, an SPDX 3 @context "
            "or syft's artifacts and schema",
        ),
        (
            b'{"bomFormat": "cyclonedx"}',
            "f: unknown SBOM format: JSON without bomFormat CycloneDX, spdxVersion, an SPDX 3 @context "
            "or syft's artifacts and schema",
        ),
        (
            # "artifacts" alone is not syft: other tools' documents use the word too.
            b'{"artifacts": [], "schema": {"url": "https://example.com/schema-16.0.0.json"}}',
            "f: unknown SBOM format: JSON without bomFormat CycloneDX, spdxVersion, an SPDX 3 @context "
            "or syft's artifacts and schema",
        ),
        (
            b'{"artifacts": [], "descriptor": {"name": "grype"}}',
            "f: unknown SBOM format: JSON without bomFormat CycloneDX, spdxVersion, an SPDX 3 @context "
            "or syft's artifacts and schema",
        ),
        (b"[]", "f: unknown SBOM format: a JSON array, not an SBOM document"),
        (b"[![CI](badge.svg)](ci)\n# Examples\n", "f: unknown SBOM format: not JSON, XML or SPDX tag-value"),
        (
            b'{"bomFormat": "CycloneDX", ',
            "f: malformed JSON at line 1, column 28: Expecting property name enclosed in double quotes",
        ),
        (b"<html><body>hi</body></html>", "f: unknown SBOM format: XML without the CycloneDX BOM namespace"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>',
            "f: XML DTDs and entities are not allowed",
        ),
    ],
)
def test_content_that_is_no_sbom_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(SbomError) as caught:
        detect(data, "f")
    assert str(caught.value) == message
