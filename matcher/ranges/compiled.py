"""One OSV ``affected[]`` entry compiled for many evaluations, and ``evaluate`` for one.

The rules are those of the OSV schema, as ``matcher.ranges`` describes them. Every event is parsed
with the range's version scheme and sorted once; the schema's walk over the sorted events is done
once too, so evaluating a version is a ``bisect`` and a few lookups.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from core.advisories import AffectedPackage, AffectedRange, Event
from matcher.ranges.ranked import RankedForm, RankedRange
from matcher.ranges.results import (
    GIT_ONLY,
    INVALID_EVENT,
    INVALID_VERSION,
    NO_VERSIONS,
    NOT_AFFECTED,
    UNSUPPORTED_ECOSYSTEM,
    UNSUPPORTED_RANGE,
    Affected,
    RangeResult,
    Unknown,
)
from matcher.versions import InvalidVersion, OsvVersions, VersionScheme, scheme_for

#: Finds the version scheme of an OSV ecosystem (suffix allowed), or ``None`` when we have none.
SchemeLookup = Callable[[str], VersionScheme | None]

#: The pseudo-ecosystem under which the registry keeps SemVer 2.0, used for every SEMVER range.
SEMVER: Final = "SemVer"

_SEMVER_SCHEME: Final = OsvVersions("semver")


def default_schemes(ecosystem: str) -> VersionScheme | None:
    """The registry in ``matcher.versions``, plus SemVer 2.0 under the name ``SEMVER`` for SEMVER ranges."""
    return _SEMVER_SCHEME if ecosystem == SEMVER else scheme_for(ecosystem)


def evaluate(
    affected: AffectedPackage, version: str, *, schemes: SchemeLookup = default_schemes
) -> RangeResult:
    """Is ``version`` of ``affected``'s package affected? See ``matcher.ranges`` for the rules.

    For many versions against one entry, ``compile_affected`` once and call ``evaluate`` on the result.
    """
    return compile_affected(affected, schemes=schemes).evaluate(version)


@dataclass(frozen=True, slots=True)
class _CompiledRange:
    """One SEMVER/ECOSYSTEM range with its events keyed and sorted once (``problem``: cannot evaluate)."""

    index: int
    scheme: VersionScheme | None
    problem: Unknown | None
    ordered: tuple[tuple[tuple[Any, ...], dict[str, Event]], ...]
    # The event positions, strictly ascending (``bisect`` finds a version's place in log n comparisons).
    positions: tuple[tuple[Any, ...], ...] = ()
    # ``opened_after[k]``: the opening event of the interval open after every event group below ``k``
    # has been passed from above (``None``: not affected there). The schema's walk, done once.
    opened_after: tuple[Event | None, ...] = (None,)
    # Below any one ``limit`` is enough, so the highest bounds the range; ``None``: no limit.
    limit: tuple[Any, ...] | None = None


class CompiledAffected:
    """An ``affected[]`` entry prepared for many evaluations: every event parsed and sorted once.

    Fleet matching evaluates each entry against many package versions; keying and sorting the events
    on every call was most of the cost (profiled in ``bench/match.py``). The answers are exactly those
    of evaluating the entry afresh: same rules, same order of checks, same reason codes.
    """

    __slots__ = ("_fixed_ranges", "_fixed_schemes", "_fixed_sorted", "_listed", "_ranges", "affected")

    def __init__(self, affected: AffectedPackage, schemes: SchemeLookup = default_schemes) -> None:
        self.affected = affected
        self._listed = frozenset(affected.versions)
        ranges: list[_CompiledRange] = []
        # Fixed values per range (scheme, values in record order, values that do not parse), and per
        # scheme every parseable fixed value sorted once: ``fixed_versions`` on each hit, without parsing.
        fixed_ranges: list[tuple[VersionScheme | None, tuple[str, ...], tuple[str, ...]]] = []
        fixed_keyed: dict[int, list[tuple[Any, str]]] = {}
        self._fixed_schemes: dict[int, VersionScheme] = {}
        for index, rng in enumerate(affected.ranges):
            if rng.type == "GIT":
                continue
            scheme_or_unknown = _scheme_for_range(affected, rng, schemes)
            values = tuple(event.value for event in rng.events if event.kind == "fixed")
            if isinstance(scheme_or_unknown, Unknown):
                ranges.append(_CompiledRange(index, None, scheme_or_unknown, ()))
                fixed_ranges.append((None, values, ()))
                continue
            ranges.append(_compile_range(index, rng, scheme_or_unknown))
            invalid: list[str] = []
            keyed = fixed_keyed.setdefault(id(scheme_or_unknown), [])
            self._fixed_schemes[id(scheme_or_unknown)] = scheme_or_unknown
            for value in values:
                try:
                    # In the events' key space, (1, key), so one deployed key serves ranges and fixes.
                    keyed.append(((1, scheme_or_unknown.key(value)), value))
                except InvalidVersion:
                    invalid.append(value)
            fixed_ranges.append((scheme_or_unknown, values, tuple(invalid)))
        self._ranges = tuple(ranges)
        self._fixed_ranges = tuple(fixed_ranges)
        self._fixed_sorted: dict[int, tuple[tuple[Any, ...], tuple[str, ...]]] = {}
        for group, pairs in fixed_keyed.items():
            # Stable sort: ties keep record order, as before. Equal values have equal keys, so a value's
            # copies are all above a version or none is: dropping repeats here is the same as after.
            first: dict[str, Any] = {}
            for key, value in sorted(pairs, key=_first):
                first.setdefault(value, key)
            ordered = list(first.items())
            self._fixed_sorted[group] = (
                tuple(key for _, key in ordered),
                tuple(value for value, _ in ordered),
            )

    def evaluate(self, version: str, *, listed: bool | None = None) -> RangeResult:
        """Is ``version`` affected? Same answer as ``matcher.ranges.evaluate`` on the entry.

        ``listed``: whether the ``versions`` list names ``version``, when the caller already knows.
        """
        at = _deployed_at(version)
        affected = self.affected
        unknown: Unknown | None = None
        evaluable = 0
        for compiled in self._ranges:
            scheme = compiled.scheme
            if scheme is None:
                unknown = unknown or compiled.problem
                continue
            try:
                deployed = at(scheme)
            except InvalidVersion as exc:
                unknown = unknown or Unknown(
                    INVALID_VERSION, f"{version!r} is not a {scheme.name} version ({exc})"
                )
                continue
            if compiled.problem is not None:
                unknown = unknown or compiled.problem
                continue
            evaluable += 1
            opened = _opening_event(compiled, deployed)
            if opened is not None:
                return Affected(
                    range_index=compiled.index,
                    introduced=opened.value,
                    boundary=_closing_event(compiled, deployed),
                    fixed_versions=self._fixed_above(at),
                )
        if version in self._listed if listed is None else listed:
            return Affected(None, None, None, self._fixed_above(at))
        if unknown is not None:
            return unknown
        if evaluable:
            return NOT_AFFECTED
        if affected.versions:
            # GIT ranges (or none) beside an enumerated list: the list is the whole answer.
            return NOT_AFFECTED
        if affected.ranges:
            return Unknown(GIT_ONLY, "only GIT commit ranges and no enumerated versions")
        return Unknown(NO_VERSIONS, "the advisory lists neither ranges nor versions for this package")

    def _fixed_above(self, at: _DeployedKey) -> tuple[str, ...]:
        """Fixed versions above the deployed one, ascending per scheme; ones that cannot be ordered
        (their range has no scheme, the value or the deployed version does not parse) come last.

        SEMVER and ECOSYSTEM ranges of one entry may use different schemes whose keys do not compare
        with each other, so each scheme's values are sorted on their own (at compile time), in the
        order the ranges appear."""
        if not self._fixed_ranges:
            return ()
        unordered: list[str] = []
        deployed_keys: dict[int, Any] = {}
        for scheme, values, invalid in self._fixed_ranges:
            if scheme is None:
                unordered.extend(values)
                continue
            group = id(scheme)
            if group not in deployed_keys:
                try:
                    deployed_keys[group] = at(scheme)
                except InvalidVersion:
                    deployed_keys[group] = None
            if deployed_keys[group] is None:
                unordered.extend(values)
                continue
            unordered.extend(invalid)
        above: list[str] = []
        for group, deployed in deployed_keys.items():
            if deployed is not None:
                keys, values = self._fixed_sorted[group]
                if len(deployed_keys) == 1 and not unordered:
                    return values[bisect_right(keys, deployed) :]  # the common case: one scheme
                above.extend(values[bisect_right(keys, deployed) :])
        ordered = _unique(above)
        return ordered + tuple(value for value in _unique(unordered) if value not in ordered)

    def positions(self) -> dict[str, tuple[VersionScheme, list[tuple[Any, ...]]]]:
        """Every event and fixed-version position of this entry, by scheme name (repeats possible).

        Schemes of ranges that could not be compiled are listed too, with no position: the version is
        still checked against them (an invalid version is reported before a broken event). Lists, not
        sets: some schemes' keys hash coarsely (Packagist), so callers dedupe as suits them.
        """
        found: dict[str, tuple[VersionScheme, list[tuple[Any, ...]]]] = {}
        for compiled in self._ranges:
            if compiled.scheme is not None:
                found.setdefault(compiled.scheme.name, (compiled.scheme, []))[1].extend(compiled.positions)
        for group, (keys, _) in self._fixed_sorted.items():
            scheme = self._fixed_schemes[group]
            found.setdefault(scheme.name, (scheme, []))[1].extend(keys)
        return found

    def valued_positions(self) -> Iterator[tuple[str, VersionScheme, tuple[Any, ...]]]:
        """``(value, scheme, position)`` of every event and fixed value whose position is the value's
        own key, ``(1, scheme.key(value))`` — not ``introduced: "0"`` or a ``"*"`` limit. A deployed
        version spelled like one of them is there without parsing it."""
        for compiled in self._ranges:
            scheme = compiled.scheme
            if scheme is None or compiled.problem is not None:
                continue
            for position, kinds in compiled.ordered:
                if position[0] == 1:
                    for event in kinds.values():
                        yield event.value, scheme, position
        for group, (keys, values) in self._fixed_sorted.items():
            scheme = self._fixed_schemes[group]
            for key, value in zip(keys, values, strict=True):
                yield value, scheme, key

    @property
    def listed(self) -> frozenset[str]:
        """The entry's ``versions`` list."""
        return self._listed

    def ranked(self, rank_of: Callable[[tuple[Any, ...]], int]) -> RankedForm | None:
        """This entry with every event and fixed-version position replaced by its rank in a merged
        table (``rank_of``, order-preserving: equal positions equal ranks), or ``None`` when the entry
        has a range that cannot be evaluated or a fixed value that does not parse (those keep the
        general ``evaluate``). See ``RankedForm``."""
        ranges: list[RankedRange] = []
        for compiled in self._ranges:
            if compiled.scheme is None or compiled.problem is not None:
                return None
            ranges.append(_ranked_range(compiled, rank_of))
        if any(invalid for _, _, invalid in self._fixed_ranges):
            return None
        fixed = tuple(
            ([rank_of(key) for key in keys], values) for keys, values in self._fixed_sorted.values()
        )
        affected = self.affected
        tail: RangeResult
        if ranges or affected.versions:
            tail = NOT_AFFECTED
        elif affected.ranges:
            tail = Unknown(GIT_ONLY, "only GIT commit ranges and no enumerated versions")
        else:
            tail = Unknown(NO_VERSIONS, "the advisory lists neither ranges nor versions for this package")
        return RankedForm(tuple(ranges), fixed, tail)


