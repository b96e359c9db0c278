"""Document history shared by the VEX formats: successive exports of one scope form one document.

The previous export (parsed by the format module into a :class:`TrackingState`) and the new content
decide the next state:

- no previous export: version 1, initial release = current release = ``as_of``;
- same content (same digest): the previous state unchanged — re-exporting gives the same bytes;
- changed content: version + 1 and a revision entry dated ``as_of``.

An ``as_of`` earlier than the previous release is refused: a history must not run backwards.
"""

from __future__ import annotations

from datetime import datetime

from core.errors import InputError
from reports.exports.inputs import Revision, TrackingState
from reports.timeline import utc


def next_tracking(
    previous: TrackingState | None,
    *,
    document_id: str,
    digest: str,
    as_of: datetime,
    summary: str,
) -> TrackingState:
    as_of = utc(as_of, "as_of")
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
