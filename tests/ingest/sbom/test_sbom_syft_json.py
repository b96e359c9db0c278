"""syft JSON reader: artifacts, the scanned source as subject, old and new schema shapes, refusals.

The two files under ``samples/`` are written for these tests to syft's JSON schemas 16.0.7 and 3.3.2
(``anchore/syft`` ``schema/json/``), not syft's output; SOURCES.md says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.errors import SbomError
from core.sbom import Hash, SbomFormat, Tool
from core.text import NAME_MAX_BYTES
from ingest.sbom import read_sbom
from ingest.sbom.syft_json import READER

SAMPLES = Path(__file__).resolve().parent / "samples"
NEW = SAMPLES / "syft-16-python-alpine.syft.json"
OLD = SAMPLES / "syft-3-debian.syft.json"
URL = "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-{}.json"


def document(version: str = "16.0.7", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "artifacts": [
            {
                "id": "a1",
                "name": "lodash",
                "version": "4.17.20",
                "type": "npm",
                "purl": "pkg:npm/lodash@4.17.20",
            }
        ],
        "artifactRelationships": [],
        "source": {"id": "s", "name": "/srv/app", "version": "", "type": "directory", "metadata": {}},
        "distro": {},
        "descriptor": {"name": "syft", "version": "1.18.0"},
        "schema": {"version": version, "url": URL.format(version)},
    }
    doc.update(fields)
    return doc


def read(doc: dict[str, Any], source: str = "s.json") -> Any:
    return read_sbom(json.dumps(doc).encode(), source)


def test_a_schema_16_image_scan_maps_every_artifact() -> None:
    data = NEW.read_bytes()
    artifacts = json.loads(data)["artifacts"]
    parsed = read_sbom(data, NEW.name)

    assert (parsed.format, parsed.spec_version) == (SbomFormat.SYFT_JSON, "16.0.7")
    assert parsed.tools == (Tool("syft", "1.0.1"),)
    assert (parsed.timestamp, parsed.serial_number, parsed.authors) == (None, None, ())
    assert parsed.subject is not None
    assert (parsed.subject.name, parsed.subject.version, parsed.subject.type) == (
        "python",
        "3.11-alpine3.18",
        "image",
    )
    # Every artifact is a component, in file order, with the purl exactly as the file writes it.
    assert [(c.bom_ref, c.name, c.version, c.type) for c in parsed.components] == [
        (a["id"], a["name"], a["version"], a["type"]) for a in artifacts
    ]
    assert [c.purl for c in parsed.components] == [a["purl"] or None for a in artifacts]
    busybox, libcrypto, pip, log4j, agent = parsed.components
    assert [c.skip_reason for c in parsed.components] == [None, None, None, None, "no-purl"]
    assert agent.name == "custom-agent"
    assert busybox.licenses == ("GPL-2.0-only",)
    assert pip.licenses == ("MIT",)
    assert log4j.hashes == (Hash("sha1", "9141212b8507ab50a45525b545b39d224614528b"),)
    assert (libcrypto.source_name, libcrypto.source_version) == ("openssl", None)


def test_a_schema_16_scan_carries_the_quality_flags_of_its_format() -> None:
    parsed = read_sbom(NEW.read_bytes(), NEW.name)
    assert {flag.code: flag.count for flag in parsed.quality} == {
        "non-standard-format": None,
        "missing-timestamp": None,
        "no-serial-number": None,
        "no-author": None,
        "component-no-purl": 1,
        "component-no-supplier": 5,
        "component-no-hash": 4,
        "component-no-license": 2,
    }


def test_a_schema_3_scan_reads_string_licences_the_image_input_and_dpkg_sources() -> None:
    parsed = read_sbom(OLD.read_bytes(), OLD.name)

    assert (parsed.format, parsed.spec_version) == (SbomFormat.SYFT_JSON, "3.3.2")
    assert parsed.tools == (Tool("syft", "0.38.0"),)
    assert parsed.subject is not None
    assert (parsed.subject.name, parsed.subject.version) == ("debian:11", None)
    assert [
        (c.name, c.version, c.source_name, c.source_version, c.skip_reason) for c in parsed.components
    ] == [
        ("bsdutils", "1:2.36.1-8+deb11u1", "util-linux", "2.36.1-8+deb11u1", None),
        # sourceVersion "" means the binary's own version; source "" the package itself.
        ("libssl1.1", "1.1.1n-0+deb11u3", "openssl", None, None),
        ("tzdata", "2021a-1+deb11u4", None, None, None),
    ]
    assert parsed.components[0].licenses == ("BSD-2-Clause", "GPL-2.0-only")
    assert "non-standard-format" in {flag.code for flag in parsed.quality}


def test_a_directory_scan_of_an_old_schema_names_its_path() -> None:
    doc = document("6.0.0", source={"id": "x", "type": "directory", "target": "/srv/app"})
    parsed = read(doc)
    assert parsed.subject is not None
    assert parsed.subject.name == "/srv/app"


def test_a_missing_version_is_taken_from_the_purl_and_an_empty_one_is_not_assessable() -> None:
    doc = document(
        artifacts=[
            {"name": "a", "version": "", "type": "npm", "purl": "pkg:npm/a@1.0.0"},
            {"name": "b", "version": "", "type": "npm", "purl": "pkg:npm/b"},
            {"name": "c", "version": "1", "type": "npm", "purl": "npm:c@1"},
        ]
    )
    assert [(c.version, c.skip_reason) for c in read(doc).components] == [
        ("1.0.0", None),
        (None, "no-version"),
        ("1", "invalid-purl"),
    ]


def test_schema_version_from_the_url_when_the_version_is_absent() -> None:
    doc = document()
    doc["schema"] = {"url": URL.format("11.0.1")}
    assert read(doc).spec_version == "11.0.1"


def test_a_value_over_the_limits_keeps_its_component_not_assessable() -> None:
    name = "n" * (NAME_MAX_BYTES + 1)
    doc = document(artifacts=[{"name": name, "version": "1", "type": "npm", "purl": "pkg:npm/x@1"}])
    (component,) = read(doc).components
    assert component.skip_reason == "too-long"
    assert len(component.name.encode()) <= NAME_MAX_BYTES
    assert "name" in component.skip_detail


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            document("17.0.0"),
            "s.json: unsupported spec version syft JSON schema 17.0.0 (supported: 1.x to 16.x)",
        ),
        (
            document("sixteen"),
            "s.json: unsupported spec version syft JSON schema sixteen (supported: 1.x to 16.x)",
        ),
        (
            {**document(), "schema": {"url": "https://example.com/x.json"}},
            "s.json: syft JSON has no schema.version",
        ),
        ({**document(), "schema": "16.0.7"}, "s.json: schema is not an object"),
        (document(artifacts={}), "s.json: artifacts is not an array"),
        (document(artifacts=["pkg:npm/a@1"]), "s.json: artifacts holds an entry that is not an object"),
        (document(artifacts=[]), "s.json: SBOM has no components"),
        (document(source="/srv/app"), "s.json: source is not an object"),
        (document(descriptor=["syft"]), "s.json: descriptor is not an object"),
    ],
)
def test_refusals_name_the_source_and_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(SbomError) as caught:
        READER.read(json.dumps(doc).encode(), "s.json")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("escaped", "reason"),
    [
        ("lo\\u0000dash", "artifacts[0].name contains a NUL character (\\u0000)"),
        ("lo\\udfffdash", "artifacts[0].name contains a lone surrogate (\\udfff), which is not Unicode text"),
    ],
)
def test_a_nul_or_lone_surrogate_refuses_the_whole_document_naming_the_field(
    escaped: str, reason: str
) -> None:
    data = json.dumps(document()).replace('"lodash"', f'"{escaped}"').encode()
    with pytest.raises(SbomError) as caught:
        read_sbom(data, "s.json")
    assert str(caught.value) == f"s.json: {reason}"


def test_truncated_json_is_refused_with_its_position() -> None:
    data = NEW.read_bytes()
    with pytest.raises(SbomError, match=r"^cut\.json: malformed JSON at line \d+, column \d+: "):
        read_sbom(data[: len(data) // 2], "cut.json")


def test_reading_twice_gives_the_same_result() -> None:
    data = NEW.read_bytes()
    assert read_sbom(data, "a") == read_sbom(data, "a")


def test_dpkg_metadata_names_the_source_package_advisories_use() -> None:
    """libssl1.1's purl has no upstream qualifier: only syft's dpkg metadata says it is built from openssl,
    the package Debian's advisories name."""
    from core.packages import PackageRef
    from matcher.purls import package_for_purl

    libssl = read_sbom(OLD.read_bytes(), OLD.name).components[1]
    assert libssl.purl is not None
    assert "upstream" not in libssl.purl
    ref = package_for_purl(libssl.purl, source_name=libssl.source_name, source_version=libssl.source_version)
    assert isinstance(ref, PackageRef)
    assert (ref.ecosystem, ref.name, ref.version) == ("Debian:11", "openssl", "1.1.1n-0+deb11u3")
