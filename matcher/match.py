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

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.advisories import Advisory, AffectedPackage
from core.packages import PackageRef
from matcher.purls import deployed_ecosystem, normalize_name
from matcher.ranges import (
    Affected,
    CompiledAffected,
    SchemeLookup,
    Unknown,
    compile_affected,
    default_schemes,
    evaluate,
)

PackageKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ``affected[]`` entry of one advisory, filed under the package key it names."""

    advisory_id: str
    affected_index: int
    affected: AffectedPackage
    # Events parsed and sorted once per entry instead of once per evaluation (bench/match.py).
    compiled: CompiledAffected | None = field(default=None, compare=False, repr=False)


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


class AdvisoryIndex:
    """Advisories by package key. Build once per matching run; lookups are dictionary reads."""

    def __init__(self, advisories: Iterable[Advisory] = ()) -> None:
        self._by_key: defaultdict[PackageKey, list[Candidate]] = defaultdict(list)
        for advisory in advisories:
            self.add(advisory)

    def add(self, advisory: Advisory) -> None:
        if advisory.withdrawn:
            return
        for index, affected in enumerate(advisory.affected):
            key = key_of(affected)
            if key is not None:
                self._by_key[key].append(Candidate(advisory.id, index, affected, compile_affected(affected)))

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
    for candidate in index.candidates((package.ecosystem, package.name)):
        if schemes is default_schemes and candidate.compiled is not None:
            result = candidate.compiled.evaluate(package.version)
        else:
            result = evaluate(candidate.affected, package.version, schemes=schemes)
        if isinstance(result, Affected):
            hits.append(Hit(candidate.advisory_id, candidate.affected_index, result))
        elif isinstance(result, Unknown):
            undetermined.append(Undetermined(candidate.advisory_id, candidate.affected_index, result))
    return PackageMatch(package, tuple(hits), tuple(undetermined))
