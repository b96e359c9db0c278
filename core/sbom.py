"""Records an SBOM reader produces: one ``ParsedSbom`` per document, format-independent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SbomFormat(StrEnum):
    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SPDX_JSON = "spdx-json"
    SPDX_TAG_VALUE = "spdx-tag-value"
    SPDX3_JSONLD = "spdx3-jsonld"
    # syft's own JSON (``syft -o json``), which Grype reads: a tool's format, not a standard.
    SYFT_JSON = "syft-json"

    @property
    def family(self) -> str:
        """The name people know the format by: ``CycloneDX``, ``SPDX`` or ``syft``."""
        return _FAMILIES[self]


_FAMILIES = {
    SbomFormat.CYCLONEDX_JSON: "CycloneDX",
    SbomFormat.CYCLONEDX_XML: "CycloneDX",
    SbomFormat.SPDX_JSON: "SPDX",
    SbomFormat.SPDX_TAG_VALUE: "SPDX",
    SbomFormat.SPDX3_JSONLD: "SPDX",
    SbomFormat.SYFT_JSON: "syft",
}


@dataclass(frozen=True, slots=True)
class Hash:
    algorithm: str
    value: str


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    version: str | None = None
    vendor: str | None = None


@dataclass(frozen=True, slots=True)
class Component:
    """One component as the SBOM states it.

    ``purl`` is the package URL string as found (whitespace stripped) or ``None``. ``skip_reason`` is set
    by the reader when the component cannot be assessed at all (no purl, a purl that does not parse, no
    version, a value over the length limits of ``core.text``); such components are kept and counted, never
    dropped. ``skip_detail`` says more where the reason alone does not (which value is too long); a
    component over the limits carries its values truncated to them.
    """

    name: str
    version: str | None
    purl: str | None
    bom_ref: str | None = None
    type: str | None = None
    supplier: str | None = None
    hashes: tuple[Hash, ...] = ()
    licenses: tuple[str, ...] = ()
    skip_reason: str | None = None
    # The distribution source package, when the SBOM states it outside the purl (trivy's SPDX
    # ``sourceInfo: "built package from: util-linux 2.36.1-8+deb11u1"``): advisories name source packages.
    source_name: str | None = None
    source_version: str | None = None
    skip_detail: str = ""


@dataclass(frozen=True, slots=True)
class QualityFlag:
    """One finding of the SBOM quality check (BSI TR-03183-2 v2.1, NTIA minimum elements).

    ``code`` is stable (scripts match on it), ``count`` the number of components concerned where that
    makes sense, ``reference`` the rule it comes from.
    """

    code: str
    message: str
    count: int | None = None
    reference: str = ""


@dataclass(frozen=True, slots=True)
class ParsedSbom:
    format: SbomFormat
    spec_version: str
    serial_number: str | None
    timestamp: datetime | None
    subject: Component | None
    tools: tuple[Tool, ...]
    components: tuple[Component, ...]
    vulnerability_count: int = 0
    authors: tuple[str, ...] = ()
    quality: tuple[QualityFlag, ...] = field(default=())

    @property
    def not_assessable(self) -> tuple[Component, ...]:
        return tuple(c for c in self.components if c.skip_reason is not None)
