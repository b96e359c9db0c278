"""The advisory-source interface: every source (OSV files, Akrites, CSAF, …) yields the same records.

Modelled on pip-audit's service interface: a source is a small object with a ``name`` and one
generator. What cannot be imported is a value (:class:`Skipped`) that travels with the results, so the
import can count and report it; a source raises :class:`core.errors.AdvisoryError` only when the whole
input is unreadable (a missing directory, a corrupt zip), never for one bad record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from core.advisories import Advisory


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that was not imported, and why.

    ``source_ref`` names where it came from (a file path, ``archive.zip!ID.json``, a URL); ``id`` is the
    record's id when it could be read; ``reason`` is one line without the source_ref in it, so that
    identical reasons can be counted together.
    """

    source_ref: str
    id: str | None
    reason: str


@runtime_checkable
class AdvisorySource(Protocol):
    """A source of advisories. ``records()`` may be called more than once; each call re-reads."""

    name: str

    def records(self) -> Iterator[Advisory | Skipped]:
        """Yield every record of the source, normalized, or skipped with the reason."""
        ...