def _ranked_range(compiled: _CompiledRange, rank_of: Callable[[tuple[Any, ...]], int]) -> RankedRange:
    """A compiled range over ranks (``rank_of``: order-preserving, equal positions equal ranks)."""
    ordered = compiled.ordered
    # closed_after[j]: the first group from j on that ends an interval — what ``_closing_event``
    # finds for a version below group j (a close-and-reopen group does not end it).
    closed_after: list[Event | None] = [None] * (len(ordered) + 1)
    for j in range(len(ordered) - 1, -1, -1):
        kinds = ordered[j][1]
        closing = None
        if "introduced" not in kinds:
            closing = kinds.get("fixed") or kinds.get("last_affected")
        closed_after[j] = closing if closing is not None else closed_after[j + 1]
    opened_at: list[Event | None] = []
    closed_at: list[Event | None] = []
    for j, (_, kinds) in enumerate(ordered):
        opened_at.append(_step(compiled.opened_after[j], kinds, above=False))
        at_group = kinds.get("last_affected") if "introduced" not in kinds else None
        closed_at.append(at_group if at_group is not None else closed_after[j + 1])
    limit = None if compiled.limit is None else rank_of(compiled.limit)
    return RankedRange(
        compiled.index,
        [rank_of(position) for position in compiled.positions],
        compiled.opened_after,
        tuple(closed_after),
        tuple(opened_at),
        tuple(closed_at),
        limit,
    )


