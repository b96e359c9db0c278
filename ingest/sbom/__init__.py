"""SBOM ingestion: bytes of one SBOM document in, one ``core.sbom.ParsedSbom`` with quality flags out.

``read_sbom`` is the entry point: size limit, content-based format detection (``detect``), the format's
reader (one module per format behind ``interface.SbomReader``), then the quality check (``quality``).
Every refusal is a ``core.errors.SbomError`` whose message names the source first.
"""

from __future__ import annotations

from dataclasses import replace

from core.errors import SbomError
from core.sbom import ParsedSbom
from core.settings import DEFAULT_MAX_SBOM_BYTES
from ingest.sbom.detect import READERS, detect, detect_format
from ingest.sbom.interface import JsonSbomReader, SbomReader
from ingest.sbom.quality import assess_quality

__all__ = [
    "READERS",
    "JsonSbomReader",
    "SbomReader",
    "assess_quality",
    "detect_format",
    "read_sbom",
]


def read_sbom(data: bytes, source: str, *, max_bytes: int = DEFAULT_MAX_SBOM_BYTES) -> ParsedSbom:
    """Read one SBOM document of any supported format; ``source`` names it in every error."""
    if len(data) > max_bytes:
        raise SbomError(source, f"file is {len(data)} bytes, over the limit of {max_bytes} bytes")
    parsed = detect(data, source).read(data, source)
    return replace(parsed, quality=assess_quality(parsed))
