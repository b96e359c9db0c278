"""Fleet matching, pure part: advisories indexed by package, one package version matched at a time.

The pipeline keeps every distinct ``(ecosystem, name, version)`` once and matches it once, so this
module only needs to answer "which advisories affect this one package version, and why". Advisories
are indexed by the key deployed packages carry — ``(ecosystem, normalized name)`` after folding the
advisory's ecosystem variants (``matcher.purls.deployed_ecosystem``) — so a lookup touches only the
records that name the package. ``keys_of`` gives the same keys for one advisory, which is how a new or
changed advisory re-matches only the packages it names.

Withdrawn advisories are never indexed: they match nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.advisories import Advisory, AffectedPackage
from core.packages import PackageRef
from matcher.purls import deployed_ecosystem, normalize_name
from matcher.ranges import (
    Affected,
    CompiledAffected,
    RangeResult,
    SchemeLookup,
    Unknown,
    compile_affected,
    default_schemes,
    evaluate,
)
from matcher.versions import InvalidVersion, VersionScheme

PackageKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ``affected[]`` entry of one advisory, filed under the package key it names."""

    advisory_id: str
    affected_index: int
    affected: AffectedPackage


@dataclass(frozen=True, slots=True)
class Hit:
    """The version is affected by ``advisory_id``; ``result`` says by which range and what fixes it."""

    advisory_id: str
    affected_index: int
    result: Affected


@dataclass(frozen=True, slots=True)
class Undetermined:
    """The advisory names the package but the version cannot be evaluated against it (never "safe")."""

    advisory_id: str
    affected_index: int
    reason: Unknown


@dataclass(frozen=True, slots=True)
class PackageMatch:
    package: PackageRef
    hits: tuple[Hit, ...]
    undetermined: tuple[Undetermined, ...]


def key_of(affected: AffectedPackage) -> PackageKey | None:
    """The deployed-package key an ``affected[]`` entry names, or ``None`` if it names none we can meet."""
    if not affected.ecosystem or not affected.name:
        return None
    ecosystem = deployed_ecosystem(affected.ecosystem)
    if ecosystem is None:
        return None
    return (ecosystem, normalize_name(ecosystem, affected.name))


def keys_of(advisory: Advisory) -> frozenset[PackageKey]:
    """Every package key an advisory names: the packages to re-match when it is new or changed."""
    return frozenset(key for affected in advisory.affected if (key := key_of(affected)) is not None)


class RankedEntries:
    """The compiled entries that name one package, with their event positions ranked per scheme.

    Every event and fixed position of the entries goes into one sorted table per version scheme and is
    replaced by its rank, so a version is placed once per package and scheme (one ``bisect`` with the
    scheme's own comparisons) and every range check after that compares integers. The answers are those
    of ``CompiledAffected.evaluate`` (rank order is the key order); bench/match.py checks it on 51k real
    package versions and measured fleet matching ~2x faster.
    """

    __slots__ = ("_by_slot", "_schemes", "_tables", "entries")

    def __init__(self, compiled: Sequence[CompiledAffected]) -> None:
        positions: dict[str, set[tuple[Any, ...]]] = {}
        self._schemes: dict[str, VersionScheme] = {}
        for entry in compiled:
            for name, (scheme, found) in entry.positions().items():
                self._schemes.setdefault(name, scheme)
                positions.setdefault(name, set()).update(found)
        self._tables = {name: sorted(found) for name, found in positions.items()}
        # Entries at even ranks 2, 4, …; a version between two entries gets the odd rank between them.
        ranks = {
            name: {pos: 2 * i + 2 for i, pos in enumerate(table)} for name, table in self._tables.items()
        }
        self.entries = tuple(entry.ranked(lambda scheme, pos: ranks[scheme.name][pos]) for entry in compiled)
        # Answers depend on the version only through its rank per scheme and through the entries whose
        # ``versions`` list names it, so versions between the same two events share one evaluation.
        self._by_slot: dict[tuple[Any, ...], list[RangeResult]] = {}

    def evaluate_all(self, version: str) -> list[RangeResult]:
        """``evaluate(version)`` of every entry, in order."""
        placed: dict[str, tuple[int] | InvalidVersion] = {}
        tables = self._tables

        def at(scheme: VersionScheme) -> tuple[int]:
            name = scheme.name
            rank = placed.get(name)
            if rank is None:
                try:
                    deployed = (1, scheme.key(version))
                except InvalidVersion as exc:
                    rank = exc
                else:
                    table = tables[name]
                    below = bisect_right(table, deployed)
                    rank = (2 * below,) if below and table[below - 1] == deployed else (2 * below + 1,)
                placed[name] = rank
            if isinstance(rank, InvalidVersion):
                raise rank
            return rank

        slot: list[Any] = []
        for scheme in self._schemes.values():
            try:
                slot.append(at(scheme))
            except InvalidVersion:
                # The answers name the version in their reasons: not shared.
                return [entry.evaluate(version, at) for entry in self.entries]
        slot.extend(entry.lists(version) for entry in self.entries)
        key = tuple(slot)
        results = self._by_slot.get(key)
        if results is None:
            results = self._by_slot[key] = [entry.evaluate(version, at) for entry in self.entries]
        return results


class AdvisoryIndex:
    """Advisories by package key. Build once per matching run; lookups are dictionary reads."""

    def __init__(self, advisories: Iterable[Advisory] = ()) -> None:
        self._by_key: defaultdict[PackageKey, list[Candidate]] = defaultdict(list)
        self._ranked: dict[PackageKey, RankedEntries] = {}
        for advisory in advisories:
            self.add(advisory)

    def add(self, advisory: Advisory) -> None:
        if advisory.withdrawn:
            return
        for index, affected in enumerate(advisory.affected):
            key = key_of(affected)
            if key is not None:
                self._by_key[key].append(Candidate(advisory.id, index, affected))
                self._ranked.pop(key, None)

    def ranked(self, key: PackageKey) -> RankedEntries:
        """The candidates of ``key`` compiled and ranked together, on first use: a run compiles only the
        entries of packages it meets."""
        ranked = self._ranked.get(key)
        if ranked is None:
            compiled = [compile_affected(c.affected) for c in self.candidates(key)]
            ranked = self._ranked[key] = RankedEntries(compiled)
        return ranked

    def candidates(self, key: PackageKey) -> Sequence[Candidate]:
        return self._by_key.get(key, ())

    def keys(self) -> frozenset[PackageKey]:
        return frozenset(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)


def match_package(
    index: AdvisoryIndex, package: PackageRef, *, schemes: SchemeLookup = default_schemes
) -> PackageMatch:
    """Evaluate every advisory that names ``package`` against its version."""
    hits: list[Hit] = []
    undetermined: list[Undetermined] = []
    key = (package.ecosystem, package.name)
    candidates = index.candidates(key)
    if not candidates:
        return PackageMatch(package, (), ())
    if schemes is default_schemes:
        results = index.ranked(key).evaluate_all(package.version)
    else:
        results = [evaluate(c.affected, package.version, schemes=schemes) for c in candidates]
    for candidate, result in zip(candidates, results, strict=True):
        if isinstance(result, Affected):
            hits.append(Hit(candidate.advisory_id, candidate.affected_index, result))
        elif isinstance(result, Unknown):
            undetermined.append(Undetermined(candidate.advisory_id, candidate.affected_index, result))
    return PackageMatch(package, tuple(hits), tuple(undetermined))
