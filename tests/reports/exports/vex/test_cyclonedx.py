"""CycloneDX 1.6 VEX BOM: strict schema validation, analyses per status, bom-ref integrity, history."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from reports.exports.vex.cyclonedx import CycloneDxVexExporter, tracking_from_document
from tests.reports.exports.checks import golden
from tests.reports.exports.fleet import AS_OF, vex_input

EXPORTER = CycloneDxVexExporter()


def export(**kwargs: Any) -> dict[str, Any]:
    content = EXPORTER.render(vex_input(**kwargs))
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(content.decode("utf-8"))
    assert error is None, error
    doc: dict[str, Any] = json.loads(content)
    return doc


def refs(doc: dict[str, Any]) -> set[str]:
    out: set[str] = set()

    def walk(components: list[dict[str, Any]]) -> None:
        for c in components:
            out.add(c["bom-ref"])
            walk(c.get("components", []))

    walk(doc["components"])
    return out | {doc["metadata"]["component"]["bom-ref"]}


def test_golden_and_valid() -> None:
    export()
    golden("cyclonedx_vex_org.cdx.json", EXPORTER.render(vex_input()))


def test_analysis_per_status() -> None:
    doc = export()
    by = {(v["id"], v["analysis"]["state"]): v for v in doc["vulnerabilities"]}
    assert set(by) == {
        ("CVE-2021-23337", "exploitable"),
        ("CVE-2021-44906", "resolved"),
        ("CVE-2022-24999", "not_affected"),
        ("CVE-2020-14343", "not_affected"),
        ("PYSEC-JINJA", "exploitable"),
        ("OSV-ODD", "in_triage"),
    }
    lodash = by[("CVE-2021-23337", "exploitable")]
    assert lodash["analysis"]["response"] == ["update", "workaround_available"]
    assert lodash["affects"] == [
        {"ref": "web|pkg:npm/lodash@4.17.20", "versions": [{"status": "affected", "version": "4.17.20"}]}
    ]
    assert by[("PYSEC-JINJA", "exploitable")]["analysis"]["response"] == ["can_not_fix"]
    assert by[("CVE-2022-24999", "not_affected")]["analysis"]["justification"] == "code_not_reachable"
    assert "justification" not in by[("CVE-2020-14343", "not_affected")]["analysis"]
    assert by[("CVE-2021-44906", "resolved")]["affects"][0]["versions"][0]["status"] == "unaffected"
    assert {r["method"] for r in by[("CVE-2021-44906", "resolved")]["ratings"]} == {"CVSSv2", "CVSSv31"}


def test_every_reference_resolves_and_all_components_are_listed() -> None:
    doc = export()
    known = refs(doc)
    for v in doc["vulnerabilities"]:
        assert {a["ref"] for a in v["affects"]} <= known
    for d in doc["dependencies"]:
        assert d["ref"] in known
        assert set(d.get("dependsOn", [])) <= known
    # The BOM lists every deployed component, not only those with statements (react has none).
    assert "web|pkg:npm/react@18.2.0" in known


def test_serial_and_version_history() -> None:
    first = export(system="web")
    assert first["version"] == 1
    assert first["serialNumber"].startswith("urn:uuid:")
    assert export(system="api")["serialNumber"] != first["serialNumber"]
    state = tracking_from_document(first)
    later = AS_OF + timedelta(days=3)
    same = EXPORTER.render(vex_input(system="web", as_of=later, previous=state))
    assert same == EXPORTER.render(vex_input(system="web"))
    changed = json.loads(
        EXPORTER.render(replace(vex_input(system="web", as_of=later, previous=state), remediations=()))
    )
    assert changed["version"] == 2
    assert changed["metadata"]["timestamp"] == "2024-01-26T00:00:00Z"
    assert changed["serialNumber"] == first["serialNumber"]


def test_no_findings_is_a_valid_bom_of_the_deployed_components() -> None:
    data = replace(vex_input(), findings=())
    assert data.products
    content = EXPORTER.render(data)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(content.decode("utf-8")) is None
    doc = json.loads(content)
    assert doc.get("vulnerabilities", []) == []
    assert [c["name"] for c in doc["components"]] == sorted(p.system for p in data.products)
    nothing = replace(data, products=())
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(EXPORTER.render(nothing).decode()) is None
