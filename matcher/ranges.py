"""OSV affected-range evaluation, exactly as the OSV schema's "Evaluation" section specifies.

A version is affected when it is listed in ``versions`` (exact string) or lies in any range. A range is
evaluated over its events sorted by the range's order: ``introduced`` opens (``"0"`` sorts before every
version), ``fixed`` closes at the fixed version, ``last_affected`` closes just after it, and ``limit``
events (``"*"`` = infinity) bound the whole range from above. SEMVER ranges use SemVer 2.0 order whatever
the ecosystem; ECOSYSTEM ranges use the ecosystem's own scheme from ``matcher.versions`` (the registry
strips release suffixes such as ``Debian:12``); GIT ranges need a commit graph we do not have, so they
count only through the enumerated ``versions`` list.

The answer is a value: ``Affected`` (and why), ``NotAffected``, or ``Unknown(code, detail)`` when part of
the record or the deployed version cannot be evaluated. An unparsable version is never a silent "safe":
if no range or list entry says affected and any range could not be evaluated, the answer is Unknown.

Events at the same version (the schema leaves their order open, and real records have them) are taken
as one step: an ``introduced`` together with a ``fixed`` (or, above it, a ``last_affected``) at the same
version leaves the state as it was. So adjacent intervals ``[a, X) ∪ [X, b)`` stay one interval (X is
affected: PYSEC-2022-236 lists it), and an empty ``introduced X, fixed X`` affects nothing (RUSTSEC-2022-0012)
instead of re-opening the range for every later version. ``introduced X, last_affected X`` is exactly X.
Away from ties this is the schema's pseudocode, step for step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from core.advisories import AffectedPackage, AffectedRange, Event
from matcher.versions import InvalidVersion, OsvVersions, VersionScheme, scheme_for

#: Finds the version scheme of an OSV ecosystem (suffix allowed), or ``None`` when we have none.
SchemeLookup = Callable[[str], VersionScheme | None]

#: The pseudo-ecosystem under which the registry keeps SemVer 2.0, used for every SEMVER range.
SEMVER: Final = "SemVer"

# Unknown reason codes (stable: reports group by them).
INVALID_VERSION: Final = "invalid-version"
INVALID_EVENT: Final = "invalid-event"
UNSUPPORTED_ECOSYSTEM: Final = "unsupported-ecosystem"
UNSUPPORTED_RANGE: Final = "unsupported-range-type"
GIT_ONLY: Final = "git-ranges-only"
NO_VERSIONS: Final = "no-affected-versions"


@dataclass(frozen=True, slots=True)
class Affected:
    """Why a version is affected.

    ``range_index`` is the index in ``AffectedPackage.ranges`` of the range that matched, or ``None``
    when only the ``versions`` list did. ``introduced`` is the event value that opened the matching
    interval, ``boundary`` the ``fixed``/``last_affected`` event that closes it (``None``: not closed).
    ``fixed_versions`` are the fixed versions above the deployed one, in ascending order where the
    ranges can be ordered (upgrade candidates).
    """

    range_index: int | None
    introduced: str | None
    boundary: Event | None
    fixed_versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotAffected:
    """No range contains the version and the ``versions`` list does not name it."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """The record or the version cannot be evaluated; ``code`` is one of this module's reason codes."""

    code: str
    detail: str = ""

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


RangeResult = Affected | NotAffected | Unknown

NOT_AFFECTED: Final = NotAffected()


_SEMVER_SCHEME: Final = OsvVersions("semver")


def default_schemes(ecosystem: str) -> VersionScheme | None:
    """The registry in ``matcher.versions``, plus SemVer 2.0 under the name ``SEMVER`` for SEMVER ranges."""
    return _SEMVER_SCHEME if ecosystem == SEMVER else scheme_for(ecosystem)


