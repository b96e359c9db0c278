"""SPDX tag-value reader: sections, multi-line ``<text>`` values, and malformed lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import SbomError
from core.sbom import Hash, SbomFormat, Tool
from ingest.sbom.spdx_tagvalue import READER

DOCUMENT = """\
SPDXVersion: SPDX-2.2
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: hello
DocumentNamespace: https://example.com/hello-v3
Creator: Person: Steve Example (steve@example.com)
Creator: Tool: github.com/spdx/tools-golang/builder
Creator: Tool: scanner-2.1.0
Created: 2021-08-26T01:56:00Z
DocumentComment: <text>A comment
that spans lines
PackageName: not-a-package
</text>

##### Package: hello

PackageName: hello
SPDXID: SPDXRef-Package-hello
PackageVersion: 1.0
PackageLicenseConcluded: NOASSERTION

Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-hello

##### Package: zlib
PackageName: zlib
SPDXID: SPDXRef-Package-zlib
PackageVersion: 1.2.13
PackageSupplier: Organization: zlib authors
PackageChecksum: SHA256: 0123abcd
PackageLicenseDeclared: Zlib
ExternalRef: SECURITY cpe23Type cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*
ExternalRef: PACKAGE-MANAGER purl pkg:generic/zlib@1.2.13
PackageComment: <text>one-line text</text>

FileName: ./hello.c
SPDXID: SPDXRef-hello-c
FileChecksum: SHA1: 20291a81ef065ff891b537b64d4fdccaf6f5ac02
LicenseConcluded: GPL-3.0-or-later

LicenseID: LicenseRef-X
ExtractedText: <text>Licence text
PackageName: still-not-a-package
</text>
"""


def test_document_maps_like_spdx_json() -> None:
    parsed = READER.read(DOCUMENT.encode(), "hello.spdx")

    assert parsed.format is SbomFormat.SPDX_TAG_VALUE
    assert parsed.spec_version == "2.2"
    assert parsed.serial_number == "https://example.com/hello-v3"
    assert parsed.timestamp == datetime(2021, 8, 26, 1, 56, tzinfo=UTC)
    assert parsed.tools == (Tool("github.com/spdx/tools-golang/builder"), Tool("scanner", "2.1.0"))
    assert parsed.authors == ("Steve Example (steve@example.com)",)
    assert parsed.subject is not None
    assert parsed.subject.name == "hello"
    # Files and the PackageName lines inside <text> blocks are not packages.
    (zlib,) = parsed.components
    assert (zlib.name, zlib.version, zlib.purl, zlib.supplier, zlib.bom_ref) == (
        "zlib",
        "1.2.13",
        "pkg:generic/zlib@1.2.13",
        "zlib authors",
        "SPDXRef-Package-zlib",
    )
    assert zlib.hashes == (Hash("SHA256", "0123abcd"),)
    assert zlib.licenses == ("Zlib",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "SPDXVersion: SPDX-2.3\nthis line has no tag\n",
            "t.spdx: malformed SPDX tag-value at line 2: expected 'Tag: value'",
        ),
        (
            "SPDXVersion: SPDX-2.3\n\nPackageComment: <text>never\nclosed\n",
            "t.spdx: malformed SPDX tag-value at line 3: <text> is never closed",
        ),
        (
            "SPDXVersion: SPDX-2.1\nPackageName: a\n",
            "t.spdx: unsupported spec version SPDX 2.1 (supported: 2.2, 2.3)",
        ),
        (
            "SPDXVersion: SPDX-2.3\nPackageName: a\nSPDXID: SPDXRef-a\n"
            "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-a\n",
            "t.spdx: SBOM has no components",
        ),
        ("DataLicense: CC0-1.0\n", "t.spdx: not an SPDX tag-value document (no SPDXVersion line)"),
    ],
)
def test_refusals_name_the_source_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(SbomError) as caught:
        READER.read(text.encode(), "t.spdx")
    assert str(caught.value) == message


def test_non_utf8_is_refused() -> None:
    with pytest.raises(SbomError, match=r"^t\.spdx: SPDX tag-value is not UTF-8 text"):
        READER.read(b"SPDXVersion: SPDX-2.3\nPackageName: \xff\xfe\n", "t.spdx")


def test_sniff_finds_the_version_line_after_comments() -> None:
    assert READER.sniff(b"## generated\n\nSPDXVersion: SPDX-2.3\n")
    assert not READER.sniff(b"# README\nThis file talks about SPDXVersion: tags\n")
