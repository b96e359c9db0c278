"""The extension point for SBOM formats: one ``SbomReader`` per format, one module per reader.

A reader turns the bytes of one document into a format-independent ``core.sbom.ParsedSbom``. It raises
``core.errors.SbomError`` (source first, one line) for anything it cannot or must not read, and never
drops a component it cannot assess: such components carry a ``skip_reason`` instead.

JSON formats also implement ``JsonSbomReader``: ``detect`` must parse a JSON document to tell the formats
apart (the distinguishing key may come last: Trivy writes ``spdxVersion`` at the end of the file), and
handing the parsed object on spares a second ``json.loads`` of a large SBOM.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from core.sbom import ParsedSbom, SbomFormat


@runtime_checkable
class SbomReader(Protocol):
    """Reads one SBOM format."""

    format: SbomFormat

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a document look like this format (content only, never a file name)."""
        ...

    def read(self, data: bytes, source: str) -> ParsedSbom:
        """Read a whole document; ``source`` names it in error messages."""
        ...


@runtime_checkable
class JsonSbomReader(SbomReader, Protocol):
    """A reader of a JSON format, which can also take the document already parsed by ``json.loads``."""

    def accepts(self, document: Mapping[str, Any]) -> bool:
        """Whether a parsed top-level JSON object is a document of this format."""
        ...

    def read_document(self, document: Mapping[str, Any], source: str) -> ParsedSbom:
        """Read an already parsed top-level JSON object."""
        ...
