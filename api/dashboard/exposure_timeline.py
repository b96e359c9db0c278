"""The exposure page's timeline: the system's snapshots, each marked by what it says about one exposure.

An exposure is one unbroken run of snapshots showing an affected version (a re-introduction opens
another exposure), so its interval alone says what each snapshot of the system was for it: before
``first_seen`` not yet affected, from ``first_seen`` to the last affected snapshot affected, the first
later snapshot the one that closed it (upgraded or removed), later ones after. A system with years of
snapshots would make the strip as long as its history, so snapshots far from the interval are counted,
not drawn: a few around each end of the interval are kept, and a long interval is cut in its middle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from core.time import parse_rfc3339

__all__ = ["MARGIN", "MAX_INSIDE", "Mark", "Strip", "exposure_strip"]

State = Literal["before", "affected", "closed", "after"]
# Snapshots kept before the interval and after its close, and the most drawn inside it.
MARGIN = 3
MAX_INSIDE = 40

LABELS: dict[State, str] = {
    "before": "not affected yet",
    "affected": "affected version deployed",
    "closed": "closed the exposure",
    "after": "after the exposure",
}


@dataclass(frozen=True, slots=True)
class Mark:
    snapshot_id: int
    observed_at: datetime
    state: State
    title: str


@dataclass(frozen=True, slots=True)
class Strip:
    """The marks drawn, with the counts left out before, inside (at ``gap_at``) and after them."""

    marks: list[Mark]
    hidden_before: int
    hidden_inside: int
    gap_at: int  # index in ``marks`` before which the hidden inside snapshots belong
    hidden_after: int
    affected: int  # every affected snapshot, drawn or not


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else parse_rfc3339(str(value))


def _state(observed: datetime, first: datetime, last: datetime, closed: datetime | None) -> State:
    if observed < first:
        return "before"
    if observed <= last:
        return "affected"
    if closed is not None and observed == closed:
        return "closed"
    return "after"


def exposure_strip(snapshots: Sequence[Any], row: dict[str, Any]) -> Strip:
    """The strip of ``snapshots`` (objects with ``id`` and ``observed_at``, any order) for the exposure
    report ``row`` (its ``first_seen``, ``last_affected_seen`` and ``resolved_at``)."""
    first = _moment(row["first_seen"])
    last = _moment(row["last_affected_seen"]) or first
    closed = _moment(row.get("resolved_at"))
    if first is None or last is None:
        return Strip([], len(snapshots), 0, 0, 0, 0)
    ordered = sorted(snapshots, key=lambda s: (s.observed_at, s.id))
    states = [_state(s.observed_at, first, last, closed) for s in ordered]
    before = [i for i, st in enumerate(states) if st == "before"]
    inside = [i for i, st in enumerate(states) if st == "affected"]
    after = [i for i, st in enumerate(states) if st in ("closed", "after")]
    kept_inside = inside
    hidden_inside = 0
    if len(inside) > MAX_INSIDE:
        half = MAX_INSIDE // 2
        kept_inside = inside[:half] + inside[-half:]
        hidden_inside = len(inside) - MAX_INSIDE
    kept_before, kept_after = before[-MARGIN:], after[:MARGIN]
    chosen = kept_before + kept_inside + kept_after
    marks = [
        Mark(
            ordered[i].id,
            ordered[i].observed_at,
            states[i],
            f"snapshot {ordered[i].id}, {ordered[i].observed_at:%Y-%m-%d %H:%M}: {LABELS[states[i]]}",
        )
        for i in chosen
    ]
    gap_at = len(kept_before) + (MAX_INSIDE // 2 if hidden_inside else len(kept_inside))
    return Strip(
        marks,
        hidden_before=len(before) - len(kept_before),
        hidden_inside=hidden_inside,
        gap_at=gap_at,
        hidden_after=len(after) - len(kept_after),
        affected=len(inside),
    )
