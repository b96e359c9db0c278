"""VEX statements as every VEX format (OpenVEX, CycloneDX VEX, later CSAF VEX) is read into.

The vocabulary is OpenVEX's: a ``status`` of ``not_affected`` | ``affected`` | ``fixed`` |
``under_investigation`` about one vulnerability in one package (a purl, with a version when the
statement is about that version only). Formats with other words (CycloneDX ``analysis.state``) are
mapped onto these by their reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VexStatus = Literal["not_affected", "affected", "fixed", "under_investigation"]
VEX_STATUSES: tuple[VexStatus, ...] = ("not_affected", "affected", "fixed", "under_investigation")


@dataclass(frozen=True, slots=True)
class VexStatement:
    """One statement: ``vulnerability`` as named (CVE, GHSA, …), ``aliases`` the document adds.

    ``purl`` names the package the statement is about (OpenVEX: the subcomponent when given, else the
    product; CycloneDX: the component an ``affects`` entry points at). ``timestamp`` is RFC 3339 as
    written (the statement's own, else the document's), or ``None``. ``author`` is who the document
    says made it (OpenVEX ``author``, CycloneDX ``metadata.authors``), ``state`` the format's own
    analysis state where it has one finer than ``status`` (CycloneDX ``false_positive``, …).
    """

    vulnerability: str
    purl: str
    status: VexStatus
    aliases: tuple[str, ...] = ()
    justification: str | None = None
    impact_statement: str | None = None
    timestamp: str | None = None
    author: str | None = None
    state: str | None = None
