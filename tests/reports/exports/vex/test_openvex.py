"""OpenVEX 0.2.0: the schema's rules (checked by hand, see checks.py), statements per status, history."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from reports.exports.vex.openvex import OpenVexExporter, system_iri, tracking_from_document
from tests.reports.exports.checks import check_openvex, golden
from tests.reports.exports.fleet import AS_OF, vex_input

EXPORTER = OpenVexExporter()


def export(**kwargs: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXPORTER.render(vex_input(**kwargs)))
    check_openvex(doc)
    return doc


def test_golden_and_valid() -> None:
    export()
    golden("openvex_org.openvex.json", EXPORTER.render(vex_input()))


def test_statements() -> None:
    doc = export()
    by = {(s["vulnerability"]["name"], s["status"]): s for s in doc["statements"]}
    lodash = by[("CVE-2021-23337", "affected")]
    assert lodash["action_statement"].startswith("WAF rule")
    assert lodash["products"] == [
        {
            "@id": "urn:patchgap:system:Example%20Corp:web",
            "subcomponents": [
                {"@id": "pkg:npm/lodash@4.17.20", "identifiers": {"purl": "pkg:npm/lodash@4.17.20"}}
            ],
        }
    ]
    assert "GHSA-35jh-r3h4-6jhm" in lodash["vulnerability"]["aliases"]
    assert by[("PYSEC-JINJA", "affected")]["action_statement"].startswith("No fixed version of jinja2")
    assert by[("CVE-2022-24999", "not_affected")]["justification"] == "vulnerable_code_not_in_execute_path"
    assert by[("CVE-2020-14343", "not_affected")]["impact_statement"].startswith("only trusted YAML")
    assert "1.2.6" in by[("CVE-2021-44906", "fixed")]["status_notes"]
    assert by[("OSV-ODD", "under_investigation")]["status_notes"] == "version 1.0-x is not PEP 440"


def test_check_catches_a_broken_statement() -> None:
    """The hand-written schema check must fail on not_affected with neither justification nor impact
    statement (the schema's anyOf), and accept both (openvex/spec 7b78cf1 allowed them together)."""
    doc = export()
    both = json.loads(json.dumps(doc))
    target = next(s for s in both["statements"] if "justification" in s)
    target["impact_statement"] = "also this"
    check_openvex(both)
    del target["impact_statement"], target["justification"]
    with pytest.raises(AssertionError):
        check_openvex(both)


def test_history() -> None:
    first = export()
    assert first["version"] == 1
    assert first["timestamp"] == first["last_updated"] == "2024-01-23T00:00:00Z"
    later = AS_OF + timedelta(days=1)
    state = tracking_from_document(first)
    data = vex_input(as_of=later, previous=state)
    changed = json.loads(EXPORTER.render(replace(data, findings=data.findings[1:])))
    check_openvex(changed)
    assert (changed["version"], changed["timestamp"], changed["last_updated"]) == (
        2,
        "2024-01-23T00:00:00Z",
        "2024-01-24T00:00:00Z",
    )


def test_system_iri_is_percent_encoded() -> None:
    assert system_iri("a:b", "x y/z") == "urn:patchgap:system:a%3Ab:x%20y%2Fz"
