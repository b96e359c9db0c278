"""SPDX tag-value reader (2.1, 2.2, 2.3): sections, multi-line ``<text>`` values, and malformed lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import SbomError
from core.sbom import Hash, SbomFormat, Tool
from ingest.sbom import read_sbom
from ingest.sbom.spdx_tagvalue import READER

SAMPLES = Path(__file__).resolve().parent / "samples"

# Written for this test to the SPDX 2.1 specification (not a real generator's output): the document
# and package fields 2.1 defines, its ExternalRef spelling (category PACKAGE-MANAGER, type purl) and a
# FilesAnalyzed package, as a build system would describe an image.
SPDX_21 = """SPDXVersion: SPDX-2.1
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: gateway-image
DocumentNamespace: https://example.com/spdxdocs/gateway-image-2.1-7c2e
Creator: Organization: Example Ops
Creator: Tool: imagebuilder-1.4
Created: 2019-03-01T08:00:00Z

PackageName: gateway-image
SPDXID: SPDXRef-Package-gateway
PackageVersion: 5.0
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
PackageLicenseConcluded: NOASSERTION
PackageLicenseDeclared: NOASSERTION
PackageCopyrightText: NOASSERTION

PackageName: openssl
SPDXID: SPDXRef-Package-openssl
PackageVersion: 1.1.1a-r0
PackageSupplier: Organization: Alpine Linux
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
PackageChecksum: SHA1: 85ed0817af83a24ad8da68c2b5094de69833983c
PackageLicenseConcluded: OpenSSL
PackageLicenseDeclared: OpenSSL
PackageCopyrightText: NOASSERTION
ExternalRef: SECURITY cpe23Type cpe:2.3:a:openssl:openssl:1.1.1a:*:*:*:*:*:*:*
ExternalRef: PACKAGE-MANAGER purl pkg:apk/alpine/openssl@1.1.1a-r0?distro=3.9
ExternalRefComment: <text>from the image's
apk database</text>

PackageName: musl
SPDXID: SPDXRef-Package-musl
PackageVersion: 1.1.20-r3
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
PackageLicenseConcluded: MIT
PackageLicenseDeclared: MIT
PackageCopyrightText: NOASSERTION

Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-gateway
Relationship: SPDXRef-Package-gateway CONTAINS SPDXRef-Package-openssl
Relationship: SPDXRef-Package-gateway CONTAINS SPDXRef-Package-musl
"""

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


def test_spdx_2_1_is_read_with_its_purls_and_quality_flags() -> None:
    parsed = read_sbom(SPDX_21.encode(), "gateway.spdx")

    assert (parsed.format, parsed.spec_version) == (SbomFormat.SPDX_TAG_VALUE, "2.1")
    assert parsed.timestamp == datetime(2019, 3, 1, 8, tzinfo=UTC)
    assert parsed.serial_number == "https://example.com/spdxdocs/gateway-image-2.1-7c2e"
    assert parsed.tools == (Tool("imagebuilder", "1.4"),)
    assert parsed.authors == ("Example Ops",)
    assert parsed.subject is not None
    assert parsed.subject.name == "gateway-image"
    assert [(c.name, c.version, c.purl, c.skip_reason) for c in parsed.components] == [
        ("openssl", "1.1.1a-r0", "pkg:apk/alpine/openssl@1.1.1a-r0?distro=3.9", None),
        ("musl", "1.1.20-r3", None, "no-purl"),
    ]
    assert parsed.components[0].hashes == (Hash("SHA1", "85ed0817af83a24ad8da68c2b5094de69833983c"),)
    assert parsed.components[0].supplier == "Alpine Linux"
    codes = {flag.code: flag.count for flag in parsed.quality}
    assert "outdated-spec" in codes  # BSI TR-03183-2 v2.1 asks for SPDX 3.0.1
    assert "missing-timestamp" not in codes
    assert codes["component-no-purl"] == 1
    assert codes["component-no-hash"] == 1
    assert codes["component-no-supplier"] == 1


def test_a_real_reuse_document_of_files_only_is_refused_saying_so() -> None:
    """usbutils' own SPDX 2.1 (REUSE output; SOURCES.md): its source files, no packages."""
    data = (SAMPLES / "usbutils.spdx").read_bytes()
    files = sum(1 for line in data.decode().splitlines() if line.startswith("FileName:"))
    assert files > 100
    with pytest.raises(SbomError) as caught:
        read_sbom(data, "usbutils.spdx")
    assert str(caught.value) == (
        f"usbutils.spdx: SBOM has no components: the SPDX document lists {files} files and no packages "
        "(patchgap reads packages)"
    )


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
            "SPDXVersion: SPDX-2.0\nPackageName: a\n",
            "t.spdx: unsupported spec version SPDX 2.0 (supported: 2.1, 2.2, 2.3)",
        ),
        (
            "SPDXVersion: SPDX-2.3\nPackageName: a\nSPDXID: SPDXRef-a\n"
            "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-a\n",
            "t.spdx: SBOM has no components",
        ),
        ("DataLicense: CC0-1.0\n", "t.spdx: not an SPDX tag-value document (no SPDXVersion line)"),
        (
            "SPDXVersion: SPDX-2.1\nCreated: 2019-03-01T08:00:00Z\n\nPackageVersion: 1.0\n",
            "t.spdx: malformed SPDX tag-value at line 4: PackageVersion outside a package "
            "(no PackageName before it)",
        ),
        (
            "SPDXVersion: SPDX-2.2\nPackageName: a\nFileName: ./a.c\n"
            "ExternalRef: PACKAGE-MANAGER purl pkg:npm/a@1\n",
            "t.spdx: malformed SPDX tag-value at line 4: ExternalRef outside a package "
            "(no PackageName before it)",
        ),
        (
            "SPDXVersion: SPDX-2.2\nPackageName:\nPackageVersion: 1\n",
            "t.spdx: malformed SPDX tag-value at line 2: PackageName has no value",
        ),
        (
            "SPDXVersion: SPDX-2.2\nPackageName: a\nExternalRef: PACKAGE-MANAGER purl\n",
            "t.spdx: malformed SPDX tag-value at line 3: ExternalRef needs 'CATEGORY TYPE LOCATOR'",
        ),
        (
            "SPDXVersion: SPDX-2.2\nPackageName: a\nRelationship: SPDXRef-DOCUMENT DESCRIBES\n",
            "t.spdx: malformed SPDX tag-value at line 3: Relationship needs 'ELEMENT TYPE ELEMENT'",
        ),
        (
            "SPDXVersion: SPDX-2.1\nFileName: ./a.c\nSPDXID: SPDXRef-a\nFileName: ./b.c\n",
            "t.spdx: SBOM has no components: the SPDX document lists 2 files and no packages "
            "(patchgap reads packages)",
        ),
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


