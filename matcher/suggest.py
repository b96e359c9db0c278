"""Upgrade suggestion: the smallest version that clears *every* known advisory of one package.

A per-advisory "fixed in" is not an answer an operations team can act on when a package has several
advisories: the fix of one may still be affected by another (or a newer release may re-introduce a
flaw). So the candidates are the ``fixed`` versions of all the package's advisories above the deployed
version, tried in ascending order of the ecosystem's own version rules; the first one that no
advisory's ranges (or ``versions`` list) mark as affected is the suggestion.

Only published ``fixed`` values are candidates: versions between them are not known to exist, and a
``last_affected`` bound says nothing about which later version was released. When no candidate clears
everything the answer says why, as a value:

- ``not-affected``: nothing known affects the deployed version;
- ``no-fix-known``: an advisory that affects the deployed version names no fixed version above it;
- ``no-single-version``: every candidate is still affected by some advisory;
- ``undetermined``: the remaining candidates could not be evaluated (unsupported ecosystem, a
  version or event that does not parse), so we do not claim anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from core.advisories import AffectedPackage
from matcher.ranges import Affected, NotAffected, SchemeLookup, Unknown, default_schemes, evaluate
from matcher.versions import InvalidVersion, VersionScheme

SuggestionStatus = Literal["upgrade", "not-affected", "no-fix-known", "no-single-version", "undetermined"]

UPGRADE: Final = "upgrade"
NOT_AFFECTED: Final = "not-affected"
NO_FIX_KNOWN: Final = "no-fix-known"
NO_SINGLE_VERSION: Final = "no-single-version"
UNDETERMINED: Final = "undetermined"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The answer: ``version`` is set only for ``upgrade``; ``detail`` is one human sentence.

    ``blocking`` names the advisories that keep the answer from being a plain upgrade (the ones with no
    known fix, or those still affecting the highest candidate).
    """

    status: SuggestionStatus
    version: str | None
    detail: str
    candidates: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()


def suggest_upgrade(
    ecosystem: str,
    version: str,
    entries: Sequence[tuple[str, AffectedPackage]],
    *,
    schemes: SchemeLookup = default_schemes,
) -> Suggestion:
    """The smallest version above ``version`` that clears every ``(advisory id, entry)`` in ``entries``.

    ``entries`` are all the known (not withdrawn) ``affected[]`` entries that name the package;
    ``ecosystem`` orders the candidates.
    """
    hits = [
        (adv, entry)
        for adv, entry in entries
        if isinstance(evaluate(entry, version, schemes=schemes), Affected)
    ]
    if not hits:
        return Suggestion(NOT_AFFECTED, None, "no known advisory affects this version")
    scheme = schemes(ecosystem)
    if scheme is None:
        return Suggestion(
            UNDETERMINED, None, f"no version rules for {ecosystem}: candidates cannot be ordered"
        )
    try:
        deployed = scheme.key(version)
    except InvalidVersion:
        return Suggestion(UNDETERMINED, None, f"{version!r} is not a {scheme.name} version")

    keyed: dict[str, Any] = {}
    for _, entry in entries:
        for rng in entry.ranges:
            if rng.type == "GIT":
                continue  # commit hashes are not versions anyone can install
            for event in rng.events:
                if event.kind != "fixed" or event.value in keyed:
                    continue
                try:
                    key = scheme.key(event.value)
                except InvalidVersion:
                    continue
                if key > deployed:
                    keyed[event.value] = key
    candidates = tuple(sorted(keyed, key=keyed.__getitem__))

    undetermined = False
    still_affected: tuple[str, ...] = ()
    for candidate in candidates:
        blockers: list[str] = []
        unsure = False
        for adv, entry in entries:
            result = evaluate(entry, candidate, schemes=schemes)
            if isinstance(result, Affected):
                blockers.append(adv)
            elif isinstance(result, Unknown):
                unsure = True
        if not blockers and not unsure:
            return Suggestion(
                UPGRADE,
                candidate,
                f"{candidate} clears all {len({adv for adv, _ in entries})} known advisories of the package",
                candidates,
            )
        undetermined = undetermined or (unsure and not blockers)
        still_affected = tuple(dict.fromkeys(blockers))

    unfixed = tuple(dict.fromkeys(adv for adv, entry in hits if not _fixed_above(entry, deployed, scheme)))
    if unfixed:
        return Suggestion(NO_FIX_KNOWN, None, f"no fix known for {', '.join(unfixed)}", candidates, unfixed)
    if undetermined:
        return Suggestion(
            UNDETERMINED, None, "candidate versions could not be evaluated against every advisory", candidates
        )
    if not candidates:
        return Suggestion(NO_FIX_KNOWN, None, "no fixed version above the deployed one is known", candidates)
    return Suggestion(
        NO_SINGLE_VERSION,
        None,
        f"no single version clears all: {candidates[-1]} is still affected by {', '.join(still_affected)}",
        candidates,
        still_affected,
    )


def _fixed_above(entry: AffectedPackage, deployed: Any, scheme: VersionScheme) -> bool:
    for rng in entry.ranges:
        if rng.type == "GIT":
            continue
        for event in rng.events:
            if event.kind == "fixed":
                try:
                    if scheme.key(event.value) > deployed:
                        return True
                except InvalidVersion:
                    continue
    return False


_MAJOR = re.compile(r"^(?:\d+[:!])?[vV]?(\d+)")


def major_of(version: str) -> int | None:
    """The major version: the first number of the version (after an epoch and a ``v``), or ``None``."""
    found = _MAJOR.match(version.strip())
    return int(found.group(1)) if found else None


@dataclass(frozen=True, slots=True)
class InMajorStep:
    """The best upgrade that stays in the deployed major version, and the advisories it leaves open."""

    version: str
    leaves_open: tuple[str, ...]


def in_major_step(
    ecosystem: str,
    version: str,
    suggestion: Suggestion,
    entries: Sequence[tuple[str, AffectedPackage]],
    *,
    schemes: SchemeLookup = default_schemes,
) -> InMajorStep | None:
    """When ``suggestion`` upgrades across a major version (or finds no single clearing version), the
    published fixed version in the deployed major that leaves the fewest advisories affecting it (the
    smallest such one); ``None`` when the suggestion stays in the major or no candidate is in it.

    Only advisories that affect the deployed version count: the step must clear something, and what it
    leaves open is named so the operator can weigh it against the major upgrade.
    """
    major = major_of(version)
    if major is None:
        return None
    if suggestion.status == UPGRADE and suggestion.version is not None:
        if major_of(suggestion.version) == major:
            return None
    elif suggestion.status != NO_SINGLE_VERSION:
        return None
    affecting = [
        (adv, entry)
        for adv, entry in entries
        if isinstance(evaluate(entry, version, schemes=schemes), Affected)
    ]
    best: InMajorStep | None = None
    for candidate in suggestion.candidates:  # ascending, all above the deployed version
        if major_of(candidate) != major:
            continue
        still = tuple(
            dict.fromkeys(
                adv
                for adv, entry in affecting
                if not isinstance(evaluate(entry, candidate, schemes=schemes), NotAffected)
            )
        )
        if len(still) == len(dict.fromkeys(adv for adv, _ in affecting)):
            continue  # clears nothing the deployed version has
        if best is None or len(still) < len(best.leaves_open):
            best = InMajorStep(candidate, still)
    return best
