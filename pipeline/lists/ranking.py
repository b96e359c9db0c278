"""The plan's ranking, kept in the process per plan (organization and filter) as arrays.

A page of the plan needs the order of every action at its moment: each action's score is the sum of
its items' weights times their past-due factors, which move with the moment, so the order cannot be
stored. Ranked by an aggregate statement, every page walked every item of the organization (0.2 s at
10,000 systems on PostgreSQL); here the items' ranking inputs — action, group, weight, due date,
KEV — are kept as arrays, each system's items together, in the order the plan sums an action's weights
(system name, group in code-point order, exposure), and a page computes every action's score at its
moment in a few vectorized passes (``reports.plan.past_due_factors``, ``numpy.bincount``, which adds in array
order): the very floats ``build_plan`` sums, so the order is the in-memory plan's.

A system's block changes only when its list stamp does (``pipeline.lists.exposures.system_stamps``):
after a change of a few systems only their items are read again; the first page of a plan in a
process reads them all.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.kept import keep
from pipeline.lists.exposures import changed_systems, system_stamps
from reports.plan import past_due_factors
from store.db import Database
from store.queries import plan as pq

__all__ = ["Ranking", "ranking"]

# Up to this share of the organization's systems changed, their items are read again and merged into
# the kept ranking; beyond it everything is read again. A KEV entry or an EPSS score changes the items of
# every system with its vulnerability group (14-30 % of the bench's 10,000 systems): merged, the plan's
# next first page takes 0.10-0.15 s, read whole 0.5 s (SQLite).
MERGE_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class _Codes:
    """Actions and groups numbered as they were first read (shared by the rankings merged from one)."""

    actions: list[pq.ActionId] = field(default_factory=list)
    action_codes: dict[pq.ActionId, int] = field(default_factory=dict)
    group_codes: dict[str, int] = field(default_factory=dict)

    def action(self, key: pq.ActionId) -> int:
        code = self.action_codes.get(key)
        if code is None:
            code = self.action_codes[key] = len(self.actions)
            self.actions.append(key)
        return code

    def group(self, name: str) -> int:
        code = self.group_codes.get(name)
        if code is None:
            code = self.group_codes[name] = len(self.group_codes)
        return code


@dataclass(frozen=True, slots=True)
class _Items:
    """Items as columns — their action's and group's codes, weight, due date (microseconds; counted
    where ``has_due``), KEV flag — each system's together and in summing order, the systems in name
    order (``systems``, ``names`` and ``lengths``: one entry per system)."""

    systems: list[int]
    names: list[str]
    lengths: NDArray[np.int64]
    actions: NDArray[np.int64]
    groups: NDArray[np.int64]
    weights: NDArray[np.float64]
    dues: NDArray[np.int64]
    has_due: NDArray[np.bool_]
    kev: NDArray[np.bool_]

    def columns(self) -> tuple[NDArray[Any], ...]:
        return (self.actions, self.groups, self.weights, self.dues, self.has_due, self.kev)

    @classmethod
    def of(cls, rows: Sequence[pq.RankRow], codes: _Codes) -> _Items:
        """The items as read (``store.queries.plan.rank_items``: each system's together, in summing
        order), their systems put in name order."""
        n = len(rows)
        system_ids = np.fromiter((r[0] for r in rows), np.int64, n)
        starts = np.flatnonzero(np.diff(system_ids, prepend=-1)) if n else np.zeros(0, np.int64)
        lengths = np.diff(np.append(starts, n))
        names = [rows[i][1] for i in starts.tolist()]
        by_name = sorted(range(len(starts)), key=names.__getitem__)
        rank = np.empty(len(starts), np.int64)
        rank[by_name] = np.arange(len(starts))
        # Rows ordered by their system's place in name order, each system's own order kept.
        order = np.argsort(np.repeat(rank, lengths), kind="stable")
        dues = [r[5] for r in rows]
        return cls(
            [int(system_ids[starts[i]]) for i in by_name],
            [names[i] for i in by_name],
            lengths[by_name],
            np.fromiter((codes.action(r[2]) for r in rows), np.int64, n)[order],
            np.fromiter((codes.group(r[3]) for r in rows), np.int64, n)[order],
            np.fromiter((r[4] for r in rows), np.float64, n)[order],
            np.fromiter((0 if d is None else d for d in dues), np.int64, n)[order],
            np.fromiter((d is not None for d in dues), np.bool_, n)[order],
            np.fromiter((r[6] for r in rows), np.bool_, n)[order],
        )

    def replaced(self, changed: set[int], fresh: _Items) -> _Items:
        """These items without the changed systems', with ``fresh`` (theirs as read now; a system
        without items any more is not in it) put in their places in name order."""
        where = {sid: i for i, sid in enumerate(self.systems)}
        keep = np.ones(len(self.systems), np.bool_)
        keep[[where[sid] for sid in changed if sid in where]] = False
        kept = keep.tolist()
        systems = [sid for sid, k in zip(self.systems, kept, strict=True) if k]
        names = [name for name, k in zip(self.names, kept, strict=True) if k]
        lengths = self.lengths[keep]
        rows = np.repeat(keep, self.lengths)
        columns = [column[rows] for column in self.columns()]
        # Where each fresh system goes among the kept ones (fresh ones come in name order, so the
        # places do not decrease), and the row its items go before.
        places = [bisect_left(names, name) for name in fresh.names]
        row_starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        before = np.repeat(row_starts[places], fresh.lengths)
        columns = [np.insert(c, before, f) for c, f in zip(columns, fresh.columns(), strict=True)]
        for place, sid, name in reversed(list(zip(places, fresh.systems, fresh.names, strict=True))):
            systems.insert(place, sid)
            names.insert(place, name)
        actions, groups, weights, dues, has_due, kev = columns
        return _Items(
            systems,
            names,
            np.insert(lengths, places, fresh.lengths),
            actions,
            groups,
            weights,
            dues,
            has_due,
            kev,
        )


class Ranking:
    """The ranking inputs of one plan's items, with the list stamp each system's were read under.

    Immutable once made (a change makes a new one, :meth:`merged`), so pages may rank concurrently."""

    __slots__ = ("_earliest", "_kev_count", "_n", "codes", "items", "stamps", "total")

    def __init__(self, stamps: dict[int, str], items: _Items, codes: _Codes) -> None:
        self.stamps, self.items, self.codes = stamps, items, codes
        n = self._n = len(codes.actions)
        self.total = int(np.count_nonzero(np.bincount(items.actions, minlength=n)))
        # KEV vulnerabilities per action: distinct (action, group) pairs among the KEV items.
        width = max(len(codes.group_codes), 1)
        pairs = np.unique(items.actions[items.kev] * width + items.groups[items.kev])
        self._kev_count = np.bincount(pairs // width, minlength=n)
        earliest = np.full(n, pq.NO_DUE, dtype=np.int64)
        np.minimum.at(earliest, items.actions[items.has_due], items.dues[items.has_due])
        self._earliest = earliest

    @classmethod
    def read(cls, rows: Sequence[pq.RankRow], stamps: dict[int, str]) -> Ranking:
        codes = _Codes()
        return cls(stamps, _Items.of(rows, codes), codes)

    def merged(self, changed: set[int], rows: Sequence[pq.RankRow], stamps: dict[int, str]) -> Ranking:
        """This ranking with the changed systems' items replaced by theirs as read (``rows``; a
        system without items any more leaves it) and their stamps by ``stamps``."""
        items = self.items.replaced(changed, _Items.of(rows, self.codes))
        merged = {sid: stamp for sid, stamp in self.stamps.items() if sid not in changed}
        merged.update(stamps)
        return Ranking(merged, items, self.codes)

    def keys(self, moment_us: int) -> list[pq.ActionKey]:
        """Every action's key at the moment, in the plan's order."""
        items, n = self.items, self._n
        factors = past_due_factors(items.dues, items.has_due, moment_us)
        counts = np.bincount(items.actions, minlength=n)
        scores = np.bincount(items.actions, weights=items.weights * factors, minlength=n)
        out: list[pq.ActionKey] = []
        for code in np.flatnonzero(counts).tolist():
            package, version, to_version, ecosystem = self.codes.actions[code]
            out.append(
                (
                    -round(float(scores[code]), 6),
                    -int(self._kev_count[code]),
                    int(self._earliest[code]),
                    package,
                    version,
                    to_version,
                    ecosystem,
                )
            )
        out.sort()
        return out

    def page(
        self, moment_us: int, after: pq.ActionKey | None, offset: int, limit: int | None
    ) -> list[pq.ActionKey]:
        """The keys of the ``limit`` actions (every one: ``None``) after ``after``, skipping ``offset``."""
        keys = self.keys(moment_us)
        start = bisect_right(keys, after) if after is not None else 0
        start += offset
        return keys[start:] if limit is None else keys[start : start + limit]


# (database, organization id, filter) → the plan's kept ranking.
_KEPT: dict[tuple[str, int, pq.PlanFilter], Ranking] = {}
_LOCK = threading.Lock()
#: Plans (organization and filter) a process keeps the ranking of.
KEPT_PLANS = 8


#: Reads the plan's items with upgrade advice (of these systems; ``None``: every one) and the list
#: stamps they were written under (``store.queries.plan.rank_items``, ``stored_stamps``), in one
#: transaction.
Reader = Callable[[Sequence[int] | None], tuple[Sequence[pq.RankRow], dict[int, str]]]


def ranking(db: Database, org_id: int, f: pq.PlanFilter, read: Reader) -> Ranking:
    """The plan's ranking as its items stand for this process's list stamps: the kept one, with the
    systems whose stamps moved read again (all of them when many did, or when none is kept)."""
    stamps = system_stamps(db, org_id)
    key = (str(db.url), org_id, f)
    with _LOCK:
        kept = _KEPT.get(key)
    if kept is not None and stamps is not None:
        changed = changed_systems(kept.stamps, stamps)
        if not changed:
            return kept
        if len(changed) <= MERGE_SHARE * len(stamps):
            rows, fresh = read(sorted(changed))
            with _LOCK:  # the codes are shared with the kept ranking: one merge at a time numbers them
                return keep(_KEPT, key, kept.merged(changed, rows, fresh), KEPT_PLANS)
    found = Ranking.read(*read(None))
    if stamps is not None:
        with _LOCK:
            keep(_KEPT, key, found, KEPT_PLANS)
    return found
