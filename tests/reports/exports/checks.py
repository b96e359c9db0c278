"""Validation helpers of the export tests: schemas and the rules schemas cannot express.

CSAF: the bundled OASIS schema (ingest's validator, the same file as ``../shared/data/schemas/csaf``) plus
the CSAF 2.0 mandatory tests that matter for ``csaf_vex`` documents (section 6.1: 6.1.1 product ids
defined, 6.1.2 defined once, 6.1.6 contradicting statuses, 6.1.16 version = last revision, 6.1.21/22
revision numbers consecutive and unique, 6.1.23 one entry per CVE, 6.1.27.4–11 the VEX profile).

OpenVEX: no schema ships with a library we use, so the rules of the OpenVEX 0.2.0 JSON schema
(openvex/spec ``openvex_json_schema.json``, ``$id`` …/openvex_json_schema_0.2.0.json) are checked by hand:
required document fields, statement fields and enums, and the not_affected / affected conditions.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ingest.advisories.sources.csaf import validate_csaf

GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1"


def golden(name: str, content: bytes) -> None:
    """Compare with ``golden/<name>``; PATCHGAP_REGEN_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / name
    if REGEN:
        path.write_bytes(content)
        return
    if not path.exists():
        pytest.fail(f"golden file {path} missing: run with PATCHGAP_REGEN_GOLDEN=1")
    assert content == path.read_bytes(), f"{name} differs from its golden file"


def csaf_product_ids(doc: dict[str, Any]) -> list[str]:
    tree = doc.get("product_tree", {})
    ids = [p["product_id"] for p in tree.get("full_product_names", [])]
    ids += [r["full_product_name"]["product_id"] for r in tree.get("relationships", [])]
    return ids


def check_csaf_vex(doc: dict[str, Any]) -> None:
    validate_csaf(doc, origin="export")
    document = doc["document"]
    assert document["category"] == "csaf_vex"
    tracking = document["tracking"]
    numbers = [int(r["number"]) for r in tracking["revision_history"]]
    assert numbers == list(range(1, len(numbers) + 1)), "6.1.21/22 revision numbers"
    assert tracking["version"] == str(numbers[-1]), "6.1.16 latest version"
    dates = [r["date"] for r in tracking["revision_history"]]
    assert dates == sorted(dates)
    assert tracking["current_release_date"] == dates[-1]
    assert tracking["initial_release_date"] == dates[0]
    defined = csaf_product_ids(doc)
    assert len(defined) == len(set(defined)), "6.1.2 multiple definition of product id"
    defined_set = set(defined)
    for ref in (
        r
        for rel in doc["product_tree"].get("relationships", [])
        for r in (rel["product_reference"], rel["relates_to_product_reference"])
    ):
        assert ref in defined_set, "6.1.1 missing definition"
    vulns = doc["vulnerabilities"]
    assert vulns, "6.1.27.11 vulnerabilities"
    cves = [v["cve"] for v in vulns if "cve" in v]
    assert len(cves) == len(set(cves)), "6.1.23 multiple use of same CVE"
    for v in vulns:
        assert "cve" in v or v.get("ids"), "6.1.27.8 vulnerability id"
        assert v.get("notes"), "6.1.27.5 vulnerability notes"
        status = v["product_status"]
        assert set(status) & {"fixed", "known_affected", "known_not_affected", "under_investigation"}
        seen = Counter(pid for ids in status.values() for pid in ids)
        assert max(seen.values()) == 1, "6.1.6 contradicting product status"
        referenced = set(seen)
        for part in ("flags", "threats", "remediations"):
            for item in v.get(part, []):
                referenced |= set(item.get("product_ids", []))
        for score in v.get("scores", []):
            referenced |= set(score["products"])
        assert referenced <= defined_set, "6.1.1 missing definition"
        flagged = {pid for f in v.get("flags", []) for pid in f["product_ids"]}
        impact = {pid for t in v.get("threats", []) if t["category"] == "impact" for pid in t["product_ids"]}
        for pid in status.get("known_not_affected", []):
            assert pid in flagged | impact, "6.1.27.9 impact statement"
        remediated = {pid for r in v.get("remediations", []) for pid in r["product_ids"]}
        for pid in status.get("known_affected", []):
            assert pid in remediated, "6.1.27.10 action statement"


OPENVEX_STATUSES = {"not_affected", "affected", "fixed", "under_investigation"}
OPENVEX_JUSTIFICATIONS = {
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
}
_DOC_FIELDS = {
    "@context",
    "@id",
    "author",
    "role",
    "timestamp",
    "last_updated",
    "version",
    "tooling",
    "statements",
}
_STATEMENT_FIELDS = {
    "@id",
    "version",
    "vulnerability",
    "timestamp",
    "last_updated",
    "products",
    "status",
    "supplier",
    "status_notes",
    "justification",
    "impact_statement",
    "action_statement",
    "action_statement_timestamp",
}


def check_openvex(doc: dict[str, Any]) -> None:
    assert set(doc) <= _DOC_FIELDS, set(doc) - _DOC_FIELDS
    for key in ("@context", "@id", "author", "timestamp", "version", "statements"):
        assert key in doc, f"document field {key} missing"
    assert doc["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert isinstance(doc["version"], int)
    assert doc["version"] >= 1
    statements = doc["statements"]
    assert statements, "statements: minItems 1"
    assert len({json.dumps(s, sort_keys=True) for s in statements}) == len(statements), "uniqueItems"
    for s in statements:
        assert set(s) <= _STATEMENT_FIELDS, set(s) - _STATEMENT_FIELDS
        assert set(s["vulnerability"]) <= {"@id", "name", "description", "aliases"}
        assert s["vulnerability"]["name"]
        assert s["status"] in OPENVEX_STATUSES
        if s["status"] == "not_affected":
            # The 0.2.0 schema's anyOf (openvex/spec 7b78cf1 corrected its first draft's oneOf).
            assert "justification" in s or "impact_statement" in s, "a justification or an impact statement"
        if "justification" in s:
            assert s["justification"] in OPENVEX_JUSTIFICATIONS
        if s["status"] == "affected":
            assert s.get("action_statement"), "affected needs an action_statement"
        for product in s.get("products", []):
            assert set(product) <= {"@id", "identifiers", "hashes", "subcomponents"}
            for sub in product.get("subcomponents", []):
                assert set(sub) <= {"@id", "identifiers", "hashes"}
