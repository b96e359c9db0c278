"""SPDX 3.0.1 JSON-LD reader: references and blank nodes, root elements through an Sbom, purls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from core.errors import SbomError
from core.sbom import Hash, SbomFormat, Tool
from ingest.sbom.spdx3 import READER

CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"


def graph(*elements: dict[str, Any], spec: str = "3.0.1", context: object = CONTEXT) -> bytes:
    creation = {
        "@id": "_:creationinfo",
        "type": "CreationInfo",
        "specVersion": spec,
        "created": "2024-05-02T10:00:00+02:00",
        "createdBy": ["urn:person-jane"],
        "createdUsing": ["urn:tool-gen"],
    }
    base = [
        creation,
        {"type": "Person", "spdxId": "urn:person-jane", "name": "Jane Doe", "creationInfo": "_:creationinfo"},
        {"type": "Tool", "spdxId": "urn:tool-gen", "name": "spdx-gen", "creationInfo": "_:creationinfo"},
        {"type": "Organization", "spdxId": "urn:org-acme", "name": "Acme", "creationInfo": "_:creationinfo"},
        {
            "type": "SpdxDocument",
            "spdxId": "urn:doc-1",
            "creationInfo": "_:creationinfo",
            "rootElement": ["urn:sbom-1"],
        },
        {
            "type": "software_Sbom",
            "spdxId": "urn:sbom-1",
            "creationInfo": "_:creationinfo",
            "rootElement": ["urn:app"],
        },
        {"type": "software_Package", "spdxId": "urn:app", "name": "app", "software_packageVersion": "1.3"},
    ]
    return json.dumps({"@context": context, "@graph": base + list(elements)}).encode()


LIB = {
    "type": "software_Package",
    "spdxId": "urn:lib",
    "name": "elliptic",
    "software_packageVersion": "6.5.2",
    "suppliedBy": "urn:org-acme",
    "software_primaryPurpose": "library",
    "verifiedUsing": [
        {"type": "Hash", "algorithm": "sha256", "hashValue": "abc"},
        {"type": "PackageVerificationCode", "algorithm": "sha1", "hashValue": "def"},
    ],
    "externalIdentifier": [
        {"type": "ExternalIdentifier", "externalIdentifierType": "cpe23", "identifier": "cpe:2.3:a:x"},
        {
            "type": "ExternalIdentifier",
            "externalIdentifierType": "packageUrl",
            "identifier": "pkg:npm/elliptic@6.5.2",
        },
    ],
}
LICENSE = {
    "type": "simplelicensing_LicenseExpression",
    "spdxId": "urn:lic-mit",
    "simplelicensing_licenseExpression": "MIT",
}
HAS_LICENSE = {
    "type": "Relationship",
    "spdxId": "urn:rel-1",
    "relationshipType": "hasDeclaredLicense",
    "from": "urn:lib",
    "to": ["urn:lic-mit"],
}


def test_full_graph_maps_every_field() -> None:
    parsed = READER.read(
        graph(LIB, LICENSE, HAS_LICENSE, {"type": "security_Vulnerability", "spdxId": "urn:v"}), "g.json"
    )

    assert parsed.format is SbomFormat.SPDX3_JSONLD
    assert parsed.spec_version == "3.0.1"
    assert parsed.serial_number == "urn:doc-1"
    assert parsed.timestamp == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    assert parsed.tools == (Tool("spdx-gen"),)
    assert parsed.authors == ("Jane Doe",)
    assert parsed.vulnerability_count == 1
    # SpdxDocument → software_Sbom → software_Package: the root is followed through the Sbom.
    assert parsed.subject is not None
    assert parsed.subject.name == "app"
    (lib,) = parsed.components
    assert (lib.name, lib.version, lib.purl, lib.supplier, lib.type) == (
        "elliptic",
        "6.5.2",
        "pkg:npm/elliptic@6.5.2",
        "Acme",
        "library",
    )
    assert lib.hashes == (Hash("sha256", "abc"),)
    assert lib.licenses == ("MIT",)


def test_package_url_property_and_package_subclasses() -> None:
    ai = {
        "type": "ai_AIPackage",
        "spdxId": "urn:model",
        "name": "model",
        "software_packageUrl": " pkg:huggingface/m@abc ",
    }
    data = {"type": "dataset_DatasetPackage", "spdxId": "urn:data", "name": "data"}
    parsed = READER.read(graph(ai, data), "g.json")
    assert [(c.name, c.purl, c.skip_reason) for c in parsed.components] == [
        ("model", "pkg:huggingface/m@abc", None),
        ("data", None, "no-purl"),
    ]


def test_inline_creation_info_and_no_document_wrapper() -> None:
    doc = {
        "@context": [CONTEXT],
        "@graph": [
            {
                "type": "software_Sbom",
                "spdxId": "urn:sbom",
                "creationInfo": {
                    "type": "CreationInfo",
                    "specVersion": "3.0.1",
                    "created": "2024-01-01T00:00:00Z",
                },
                "rootElement": "urn:app",
            },
            {"type": "software_Package", "spdxId": "urn:app", "name": "app"},
            {
                "type": "software_Package",
                "spdxId": "urn:x",
                "name": "x",
                "software_packageUrl": "pkg:npm/x@1",
            },
        ],
    }
    parsed = READER.read(json.dumps(doc).encode(), "g.json")
    assert parsed.subject is not None
    assert parsed.subject.name == "app"
    assert parsed.serial_number is None
    assert [c.name for c in parsed.components] == ["x"]


def test_subject_from_a_describes_relationship() -> None:
    doc = json.loads(graph(LIB))
    for element in doc["@graph"]:
        if element.get("type") == "SpdxDocument":
            element.pop("rootElement")
    doc["@graph"].append(
        {
            "type": "Relationship",
            "spdxId": "urn:r",
            "relationshipType": "describes",
            "from": "urn:doc-1",
            "to": ["urn:app"],
        }
    )
    parsed = READER.read(json.dumps(doc).encode(), "g.json")
    assert parsed.subject is not None
    assert parsed.subject.name == "app"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (graph(LIB, spec="3.1"), "g.json: unsupported spec version SPDX 3.1 (supported: 3.0.0, 3.0.1)"),
        (graph(), "g.json: SBOM has no components"),
        (
            json.dumps({"@context": CONTEXT, "@graph": {}}).encode(),
            "g.json: SPDX 3 document has no @graph array",
        ),
        (
            json.dumps({"@context": CONTEXT, "@graph": [LIB]}).encode(),
            "g.json: SPDX 3 document has no CreationInfo",
        ),
        (
            graph(LIB, context="https://example.com/other"),
            "g.json: not an SPDX 3 JSON-LD document (no spdx.org/rdf/3 @context)",
        ),
    ],
)
def test_refusals_name_the_source_and_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(SbomError) as caught:
        READER.read(data, "g.json")
    assert str(caught.value) == message
