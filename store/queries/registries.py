"""Registry release times: which fixed versions to look up, the cache of answers, and the fix release
time of each vulnerability group (``store.tables.advisories.RegistryRelease``).

Which versions: the ``fixed`` events of every range (``ECOSYSTEM`` and ``SEMVER``; a ``GIT`` range's
are commits) of the non-withdrawn advisories' affected packages, for the packages some stored SBOM
deploys (``package_version``) — the versions whose release starts a fix clock patchgap reports.

A group's registry fix time is the earliest release, among every affected package of its advisories,
of a version its ranges name ``fixed``: the moment upstream first shipped a fix (the same group-wide
"earliest" the CSAF and Akrites dates follow).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from store.sql import chunks, table_of
from store.sql import dialect_insert as _insert
from store.tables.advisories import Advisory, AffectedPackageRow, RegistryRelease
from store.tables.packages import PackageVersion

_CHUNK = 900
# A version the registry did not know (or knew without a time) is asked again after this long: an
# advisory may name a fixed version before it is published. A found release time is never asked again.
RETRY_NOT_FOUND = timedelta(days=30)
_RANGE_TYPES = ("ECOSYSTEM", "SEMVER")

VersionKey = tuple[str, str, str]  # (ecosystem, name, version) as package_version keys them


def _fixed_in(data: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for r in data.get("ranges") or ():
        if r.get("type") not in _RANGE_TYPES:
            continue
        for event in r.get("events") or ():
            value = event.get("fixed")
            if isinstance(value, str) and value:
                out.add(value)
    return out


def _affected_fixes(
    session: Session | Connection, where: Any, ecosystems: Collection[str] | None = None
) -> list[tuple[str, str, str, set[str]]]:
    """(group key, ecosystem key, name key, fixed versions) of the non-withdrawn advisories ``where``
    selects."""
    adv, aff = table_of(Advisory), table_of(AffectedPackageRow)
    stmt = (
        sa.select(adv.c.group_key, aff.c.eco_key, aff.c.name_key, aff.c.data)
        .select_from(aff.join(adv, adv.c.id == aff.c.advisory_pk))
        .where(where, adv.c.withdrawn_at.is_(None), aff.c.eco_key.is_not(None))
    )
    if ecosystems is not None:
        stmt = stmt.where(aff.c.eco_key.in_(sorted(ecosystems)))
    out = []
    for group, eco, name, data in session.execute(stmt):
        fixed = _fixed_in(data or {})
        if fixed:
            out.append((group, eco, name, fixed))
    return out


def wanted_versions(conn: Connection, ecosystems: Collection[str], now: datetime) -> list[VersionKey]:
    """The fixed versions of deployed packages in ``ecosystems`` to look up: never asked, or asked and
    not found more than :data:`RETRY_NOT_FOUND` ago; sorted."""
    if not ecosystems:
        return []
    pv = table_of(PackageVersion)
    deployed_stmt = (
        sa.select(pv.c.ecosystem, pv.c.name).where(pv.c.ecosystem.in_(sorted(ecosystems))).distinct()
    )
    deployed = {(e, n) for e, n in conn.execute(deployed_stmt)}
    if not deployed:
        return []
    aff = table_of(AffectedPackageRow)
    wanted: set[VersionKey] = set()
    for _, eco, name, fixed in _affected_fixes(conn, aff.c.eco_key.in_(sorted(ecosystems))):
        if (eco, name) in deployed:
            wanted.update((eco, name, v) for v in fixed)
    rr = table_of(RegistryRelease)
    settled = {
        (e, n, v)
        for e, n, v in conn.execute(
            sa.select(rr.c.ecosystem, rr.c.name, rr.c.version).where(
                rr.c.ecosystem.in_(sorted(ecosystems)),
                sa.or_(
                    sa.and_(rr.c.found, rr.c.released_at.is_not(None)),
                    rr.c.fetched_at > now - RETRY_NOT_FOUND,
                ),
            )
        )
    }
    return sorted(wanted - settled)


def cached_count(conn: Connection, ecosystems: Collection[str]) -> int:
    """How many answers the cache holds for ``ecosystems``."""
    rr = table_of(RegistryRelease)
    stmt = sa.select(sa.func.count()).select_from(rr).where(rr.c.ecosystem.in_(sorted(ecosystems)))
    return int(conn.execute(stmt).scalar_one())


def save_releases(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store answers (``registry_release`` columns); an answer for a version asked again replaces the
    old one (only not-found answers are asked again)."""
    if not rows:
        return
    table = table_of(RegistryRelease)
    for chunk in chunks(list(rows), 200):
        stmt = _insert(conn, table).values(list(chunk))
        stmt = stmt.on_conflict_do_update(
            index_elements=["ecosystem", "name", "version"],
            set_={c: stmt.excluded[c] for c in ("found", "released_at", "url", "fetched_at")},
        )
        conn.execute(stmt)


def released_ecosystems(session: Session | Connection) -> list[str]:
    """The ecosystems of which some release time is known."""
    rr = table_of(RegistryRelease)
    stmt = sa.select(rr.c.ecosystem).where(rr.c.released_at.is_not(None)).distinct()
    return sorted(r[0] for r in session.execute(stmt))


def _embargoed(adv: Any, public_at: datetime) -> Any:
    return sa.and_(adv.c.source == "akrites", adv.c.disclosed_at.is_not(None), adv.c.disclosed_at > public_at)


