"""SBOM quality flags at ingest: what a deployment SBOM lacks against BSI TR-03183-2 v2.1 and NTIA.

A pure function over a ``ParsedSbom``; the flags are stored with the snapshot and shown by
``patchgap sbom check``. They never reject an SBOM: patchgap's job is to measure what runs, and a thin
SBOM is still better than none. Codes are stable (scripts match on them); messages may change.

Sources of the rules (checked against published summaries of the documents, not invented):
- BSI TR-03183-2 v2.1.0 (2025-08-20): §4 formats (CycloneDX 1.6 or later, SPDX 3.0.1 or later — v2.0.0
  still accepted CycloneDX 1.5 and SPDX 2.2.1; a tool's own format, such as syft JSON, is neither);
  §5.2.1 required SBOM fields (creator of the SBOM, timestamp, SBOM-URI); §5.2.2 required component
  fields (component creator, name, version, licences, hash of the deployable component); vulnerability
  information must not be part of the SBOM.
- NTIA "The Minimum Elements For a Software Bill of Materials" (2021): supplier name, component name,
  version, other unique identifiers, dependency relationship, author of SBOM data, timestamp.
- CISA "2025 Minimum Elements for a SBOM" (public-comment draft, 2025-08-22) adds component hash,
  licence, tool name and generation context.
"""

from __future__ import annotations

from collections.abc import Callable

from core.sbom import Component, ParsedSbom, QualityFlag, SbomFormat
from ingest.sbom.common import INVALID_PURL, TOO_LONG

BSI = "BSI TR-03183-2 v2.1"
NTIA = "NTIA minimum elements"
CISA_2025 = "CISA 2025 minimum elements (draft)"

# BSI TR-03183-2 v2.1 §4: the oldest spec version each format may use.
_MINIMUM_SPEC = {
    SbomFormat.CYCLONEDX_JSON: (1, 6),
    SbomFormat.CYCLONEDX_XML: (1, 6),
    SbomFormat.SPDX_JSON: (3, 0, 1),
    SbomFormat.SPDX_TAG_VALUE: (3, 0, 1),
    SbomFormat.SPDX3_JSONLD: (3, 0, 1),
}


def _version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in version.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _count(components: tuple[Component, ...], missing: Callable[[Component], bool]) -> int:
    return sum(1 for c in components if missing(c))


def assess_quality(parsed: ParsedSbom) -> tuple[QualityFlag, ...]:
    """The quality flags of one SBOM, in a fixed order (document first, then components)."""
    flags: list[QualityFlag] = []

    minimum = _MINIMUM_SPEC.get(parsed.format)
    if minimum is None:
        flags.append(
            QualityFlag(
                "non-standard-format",
                f"{parsed.format.value} is a tool's own format, not CycloneDX or SPDX, the formats {BSI} "
                "accepts",
                reference=f"{BSI} §4",
            )
        )
    elif _version_tuple(parsed.spec_version) < minimum:
        wanted = ".".join(str(p) for p in minimum)
        family = parsed.format.family
        flags.append(
            QualityFlag(
                "outdated-spec",
                f"{family} {parsed.spec_version} is older than {family} {wanted}, the oldest {BSI} accepts",
                reference=f"{BSI} §4",
            )
        )
    if parsed.timestamp is None:
        flags.append(
            QualityFlag(
                "missing-timestamp",
                "the SBOM states no creation time; the upload needs an explicit observation time",
                reference=f"{BSI} §5.2.1; {NTIA} (timestamp)",
            )
        )
    if parsed.serial_number is None:
        flags.append(
            QualityFlag(
                "no-serial-number",
                "the SBOM has no serial number / document namespace to identify it",
                reference=f"{BSI} §5.2.1 (SBOM-URI)",
            )
        )
    if not parsed.authors:
        flags.append(
            QualityFlag(
                "no-author",
                "the SBOM does not say who created it",
                reference=f"{BSI} §5.2.1 (creator of the SBOM); {NTIA} (author of SBOM data)",
            )
        )
    if not parsed.tools:
        flags.append(
            QualityFlag(
                "no-tool",
                "the SBOM does not name the tool that generated it",
                reference=f"{CISA_2025} (tool name)",
            )
        )
    if parsed.subject is None:
        flags.append(
            QualityFlag(
                "no-subject",
                "the SBOM does not name the product it describes (primary component)",
                reference=f"{BSI} (primary component)",
            )
        )
    if parsed.vulnerability_count:
        flags.append(
            QualityFlag(
                "carries-vulnerabilities",
                f"the SBOM carries {parsed.vulnerability_count} vulnerabilities; they belong in a separate "
                "VEX / advisory document and are ignored here",
                count=parsed.vulnerability_count,
                reference=f"{BSI} (no vulnerability information in the SBOM)",
            )
        )

    components = parsed.components
    per_component: list[tuple[str, str, Callable[[Component], bool], str]] = [
        (
            "component-no-purl",
            "without a package URL",
            lambda c: c.purl is None,
            f"{NTIA} (other unique identifiers); {BSI} §5.2 (other unique identifiers)",
        ),
        (
            "component-invalid-purl",
            "with a package URL that does not parse",
            lambda c: c.skip_reason == INVALID_PURL,
            "purl specification",
        ),
        (
            "component-too-long",
            "with a name, version or purl over patchgap's length limits (not assessed, stored truncated)",
            lambda c: c.skip_reason == TOO_LONG,
            "patchgap's limits for stored text (README: untrusted documents)",
        ),
        (
            "component-no-version",
            "without a version",
            lambda c: c.version is None,
            f"{BSI} §5.2.2; {NTIA} (version of the component)",
        ),
        (
            "component-no-supplier",
            "without a supplier",
            lambda c: c.supplier is None,
            f"{BSI} §5.2.2 (component creator); {NTIA} (supplier name)",
        ),
        (
            "component-no-hash",
            "without a hash",
            lambda c: not c.hashes,
            f"{BSI} §5.2.2 (hash of the deployable component); {CISA_2025} (component hash)",
        ),
        (
            "component-no-license",
            "without a licence",
            lambda c: not c.licenses,
            f"{BSI} §5.2.2 (licences); {CISA_2025} (licence)",
        ),
    ]
    for code, what, missing, reference in per_component:
        n = _count(components, missing)
        if n:
            flags.append(
                QualityFlag(code, f"{n} of {len(components)} components {what}", count=n, reference=reference)
            )
    return tuple(flags)
