"""All the entries that name one package, answered per slot of one merged event table.

``matcher.index.AdvisoryIndex`` files advisory entries by package; for each package it meets it
builds one ``RankedEntries``, places each deployed version once (its slot) and shares the answers of a
slot among every version in it. All of this is speed only: the answers are those of
``CompiledAffected.evaluate`` on each entry (tests/matcher/test_match_ranked.py and bench/match.py
check it).
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final

from matcher.ranges.compiled import CompiledAffected
from matcher.ranges.ranked import RankedForm
from matcher.ranges.results import NOT_AFFECTED, RangeResult
from matcher.versions import InvalidVersion, OsvVersions, VersionScheme
from matcher.versions.interface import ChainGuard

#: Where a version lies among the events of one package: ``rank`` alone, or ``(rank, listed)`` when
#: ``versions`` lists of some entries (their indices, ``listed``) name the version; for a package split
#: into parts (``_chain_parts``), the parts' slots, followed by the version when a part has none.
Slot = int | tuple[int, tuple[int, ...]] | tuple[Any, ...]
#: The entries (by index) whose answer for a slot is not NotAffected, with their answers.
Answers = tuple[tuple[int, RangeResult], ...]


class RankedEntries:
    """The compiled entries that name one package, answered per slot of one merged event table.

    Every event and fixed-version position of all the entries goes into one sorted table (one version
    scheme per package, as in all records at hand), and a position is replaced by its rank ``2i + 2``.
    A deployed version is placed once: spelled like an event value, by one dictionary read; otherwise
    parsed and placed by one ``bisect`` (odd rank ``2i + 1``: between two positions). An entry's answer
    depends on the version only through its place among *that entry's* positions (its segment) and
    whether its ``versions`` list names it, so answers are computed once per (entry, segment, listed)
    and a package's answers once per slot; versions in one slot share the very same answer objects.
    The answers are those of ``CompiledAffected.evaluate`` (rank order is the key order);
    tests/matcher/test_match_ranked.py and bench/match.py check it against fresh evaluation.

    Fresh per-entry evaluation (no table) is used where a merged table could differ from it:

    * a version that does not parse (its Unknown reasons name it);
    * a package whose entries use more than one version scheme (none in the data at hand);
    * a scheme whose order is not transitive everywhere (Maven, Packagist with ``#`` words), unless
      its ``chain_guard`` proves the table's keys and the deployed key a chain (then every sort and
      ``bisect`` agree with comparing one by one); otherwise, per version. When the guard refuses the
      package's keys taken together, the entries are split into parts it admits one by one
      (``_chain_parts``), each ranked on its own, and only a part that is refused (an entry alone, or
      the deployed key) is evaluated afresh.
    """

    __slots__ = (
        "_above",
        "_answers",
        "_below",
        "_cuts",
        "_forms",
        "_fresh",
        "_guard",
        "_his",
        "_listed_by",
        "_listing",
        "_los",
        "_parts",
        "_rank_of",
        "_scan_budget",
        "_scan_cost",
        "_scheme",
        "_segments",
        "_string_rank",
        "_table",
        "compiled",
    )

    def __init__(self, compiled: Sequence[CompiledAffected], *, split: bool = True) -> None:
        self.compiled = tuple(compiled)
        self._fresh = False
        self._scheme: VersionScheme | None = None
        self._guard: ChainGuard | None = None
        self._table: list[tuple[Any, ...]] = []
        self._string_rank: dict[str, int] = {}
        self._cuts: tuple[list[int], ...] = ()
        self._segments: tuple[list[RangeResult | None], ...] = ()
        # Per entry, its ``RankedForm`` (``False``: the entry keeps ``evaluate``), built on first use.
        self._forms: list[RankedForm | bool | None] = []
        self._rank_of: dict[int, int] = {}
        self._listing = tuple((i, entry.listed) for i, entry in enumerate(compiled) if entry.listed)
        # Version -> the entries whose ``versions`` list names it, built once scanning the lists has
        # cost a quarter of what building it does (``slot``); costs counted in list lookups.
        self._listed_by: dict[str, tuple[int, ...]] | None = None
        self._scan_budget = sum(len(versions) for _, versions in self._listing) // 4
        self._scan_cost = 0
        self._answers: dict[Slot, Answers] = {}
        # Entries split into parts whose positions the chain guard admits, when it refuses them all
        # together: (the part, the part's entry indices in this table).
        self._parts: list[tuple[RankedEntries, tuple[int, ...]]] | None = None
        found = [entry.positions() for entry in compiled]
        schemes = {name: scheme for positions in found for name, (scheme, _) in positions.items()}
        if len(schemes) > 1:
            self._fresh = True
            return
        # Positions are (0,) for "0", (2,) for "*" limits and (1, key) with the registry's cached key:
        # deduped by that key's identity (no hashing of keys, which is slow for some schemes), then
        # sorted; equal keys of different strings get one rank.
        unique: dict[int, tuple[Any, ...]] = {}
        for positions in found:
            for _, keys in positions.values():
                for pos in keys:
                    unique.setdefault(_identity(pos), pos)
        if schemes:
            (scheme,) = schemes.values()
            self._scheme = scheme
            guard = self._guard = scheme.chain_guard() if isinstance(scheme, OsvVersions) else None
            if guard is not None and not _admits_all(guard, scheme, compiled, unique.values()):
                if split:
                    self._parts = _chain_parts(scheme, compiled, found)
                else:
                    self._fresh = True
                return
        table: list[tuple[Any, ...]] = []
        rank_of: dict[int, int] = {}
        for pos in sorted(unique.values()):
            if not table or table[-1] != pos:
                table.append(pos)
            rank_of[_identity(pos)] = 2 * len(table)
        self._table = table
        self._rank_of = rank_of
        self._forms = [None] * len(compiled)
        self._string_rank = {
            value: rank_of[_identity(pos)] for entry in compiled for value, _, pos in entry.valued_positions()
        }
        # An entry's segment of a rank r: bisect_right(cuts, r) over its positions' ranks p and p + 1,
        # so "below p", "at p" and "between p and the next" are separate segments.
        cuts: list[list[int]] = []
        for positions in found:
            own = sorted({rank_of[_identity(pos)] for _, keys in positions.values() for pos in keys})
            cuts.append([edge for r in own for edge in (r, r + 1)])
        self._cuts = tuple(cuts)
        # Answer per (segment, listed) at index 2 * segment + listed, filled on first use.
        self._segments = tuple([None] * (2 * len(edges) + 2) for edges in cuts)
        # Sides (see ``compute``): a deployed version's rank is never below ``low`` (3 when the table
        # opens with "0", which no version equals; else 0). Entry i keeps one segment for every rank
        # below ``los[i]`` (its first edge above ``low``) and one from ``his[i]`` (its last edge) up.
        low = 3 if table and table[0] == (0,) else 0
        los: list[int] = []
        his: list[int] = []
        below_index: list[int] = []
        for edges in cuts:
            base = bisect_right(edges, low)
            below_index.append(2 * base)
            if base == len(edges):
                los.append(_NEVER)
                his.append(_NEVER)
            else:
                los.append(edges[base])
                his.append(edges[-1])
        self._los = los
        self._his = his
        below = sorted(range(len(cuts)), key=los.__getitem__, reverse=True)
        above = sorted(range(len(cuts)), key=his.__getitem__)
        self._below = _Side(below, [-los[i] for i in below], [below_index[i] for i in below])
        self._above = _Side(above, [his[i] for i in above], [2 * len(cuts[i]) for i in above])

    def slot(self, version: str) -> Slot | None:
        """The version's slot, or ``None`` when it must be evaluated entry by entry (class docstring)."""
        if self._fresh:
            return None
        if self._parts is not None:
            # A part that cannot place the version (``None``) has its entries evaluated afresh; the
            # slot then names the version itself, so nothing is shared with other versions.
            slots = tuple([part.slot(version) for part, _ in self._parts])
            return (*slots, version) if None in slots else slots
        rank = self._string_rank.get(version)
        if rank is None:
            scheme = self._scheme
            if scheme is None:
                rank = 0
            else:
                try:
                    key = scheme.key(version)
                except InvalidVersion:
                    return None
                guard = self._guard
                if guard is not None and not guard.allows(key):
                    return None
                deployed = (1, key)
                table = self._table
                below = bisect_right(table, deployed)
                rank = 2 * below if below and table[below - 1] == deployed else 2 * below + 1
        listing = self._listing
        if not listing:
            return rank
        # The entries (ascending) whose ``versions`` list names the version. A new snapshot asks for
        # one or two versions of a package, a fleet for many: the lists are scanned until that has
        # cost a quarter of building a version -> entries dictionary (a package's lists can name
        # thousands of versions), then the dictionary answers; a fleet pays at most a quarter more.
        listed_by = self._listed_by
        if listed_by is None:
            self._scan_cost += len(listing)
            if self._scan_cost <= self._scan_budget:
                found = [i for i, versions in listing if version in versions]
                return (rank, tuple(found)) if found else rank
            listed_by = self._listed_by = _listed_by(listing)
        listed = listed_by.get(version)
        return rank if listed is None else (rank, listed)

    def answers(self, slot: Slot, version: str) -> Answers:
        """The entries whose answer is not NotAffected at ``slot`` (of ``version``), in entry order."""
        found = self._answers.get(slot)
        if found is None:
            found = self._answers[slot] = self.compute(slot, version)
        return found

    def compute(self, slot: Slot, version: str) -> Answers:
        """``answers`` without keeping the result (for callers that keep their own form of it)."""
        if self._parts is not None:
            assert isinstance(slot, tuple)
            merged: list[tuple[int, RangeResult]] = []
            for (part, indices), part_slot in zip(self._parts, slot, strict=False):
                if part_slot is None:
                    for i, entry in enumerate(part.compiled):
                        fresh = entry.evaluate(version)
                        if fresh is not NOT_AFFECTED:
                            merged.append((indices[i], fresh))
                else:
                    merged.extend((indices[i], result) for i, result in part.compute(part_slot, version))
            merged.sort(key=_first)
            return tuple(merged)
        rank, listed = (slot, ()) if isinstance(slot, int) else slot
        # Entries whose every own position lies at or below the rank (above all of it: one segment
        # each, whatever the rank) and entries whose reachable positions all lie above it (one segment
        # each too) are answered from their side's running list; only the entries the rank falls
        # within are placed with ``bisect``. Each side is a prefix of entries in bound order.
        above = self._above
        below = self._below
        n_above = bisect_right(above.bounds, rank)
        n_below = bisect_left(below.bounds, -rank)
        found = self._side(above, n_above, rank, version) + self._side(below, n_below, rank, version)
        cuts = self._cuts
        los, his = self._los, self._his
        if len(self.compiled) - n_below <= len(self.compiled) - n_above:
            within = [i for i in below.order[n_below:] if his[i] > rank]
        else:
            within = [i for i in above.order[n_above:] if los[i] <= rank]
        if listed:
            found = [item for item in found if item[0] not in listed]
            within = [i for i in within if i not in listed]
        for i in within:
            self._answer(i, 2 * bisect_right(cuts[i], rank), rank, version, found)
        for i in listed:
            self._answer(i, 2 * bisect_right(cuts[i], rank) + 1, rank, version, found)
        found.sort(key=_first)
        return tuple(found)

    def _answer(
        self, i: int, index: int, rank: int, version: str, found: list[tuple[int, RangeResult]]
    ) -> None:
        """Entry i's answer at ``index`` (2 * segment + listed), computed on first use, kept in
        ``found`` unless NotAffected. The first version met in a segment stands for all of it: its
        rank answers through the entry's ``RankedForm`` (the version itself, where there is none)."""
        segments = self._segments[i]
        result = segments[index]
        if result is None:
            form = self._forms[i]
            if form is None:
                rank_of = self._rank_of
                form = self._forms[i] = self.compiled[i].ranked(lambda pos: rank_of[_identity(pos)]) or False
            if form is False:
                result = self.compiled[i].evaluate(version, listed=index % 2 == 1)
            else:
                assert isinstance(form, RankedForm)
                result = form.evaluate(rank, index % 2 == 1)
            segments[index] = result
        if result is not NOT_AFFECTED:
            found.append((i, result))

    def _side(self, side: _Side, count: int, rank: int, version: str) -> list[tuple[int, RangeResult]]:
        """The answers that are not NotAffected among the side's first ``count`` entries (unlisted)."""
        while side.done < count:
            k = side.done
            self._answer(side.order[k], side.index[k], rank, version, side.hits)
            side.done = k + 1
            side.upto.append(len(side.hits))
        return side.hits[: side.upto[count]]

    def evaluate_all(self, version: str) -> list[RangeResult]:
        """``evaluate(version)`` of every entry, in order."""
        slot = self.slot(version)
        if slot is None:
            return [entry.evaluate(version) for entry in self.compiled]
        results: list[RangeResult] = [NOT_AFFECTED] * len(self.compiled)
        for i, result in self.answers(slot, version):
            results[i] = result
        return results


