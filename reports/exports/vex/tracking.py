"""Document history shared by the VEX formats: successive exports of one scope form one document.

The previous export (parsed by the format module into a :class:`TrackingState`) and the new content
decide the next state:

- no previous export: version 1, initial release = current release = ``as_of``;
- same content (same digest): the previous state unchanged — re-exporting gives the same bytes;
- changed content: version + 1 and a revision entry dated ``as_of``.

An ``as_of`` earlier than the previous release is refused: a history must not run backwards.

:class:`VexExporter` is what the three VEX formats add to the exporter interface: reading the history
back from a previous export of the same format, so callers need not know which format module does it.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from datetime import datetime
from typing import Any

from core.errors import InputError
from core.time import require_utc
from reports.exports.inputs import Revision, TrackingState, VexInput
from reports.exports.interface import Exporter


class VexExporter(Exporter[VexInput]):
    """A VEX format: each export continues the document history of the previous export of its scope."""

    @abstractmethod
    def read_tracking(self, doc: Any, *, origin: str) -> TrackingState:
        """The history of a previous export of this format, from its parsed JSON."""

    def previous_tracking(self, content: bytes, *, origin: str) -> TrackingState:
        """The history of a previous export given as its bytes; ``origin`` (a file name) leads errors."""
        try:
            doc = json.loads(content)
        except ValueError as exc:
            raise InputError(origin, f"cannot read the previous export: {exc}") from None
        return self.read_tracking(doc, origin=origin)


def next_tracking(
    previous: TrackingState | None,
    *,
    document_id: str,
    digest: str,
    as_of: datetime,
    summary: str,
) -> TrackingState:
    as_of = require_utc(as_of, "as_of")
    if previous is None:
        return TrackingState(document_id, as_of, (Revision(1, as_of, "Initial version. " + summary),), digest)
    if previous.document_id != document_id:
        raise InputError(
            "previous export",
            f"is document {previous.document_id!r}, not {document_id!r} (another organization or scope)",
        )
    if previous.content_digest == digest:
        return previous
    if as_of < previous.current_release:
        raise InputError(
            "previous export",
            f"was released {previous.current_release.isoformat()}, after as_of {as_of.isoformat()}",
        )
    revision = Revision(previous.version + 1, as_of, summary)
    return TrackingState(document_id, previous.initial_release, (*previous.revisions, revision), digest)