#: The deployed version's position in a scheme's event order, ``(1, scheme.key(version))``, computed
#: per scheme on demand (raising InvalidVersion when the version is not one of the scheme's).
_DeployedKey = Callable[[VersionScheme], Any]


def _deployed_at(version: str) -> _DeployedKey:
    def at(scheme: VersionScheme) -> tuple[Any, ...]:
        return (1, scheme.key(version))

    return at


def compile_affected(
    affected: AffectedPackage, *, schemes: SchemeLookup = default_schemes
) -> CompiledAffected:
    """``affected`` prepared for many ``evaluate`` calls (see ``CompiledAffected``)."""
    return CompiledAffected(affected, schemes)


def fixed_versions(affected: AffectedPackage) -> tuple[str, ...]:
    """Every ``fixed`` event value of the SEMVER/ECOSYSTEM ranges, in record order, without repeats."""
    seen: dict[str, None] = {}
    for rng in affected.ranges:
        if rng.type == "GIT":
            continue  # commit hashes, not versions anyone can upgrade to
        for event in rng.events:
            if event.kind == "fixed":
                seen.setdefault(event.value, None)
    return tuple(seen)


def _scheme_for_range(
    affected: AffectedPackage, rng: AffectedRange, schemes: SchemeLookup
) -> VersionScheme | Unknown:
    if rng.type == "SEMVER":
        scheme = schemes(SEMVER)
        return scheme if scheme is not None else Unknown(UNSUPPORTED_ECOSYSTEM, "no SemVer scheme")
    if rng.type != "ECOSYSTEM":
        return Unknown(UNSUPPORTED_RANGE, f"range type {rng.type!r}")
    if not affected.ecosystem:
        return Unknown(UNSUPPORTED_ECOSYSTEM, "the affected entry names no ecosystem")
    scheme = schemes(affected.ecosystem)
    if scheme is None:
        return Unknown(UNSUPPORTED_ECOSYSTEM, f"no version rules for {affected.ecosystem}")
    return scheme


