"""SPDX 2.1/2.2/2.3 JSON reader: packages, the described subject, creators, purls and refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from core.errors import SbomError
from core.sbom import Hash, SbomFormat, Tool
from ingest.sbom import read_sbom
from ingest.sbom.spdx_json import READER


def purl_ref(purl: str, category: str = "PACKAGE-MANAGER") -> dict[str, str]:
    return {"referenceCategory": category, "referenceType": "purl", "referenceLocator": purl}


def document(version: str = "SPDX-2.3", **fields: Any) -> bytes:
    doc: dict[str, Any] = {
        "spdxVersion": version,
        "SPDXID": "SPDXRef-DOCUMENT",
        "packages": [
            {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0"},
            {
                "SPDXID": "SPDXRef-a",
                "name": "a",
                "versionInfo": "1",
                "externalRefs": [purl_ref("pkg:npm/a@1")],
            },
        ],
        "documentDescribes": ["SPDXRef-app"],
    }
    doc.update(fields)
    return json.dumps(doc).encode()


def test_full_document_maps_every_field() -> None:
    data = document(
        documentNamespace="https://example.com/spdx/app-1.0-abc",
        creationInfo={
            "created": "2022-12-28T05:04:37.286814Z",
            "creators": [
                "Tool: syft-0.58.0",
                "Tool: trivy",
                "Organization: Anchore, Inc",
                "Person: Jane ()",
                "junk",
            ],
        },
        packages=[
            {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0"},
            {
                "SPDXID": "SPDXRef-zlib",
                "name": "zlib",
                "versionInfo": "1.2.13-r0",
                "supplier": "Organization: Alpine",
                "checksums": [{"algorithm": "SHA256", "checksumValue": "abc"}],
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "Zlib",
                "primaryPackagePurpose": "LIBRARY",
                "externalRefs": [
                    {
                        "referenceCategory": "SECURITY",
                        "referenceType": "cpe23Type",
                        "referenceLocator": "cpe:2.3:a",
                    },
                    purl_ref("pkg:apk/alpine/zlib@1.2.13-r0?arch=x86_64", "PACKAGE_MANAGER"),
                ],
            },
            {
                "SPDXID": "SPDXRef-orig",
                "name": "o",
                "originator": "Person: Someone",
                "supplier": "NOASSERTION",
            },
        ],
    )
    parsed = READER.read(data, "app.spdx.json")

    assert parsed.format is SbomFormat.SPDX_JSON
    assert parsed.spec_version == "2.3"
    assert parsed.serial_number == "https://example.com/spdx/app-1.0-abc"
    assert parsed.timestamp == datetime(2022, 12, 28, 5, 4, 37, 286814, tzinfo=UTC)
    assert parsed.tools == (Tool("syft", "0.58.0"), Tool("trivy"))
    assert parsed.authors == ("Anchore, Inc", "Jane")
    assert parsed.subject is not None
    assert parsed.subject.name == "app"
    zlib, orig = parsed.components
    assert zlib.purl == "pkg:apk/alpine/zlib@1.2.13-r0?arch=x86_64"
    assert (zlib.version, zlib.supplier, zlib.type, zlib.bom_ref) == (
        "1.2.13-r0",
        "Alpine",
        "LIBRARY",
        "SPDXRef-zlib",
    )
    assert zlib.hashes == (Hash("SHA256", "abc"),)
    assert zlib.licenses == ("Zlib",)
    assert zlib.skip_reason is None
    assert (orig.supplier, orig.skip_reason) == ("Someone", "no-purl")


@pytest.mark.parametrize(
    "describes",
    [
        {"documentDescribes": ["SPDXRef-app"]},
        {
            "relationships": [
                {
                    "spdxElementId": "SPDXRef-DOCUMENT",
                    "relationshipType": "DESCRIBES",
                    "relatedSpdxElement": "SPDXRef-app",
                }
            ]
        },
        {
            "relationships": [
                {
                    "spdxElementId": "SPDXRef-app",
                    "relationshipType": "DESCRIBED_BY",
                    "relatedSpdxElement": "SPDXRef-DOCUMENT",
                }
            ]
        },
        {
            "relationships": [
                {
                    "spdxElementId": "SPDXRef-DOCUMENT",
                    "relationshipType": "DESCRIBE",
                    "relatedSpdxElement": "SPDXRef-app",
                }
            ]
        },
    ],
    ids=["documentDescribes", "DESCRIBES", "DESCRIBED_BY", "trivy-DESCRIBE"],
)
def test_the_described_package_is_the_subject_not_a_component(describes: dict[str, Any]) -> None:
    data = document(**{"documentDescribes": [], **describes})
    parsed = READER.read(data, "d.json")
    assert parsed.subject is not None
    assert parsed.subject.name == "app"
    assert [c.name for c in parsed.components] == ["a"]


def test_without_describes_every_package_is_a_component() -> None:
    parsed = READER.read(document(documentDescribes=[]), "d.json")
    assert parsed.subject is None
    assert [c.name for c in parsed.components] == ["app", "a"]


def test_only_the_first_described_package_is_the_subject() -> None:
    parsed = READER.read(document(documentDescribes=["SPDXRef-app", "SPDXRef-a"]), "d.json")
    assert parsed.subject is not None
    assert parsed.subject.name == "app"
    assert [c.name for c in parsed.components] == ["a"]


def test_noassertion_version_is_absent() -> None:
    data = document(
        packages=[
            {
                "SPDXID": "x",
                "name": "x",
                "versionInfo": "NOASSERTION",
                "externalRefs": [purl_ref("pkg:npm/x")],
            }
        ]
    )
    (component,) = READER.read(data, "d.json").components
    assert (component.version, component.skip_reason) == (None, "no-version")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (document("SPDX-2.0"), "d.json: unsupported spec version SPDX 2.0 (supported: 2.1, 2.2, 2.3)"),
        (document("SPDX-1.2"), "d.json: unsupported spec version SPDX 1.2 (supported: 2.1, 2.2, 2.3)"),
        (document("SPDX-3.0"), "d.json: unsupported spec version SPDX 3.0 (supported: 2.1, 2.2, 2.3)"),
        (document(spdxVersion=None), "d.json: SPDX document has no spdxVersion"),
        (document(packages=[{"SPDXID": "SPDXRef-app", "name": "app"}]), "d.json: SBOM has no components"),
        (document(packages={}), "d.json: packages is not an array"),
        (document(creationInfo=[]), "d.json: creationInfo is not an object"),
        (
            document(creationInfo={"created": "28.12.2022"}),
            "d.json: creationInfo.created is not an ISO 8601 date-time: '28.12.2022'",
        ),
        (
            b'{"spdxVersion": "SPDX-2.3",}',
            "d.json: malformed JSON at line 1, column 28: Expecting property name enclosed in double quotes",
        ),
    ],
)
def test_refusals_name_the_source_and_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(SbomError) as caught:
        READER.read(data, "d.json")
    assert str(caught.value) == message


def test_spdx_2_1_json_is_read_like_2_2_and_flagged_outdated() -> None:
    # SPDX 2.1 named no JSON syntax; generators wrote its fields the 2.2 way, PACKAGE_MANAGER included.
    data = document(
        "SPDX-2.1",
        documentNamespace="https://example.com/spdxdocs/app-2.1",
        creationInfo={"created": "2020-01-20T17:53:41Z", "creators": ["Tool: reuse-0.8.0"]},
        packages=[
            {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0"},
            {
                "SPDXID": "SPDXRef-click",
                "name": "click",
                "versionInfo": "7.0",
                "externalRefs": [purl_ref("pkg:pypi/click@7.0", category="PACKAGE_MANAGER")],
            },
        ],
    )
    parsed = read_sbom(data, "d.json")
    assert (parsed.format, parsed.spec_version) == (SbomFormat.SPDX_JSON, "2.1")
    assert parsed.subject is not None
    assert parsed.subject.name == "app"
    assert [(c.name, c.version, c.purl, c.skip_reason) for c in parsed.components] == [
        ("click", "7.0", "pkg:pypi/click@7.0", None)
    ]
    assert parsed.timestamp == datetime(2020, 1, 20, 17, 53, 41, tzinfo=UTC)
    assert "outdated-spec" in {flag.code for flag in parsed.quality}


def test_a_document_of_files_only_is_refused_saying_so() -> None:
    data = document("SPDX-2.1", packages=[], files=[{"SPDXID": "SPDXRef-f", "fileName": "./a.c"}])
    with pytest.raises(SbomError) as caught:
        READER.read(data, "d.json")
    assert str(caught.value) == (
        "d.json: SBOM has no components: the SPDX document lists 1 files and no packages "
        "(patchgap reads packages)"
    )


def test_spdx_2_2_1_is_read_as_2_2() -> None:
    assert READER.read(document("SPDX-2.2.1"), "d.json").spec_version == "2.2.1"


def test_trivy_source_info_gives_the_distribution_source_package() -> None:
    data = document(
        creationInfo={"created": "2022-12-26T15:26:59Z", "creators": ["Tool: trivy"]},
        packages=[
            {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0"},
            {
                "SPDXID": "SPDXRef-bsdutils",
                "name": "bsdutils",
                "versionInfo": "1:2.36.1-8+deb11u1",
                "sourceInfo": "built package from: util-linux 2.36.1-8+deb11u1",
                "externalRefs": [
                    purl_ref("pkg:deb/debian/bsdutils@2.36.1-8%2Bdeb11u1?distro=debian-11.6&epoch=1")
                ],
            },
            {
                "SPDXID": "SPDXRef-pwsh",
                "name": "pwsh",
                "versionInfo": "7.0",
                "sourceInfo": "Files/Program Files/PowerShell/pwsh.deps.json",
                "externalRefs": [purl_ref("pkg:nuget/pwsh@7.0")],
            },
        ],
    )
    parsed = READER.read(data, "trivy.spdx.json")
    by_name = {c.name: c for c in parsed.components}
    assert (by_name["bsdutils"].source_name, by_name["bsdutils"].source_version) == (
        "util-linux",
        "2.36.1-8+deb11u1",
    )
    # A file path in sourceInfo (language packages) is not a source package.
    assert (by_name["pwsh"].source_name, by_name["pwsh"].source_version) == (None, None)
