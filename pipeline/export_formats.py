"""The export formats the CLI and the API offer, read from the registry without loading any exporter.

``cli`` and ``api`` reach the project through ``pipeline`` only; this module hands them what they need to
build one command and one route per format (``reports.exports.registry``) and the type of what an
export returns. It imports neither the store nor an exporter, so ``patchgap --help`` stays cheap; the
use-case itself is ``pipeline.exports.export``.
"""

from __future__ import annotations

from reports.exports.interface import ExportResult
from reports.exports.registry import FORMATS, ExportFormat, InputKind, commands

__all__ = ["FORMATS", "ExportFormat", "ExportResult", "InputKind", "commands"]