def _position(kind: str, value: str, scheme: VersionScheme) -> tuple[Any, ...]:
    """Sort position of an event value: ``(0,)`` below every version, ``(2,)`` infinity, else ``(1, key)``."""
    if kind == "introduced" and value == "0":
        return (0,)
    if kind == "limit" and "*" in value:
        return (2,)
    return (1, scheme.key(value))


def _compile_range(index: int, rng: AffectedRange, scheme: VersionScheme) -> _CompiledRange:
    groups: dict[tuple[Any, ...], dict[str, Event]] = {}
    for event in rng.events:
        try:
            position = _position(event.kind, event.value, scheme)
        except InvalidVersion as exc:
            problem = Unknown(INVALID_EVENT, f"range {index} {event.kind} {event.value!r}: {exc}")
            return _CompiledRange(index, scheme, problem, ())
        groups.setdefault(position, {}).setdefault(event.kind, event)
    ordered = tuple(sorted(groups.items(), key=_first))
    opened_after: list[Event | None] = [None]
    for _, kinds in ordered:
        opened_after.append(_step(opened_after[-1], kinds, above=True))
    limits = [pos for pos, kinds in ordered if "limit" in kinds]
    return _CompiledRange(
        index,
        scheme,
        None,
        ordered,
        tuple(pos for pos, _ in ordered),
        tuple(opened_after),
        max(limits) if limits else None,
    )


def _step(opened: Event | None, kinds: dict[str, Event], *, above: bool) -> Event | None:
    """The state after one group of same-position events; ``above``: the version is past them."""
    closes = "fixed" in kinds or ("last_affected" in kinds and above)
    if "introduced" in kinds:
        # Opened and closed at one version: the state stays as it was (``matcher.ranges``).
        return opened if closes else kinds["introduced"]
    return None if closes else opened


def _place(compiled: _CompiledRange, deployed: tuple[Any, ...]) -> tuple[int, bool]:
    """How many event groups lie at or below ``deployed``, and whether the last of them is at it."""
    below = bisect_right(compiled.positions, deployed)
    return below, below > 0 and compiled.positions[below - 1] == deployed


def _opening_event(compiled: _CompiledRange, deployed: tuple[Any, ...]) -> Event | None:
    """The ``introduced`` event of the affected interval containing ``deployed``, or ``None``."""
    if compiled.limit is not None and not deployed < compiled.limit:
        return None
    below, at = _place(compiled, deployed)
    if not at:
        return compiled.opened_after[below]
    return _step(compiled.opened_after[below - 1], compiled.ordered[below - 1][1], above=False)


def _closing_event(compiled: _CompiledRange, deployed: tuple[Any, ...]) -> Event | None:
    """The event that ends the affected interval containing ``deployed``, if any does."""
    below, at = _place(compiled, deployed)
    start = below - 1 if at else below
    for j in range(start, len(compiled.ordered)):
        kinds = compiled.ordered[j][1]
        if "introduced" in kinds:
            continue  # a close-and-reopen does not end the interval
        if at and j == start:
            if "last_affected" in kinds:
                return kinds["last_affected"]
            continue
        for kind in ("fixed", "last_affected"):
            if kind in kinds:
                return kinds[kind]
    return None


def _first(item: tuple[Any, Any]) -> Any:
    return item[0]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