def group_fix_releases(
    session: Session | Connection, groups: Iterable[str], *, public_at: datetime | None = None
) -> dict[str, datetime]:
    """Group key → the earliest registry release of a version its advisories name ``fixed`` (groups
    without any known release are absent). Costs one cheap query when nothing was ever looked up.

    With ``public_at``, an Akrites record still under embargo at that moment names no fixed version of
    a group that also has a public record (the Akrites embargo: such a group is public, and its
    embargoed records add nothing to it until disclosure); a wholly embargoed group keeps its own."""
    wanted = sorted(set(groups))
    ecosystems = released_ecosystems(session) if wanted else []
    if not ecosystems:
        return {}
    adv = table_of(Advisory)
    visible: Any = sa.true()
    if public_at is not None:
        other = adv.alias("public_record")
        has_public = (
            sa.exists()
            .where(other.c.group_key == adv.c.group_key, other.c.withdrawn_at.is_(None))
            .where(sa.not_(_embargoed(other, public_at)))
        )
        visible = sa.not_(sa.and_(_embargoed(adv, public_at), has_public))
    rows: list[tuple[str, str, str, set[str]]] = []
    for chunk in chunks(wanted, _CHUNK):
        rows += _affected_fixes(session, sa.and_(adv.c.group_key.in_(chunk), visible), ecosystems)
    keys = {(eco, name, v) for _, eco, name, fixed in rows for v in fixed}
    released = release_times(session, keys)
    out: dict[str, datetime] = {}
    for group, eco, name, fixed in rows:
        for v in fixed:
            moment = released.get((eco, name, v))
            if moment is not None and (group not in out or moment < out[group]):
                out[group] = moment
    return out


def release_times(session: Session | Connection, keys: Collection[VersionKey]) -> dict[VersionKey, datetime]:
    """The known release time of each of ``keys`` (absent: not looked up, not found, or no time)."""
    rr = table_of(RegistryRelease)
    by_package: dict[tuple[str, str], set[str]] = {}
    for eco, name, version in keys:
        by_package.setdefault((eco, name), set()).add(version)
    out: dict[VersionKey, datetime] = {}
    packages = sorted(by_package)
    for chunk in chunks(packages, _CHUNK // 2):
        condition = sa.or_(*(sa.and_(rr.c.ecosystem == e, rr.c.name == n) for e, n in chunk))
        stmt = sa.select(rr.c.ecosystem, rr.c.name, rr.c.version, rr.c.released_at).where(
            condition, rr.c.released_at.is_not(None)
        )
        for eco, name, version, moment in session.execute(stmt):
            if version in by_package[(eco, name)]:
                out[(eco, name, version)] = moment
    return out


@dataclass(frozen=True, slots=True)
class RegistryProvenance:
    """What the cache holds for one registry ecosystem: answers, found with a time, newest fetch, and
    a SHA-256 over every answer (ecosystem, name, version, found, time, url), in key order."""

    ecosystem: str
    answers: int
    released: int
    fetched_at: datetime | None
    sha256: str


def registry_provenance(session: Session | Connection) -> list[RegistryProvenance]:
    rr = table_of(RegistryRelease)
    stmt = sa.select(
        rr.c.ecosystem, rr.c.name, rr.c.version, rr.c.found, rr.c.released_at, rr.c.url, rr.c.fetched_at
    ).order_by(rr.c.ecosystem, rr.c.name, rr.c.version)
    out: list[RegistryProvenance] = []
    current: str | None = None
    digest = hashlib.sha256()
    answers = released = 0
    newest: datetime | None = None

    def close() -> None:
        if current is not None:
            out.append(RegistryProvenance(current, answers, released, newest, digest.hexdigest()))

    for eco, name, version, found, moment, url, fetched in session.execute(stmt):
        if eco != current:
            close()
            current, digest, answers, released, newest = eco, hashlib.sha256(), 0, 0, None
        answers += 1
        released += moment is not None
        newest = fetched if newest is None or fetched > newest else newest
        stamp = "" if moment is None else moment.isoformat()
        digest.update(f"{eco}\t{name}\t{version}\t{int(bool(found))}\t{stamp}\t{url}\n".encode())
    close()
    return out


def keys_sharing_groups(conn: Connection, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every package key named by a non-withdrawn advisory of a group that also names one of ``keys``:
    the packages whose exposures a changed group fix time moves."""
    if not keys:
        return set()
    adv, aff = table_of(Advisory), table_of(AffectedPackageRow)
    joined = aff.join(adv, adv.c.id == aff.c.advisory_pk)
    groups: set[str] = set()
    for chunk in chunks(sorted(keys), _CHUNK // 2):
        condition = sa.or_(*(sa.and_(aff.c.eco_key == e, aff.c.name_key == n) for e, n in chunk))
        stmt = sa.select(adv.c.group_key).select_from(joined).where(condition, adv.c.withdrawn_at.is_(None))
        groups.update(r[0] for r in conn.execute(stmt.distinct()))
    out: set[tuple[str, str]] = set()
    for group_chunk in chunks(sorted(groups), _CHUNK):
        stmt = (
            sa.select(aff.c.eco_key, aff.c.name_key)
            .select_from(joined)
            .where(adv.c.group_key.in_(group_chunk), aff.c.eco_key.is_not(None), aff.c.name_key.is_not(None))
            .distinct()
        )
        out.update((e, n) for e, n in conn.execute(stmt))
    return out
