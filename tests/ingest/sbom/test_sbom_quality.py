"""Quality flags: which codes a thin SBOM gets, their counts, and none for a complete one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core.sbom import Component, Hash, ParsedSbom, SbomFormat, Tool
from ingest.sbom.quality import assess_quality

COMPLETE_COMPONENT = Component(
    name="a",
    version="1",
    purl="pkg:npm/a@1",
    supplier="Acme",
    hashes=(Hash("SHA-512", "00"),),
    licenses=("MIT",),
)
COMPLETE = ParsedSbom(
    format=SbomFormat.CYCLONEDX_JSON,
    spec_version="1.6",
    serial_number="urn:uuid:1",
    timestamp=datetime(2025, 1, 1, tzinfo=UTC),
    subject=Component(name="app", version="1", purl=None),
    tools=(Tool("gen"),),
    components=(COMPLETE_COMPONENT,),
    authors=("Ops",),
)


def codes(parsed: ParsedSbom) -> dict[str, int | None]:
    return {flag.code: flag.count for flag in assess_quality(parsed)}


def test_a_complete_current_sbom_has_no_flags() -> None:
    assert assess_quality(COMPLETE) == ()


def test_a_thin_sbom_gets_every_document_flag() -> None:
    thin = replace(
        COMPLETE,
        spec_version="1.4",
        serial_number=None,
        timestamp=None,
        subject=None,
        tools=(),
        authors=(),
        vulnerability_count=3,
    )
    assert codes(thin) == {
        "outdated-spec": None,
        "missing-timestamp": None,
        "no-serial-number": None,
        "no-author": None,
        "no-tool": None,
        "no-subject": None,
        "carries-vulnerabilities": 3,
    }


def test_component_flags_count_the_components_concerned() -> None:
    components = (
        COMPLETE_COMPONENT,
        Component(name="b", version=None, purl=None, skip_reason="no-purl"),
        Component(name="c", version="1", purl="bad", skip_reason="invalid-purl", supplier="x"),
        Component(name="d", version=None, purl="pkg:npm/d", skip_reason="no-version", licenses=("MIT",)),
    )
    flags = {f.code: f for f in assess_quality(replace(COMPLETE, components=components))}
    assert {code: f.count for code, f in flags.items()} == {
        "component-no-purl": 1,
        "component-invalid-purl": 1,
        "component-no-version": 2,
        "component-no-supplier": 2,
        "component-no-hash": 3,
        "component-no-license": 2,
    }
    assert flags["component-no-version"].message == "2 of 4 components without a version"
    assert all(f.reference for f in flags.values())


@pytest.mark.parametrize(
    ("fmt", "version", "outdated"),
    [
        (SbomFormat.CYCLONEDX_JSON, "1.5", True),
        (SbomFormat.CYCLONEDX_XML, "1.2", True),
        (SbomFormat.CYCLONEDX_JSON, "1.6", False),
        (SbomFormat.SPDX_JSON, "2.3", True),
        (SbomFormat.SPDX_TAG_VALUE, "2.2.1", True),
        (SbomFormat.SPDX3_JSONLD, "3.0.0", True),
        (SbomFormat.SPDX3_JSONLD, "3.0.1", False),
    ],
)
def test_outdated_spec_follows_bsi_tr_03183_2_v2_1(fmt: SbomFormat, version: str, outdated: bool) -> None:
    flags = assess_quality(replace(COMPLETE, format=fmt, spec_version=version))
    assert ("outdated-spec" in {f.code for f in flags}) is outdated
    if outdated:
        (flag,) = flags
        assert flag.reference == "BSI TR-03183-2 v2.1 §4"