def test_a_document_cut_anywhere_is_refused_or_read_as_far_as_it_goes() -> None:
    """Truncation (an interrupted upload) never raises anything but SbomError, and a cut inside a line
    that leaves no "Tag: value" is refused with its line number."""
    data = SPDX_21.encode()
    refusals: list[str] = []
    for end in range(len(data)):
        try:
            parsed = read_sbom(data[:end], "cut.spdx")
        except SbomError as error:
            refusals.append(str(error))
            continue
        assert parsed.spec_version == "2.1"
    assert refusals
    assert all(message.startswith("cut.spdx: ") for message in refusals)
    cut = SPDX_21[: SPDX_21.index("PackageVersion: 1.1.20") + len("PackageVers")]
    with pytest.raises(SbomError) as caught:
        read_sbom(cut.encode(), "cut.spdx")
    assert str(caught.value) == (
        f"cut.spdx: malformed SPDX tag-value at line {cut.count(chr(10)) + 1}: expected 'Tag: value'"
    )


def test_a_nul_in_a_2_1_document_is_refused_naming_the_line() -> None:
    data = SPDX_21.replace("PackageName: musl", "PackageName: mu\x00sl").encode()
    line = SPDX_21[: SPDX_21.index("PackageName: musl")].count("\n") + 1
    with pytest.raises(SbomError) as caught:
        read_sbom(data, "nul.spdx")
    assert str(caught.value) == f"nul.spdx: line {line} contains a NUL character (\\u0000)"


def test_real_spdx_examples_read_every_package(real_sboms: Path) -> None:
    """spdx/spdx-examples' SPDX 2.2 tag-value files: every PackageName line is the subject or a component,
    in file order, with the ExternalRef purls the file gives; a file whose one package is the described
    product is refused as having no components."""
    files = sorted((real_sboms / "spdx" / "spdx-examples").rglob("*.spdx"))
    assert files
    read_some = False
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        names = [line.partition(":")[2].strip() for line in lines if line.startswith("PackageName:")]
        purls = {line.split()[-1] for line in lines if line.startswith("ExternalRef:") and " purl " in line}
        if len(names) == 1 and "DESCRIBES" in text:
            with pytest.raises(SbomError) as caught:
                read_sbom(text.encode(), path.name)
            assert str(caught.value) == f"{path.name}: SBOM has no components"
            continue
        parsed = read_sbom(text.encode(), path.name)
        read_some = True
        assert (parsed.format, parsed.spec_version) == (SbomFormat.SPDX_TAG_VALUE, "2.2"), path
        read = [c.name for c in parsed.components]
        if parsed.subject is not None:
            read.insert(names.index(parsed.subject.name), parsed.subject.name)
        assert read == names, path
        assert {c.purl for c in parsed.components if c.purl} <= purls, path
        assert all(c.skip_reason == "no-purl" for c in parsed.components if c.purl is None), path
    assert read_some
