"""Every export format, one registry line each: its names, its input, its words, and where it lives.

The CLI's ``patchgap export …`` commands and the API's ``/api/v1/exports/…`` routes are made by iterating
:data:`FORMATS`, and ``pipeline.exports`` gathers the input a format's ``input`` names, then calls the
exporter. Nothing here imports an exporter: the registry is read whenever ``patchgap --help`` runs or
the API starts, while the exporters pull in cyclonedx-python-lib, fpdf2 and the like. A format's module
is imported by :meth:`ExportFormat.load`, when a document is made.

Adding a format: one module with an :class:`~reports.exports.interface.Exporter` subclass (under ``vex/``
for a VEX format) and one line below. Its ``input`` says which input record the pipeline gathers, and so
which options the CLI and the API offer:

- ``vex``: :class:`~reports.exports.inputs.VexInput`, one system or the whole organization as of a
  moment, continuing the history of a previous export; the exporter is a
  :class:`~reports.exports.vex.tracking.VexExporter`;
- ``cra``: :class:`~reports.exports.inputs.CraInput`, the CRA register of a manufacturer as of a moment;
- ``evidence``: :class:`~reports.exports.inputs.EvidenceInput`, a period ``from`` .. ``to``;
- ``ciso``: :class:`~reports.exports.inputs.CisoInput`, the organization as of a moment.

Formats sharing a ``command`` are renderings of one document: one CLI command and one route, which pick a
rendering by its ``variant`` (``--format csv`` / ``?format=csv``); the first one listed is the default.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.errors import InputError

if TYPE_CHECKING:
    from reports.exports.interface import Exporter

InputKind = Literal["vex", "cra", "evidence", "ciso"]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One format. ``name``, ``media_type`` and ``extension`` repeat the exporter class's attributes so
    that they are known without importing it (a test holds them equal)."""

    name: str  # the exporter's format: "csaf-vex", "cra-register-csv"
    input: InputKind
    exporter: str  # "module:Class", imported by load()
    media_type: str
    extension: str  # with the dot
    title: str  # a short human name; the API operation's summary
    help: str = ""  # the CLI command's help
    description: str = ""  # the API operation's description
    document: str = ""  # what the body is: the API's description of a 200 answer
    command: str = ""  # the CLI command and the API route; default: name
    variant: str = ""  # the --format / ?format= value choosing this rendering of its command
    variant_help: str = ""  # how the CLI's --format help names the variant; default: variant
    stem: str = ""  # the file name's format part; default: the command
    operation: str = ""  # the API operation's name (its OpenAPI operationId starts with it)

    @property
    def command_name(self) -> str:
        return self.command or self.name

    @property
    def file_stem(self) -> str:
        return self.stem or self.command_name

    @property
    def operation_name(self) -> str:
        return self.operation or "export_" + self.command_name.replace("-", "_")

    def load(self) -> Exporter[Any]:
        """The exporter, its module imported now (and its dependencies with it)."""
        module, _, attribute = self.exporter.partition(":")
        exporter: Exporter[Any] = getattr(importlib.import_module(module), attribute)()
        return exporter


_VEX_SCOPE = "of the organization or one system."

FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat(
        "csaf-vex",
        "vex",
        "reports.exports.vex.csaf:CsafVexExporter",
        "application/csaf+json",
        ".json",
        "CSAF 2.0 VEX",
        help="Write the csaf-vex document of an organization or one system.",
        description=f"The CSAF 2.0 VEX document (csaf_vex profile) {_VEX_SCOPE}",
        document="The CSAF 2.0 VEX document.",
    ),
    ExportFormat(
        "cyclonedx-vex",
        "vex",
        "reports.exports.vex.cyclonedx:CycloneDxVexExporter",
        "application/vnd.cyclonedx+json; version=1.6",
        ".cdx.json",
        "CycloneDX 1.6 VEX",
        help="Write the cyclonedx-vex document of an organization or one system.",
        description=f"The CycloneDX 1.6 BOM with vulnerabilities (VEX) {_VEX_SCOPE}",
        document="The CycloneDX 1.6 VEX document.",
    ),
    ExportFormat(
        "openvex",
        "vex",
        "reports.exports.vex.openvex:OpenVexExporter",
        "application/json",
        ".openvex.json",
        "OpenVEX 0.2.0",
        help="Write the openvex document of an organization or one system.",
        description=f"The OpenVEX 0.2.0 document {_VEX_SCOPE}",
        document="The OpenVEX 0.2.0 document.",
    ),
    ExportFormat(
        "cra-register",
        "cra",
        "reports.exports.cra_register:CraRegisterExporter",
        "application/json",
        ".cra.json",
        "CRA Article 14 register",
        help="The CRA Article 14 register of a manufacturer organization "
        "(`patchgap orgs set ORG --manufacturer`).",
        description="Exploited vulnerabilities present in the organization's products with the Article 14 "
        "deadlines\n(400 when the organization is not marked as a manufacturer: "
        "``patchgap orgs set ORG --manufacturer``).",
        document="The register as JSON (valid against the shipped JSON Schema, "
        "reports/exports/schemas/cra_register.schema.json) or CSV.",
        variant="json",
        variant_help="json (schema-valid)",
        operation="cra",
    ),
    ExportFormat(
        "cra-register-csv",
        "cra",
        "reports.exports.cra_register:CraRegisterCsvExporter",
        "text/csv",
        ".cra.csv",
        "CRA Article 14 register (CSV)",
        command="cra-register",
        variant="csv",
    ),
    ExportFormat(
        "nis2-evidence",
        "evidence",
        "reports.exports.nis2_evidence:Nis2EvidenceExporter",
        "application/zip",
        ".zip",
        "NIS2 evidence pack",
        help="The NIS2 evidence pack (zip with MANIFEST.sha256) for the period --from .. --to.",
        description="The NIS2 vulnerability-handling evidence pack for the period ``from`` .. ``to`` "
        "(deterministic).",
        document="A zip with the reports, sources and MANIFEST.sha256.",
        operation="nis2",
    ),
    ExportFormat(
        "report-pdf",
        "ciso",
        "reports.exports.ciso_report:CisoPdfExporter",
        "application/pdf",
        ".pdf",
        "CISO report (PDF)",
        help="The CISO overview report as PDF.",
        description="The dashboard's overview as a printable PDF "
        "(survival curve, trend, SLA, worst systems).",
        document="The CISO overview as PDF.",
        stem="report",
        operation="report_pdf",
    ),
    ExportFormat(
        "report-html",
        "ciso",
        "reports.exports.ciso_report:CisoHtmlExporter",
        "text/html; charset=utf-8",
        ".html",
        "CISO report (HTML)",
        help="The CISO overview report as printable HTML.",
        description="The dashboard's overview as one self-contained, printable HTML page.",
        document="The CISO overview as one printable HTML page.",
        stem="report",
        operation="report_html",
    ),
)


def names() -> tuple[str, ...]:
    return tuple(f.name for f in FORMATS)


def get(name: str) -> ExportFormat:
    """The format named ``name``; an :class:`InputError` listing the known names otherwise."""
    for f in FORMATS:
        if f.name == name:
            return f
    raise InputError("export", f"unknown format {name!r}; one of {', '.join(names())}")


def commands() -> Mapping[str, tuple[ExportFormat, ...]]:
    """The CLI commands / API routes in registry order, each with its formats (the default first)."""
    out: dict[str, tuple[ExportFormat, ...]] = {}
    for f in FORMATS:
        out[f.command_name] = (*out.get(f.command_name, ()), f)
    return out


def choose(command: str, variant: str | None = None) -> ExportFormat:
    """The format of ``command`` whose variant is ``variant`` (None: the command's default format)."""
    formats = commands().get(command)
    if formats is None:
        raise InputError("export", f"unknown format {command!r}; one of {', '.join(commands())}")
    if variant is None:
        return formats[0]
    for f in formats:
        if f.variant == variant:
            return f
    choices = ", ".join(f.variant for f in formats if f.variant)
    if not choices:
        raise InputError(command, f"unknown format {variant!r}; this export has one rendering only")
    raise InputError(command, f"unknown format {variant!r}; one of {choices}")
