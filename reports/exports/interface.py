"""The exporter interface: one module per format implements :class:`Exporter` (STYLE.md, pip-audit shape).

An exporter is a pure function from an input record (``reports.exports.inputs``) to bytes: no clock,
no randomness, no I/O. Everything that varies between runs (the export time, the previous document's
history) is part of the input, so the same input always gives byte-identical output — which is what
lets an auditor re-run an export and compare hashes.

``reports.exports.registry`` names every format and the module that implements it; the helpers below
(one JSON serialization, content digests, slugs, short ids and file names) are what the formats share.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from core.errors import InputError

InputT = TypeVar("InputT")


class ExportError(InputError):
    """The input cannot be exported in this format (the format is named first)."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    format: str
    filename: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class Exporter(ABC, Generic[InputT]):
    """One export format. Subclasses set the class attributes and implement :meth:`render`."""

    format: ClassVar[str]  # the CLI/API name: "csaf-vex", "cra-register" …
    media_type: ClassVar[str]
    extension: ClassVar[str]  # with the dot: ".json"

    @abstractmethod
    def render(self, data: InputT) -> bytes:
        """The document's bytes; raises :class:`ExportError` when the input cannot form a valid one."""

    def export(self, data: InputT, *, basename: str) -> ExportResult:
        return ExportResult(self.format, basename + self.extension, self.media_type, self.render(data))

    def fail(self, problem: str) -> ExportError:
        return ExportError(self.format, problem)


def json_bytes(document: Any) -> bytes:
    """The one JSON serialization of every export: 2-space indent, UTF-8, trailing newline.

    Keys keep their insertion order (the formats' conventional order reads better than sorted keys);
    the builders insert them deterministically.
    """
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def content_digest(document: Any) -> str:
    """sha256 of a canonical form (sorted keys, no whitespace) of a document's content."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def slug(text: str) -> str:
    """Lower-case letters, digits and single dashes: safe in ids, file names and URNs."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def short_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:12]


def basename(stem: str, organization: str, system: str | None, as_of: datetime) -> str:
    """The file name of an export without its extension: ``<org>[-<system>]-<stem>-<as_of>``.

    ``as_of`` is expected in UTC (the use-cases pass it so); the name then sorts by time within a scope.
    """
    scope = slug(organization) + (f"-{slug(system)}" if system else "")
    return f"{scope}-{stem}-{as_of.strftime('%Y%m%dT%H%M%SZ')}"
