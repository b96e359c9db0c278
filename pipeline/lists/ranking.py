"""The plan's ranking, kept in the process per plan (organization and filter) as arrays.

A page of the plan needs the order of every action at its moment: each action's score is the sum of
its items' weights times their past-due factors, which move with the moment, so the order cannot be
stored. Ranked by an aggregate statement, every page walked every item of the organization (0.2 s at
10,000 systems on PostgreSQL); here the items' ranking inputs — action, group, weight, due date,
KEV — are kept as arrays, one block per system, in the order the plan sums an action's weights (system
name, group in code-point order, exposure), and a page computes every action's score at its moment in
a few vectorized passes (``reports.plan.past_due_factors``, ``numpy.bincount``, which adds in array
order): the very floats ``build_plan`` sums, so the order is the in-memory plan's.

A system's block changes only when its list stamp does (``pipeline.lists.exposures.system_stamps``):
after a change of a few systems only their items are read again; the first page of a plan in a
process reads them all.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlmodel import Session

from core.kept import keep
from pipeline.lists.exposures import changed_systems, system_stamps
from reports.plan import past_due_factors
from store.db import Database
from store.queries import plan as pq

__all__ = ["Ranking", "ranking"]

# Up to this share of the organization's systems changed, their items are read again and merged into
# the kept ranking; beyond it everything is read again.
MERGE_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class _Block:
    """One system's items: its name (blocks are joined in name order) and, per item, its action's and
    group's codes, weight, due date (microseconds; counted where ``has_due``) and KEV flag."""

    name: str
    actions: NDArray[np.int64]
    groups: NDArray[np.int64]
    weights: NDArray[np.float64]
    dues: NDArray[np.int64]
    has_due: NDArray[np.bool_]
    kev: NDArray[np.bool_]


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


def _blocks(rows: Sequence[pq.RankRow], codes: _Codes) -> dict[int, _Block]:
    """The items read (each system's together, in summing order) as blocks by system id."""
    by_system: dict[int, list[pq.RankRow]] = {}
    for row in rows:
        by_system.setdefault(row[0], []).append(row)
    out: dict[int, _Block] = {}
    for system_id, items in by_system.items():
        dues = [r[5] for r in items]
        out[system_id] = _Block(
            items[0][1],
            np.array([codes.action(r[2]) for r in items], dtype=np.int64),
            np.array([codes.group(r[3]) for r in items], dtype=np.int64),
            np.array([r[4] for r in items], dtype=np.float64),
            np.array([0 if d is None else d for d in dues], dtype=np.int64),
            np.array([d is not None for d in dues], dtype=np.bool_),
            np.array([r[6] for r in items], dtype=np.bool_),
        )
    return out


class Ranking:
    """The ranking inputs of one plan's items, with the list stamp each system's were read under.

    Immutable once made (a change makes a new one, :meth:`merged`), so pages may rank concurrently."""

    __slots__ = (
        "_actions",
        "_dues",
        "_earliest",
        "_has_due",
        "_kev_count",
        "_n",
        "_weights",
        "blocks",
        "codes",
        "stamps",
        "total",
    )

    def __init__(self, stamps: dict[int, str], blocks: dict[int, _Block], codes: _Codes) -> None:
        self.stamps, self.blocks, self.codes = stamps, blocks, codes
        ordered = [blocks[sid] for sid in sorted(blocks, key=lambda sid: blocks[sid].name)]

        def joined(name: str, dtype: type) -> NDArray:  # type: ignore[type-arg]
            parts = [getattr(b, name) for b in ordered]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        self._actions = joined("actions", np.int64)
        self._weights = joined("weights", np.float64)
        self._dues = joined("dues", np.int64)
        self._has_due = joined("has_due", np.bool_)
        groups, kev = joined("groups", np.int64), joined("kev", np.bool_)
        n = self._n = len(codes.actions)
        present = np.bincount(self._actions, minlength=n) > 0
        # KEV vulnerabilities per action: distinct (action, group) pairs among the KEV items.
        pairs = np.unique(self._actions[kev] * max(len(codes.group_codes), 1) + groups[kev])
        self._kev_count = np.bincount(pairs // max(len(codes.group_codes), 1), minlength=n)
        earliest = np.full(n, pq.NO_DUE, dtype=np.int64)
        np.minimum.at(earliest, self._actions[self._has_due], self._dues[self._has_due])
        self._earliest = earliest
        self.total = int(present.sum())

    @classmethod
    def read(cls, rows: Sequence[pq.RankRow], stamps: dict[int, str]) -> Ranking:
        codes = _Codes()
        return cls(stamps, _blocks(rows, codes), codes)

    def merged(self, changed: set[int], rows: Sequence[pq.RankRow], stamps: dict[int, str]) -> Ranking:
        """This ranking with the changed systems' blocks replaced by their items as read (``rows``;
        a system without items any more leaves it) and their stamps by ``stamps``."""
        blocks = {sid: b for sid, b in self.blocks.items() if sid not in changed}
        blocks.update(_blocks(rows, self.codes))
        merged = {sid: stamp for sid, stamp in self.stamps.items() if sid not in changed}
        merged.update(stamps)
        return Ranking(merged, blocks, self.codes)

    def keys(self, moment_us: int) -> list[pq.ActionKey]:
        """Every action's key at the moment, in the plan's order."""
        n = self._n
        factors = past_due_factors(self._dues, self._has_due, moment_us)
        counts = np.bincount(self._actions, minlength=n)
        scores = np.bincount(self._actions, weights=self._weights * factors, minlength=n)
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


def ranking(db: Database, session: Session, org_id: int, f: pq.PlanFilter) -> Ranking:
    """The plan's ranking as its items stand for this process's list stamps, read in ``session``: the
    kept one, with the systems whose stamps moved read again (all of them when many did, or when none
    is kept)."""
    stamps = system_stamps(db, org_id)
    key = (str(db.url), org_id, f)
    with _LOCK:
        kept = _KEPT.get(key)
    if kept is not None and stamps is not None:
        changed = changed_systems(kept.stamps, stamps)
        if not changed:
            return kept
        if len(changed) <= MERGE_SHARE * len(stamps):
            moved = sorted(changed)
            rows = pq.rank_items(session, org_id, f, moved)
            read = pq.stored_stamps(session, org_id, moved)
            with _LOCK:  # the codes are shared with the kept ranking: one merge at a time numbers them
                return keep(_KEPT, key, kept.merged(changed, rows, read), KEPT_PLANS)
    found = Ranking.read(pq.rank_items(session, org_id, f), pq.stored_stamps(session, org_id))
    if stamps is not None:
        with _LOCK:
            keep(_KEPT, key, found, KEPT_PLANS)
    return found
