"""Fleet-wide component search: where does the organization run a package, and which versions?

The search looks at the latest snapshot of every system of the organization (by observed time, ties
by arrival; decommissioned systems only when asked), never at older ones: it answers what runs now.

- ``q``, the package: a name, compared as the matcher compares names (``matcher.purls.normalize_name``:
  PEP 503 for PyPI, case-insensitive NuGet and Packagist), matching a package's full name or its last
  part (``log4j-core`` finds Maven's ``org.apache.logging.log4j:log4j-core``, ``core`` finds npm's
  ``@angular/core``); or a purl: with a name it means that package (``pkg:maven/org.apache.logging.log4j/
  log4j-core``, mapped by ``matcher.purls.purl_key``; a version in it means that version), without one
  a purl prefix (``pkg:maven/org.apache.logging.log4j/``, ending in ``/`` or not a whole purl: every
  package whose stored purl starts so).
  ``ecosystem`` (OSV name, release suffixes included) narrows a name.
- ``version``: a range in the package's own version order (``matcher.versions``): comparators joined
  by commas, ``<2.17.1``, ``>=2.0,<2.15``, ``=2.14.1`` (``2.14.1`` alone means ``=``), ``!=``. A bound
  the ecosystem cannot parse is refused naming ``version``; a deployed version it cannot parse is not in
  any range (the summary without a range still lists it).
- Answers: :func:`component_page`, one row per (system, package version), keyset-paged, with whether
  the version is affected by a known advisory (stored match results of non-withdrawn advisories) and
  by which vulnerabilities; :func:`component_summary`, one entry per package version with the number of
  systems running it, in each package's version order ("log4j-core: 2.14.1 on 12 systems, 2.17.1 on
  300").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cmp_to_key
from typing import Any, Literal, get_args

from packageurl import PackageURL

from core.errors import InputError
from core.packages import NotAssessable
from core.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from core.time import rfc3339
from matcher.purls import normalize_name, purl_key
from matcher.versions import InvalidVersion, base_ecosystem, scheme_for
from pipeline.embargo import hidden_groups
from reports.timeline import split_purl_version
from store.db import Database, Tx
from store.queries import inventory as q
from store.queries.organizations import organization_id

__all__ = [
    "COMPONENT_SORTS",
    "ComponentQuery",
    "ComponentRow",
    "ComponentSort",
    "VersionRange",
    "VersionSummary",
    "component_page",
    "component_summary",
    "iter_components",
]

ComponentSort = Literal["package", "system"]
COMPONENT_SORTS: tuple[ComponentSort, ...] = get_args(ComponentSort)
_KIND = "components"
_MAX_QUERY = 500
_COMPARATOR = re.compile(r"^(<=|>=|==|!=|<|>|=)?\s*([0-9A-Za-z]\S*)$")


@dataclass(frozen=True, slots=True)
class VersionRange:
    """Comparators that must all hold, e.g. ``((">=", "2.0"), ("<", "2.15"))``; empty: every version."""

    comparators: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> VersionRange:
        """``<2.17.1``, ``>=2.0,<2.15``, ``2.14.1``; ``InputError`` naming ``version`` otherwise."""
        if text is None or not text.strip():
            return cls()
        if len(text) > _MAX_QUERY:
            raise InputError("version", f"at most {_MAX_QUERY} characters")
        out: list[tuple[str, str]] = []
        for part in text.split(","):
            found = _COMPARATOR.match(part.strip())
            if found is None:
                raise InputError(
                    "version",
                    f"{part.strip()[:60]!r} is not a comparator (use <, <=, >, >=, =, != and a version, "
                    "several joined by commas: >=2.0,<2.15)",
                )
            op = found.group(1) or "="
            out.append(("=" if op == "==" else op, found.group(2)))
        return cls(tuple(out))

    def __bool__(self) -> bool:
        return bool(self.comparators)

    def check(self, ecosystem: str) -> None:
        """Refuse (``InputError`` naming ``version``) bounds that ``ecosystem`` cannot order."""
        scheme = scheme_for(ecosystem)
        if scheme is None:
            raise InputError("version", f"ecosystem {ecosystem!r} has no version order here to compare with")
        for _, bound in self.comparators:
            try:
                scheme.key(bound)
            except InvalidVersion as exc:
                raise InputError("version", f"{bound!r} is not a version of {ecosystem}: {exc}") from None

    def contains(self, ecosystem: str, version: str) -> bool:
        """Whether ``version`` satisfies every comparator in ``ecosystem``'s order (an unparsable one
        satisfies none); call :meth:`check` first."""
        if not self.comparators:
            return True
        scheme = scheme_for(ecosystem)
        if scheme is None:
            return False
        try:
            key = scheme.key(version)
        except InvalidVersion:
            return False
        for op, bound in self.comparators:
            other = scheme.key(bound)
            holds = {
                "<": key < other,
                "<=": key <= other,
                ">": key > other,
                ">=": key >= other,
                "=": key == other,
                "!=": key != other,
            }[op]
            if not holds:
                return False
        return True

    def __str__(self) -> str:
        return ",".join(f"{op}{v}" for op, v in self.comparators)


@dataclass(frozen=True, slots=True)
class ComponentQuery:
    """What to search: build it from user input with :meth:`of` (checks every field)."""

    q: str
    ecosystem: str | None = None
    version: VersionRange = field(default_factory=VersionRange)
    include_decommissioned: bool = False
    sort: ComponentSort = "package"
    descending: bool = False

    @classmethod
    def of(
        cls,
        q: str,
        *,
        ecosystem: str | None = None,
        version: str | None = None,
        include_decommissioned: bool = False,
        sort: str = "package",
        order: str = "asc",
    ) -> ComponentQuery:
        text = q.strip()
        if not text:
            raise InputError("q", "give a package name or a purl (pkg:type/namespace/name)")
        if len(text) > _MAX_QUERY:
            raise InputError("q", f"at most {_MAX_QUERY} characters")
        if ecosystem is not None and base_ecosystem(ecosystem) and scheme_for(ecosystem) is None:
            raise InputError("ecosystem", f"{ecosystem[:60]!r} is not an ecosystem patchgap can match")
        if sort not in COMPONENT_SORTS:
            raise InputError("sort", f"must be one of {', '.join(COMPONENT_SORTS)}, not {sort[:40]!r}")
        if order not in ("asc", "desc"):
            raise InputError("order", f"must be asc or desc, not {order[:40]!r}")
        query = cls(
            text,
            ecosystem or None,
            VersionRange.parse(version),
            include_decommissioned,
            sort,
            order == "desc",
        )
        resolved = _resolve(query)  # refuses a purl that names no package we can meet
        if query.version:
            # Bounds are checked against the ecosystem as soon as it is known (else per package found).
            for known in {query.ecosystem, resolved.key[0] if resolved.key else None} - {None}:
                query.version.check(str(known))
        return query


@dataclass(frozen=True, slots=True)
class ComponentRow:
    """One system whose latest snapshot runs one version of a package found."""

    system: str
    environment: str
    owner: str | None
    decommissioned: bool
    snapshot_id: int
    observed_at: datetime
    package: str  # the purl without version
    ecosystem: str
    name: str
    version: str
    purl: str
    affected: bool
    vulnerabilities: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "environment": self.environment,
            "owner": self.owner,
            "decommissioned": self.decommissioned,
            "snapshot_id": self.snapshot_id,
            "observed_at": rfc3339(self.observed_at),
            "package": self.package,
            "ecosystem": self.ecosystem,
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "affected": self.affected,
            "vulnerabilities": list(self.vulnerabilities),
        }


@dataclass(frozen=True, slots=True)
class VersionSummary:
    """One package version found, with the number of systems whose latest snapshot runs it."""

    package: str
    ecosystem: str
    name: str
    version: str
    systems: int
    affected: bool
    vulnerabilities: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "ecosystem": self.ecosystem,
            "name": self.name,
            "version": self.version,
            "systems": self.systems,
            "affected": self.affected,
            "vulnerabilities": list(self.vulnerabilities),
        }


# --- what the query means -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resolved:
    names: tuple[str, ...] = ()  # a name: its spellings as ecosystems index them
    key: tuple[str, str] | None = None  # a purl naming a package
    version: str | None = None  # the version the purl names
    prefix: str | None = None  # a purl without a name


def _resolve(query: ComponentQuery) -> _Resolved:
    text = query.q
    if not text.startswith("pkg:"):
        spellings = {text, normalize_name("PyPI", text), text.lower()}
        return _Resolved(names=tuple(sorted(spellings)))
    if text.endswith("/"):
        return _Resolved(prefix=text)  # a namespace: every package under it
    try:
        parsed = PackageURL.from_string(text)
    except ValueError:
        # A purl cut short (no name yet): a prefix of stored purls.
        return _Resolved(prefix=text)
    found = purl_key(parsed)
    if isinstance(found, NotAssessable):
        raise InputError("q", f"{text[:100]!r} names no package patchgap can match ({found.reason})")
    return _Resolved(key=found, version=parsed.version or None)


def _wanted(query: ComponentQuery, resolved: _Resolved, found: q.PackageMatch) -> bool:
    if query.ecosystem is not None and base_ecosystem(found.ecosystem) != base_ecosystem(query.ecosystem):
        return False
    if resolved.names:
        name = normalize_name(found.ecosystem, query.q)
        if not (found.name == name or found.name.endswith((f":{name}", f"/{name}"))):
            return False
    elif resolved.key is not None:
        if (found.ecosystem, found.name) != resolved.key:
            return False
        if resolved.version is not None and not _same_version(
            found.ecosystem, found.version, resolved.version
        ):
            return False
    elif resolved.prefix is not None and not found.purl.startswith(resolved.prefix):
        return False
    return query.version.contains(found.ecosystem, found.version)


def _same_version(ecosystem: str, a: str, b: str) -> bool:
    scheme = scheme_for(ecosystem)
    if scheme is None:
        return a == b
    try:
        return scheme.key(a) == scheme.key(b)
    except InvalidVersion:
        return a == b


def _package_versions(session: Tx, query: ComponentQuery) -> list[q.PackageMatch]:
    """The stored package versions the query means (any organization's: the caller scopes)."""
    resolved = _resolve(query)
    candidates = q.package_candidates(
        session,
        names=resolved.names,
        keys=[resolved.key] if resolved.key is not None else (),
        purl_prefix=resolved.prefix,
        ecosystem=query.ecosystem,
    )
    if query.version:
        for ecosystem in sorted({c.ecosystem for c in candidates}):
            query.version.check(ecosystem)
    return [c for c in candidates if _wanted(query, resolved, c)]


# --- answers ---------------------------------------------------------------------------------------


def _cursor_sort(query: ComponentQuery) -> str:
    return f"{query.sort}.{'desc' if query.descending else 'asc'}"


def _key(query: ComponentQuery, hit: q.ComponentHit) -> list[str]:
    pv = hit.package_version
    package = [pv.name, pv.ecosystem, pv.version, pv.purl]
    return [*package, hit.system] if query.sort == "package" else [hit.system, *package]


def component_page(
    db: Database,
    org: str,
    query: ComponentQuery,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ComponentRow]:
    """One page of (system, package version) rows: ``package`` order is by package name, ecosystem,
    version (as text), purl and system; ``system`` order by system first. ``total``: rows in all."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"must be 1 to {MAX_LIMIT}, not {limit}")
    after: Sequence[Any] | None = None
    if cursor is not None:
        after = decode_cursor(cursor, _KIND, _cursor_sort(query), 5)
        if not all(isinstance(v, str) for v in after):
            raise InputError("cursor", "not a cursor of the component search")
    with db.read() as session:
        org_id = organization_id(session, org)
        ids = [p.id for p in _package_versions(session, query)]
        hits, total = q.component_hits(
            session,
            org_id,
            ids,
            include_decommissioned=query.include_decommissioned,
            sort=query.sort,
            descending=query.descending,
            after=after,
            limit=limit + 1,
        )
        if total is None:
            total = q.component_count(
                session, org_id, ids, include_decommissioned=query.include_decommissioned
            )
        page = hits[:limit]
        groups = _visible(session, q.affected_groups(session, {h.package_version.id for h in page}))
    items = [_row(h, groups.get(h.package_version.id, set())) for h in page]
    next_cursor = None
    if len(hits) > limit:
        next_cursor = encode_cursor(_KIND, _cursor_sort(query), _key(query, page[-1]))
    return Page(items, next_cursor, total, query.sort, query.descending)


def _visible(session: Tx, groups: dict[int, set[str]]) -> dict[int, set[str]]:
    """The affecting groups the reader may see (``pipeline.embargo``): a version affected only by an
    embargoed group is not "affected" for anyone else."""
    hidden = hidden_groups(session)
    if not hidden:
        return groups
    kept = {pv: found - hidden for pv, found in groups.items()}
    return {pv: found for pv, found in kept.items() if found}


def _row(hit: q.ComponentHit, groups: set[str]) -> ComponentRow:
    pv = hit.package_version
    return ComponentRow(
        hit.system,
        hit.environment,
        hit.owner,
        hit.decommissioned_at is not None,
        hit.snapshot_id,
        hit.observed_at,
        split_purl_version(pv.purl)[0],
        pv.ecosystem,
        pv.name,
        pv.version,
        pv.purl,
        bool(groups),
        tuple(sorted(groups)),
    )


def iter_components(
    db: Database, org: str, query: ComponentQuery, *, page_size: int = 500
) -> Iterator[ComponentRow]:
    """Every row of the search, in its order, read page by page."""
    cursor: str | None = None
    while True:
        page = component_page(db, org, query, limit=page_size, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _version_order(a: VersionSummary, b: VersionSummary) -> int:
    first = (a.name, a.ecosystem, a.package)
    second = (b.name, b.ecosystem, b.package)
    if first != second:
        return -1 if first < second else 1
    scheme = scheme_for(a.ecosystem)
    if scheme is not None:
        try:
            ka, kb = scheme.key(a.version), scheme.key(b.version)
        except InvalidVersion:
            pass
        else:
            if ka != kb:
                return -1 if ka < kb else 1
    return (a.version > b.version) - (a.version < b.version) or (a.package > b.package) - (
        a.package < b.package
    )


def component_summary(db: Database, org: str, query: ComponentQuery) -> list[VersionSummary]:
    """One entry per package version found on some system (package, ecosystem, name and version; purls
    differing only in qualifiers are one version), with the number of distinct systems running it; by
    package and then in the ecosystem's version order (unparsable versions after the others, by text)."""
    with db.read() as session:
        org_id = organization_id(session, org)
        found = {p.id: p for p in _package_versions(session, query)}
        pairs = q.holding_systems(
            session, org_id, sorted(found), include_decommissioned=query.include_decommissioned
        )
        groups = _visible(session, q.affected_groups(session, {pv for pv, _ in pairs}))
    systems: dict[tuple[str, str, str, str], set[int]] = {}
    vulnerabilities: dict[tuple[str, str, str, str], set[str]] = {}
    for pv_id, system_id in pairs:
        p = found[pv_id]
        key = (split_purl_version(p.purl)[0], p.ecosystem, p.name, p.version)
        systems.setdefault(key, set()).add(system_id)
        vulnerabilities.setdefault(key, set()).update(groups.get(pv_id, ()))
    out = [
        VersionSummary(*key, len(ids), bool(vulnerabilities[key]), tuple(sorted(vulnerabilities[key])))
        for key, ids in systems.items()
    ]
    return sorted(out, key=cmp_to_key(_version_order))
