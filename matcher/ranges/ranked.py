"""One ``affected[]`` entry in rank space: its event and fixed-version positions replaced by their ranks.

``matcher.ranges.table.RankedEntries`` merges the positions of every entry that names one package into
one sorted table and places a deployed version in it once; each entry then answers from the version's
rank alone (``RankedForm``), with integer bisection instead of comparing version keys.
``CompiledAffected.ranked`` builds the form from the compiled entry.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from core.advisories import Event
from matcher.ranges.results import Affected, RangeResult


@dataclass(frozen=True, slots=True)
class RankedRange:
    """One range over ranks: ``ranks`` ascending; for a rank strictly between ``ranks[j-1]`` and
    ``ranks[j]`` the interval's opening event is ``opened_after[j]`` and its closing one
    ``closed_after[j]``; at ``ranks[j]`` they are ``opened_at[j]`` and ``closed_at[j]``."""

    index: int
    ranks: list[int]
    opened_after: tuple[Event | None, ...]
    closed_after: tuple[Event | None, ...]
    opened_at: tuple[Event | None, ...]
    closed_at: tuple[Event | None, ...]
    limit: int | None


class RankedForm:
    """``CompiledAffected.evaluate`` for a version known only by its rank in a merged event table.

    ``matcher.ranges.table.RankedEntries`` places a deployed version once (an even rank: equal to a
    position; odd: between two) and answers each entry from its rank: integer bisection, the
    interval's opening and closing events looked up, fixed versions above the rank sliced — same
    rules, same order of checks and the same answers as evaluating the entry on the version (the
    version parses, and its rank orders against the positions as its key does)."""

    __slots__ = ("_fixed", "_ranges", "_tail")

    def __init__(
        self,
        ranges: tuple[RankedRange, ...],
        fixed: tuple[tuple[list[int], tuple[str, ...]], ...],
        tail: RangeResult,
    ) -> None:
        self._ranges = ranges
        self._fixed = fixed
        self._tail = tail

    def evaluate(self, rank: int, listed: bool) -> RangeResult:
        for rng in self._ranges:
            if rng.limit is not None and rank >= rng.limit:
                continue
            ranks = rng.ranks
            below = bisect_right(ranks, rank)
            if below and ranks[below - 1] == rank:
                opened = rng.opened_at[below - 1]
                closed = rng.closed_at[below - 1]
            else:
                opened = rng.opened_after[below]
                closed = rng.closed_after[below]
            if opened is not None:
                return Affected(rng.index, opened.value, closed, self._fixed_above(rank))
        if listed:
            return Affected(None, None, None, self._fixed_above(rank))
        return self._tail

    def _fixed_above(self, rank: int) -> tuple[str, ...]:
        fixed = self._fixed
        if len(fixed) == 1:
            ranks, values = fixed[0]
            return values[bisect_right(ranks, rank) :]
        above = (value for ranks, values in fixed for value in values[bisect_right(ranks, rank) :])
        return tuple(dict.fromkeys(above))