#: A bound no rank reaches (an entry that keeps one segment for every rank).
_NEVER: Final = sys.maxsize


class _Side:
    """Entries in the order one side of ``RankedEntries.compute`` takes them (``bounds`` ascending),
    the answer index each keeps there, and the answers found so far for the first ``done`` of them
    (``upto[k]``: how many of ``hits`` belong to the first k)."""

    __slots__ = ("bounds", "done", "hits", "index", "order", "upto")

    def __init__(self, order: list[int], bounds: list[int], index: list[int]) -> None:
        self.order = order
        self.bounds = bounds
        self.index = index
        self.done = 0
        self.hits: list[tuple[int, RangeResult]] = []
        self.upto = [0]


def _listed_by(listing: Iterable[tuple[int, frozenset[str]]]) -> dict[str, tuple[int, ...]]:
    """Each listed version with the entries (ascending) whose ``versions`` list names it."""
    found: defaultdict[str, list[int]] = defaultdict(list)
    for i, versions in listing:
        for version in versions:
            found[version].append(i)
    return {version: tuple(indices) for version, indices in found.items()}


def _first(item: tuple[int, RangeResult]) -> int:
    return item[0]


def _chain_parts(
    scheme: VersionScheme,
    compiled: Sequence[CompiledAffected],
    found: Sequence[dict[str, tuple[VersionScheme, list[tuple[Any, ...]]]]],
) -> list[tuple[RankedEntries, tuple[int, ...]]]:
    """Entries grouped (first fit, in entry order) so that each group's positions are a chain the
    scheme's guard admits.

    A package whose entries mix forms that do not order as one chain (Maven's ``9.0.0.M1`` beside
    ``10.0.0-M1``) still has entries that do among themselves; each group is ranked on its own and an
    entry's answer comes from its group's table, exact as for any admitted table (class docstring).
    An entry whose own positions are refused is a part of its own, evaluated afresh per version."""
    assert isinstance(scheme, OsvVersions)

    def new_guard() -> ChainGuard:
        guard = scheme.chain_guard()
        assert guard is not None
        return guard

    groups: list[tuple[ChainGuard, list[Any], list[int]]] = []
    # Entries whose own positions are refused: each is a part that evaluates every version afresh.
    alone: list[int] = []
    for i, positions in enumerate(found):
        keys = [pos[1] for _, ks in positions.values() for pos in ks if pos[0] == 1]
        for g, (guard, held, members) in enumerate(groups):
            # ``allows`` leaves the guard as it is; only a conflict among the entry's own keys can
            # still refuse, and then the group's guard is rebuilt from what it held.
            if not all(guard.allows(key) for key in keys):
                continue
            if all(guard.admit(key) for key in keys):
                held.extend(keys)
                members.append(i)
                break
            rebuilt = new_guard()
            for key in held:
                rebuilt.admit(key)
            groups[g] = (rebuilt, held, members)
        else:
            guard = new_guard()
            if all(guard.admit(key) for key in keys):
                groups.append((guard, list(keys), [i]))
            else:
                alone.append(i)
    parts: list[tuple[RankedEntries, tuple[int, ...]]] = []
    for members in [members for _, _, members in groups] + [[i] for i in alone]:
        part = RankedEntries([compiled[i] for i in members], split=False)
        parts.append((part, tuple(members)))
    return parts


def _admits_all(
    guard: ChainGuard,
    scheme: VersionScheme,
    compiled: Sequence[CompiledAffected],
    positions: Iterable[tuple[Any, ...]],
) -> bool:
    """Does the guard admit every position, and every event value's own key?

    Events whose keys compare equal were grouped under one position when their range was compiled,
    so the positions alone can hide a key: Packagist's ``1.2.3.#`` equals both ``1.2.3`` and
    ``1.2.3.1``, and a deployed ``1.2.3.#`` spelled like that event would take the slot of ``1.2.3``.
    The registry caches keys, so asking for each value's key again costs a dictionary read.
    """
    if not all(pos[0] != 1 or guard.admit(pos[1]) for pos in positions):
        return False
    return all(
        guard.admit(scheme.key(value))
        for entry in compiled
        for value, _, pos in entry.valued_positions()
        if pos[0] == 1
    )


def _identity(position: tuple[Any, ...]) -> int:
    """Dedupe key of an event position: its cached version key's identity, or -1/-3 for (0,)/(2,)."""
    return id(position[1]) if position[0] == 1 else -1 - position[0]
