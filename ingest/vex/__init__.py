"""VEX readers: OpenVEX and CycloneDX VEX documents (JSON) into :class:`core.vex.VexStatement` records.

``read_vex`` tells the format from the document itself (an OpenVEX ``@context``, a CycloneDX
``bomFormat``) and hands it to the reader of that format; every error names the source first.
"""

from __future__ import annotations

from typing import Any

from core.errors import InputError
from core.jsondoc import JsonDocumentError, parse_json
from core.vex import VexStatement
from ingest.vex.cyclonedx import read_cyclonedx_vex
from ingest.vex.openvex import read_openvex

__all__ = ["read_cyclonedx_vex", "read_openvex", "read_vex"]


def load_json(data: bytes, source: str) -> Any:
    try:
        return parse_json(data)
    except JsonDocumentError as exc:
        raise InputError(source, exc.explain("not JSON")) from None


def read_vex(data: bytes, source: str) -> list[VexStatement]:
    """The statements of an OpenVEX or CycloneDX VEX JSON document."""
    document = load_json(data, source)
    if isinstance(document, dict) and str(document.get("@context", "")).startswith("https://openvex.dev/ns"):
        return read_openvex(document, source)
    if isinstance(document, dict) and document.get("bomFormat") == "CycloneDX":
        return read_cyclonedx_vex(document, source)
    raise InputError(source, "neither an OpenVEX document (@context) nor a CycloneDX BOM (bomFormat)")
