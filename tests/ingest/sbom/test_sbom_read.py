"""``read_sbom``: size limit first, then detection, reading and quality flags; and robustness.

The property tests feed random bytes and random JSON shaped like each format: whatever comes in, the
only exception allowed out is ``SbomError``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import SbomError
from core.sbom import ParsedSbom, SbomFormat
from ingest.sbom import read_sbom

SMALL = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"name": "a", "version": "1", "purl": "pkg:npm/a@1"}],
    }
).encode()


def test_result_carries_quality_flags() -> None:
    parsed = read_sbom(SMALL, "small.json")
    assert parsed.format is SbomFormat.CYCLONEDX_JSON
    assert "missing-timestamp" in {f.code for f in parsed.quality}


def test_size_limit_is_checked_before_anything_is_parsed() -> None:
    # Not even JSON: if the size check came later, this would fail as malformed instead.
    with pytest.raises(SbomError) as caught:
        read_sbom(b"x" * 101, "big.json", max_bytes=100)
    assert str(caught.value) == "big.json: file is 101 bytes, over the limit of 100 bytes"
    assert read_sbom(SMALL, "exact.json", max_bytes=len(SMALL)).components


def _outcome(data: bytes) -> ParsedSbom | None:
    """Read, allowing only SbomError out; its message must be one line that starts with the source."""
    try:
        return read_sbom(data, "fuzz")
    except SbomError as error:
        message = str(error)
    assert message.startswith("fuzz: ")
    assert "\n" not in message
    return None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_raise_nothing_but_sbom_error(data: bytes) -> None:
    _outcome(data)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [b"{", b"<", b"SPDXVersion: SPDX-2.3\n", b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5">']
    ),
    st.binary(max_size=256),
)
def test_format_prefixes_with_random_tails_raise_nothing_but_sbom_error(prefix: bytes, tail: bytes) -> None:
    _outcome(prefix + tail)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# Real keys of each format, so the random values land where the readers look.
CDX_KEYS = [
    "metadata",
    "components",
    "tools",
    "component",
    "timestamp",
    "purl",
    "version",
    "name",
    "hashes",
    "licenses",
    "license",
    "supplier",
    "authors",
    "services",
    "vulnerabilities",
    "serialNumber",
]
SPDX_KEYS = [
    "packages",
    "creationInfo",
    "creators",
    "created",
    "externalRefs",
    "referenceType",
    "relationships",
    "documentDescribes",
    "checksums",
    "versionInfo",
    "supplier",
    "SPDXID",
    "licenseConcluded",
]
SPDX3_KEYS = [
    "type",
    "spdxId",
    "@id",
    "creationInfo",
    "specVersion",
    "rootElement",
    "software_packageUrl",
    "externalIdentifier",
    "verifiedUsing",
    "suppliedBy",
    "from",
    "to",
    "relationshipType",
    "created",
]


SYFT_KEYS = [
    "artifacts",
    "source",
    "descriptor",
    "schema",
    "name",
    "version",
    "type",
    "purl",
    "licenses",
    "metadata",
    "target",
    "userInput",
    "digest",
    "originPackage",
    "sourceVersion",
    "spdxExpression",
]
KEYS = {"cdx": CDX_KEYS, "spdx": SPDX_KEYS, "spdx3": SPDX3_KEYS, "syft": SYFT_KEYS}
SYFT_URL = "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.7.json"


def shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    leaf = JSON_VALUES | st.sampled_from(
        [
            "pkg:npm/a@1",
            "SoftwarePackage",
            "software_Package",
            "CreationInfo",
            "3.0.1",
            "2024-01-01T00:00:00Z",
            "SpdxDocument",
            "_:c",
            "purl",
            "deb",
            "apk",
        ]
    )
    return st.recursive(
        leaf,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(keys), children, max_size=5)
        ),
        max_leaves=30,
    )


KEYS = {"cdx": CDX_KEYS, "spdx": SPDX_KEYS, "spdx3": SPDX3_KEYS, "syft": SYFT_KEYS}
SYFT_URL = "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.7.json"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["cdx", "spdx", "spdx3", "syft"]).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.dictionaries(
                st.sampled_from(KEYS[kind]),
                shaped(KEYS[kind]),
                max_size=6,
            ),
        )
    ),
    st.sampled_from(["1.2", "1.5", "1.6", "SPDX-2.3", "SPDX-2.2", "SPDX-2.1", "16.0.7", "3.3.2"]),
)
def test_random_documents_of_each_format_raise_nothing_but_sbom_error(
    kind_and_body: tuple[str, dict[str, Any]], version: str
) -> None:
    kind, body = kind_and_body
    if kind == "cdx":
        body |= {"bomFormat": "CycloneDX", "specVersion": version}
    elif kind == "spdx":
        body |= {"spdxVersion": version}
    elif kind == "syft":
        body |= {"schema": {"version": version, "url": SYFT_URL}}
    else:
        body = {"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": list(body.values())}
    _outcome(json.dumps(body).encode())


def _cdx(fragment: bytes) -> bytes:
    return b'{"bomFormat": "CycloneDX", "specVersion": "1.6", ' + fragment + b"}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0" encoding="foo"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>',
            "f: malformed XML: unknown encoding: foo",
        ),
        (
            b'<?xml version="1.0" encoding="utf-32"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>',
            "f: malformed XML: multi-byte encodings are not supported",
        ),
        (
            _cdx(b'"x": ' + b"1" * 5000),
            "f: malformed JSON: Exceeds the limit (4300 digits) for integer string conversion: "
            "value has 5000 digits",
        ),
        (
            _cdx(b'"metadata": {"timestamp": "9999-12-31T23:59:59-01:00"}, "components": [{"name": "a"}]'),
            "f: metadata.timestamp is out of range: '9999-12-31T23:59:59-01:00'",
        ),
        (
            '{"bomFormat": "CycloneDX"}'.encode("utf-16"),
            "f: unknown SBOM format: UTF-16 text (SBOM files must be UTF-8)",
        ),
        (
            b'{"bomFormat": "CycloneDX", "x": "\xff"}',
            "f: malformed JSON: not UTF-8 text (invalid start byte at byte 33)",
        ),
    ],
)
def test_hostile_inputs_found_by_hand_are_refused_cleanly(data: bytes, message: str) -> None:
    with pytest.raises(SbomError) as caught:
        read_sbom(data, "f")
    assert str(caught.value) == message


def test_non_finite_json_numbers_are_not_versions() -> None:
    parsed = read_sbom(_cdx(b'"components": [{"name": "a", "version": Infinity, "purl": "pkg:npm/a"}]'), "f")
    assert parsed.components[0].version is None
    assert parsed.components[0].skip_reason == "no-version"
