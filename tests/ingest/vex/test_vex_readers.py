"""OpenVEX and CycloneDX VEX readers: statements out, errors that name the file first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InputError
from core.vex import VexStatement
from ingest.vex import read_vex

BUNDLED = (
    Path(__file__).resolve().parents[3] / "sbom_samples" / "demo-fleet" / "vex" / "admin-portal.openvex.json"
)


def doc(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_bundled_openvex_names_the_subcomponent() -> None:
    assert read_vex(BUNDLED.read_bytes(), "demo.json") == [
        VexStatement(
            vulnerability="CVE-2022-25883",
            purl="pkg:npm/semver@7.5.1",
            status="not_affected",
            aliases=("GHSA-c2qf-rxjj-qqgw",),
            justification="vulnerable_code_not_in_execute_path",
            impact_statement="admin-portal never parses user-supplied version ranges with semver.",
            timestamp="2024-03-20T10:00:00Z",
            author="demo organization security team",
        )
    ]


def test_openvex_product_without_subcomponents_and_identifiers_purl() -> None:
    statements = read_vex(
        doc(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "timestamp": "2024-01-01T00:00:00Z",
                "statements": [
                    {
                        "vulnerability": "CVE-1",
                        "products": [{"@id": "urn:x", "identifiers": {"purl": "pkg:pypi/flask"}}],
                        "status": "under_investigation",
                    }
                ],
            }
        ),
        "v.json",
    )
    assert [(s.vulnerability, s.purl, s.status, s.timestamp) for s in statements] == [
        ("CVE-1", "pkg:pypi/flask", "under_investigation", "2024-01-01T00:00:00Z")
    ]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            {"vulnerability": "CVE-1", "products": [{"@id": "pkg:npm/a"}], "status": "not_affected"},
            "justification",
        ),
        ({"vulnerability": "CVE-1", "products": [{"@id": "pkg:npm/a"}], "status": "maybe"}, "not one of"),
        (
            {"vulnerability": "CVE-1", "products": [{"@id": "https://x"}], "status": "fixed"},
            "not a package URL",
        ),
        ({"vulnerability": "CVE-1", "status": "fixed"}, "no products"),
    ],
)
def test_openvex_errors_name_the_file_and_the_statement(statement: dict[str, object], message: str) -> None:
    document = {"@context": "https://openvex.dev/ns/v0.2.0", "statements": [statement]}
    with pytest.raises(InputError, match=rf"^bad\.json: statements\[0\].*{message}"):
        read_vex(doc(document), "bad.json")


def test_cyclonedx_vex_resolves_refs_and_maps_states() -> None:
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {
            "timestamp": "2024-02-02T00:00:00Z",
            "authors": [{"email": "x@example.org"}, {"name": "PSIRT"}],
        },
        "components": [
            {
                "bom-ref": "lib-a",
                "purl": "pkg:npm/a@1.0.0",
                "components": [{"bom-ref": "lib-b", "purl": "pkg:npm/b@2.0.0"}],
            }
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2",
                "references": [{"id": "GHSA-xxxx"}],
                "analysis": {"state": "false_positive", "justification": "code_not_reachable", "detail": "d"},
                "affects": [{"ref": "lib-a"}, {"ref": "urn:cdx:1234/1#lib-b"}],
            },
            {"id": "CVE-3", "analysis": {"state": "resolved"}, "affects": [{"ref": "pkg:npm/c@3.0.0"}]},
            {"id": "CVE-4", "affects": [{"ref": "lib-a"}]},  # no analysis: says nothing
        ],
    }
    statements = read_vex(doc(bom), "bom.json")
    assert [(s.vulnerability, s.purl, s.status, s.aliases) for s in statements] == [
        ("CVE-2", "pkg:npm/a@1.0.0", "not_affected", ("GHSA-xxxx",)),
        ("CVE-2", "pkg:npm/b@2.0.0", "not_affected", ("GHSA-xxxx",)),
        ("CVE-3", "pkg:npm/c@3.0.0", "fixed", ()),
    ]
    assert statements[0].justification == "code_not_reachable"
    assert statements[0].timestamp == "2024-02-02T00:00:00Z"
    # The finer CycloneDX state and the first named author travel with the statement.
    assert [(s.state, s.author) for s in statements] == [
        ("false_positive", "PSIRT"),
        ("false_positive", "PSIRT"),
        ("resolved", "PSIRT"),
    ]


def test_cyclonedx_unknown_ref_and_unknown_documents() -> None:
    bom = {
        "bomFormat": "CycloneDX",
        "vulnerabilities": [{"id": "C", "analysis": {"state": "exploitable"}, "affects": [{"ref": "nope"}]}],
    }
    with pytest.raises(InputError, match=r"^b\.json: vulnerabilities\[0\]\.affects\[0\]: ref 'nope'"):
        read_vex(doc(bom), "b.json")
    with pytest.raises(InputError, match=r"^x\.json: neither"):
        read_vex(doc({"hello": 1}), "x.json")
    with pytest.raises(InputError, match=r"^y\.json: not JSON"):
        read_vex(b"{", "y.json")
