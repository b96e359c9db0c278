"""CycloneDX JSON reader: field mapping, nesting, both tools forms, skip reasons and every refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from core.errors import SbomError
from core.sbom import Hash, SbomFormat, Tool
from ingest.sbom.cyclonedx_json import READER


def bom(spec: str = "1.6", **fields: Any) -> bytes:
    document: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1}
    document.setdefault("components", [{"name": "a", "version": "1", "purl": "pkg:npm/a@1"}])
    document.update(fields)
    return json.dumps(document).encode()


def test_full_document_maps_every_field() -> None:
    data = bom(
        serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        metadata={
            "timestamp": "2024-03-01T12:00:00+02:00",
            "authors": [{"name": "Ops Team", "email": "ops@example.com"}, {"email": "sec@example.com"}],
            "manufacturer": {"name": "Example GmbH"},
            "tools": {
                "components": [
                    {"type": "application", "author": "anchore", "name": "syft", "version": "1.0"}
                ],
                "services": [{"provider": {"name": "Acme"}, "name": "sbom-service", "version": "2"}],
            },
            "component": {
                "type": "application",
                "name": "shop",
                "version": "4.2",
                "purl": "pkg:oci/shop@4.2",
            },
        },
        components=[
            {
                "type": "library",
                "bom-ref": "ref-lodash",
                "name": "lodash",
                "version": "4.17.20",
                "purl": "pkg:npm/lodash@4.17.20",
                "supplier": {"name": "OpenJS"},
                "hashes": [{"alg": "SHA-512", "content": "abc"}, {"alg": "SHA-1"}],
                "licenses": [
                    {"license": {"id": "MIT"}},
                    {"license": {"name": "Custom licence"}},
                    {"expression": "Apache-2.0 OR MIT"},
                    {"license": {"id": "MIT"}},
                ],
            }
        ],
        vulnerabilities=[{"id": "CVE-2021-23337"}, {"id": "CVE-2020-8203"}],
    )
    parsed = READER.read(data, "shop.json")

    assert parsed.format is SbomFormat.CYCLONEDX_JSON
    assert parsed.spec_version == "1.6"
    assert parsed.serial_number == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert parsed.timestamp == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert parsed.authors == ("Ops Team", "sec@example.com", "Example GmbH")
    assert parsed.tools == (Tool("syft", "1.0", "anchore"), Tool("sbom-service", "2", "Acme"))
    assert parsed.vulnerability_count == 2
    assert parsed.subject is not None
    assert (parsed.subject.name, parsed.subject.purl) == ("shop", "pkg:oci/shop@4.2")
    (lodash,) = parsed.components
    assert lodash.bom_ref == "ref-lodash"
    assert lodash.type == "library"
    assert lodash.supplier == "OpenJS"
    assert lodash.hashes == (Hash("SHA-512", "abc"),)
    assert lodash.licenses == ("MIT", "Custom licence", "Apache-2.0 OR MIT")
    assert lodash.skip_reason is None


def test_legacy_tools_array() -> None:
    data = bom(
        "1.4",
        metadata={
            "tools": [{"vendor": "CycloneDX", "name": "cyclonedx-npm", "version": "1.0"}, {"vendor": "x"}]
        },
    )
    assert READER.read(data, "t.json").tools == (Tool("cyclonedx-npm", "1.0", "CycloneDX"),)


def test_nested_components_are_flattened_depth_first_and_subject_children_count() -> None:
    data = bom(
        metadata={
            "component": {
                "name": "product",
                "components": [{"name": "module", "version": "1", "purl": "pkg:maven/g/module@1"}],
            }
        },
        components=[
            {
                "name": "a",
                "version": "1",
                "purl": "pkg:npm/a@1",
                "components": [
                    {
                        "name": "a.1",
                        "version": "1",
                        "purl": "pkg:npm/a.1@1",
                        "components": [{"name": "a.1.1", "version": "1", "purl": "pkg:npm/a.1.1@1"}],
                    },
                    {"name": "a.2", "version": "1", "purl": "pkg:npm/a.2@1"},
                ],
            },
            {"name": "b", "version": "2", "purl": "pkg:npm/b@2"},
        ],
    )
    parsed = READER.read(data, "nested.json")
    assert [c.name for c in parsed.components] == ["module", "a", "a.1", "a.1.1", "a.2", "b"]
    assert parsed.subject is not None
    assert parsed.subject.name == "product"


def test_deep_nesting_is_read_and_too_deep_json_is_refused() -> None:
    def nested(levels: int) -> bytes:
        opening = "".join(
            f'{{"name": "n{i}", "purl": "pkg:npm/n{i}@1", "components": [' for i in range(levels)
        )
        closing = "]}" * levels
        return (
            f'{{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{opening}{closing}]}}'.encode()
        )

    assert [c.name for c in READER.read(nested(300), "deep.json").components][-2:] == ["n298", "n299"]
    # Python's JSON decoder recurses per level; the reader turns its RecursionError into a refusal.
    with pytest.raises(SbomError, match=r"^deep\.json: malformed JSON: nested too deeply$"):
        READER.read(nested(100_000), "deep.json")


@pytest.mark.parametrize(
    ("fields", "reason", "version"),
    [
        ({"name": "x", "version": "1"}, "no-purl", "1"),
        ({"name": "x", "version": "1", "purl": "   "}, "no-purl", "1"),
        ({"name": "x", "version": "1", "purl": "npm/x@1"}, "invalid-purl", "1"),
        ({"name": "x", "version": "1", "purl": "pkg:npm/@1"}, "invalid-purl", "1"),
        ({"name": "x", "purl": "pkg:npm/x"}, "no-version", None),
        ({"name": "x", "purl": "pkg:npm/x@2.0"}, None, "2.0"),
        ({"name": "x", "version": "3", "purl": "pkg:npm/x"}, None, "3"),
        ({"name": "x", "version": 7, "purl": "pkg:npm/x"}, None, "7"),
    ],
)
def test_components_without_usable_purl_are_kept_with_the_reason(
    fields: dict[str, Any], reason: str | None, version: str | None
) -> None:
    parsed = READER.read(
        bom(components=[fields, {"name": "ok", "version": "1", "purl": "pkg:npm/ok@1"}]), "s.json"
    )
    assert len(parsed.components) == 2
    component = parsed.components[0]
    assert component.skip_reason == reason
    assert component.version == version
    assert len(parsed.not_assessable) == (0 if reason is None else 1)


def test_purl_is_stripped_but_otherwise_kept_as_written() -> None:
    parsed = READER.read(bom(components=[{"name": "x", "purl": "  pkg:NPM/X@1.0?b=2&a=1 \n"}]), "s.json")
    assert parsed.components[0].purl == "pkg:NPM/X@1.0?b=2&a=1"
    assert parsed.components[0].skip_reason is None


def test_timestamp_without_offset_is_utc_and_absent_is_none() -> None:
    naive = READER.read(bom(metadata={"timestamp": "2024-01-02T03:04:05"}), "s.json")
    assert naive.timestamp == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert READER.read(bom(), "s.json").timestamp is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bom("1.1"), "s.json: unsupported spec version CycloneDX 1.1 (supported: 1.2, 1.3, 1.4, 1.5, 1.6)"),
        (bom("1.0"), "s.json: unsupported spec version CycloneDX 1.0 (supported: 1.2, 1.3, 1.4, 1.5, 1.6)"),
        (bom("1.7"), "s.json: unsupported spec version CycloneDX 1.7 (supported: 1.2, 1.3, 1.4, 1.5, 1.6)"),
        (json.dumps({"bomFormat": "CycloneDX"}).encode(), "s.json: CycloneDX document has no specVersion"),
        (bom(components=[]), "s.json: SBOM has no components"),
        (
            bom(metadata={"component": {"name": "only-the-product"}}, components=[]),
            "s.json: SBOM has no components",
        ),
        (bom(components={"name": "x"}), "s.json: components is not an array"),
        (bom(components=["x"]), "s.json: components holds an entry that is not an object"),
        (bom(metadata=[]), "s.json: metadata is not an object"),
        (bom(metadata={"tools": "syft"}), "s.json: metadata.tools is neither an array nor an object"),
        (
            bom(metadata={"timestamp": "yesterday"}),
            "s.json: metadata.timestamp is not an ISO 8601 date-time: 'yesterday'",
        ),
        (bom(metadata={"timestamp": 5}), "s.json: metadata.timestamp is not a date-time: 5"),
        (
            b'{"bomFormat": "CycloneDX",\n "specVersion": }',
            "s.json: malformed JSON at line 2, column 17: Expecting value",
        ),
        (b"[1, 2]", "s.json: not a CycloneDX JSON document (the top level is not an object)"),
        (b'{"bomFormat": "SPDX"}', 's.json: not a CycloneDX JSON document (no "bomFormat": "CycloneDX")'),
    ],
)
def test_refusals_name_the_source_and_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(SbomError) as caught:
        READER.read(data, "s.json")
    assert str(caught.value) == message


def test_sniff_looks_at_content() -> None:
    assert READER.sniff(b'  {"bomFormat" : "CycloneDX", "specVersion": "1.5"')
    assert not READER.sniff(b'{"spdxVersion": "SPDX-2.3"}')
    assert not READER.sniff(b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>')