def evaluate(
    affected: AffectedPackage, version: str, *, schemes: SchemeLookup = default_schemes
) -> RangeResult:
    """Is ``version`` of ``affected``'s package affected? See the module docstring for the rules."""
    listed = version in affected.versions
    unknown: Unknown | None = None
    first_hit: Affected | None = None
    evaluable = 0
    for index, rng in enumerate(affected.ranges):
        if rng.type == "GIT":
            continue
        scheme_or_unknown = _scheme_for_range(affected, rng, schemes)
        if isinstance(scheme_or_unknown, Unknown):
            unknown = unknown or scheme_or_unknown
            continue
        result = _evaluate_range(affected, index, version, scheme_or_unknown, schemes=schemes)
        if isinstance(result, Unknown):
            unknown = unknown or result
            continue
        evaluable += 1
        if isinstance(result, Affected):
            first_hit = result
            break
    if first_hit is not None:
        return first_hit
    if listed:
        return Affected(None, None, None, _fixed_above(affected, version, schemes))
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


def _evaluate_range(
    affected: AffectedPackage,
    index: int,
    version: str,
    scheme: VersionScheme,
    *,
    schemes: SchemeLookup,
) -> RangeResult:
    rng = affected.ranges[index]
    try:
        deployed = (1, scheme.key(version))
    except InvalidVersion as exc:
        return Unknown(INVALID_VERSION, f"{version!r} is not a {scheme.name} version ({exc})")
    groups: dict[tuple[Any, ...], dict[str, Event]] = {}
    for event in rng.events:
        try:
            position = _position(event.kind, event.value, scheme)
        except InvalidVersion as exc:
            return Unknown(INVALID_EVENT, f"range {index} {event.kind} {event.value!r}: {exc}")
        groups.setdefault(position, {}).setdefault(event.kind, event)
    ordered = sorted(groups.items(), key=_first)

    limits = [pos for pos, kinds in ordered if "limit" in kinds]
    if limits and not any(deployed < pos for pos in limits):
        return NOT_AFFECTED

    vulnerable = False
    opened: Event | None = None
    for pos, kinds in ordered:
        if deployed < pos:
            break
        above = deployed > pos
        closes = "fixed" in kinds or ("last_affected" in kinds and above)
        if "introduced" in kinds:
            if not closes:
                vulnerable, opened = True, kinds["introduced"]
            # else: opened and closed at one version: the state stays as it was (module docstring)
        elif closes:
            vulnerable = False
    if not vulnerable or opened is None:
        return NOT_AFFECTED
    return Affected(
        range_index=index,
        introduced=opened.value,
        boundary=_closing_event(ordered, deployed),
        fixed_versions=_fixed_above(affected, version, schemes),
    )


def _closing_event(ordered: list[tuple[tuple[Any, ...], dict[str, Event]]], deployed: Any) -> Event | None:
    """The event that ends the affected interval containing ``deployed``, if any does."""
    for pos, kinds in ordered:
        if pos < deployed or "introduced" in kinds:
            continue  # below the version, or a close-and-reopen that does not end the interval
        if pos == deployed:
            if "last_affected" in kinds:
                return kinds["last_affected"]
            continue
        for kind in ("fixed", "last_affected"):
            if kind in kinds:
                return kinds[kind]
    return None


def _fixed_above(affected: AffectedPackage, version: str, schemes: SchemeLookup) -> tuple[str, ...]:
    """Fixed versions above ``version``, ascending per scheme; ones that cannot be ordered come last.

    SEMVER and ECOSYSTEM ranges of one entry may use different schemes whose keys do not compare with
    each other, so each scheme's values are sorted on their own, in the order the ranges appear.
    """
    groups: dict[int, list[tuple[Any, str]]] = {}
    unordered: list[str] = []
    for rng in affected.ranges:
        if rng.type == "GIT":
            continue
        scheme = _scheme_for_range(affected, rng, schemes)
        values = [event.value for event in rng.events if event.kind == "fixed"]
        if isinstance(scheme, Unknown):
            unordered.extend(values)
            continue
        try:
            deployed = scheme.key(version)
        except InvalidVersion:
            unordered.extend(values)
            continue
        group = groups.setdefault(id(scheme), [])
        for value in values:
            try:
                key = scheme.key(value)
            except InvalidVersion:
                unordered.append(value)
                continue
            if key > deployed:
                group.append((key, value))
    ordered = _unique(value for group in groups.values() for _, value in sorted(group, key=_first))
    return ordered + tuple(value for value in _unique(unordered) if value not in ordered)


def _first(item: tuple[Any, Any]) -> Any:
    return item[0]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
