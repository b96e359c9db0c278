"""CSAF 2.0 VEX export: schema + VEX-profile rules, statuses of the hand-built fleet, read-back, history."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema

from core.errors import InputError
from ingest.advisories.sources.csaf import vex_statements
from reports.exports.interface import ExportError
from reports.exports.vex.csaf import CsafVexExporter, tracking_from_document
from tests.reports.exports.checks import check_csaf_vex, golden
from tests.reports.exports.fleet import AS_OF, vex_input

SHARED_SCHEMA = (
    Path(__file__).resolve().parents[4]
    / ".."
    / "shared"
    / "data"
    / "schemas"
    / "csaf"
    / "csaf_json_schema.json"
)
EXPORTER = CsafVexExporter()


def export(**kwargs: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXPORTER.render(vex_input(**kwargs)))
    check_csaf_vex(doc)
    return doc


def by_cve(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v.get("cve") or v["ids"][0]["text"]: v for v in doc["vulnerabilities"]}


def test_organization_export_golden_and_valid() -> None:
    golden("csaf_vex_org.json", EXPORTER.render(vex_input()))


def test_statuses_flags_remediations_threats() -> None:
    doc = export()
    v = by_cve(doc)
    assert set(v) == {
        "CVE-2021-23337",
        "CVE-2021-44906",
        "CVE-2022-24999",
        "CVE-2020-14343",
        "PYSEC-2019-217",
        "OSV-ODD",
    }
    lodash = v["CVE-2021-23337"]
    assert list(lodash["product_status"]) == ["known_affected"]
    assert {i["text"] for i in lodash["ids"]} == {"GHSA-35jh-r3h4-6jhm", "GHSA-LODASH"}
    fix = next(r for r in lodash["remediations"] if r["category"] == "vendor_fix")
    assert fix["date"] == "2024-01-02T00:00:00Z"
    assert "4.17.21" in fix["details"]
    assert any(r["category"] == "mitigation" and "WAF" in r["details"] for r in lodash["remediations"])
    threat = next(t for t in lodash["threats"] if t["category"] == "exploit_status")
    assert threat["date"] == "2024-01-05T00:00:00Z"
    assert "kev" in threat["details"]
    assert lodash["scores"][0]["cvss_v3"]["baseScore"] == 7.2
    assert list(v["CVE-2021-44906"]["product_status"]) == ["fixed"]
    assert {"cvss_v3", "cvss_v2"} <= set(v["CVE-2021-44906"]["scores"][0])
    assert v["CVE-2022-24999"]["flags"][0]["label"] == "vulnerable_code_not_in_execute_path"
    assert v["CVE-2020-14343"]["threats"][0]["category"] == "impact"
    assert v["PYSEC-2019-217"]["remediations"][0]["category"] == "none_available"
    assert list(v["OSV-ODD"]["product_status"]) == ["under_investigation"]


def test_product_tree_carries_purls_and_snapshot_hash() -> None:
    doc = export(system="web")
    names = doc["product_tree"]["full_product_names"]
    purls = {
        n["product_identification_helper"].get("purl")
        for n in names
        if "purl" in n.get("product_identification_helper", {})
    }
    assert purls == {"pkg:npm/lodash@4.17.20", "pkg:npm/minimist@1.2.6", "pkg:npm/qs@6.5.2"}
    system = next(n for n in names if n["name"].startswith("web"))
    assert system["product_identification_helper"]["hashes"][0]["file_hashes"][0]["value"] == "a" * 64
    assert {r["category"] for r in doc["product_tree"]["relationships"]} == {"installed_on"}


def test_reads_back_through_the_csaf_importer() -> None:
    doc = export()
    statements = {
        (s.vulnerability_id, s.purl, s.status, s.justification) for s in vex_statements(doc, origin="x")
    }
    assert (
        "CVE-2022-24999",
        "pkg:npm/qs@6.5.2",
        "not_affected",
        "vulnerable_code_not_in_execute_path",
    ) in statements
    assert ("CVE-2021-23337", "pkg:npm/lodash@4.17.20", "affected", None) in statements


def test_validates_against_the_shared_schema_copy() -> None:
    """The issue names ../shared/data/schemas/csaf: validate there too, with its own CVSS schemas."""
    if not SHARED_SCHEMA.exists():
        pytest.skip(f"shared data absent: {SHARED_SCHEMA}")
    schema = json.loads(SHARED_SCHEMA.read_text("utf-8"))
    registry: referencing.Registry[Any] = referencing.Registry()
    for path in sorted((SHARED_SCHEMA.parent / "referenced_schema" / "first").glob("cvss-v*.json")):
        resource = referencing.Resource.from_contents(
            json.loads(path.read_text("utf-8")), default_specification=referencing.jsonschema.DRAFT7
        )
        registry = registry.with_resource(f"https://www.first.org/cvss/{path.name}", resource)
    validator = jsonschema.validators.validator_for(schema)(schema, registry=registry)
    errors = list(validator.iter_errors(export()))
    assert not errors, errors[0].message


def test_history_continues_and_repeats_identically() -> None:
    first = export()
    assert first["document"]["tracking"]["version"] == "1"
    state = tracking_from_document(first)
    again = EXPORTER.render(vex_input(previous=state, as_of=AS_OF + timedelta(days=1)))
    assert again == EXPORTER.render(vex_input()), "unchanged content keeps the previous version"
    later = AS_OF + timedelta(days=7)
    second = export(
        system=None,
        as_of=later,
        previous=tracking_from_document(json.loads(EXPORTER.render(vex_input(system=None)))),
    )
    assert second["document"]["tracking"]["version"] == "1"  # same content: no new revision
    changed = export(system="web", as_of=later, previous=None)
    previous = tracking_from_document(first)
    with pytest.raises(InputError, match="another organization or scope"):
        EXPORTER.render(vex_input(system="web", as_of=later, previous=previous))
    assert changed["document"]["tracking"]["id"] != first["document"]["tracking"]["id"]


def test_changed_content_adds_a_revision() -> None:
    first = export(system="web")
    state = tracking_from_document(first)
    # Same scope, different content: drop the fixed statement by evaluating without remediations.
    data = vex_input(system="web", as_of=AS_OF + timedelta(days=2), previous=state)
    from dataclasses import replace

    doc = json.loads(EXPORTER.render(replace(data, remediations=())))
    check_csaf_vex(doc)
    tracking = doc["document"]["tracking"]
    assert tracking["version"] == "2"
    assert [r["number"] for r in tracking["revision_history"]] == ["1", "2"]
    assert tracking["initial_release_date"] == "2024-01-23T00:00:00Z"
    assert tracking["current_release_date"] == "2024-01-25T00:00:00Z"
    with pytest.raises(InputError, match="after as_of"):
        EXPORTER.render(replace(data, remediations=(), as_of=AS_OF - timedelta(days=1)))


def test_nothing_to_state_is_an_error() -> None:
    from dataclasses import replace

    with pytest.raises(ExportError, match=r"^csaf-vex: Example Corp: no VEX statements"):
        EXPORTER.render(replace(vex_input(), findings=()))
