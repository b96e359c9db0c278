"""Small SBOMs of every format with components ``(name, version, purl)`` of any text, for the tests of
what text patchgap stores (issue 12, items 5 and 6): a NUL written the way each format writes it, values
longer than the limits."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

Components = Sequence[tuple[str, str, str]]
TIMESTAMP = "2024-01-01T00:00:00Z"


def cyclonedx_json(components: Components) -> bytes:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"timestamp": TIMESTAMP, "component": {"type": "application", "name": "app"}},
            "components": [
                {"type": "library", "name": n, "version": v, "purl": p, "bom-ref": f"c{i}"}
                for i, (n, v, p) in enumerate(components)
            ],
        }
    ).encode()


def cyclonedx_xml(components: Components) -> bytes:
    """Text is escaped as XML escapes it; a NUL goes in as it is (XML has no way to write one)."""
    items = "".join(
        f'<component type="library" bom-ref="c{i}"><name>{escape(n)}</name><version>{escape(v)}</version>'
        f"<purl>{escape(p)}</purl></component>"
        for i, (n, v, p) in enumerate(components)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">'
        f"<metadata><timestamp>{TIMESTAMP}</timestamp></metadata><components>{items}</components></bom>"
    ).encode()


def spdx_json(components: Components) -> bytes:
    return json.dumps(
        {
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "app",
            "documentNamespace": "https://example.com/app",
            "creationInfo": {"created": TIMESTAMP, "creators": ["Tool: test-1.0"]},
            "packages": [
                {
                    "SPDXID": f"SPDXRef-{i}",
                    "name": n,
                    "versionInfo": v,
                    "externalRefs": [
                        {
                            "referenceCategory": "PACKAGE-MANAGER",
                            "referenceType": "purl",
                            "referenceLocator": p,
                        }
                    ],
                }
                for i, (n, v, p) in enumerate(components)
            ],
        }
    ).encode()


def spdx_tag_value(components: Components) -> bytes:
    """Tag-value is plain UTF-8 text: a NUL goes in as the byte it is."""
    lines = [
        "SPDXVersion: SPDX-2.3",
        "DataLicense: CC0-1.0",
        "SPDXID: SPDXRef-DOCUMENT",
        "DocumentName: app",
        "DocumentNamespace: https://example.com/app",
        "Creator: Tool: test-1.0",
        f"Created: {TIMESTAMP}",
    ]
    for i, (n, v, p) in enumerate(components):
        lines += [
            "",
            f"PackageName: {n}",
            f"SPDXID: SPDXRef-{i}",
            f"PackageVersion: {v}",
            f"ExternalRef: PACKAGE-MANAGER purl {p}",
        ]
    return ("\n".join(lines) + "\n").encode()


def spdx3(components: Components) -> bytes:
    return json.dumps(
        {
            "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
            "@graph": [
                {"@id": "_:ci", "type": "CreationInfo", "specVersion": "3.0.1", "created": TIMESTAMP},
                *(
                    {
                        "type": "software_Package",
                        "spdxId": f"urn:c{i}",
                        "creationInfo": "_:ci",
                        "name": n,
                        "software_packageVersion": v,
                        "software_packageUrl": p,
                    }
                    for i, (n, v, p) in enumerate(components)
                ),
            ],
        }
    ).encode()


Builder = Callable[[Components], bytes]
BUILDERS: dict[str, Builder] = {
    "cyclonedx-json": cyclonedx_json,
    "cyclonedx-xml": cyclonedx_xml,
    "spdx-json": spdx_json,
    "spdx-tag-value": spdx_tag_value,
    "spdx3": spdx3,
}
