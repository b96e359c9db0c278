"""Text an SBOM may hold (issue 12, items 5 and 6), in every format: a NUL refuses the SBOM, naming the
file and where; a name, version or purl over the limits of ``core.text`` makes that one component not
assessable (``too-long``), kept with its values truncated, while the rest is read as usual."""

from __future__ import annotations

import pytest

from core.errors import SbomError
from core.text import NAME_MAX_BYTES, PURL_MAX_BYTES, VERSION_MAX_BYTES, utf8_length
from ingest.sbom import read_sbom
from tests.ingest.sbom.documents import BUILDERS, cyclonedx_json, cyclonedx_xml

GOOD = ("good", "1.0", "pkg:pypi/good@1.0")

# Where each format's reader says the NUL is: the second component's name.
NUL_IN_NAME = {
    "cyclonedx-json": "sbom: components[1].name contains a NUL character (\\u0000)",
    "spdx-json": "sbom: packages[1].name contains a NUL character (\\u0000)",
    "spdx3": "sbom: @graph[2].name contains a NUL character (\\u0000)",
    "spdx-tag-value": "sbom: line 14 contains a NUL character (\\u0000)",
    # XML cannot write a NUL at all (not even as &#0;): expat refuses the document.
    "cyclonedx-xml": "sbom: malformed XML at line 2, column ",
}


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_a_nul_anywhere_refuses_the_sbom_naming_file_and_field(fmt: str) -> None:
    data = BUILDERS[fmt]([GOOD, ("a\x00b", "1.0", "pkg:pypi/b@1.0")])
    with pytest.raises(SbomError) as refused:
        read_sbom(data, "sbom")
    assert str(refused.value).startswith(NUL_IN_NAME[fmt])


def test_nul_in_a_key_a_purl_and_as_an_xml_character_reference() -> None:
    with pytest.raises(SbomError, match=r"^sbom: components\[0\]\.purl contains a NUL"):
        read_sbom(cyclonedx_json([("a", "1", "pkg:pypi/a\x00@1")]), "sbom")
    keyed = cyclonedx_json([GOOD]).replace(b'"bom-ref"', b'"bom\\u0000ref"')
    with pytest.raises(SbomError, match=r"^sbom: an object key of components\[0\] contains a NUL"):
        read_sbom(keyed, "sbom")
    for reference in (b"&#0;", b"&#x0;", b"&#xD800;"):
        data = cyclonedx_xml([("a-MARK", "1", "pkg:pypi/a@1")]).replace(b"-MARK", reference)
        with pytest.raises(SbomError, match="reference to invalid character number"):
            read_sbom(data, "sbom")


def test_a_lone_surrogate_refuses_the_sbom() -> None:
    data = cyclonedx_json([GOOD]).replace(b'"good"', b'"go\\ud800od"')
    with pytest.raises(SbomError, match=r"components\[0\]\.name contains a lone surrogate \(\\ud800\)"):
        read_sbom(data, "sbom")


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_over_long_values_make_one_component_not_assessable_and_truncated(fmt: str) -> None:
    long_purl = "pkg:npm/" + "p" * 2000 + "@1.0"
    long_name = "n" * 600
    long_version = "9" * 300
    data = BUILDERS[fmt](
        [
            GOOD,
            ("purl-too-long", "1.0", long_purl),
            (long_name, "1.0", "pkg:pypi/named@1.0"),
            ("versioned", long_version, f"pkg:pypi/versioned@{long_version}"),
        ]
    )
    parsed = read_sbom(data, "sbom")
    good, purl, name, version = parsed.components
    assert good.skip_reason is None
    assert [c.skip_reason for c in (purl, name, version)] == ["too-long"] * 3

    assert purl.skip_detail == f"purl is {len(long_purl)} bytes long (UTF-8), more than the limit of 1024"
    assert purl.purl is not None
    assert utf8_length(purl.purl) <= PURL_MAX_BYTES
    assert purl.purl.startswith("pkg:npm/ppp")
    assert purl.purl.endswith("…")
    assert name.skip_detail == "name is 600 bytes long (UTF-8), more than the limit of 512"
    assert utf8_length(name.name) <= NAME_MAX_BYTES
    assert version.skip_detail.startswith("version is 300 bytes long (UTF-8), more than the limit of 256")
    assert version.version is not None
    assert utf8_length(version.version) <= VERSION_MAX_BYTES

    flags = {flag.code: flag for flag in parsed.quality}
    assert flags["component-too-long"].count == 3
    assert flags["component-too-long"].message.startswith("3 of 4 components with a name, version or purl")


def test_a_ten_megabyte_purl_is_cut_without_being_parsed() -> None:
    huge = "pkg:pypi/" + "x" * 10_000_000 + "@1"
    parsed = read_sbom(cyclonedx_json([GOOD, ("huge", "1", huge)]), "sbom")
    kept = parsed.components[1]
    assert kept.skip_reason == "too-long"
    assert kept.purl is not None
    assert utf8_length(kept.purl) <= PURL_MAX_BYTES
