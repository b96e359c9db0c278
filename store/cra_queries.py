"""Queries behind the CRA Article 14 register: the manufacturer flag, awareness facts, user records.

Two facts are *recorded when they happen* (tables in ``store.exposure_models``), because the rows they
come from are overwritten later (KEV is replaced as a whole, an advisory's ``imported_at`` moves on
every changed re-import):

- :func:`record_presence` — per (system, vulnerability group), the first moment an affected match for
  a received snapshot existed: ``MIN(MAX(snapshot.received_at, advisory.imported_at))`` over the
  system's snapshots and the non-withdrawn advisories matching a package version in them. One
  ``INSERT … SELECT … ON CONFLICT DO NOTHING``: a recorded value is never moved.
- :func:`record_exploited` — per group, the first moment an exploitation fact was stored; ``pipeline``
  decides the value from :func:`group_advisories` and :func:`kev_entries` (each CVE's ``listed_since``;
  :func:`kev_fetched_at` for rows stored before it was kept).

Everything else is the manufacturer's own input (:func:`set_case`) and plain reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.advisory_models import Advisory, AffectedPackageRow, FeedState, KevEntry
from store.exposure_models import CraCaseRow, CraExploitedRow, CraPresenceRow
from store.match_models import MatchResult
from store.models import ComponentSetMember, Organization, Snapshot, System, utcnow
from store.sql import chunks
from store.sql import dialect_insert as _insert
from store.sql import table_of as _t

_CHUNK = 900
KEV_FEED = "kev"  # the feed_state name the KEV import keeps its fetch time under


# --- organizations ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    name: str
    is_manufacturer: bool
    created_at: datetime
    systems: int


def organizations(session: Session) -> list[OrganizationRow]:
    """Every organization with its manufacturer flag and number of systems, by name."""
    org, system = _t(Organization), _t(System)
    stmt = (
        sa.select(org.c.name, org.c.is_manufacturer, org.c.created_at, sa.func.count(system.c.id))
        .select_from(org.outerjoin(system, system.c.org_id == org.c.id))
        .group_by(org.c.id, org.c.name, org.c.is_manufacturer, org.c.created_at)
        .order_by(org.c.name)
    )
    return [OrganizationRow(r[0], bool(r[1]), r[2], int(r[3])) for r in session.execute(stmt)]


def set_manufacturer(session: Session, org_id: int, flag: bool) -> None:
    org = _t(Organization)
    session.execute(org.update().where(org.c.id == org_id).values(is_manufacturer=flag))


def is_manufacturer(session: Session, org_id: int) -> bool:
    org = _t(Organization)
    return bool(session.execute(sa.select(org.c.is_manufacturer).where(org.c.id == org_id)).scalar_one())


# --- presence ----------------------------------------------------------------------------------------


def record_presence(session: Session, system_ids: Sequence[int]) -> None:
    """Record, once, when each (system, group) first had an affected match (module docstring).

    Computed per distinct component set first (snapshots of a system mostly repeat a set), then
    joined to the snapshots, so the work grows with distinct contents rather than with snapshots.
    """
    if not system_ids:
        return
    snapshot, member, mr, ap, adv = (
        _t(Snapshot),
        _t(ComponentSetMember),
        _t(MatchResult),
        _t(AffectedPackageRow),
        _t(Advisory),
    )
    presence = _t(CraPresenceRow)
    greatest = sa.func.greatest if session.get_bind().dialect.name == "postgresql" else sa.func.max
    now = utcnow()
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        sets = sa.select(snapshot.c.component_set_id).where(snapshot.c.system_id.in_(chunk)).distinct()
        per_set = (
            sa.select(
                member.c.set_id.label("set_id"),
                adv.c.group_key.label("group_key"),
                sa.func.min(adv.c.imported_at).label("imported_at"),
            )
            .select_from(
                member.join(mr, mr.c.package_version_id == member.c.package_version_id)
                .join(ap, ap.c.id == mr.c.affected_id)
                .join(adv, adv.c.id == ap.c.advisory_pk)
            )
            .where(member.c.set_id.in_(sets), mr.c.status == "affected", adv.c.withdrawn_at.is_(None))
            .group_by(member.c.set_id, adv.c.group_key)
            .cte("per_set")
        )
        # Both columns hold UTC (SQLite: the same fixed naive text form), so MAX/GREATEST compare times.
        known = sa.func.min(greatest(snapshot.c.received_at, per_set.c.imported_at))
        select = (
            sa.select(
                snapshot.c.system_id,
                per_set.c.group_key,
                sa.type_coerce(known, presence.c.known_at.type),
                sa.literal(now, presence.c.recorded_at.type),
            )
            .select_from(snapshot.join(per_set, per_set.c.set_id == snapshot.c.component_set_id))
            # The WHERE also keeps SQLite's parser from reading ON CONFLICT as part of the SELECT.
            .where(snapshot.c.system_id.in_(chunk))
            .group_by(snapshot.c.system_id, per_set.c.group_key)
        )
        stmt = (
            _insert(session, CraPresenceRow)
            .from_select(["system_id", "vuln_group", "known_at", "recorded_at"], select)
            .on_conflict_do_nothing(index_elements=["system_id", "vuln_group"])
        )
        session.execute(stmt)


def presence(session: Session, org_id: int) -> dict[tuple[str, str], datetime]:
    """(system name, group) → when presence was first known, for the organization's systems."""
    table, system = _t(CraPresenceRow), _t(System)
    stmt = (
        sa.select(system.c.name, table.c.vuln_group, table.c.known_at)
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id)
    )
    return {(r[0], r[1]): r[2] for r in session.execute(stmt)}


# --- exploitation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupAdvisory:
    """One non-withdrawn advisory of a group: its ids, and when it was stored if it says exploited."""

    group_key: str
    source: str
    advisory_id: str
    aliases: tuple[str, ...]
    exploited: bool
    imported_at: datetime
    summary: str


def group_advisories(session: Session, groups: Iterable[str]) -> list[GroupAdvisory]:
    adv = _t(Advisory)
    out: list[GroupAdvisory] = []
    for chunk in chunks(sorted(set(groups)), _CHUNK):
        stmt = sa.select(
            adv.c.group_key,
            adv.c.source,
            adv.c.advisory_id,
            adv.c.aliases,
            adv.c.exploited,
            adv.c.imported_at,
            adv.c.summary,
        ).where(adv.c.group_key.in_(chunk), adv.c.withdrawn_at.is_(None))
        out.extend(
            GroupAdvisory(r[0], r[1], r[2], tuple(r[3] or ()), bool(r[4]), r[5], r[6] or "")
            for r in session.execute(stmt.order_by(adv.c.group_key, adv.c.source, adv.c.advisory_id))
        )
    return out


@dataclass(frozen=True, slots=True)
class KevFact:
    cve_id: str
    date_added: datetime
    known_ransomware: bool
    listed_since: datetime | None  # when the stored catalog first listed it (None: stored before 0006)


def kev_entries(session: Session, cve_ids: Iterable[str]) -> list[KevFact]:
    kev = _t(KevEntry)
    out: list[KevFact] = []
    for chunk in chunks(sorted(set(cve_ids)), _CHUNK):
        stmt = sa.select(kev.c.cve_id, kev.c.date_added, kev.c.known_ransomware, kev.c.listed_since).where(
            kev.c.cve_id.in_(chunk)
        )
        out.extend(KevFact(r[0], r[1], bool(r[2]), r[3]) for r in session.execute(stmt))
    return out


def kev_fetched_at(session: Session) -> datetime | None:
    """When the stored KEV catalog was last fetched or imported (``None``: never)."""
    feed = _t(FeedState)
    return session.execute(sa.select(feed.c.fetched_at).where(feed.c.name == KEV_FEED)).scalar()


@dataclass(frozen=True, slots=True)
class ExploitedRecord:
    vuln_group: str
    known_at: datetime
    sources: tuple[str, ...]
    kev_date_added: datetime | None
    known_ransomware: bool


def exploited(session: Session, groups: Iterable[str]) -> dict[str, ExploitedRecord]:
    table = _t(CraExploitedRow)
    out: dict[str, ExploitedRecord] = {}
    for chunk in chunks(sorted(set(groups)), _CHUNK):
        stmt = sa.select(
            table.c.vuln_group,
            table.c.known_at,
            table.c.sources,
            table.c.kev_date_added,
            table.c.known_ransomware,
        ).where(table.c.vuln_group.in_(chunk))
        for r in session.execute(stmt):
            out[r[0]] = ExploitedRecord(r[0], r[1], tuple(r[2] or ()), r[3], bool(r[4]))
    return out


def record_exploited(session: Session, records: Sequence[ExploitedRecord]) -> None:
    """Insert new groups; for groups already recorded, add sources and KEV facts but keep ``known_at``."""
    if not records:
        return
    now = utcnow()
    stmt = _insert(session, CraExploitedRow)
    stmt = stmt.on_conflict_do_update(
        index_elements=["vuln_group"],
        set_={c: stmt.excluded[c] for c in ("sources", "kev_date_added", "known_ransomware")},
    )
    for r in records:
        session.execute(
            stmt.values(
                vuln_group=r.vuln_group,
                known_at=r.known_at,
                sources=list(r.sources),
                kev_date_added=r.kev_date_added,
                known_ransomware=r.known_ransomware,
                recorded_at=now,
            )
        )


# --- the manufacturer's records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseRecord:
    system: str
    vuln_group: str
    awareness_at: datetime | None
    awareness_note: str
    early_warning_at: datetime | None
    notification_at: datetime | None
    final_report_at: datetime | None
    mitigations: tuple[str, ...]
    updated_at: datetime


CASE_FIELDS = (
    "awareness_at",
    "awareness_note",
    "early_warning_at",
    "notification_at",
    "final_report_at",
    "mitigations",
)


def cases(session: Session, org_id: int) -> dict[tuple[str, str], CaseRecord]:
    """(system name, group) → what the manufacturer recorded, for the organization's systems."""
    table, system = _t(CraCaseRow), _t(System)
    stmt = (
        sa.select(system.c.name, table.c.vuln_group, *(table.c[f] for f in CASE_FIELDS), table.c.updated_at)
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id)
        .order_by(system.c.name, table.c.vuln_group)
    )
    return {
        (r[0], r[1]): CaseRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7] or ()), r[8])
        for r in session.execute(stmt)
    }


def set_case(session: Session, system_id: int, vuln_group: str, changes: dict[str, Any]) -> None:
    """Create or update the manufacturer's record of (system, group); only the given fields change."""
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise ValueError(f"not case fields: {', '.join(sorted(unknown))}")
    values = {"awareness_note": "", "mitigations": [], **changes, "updated_at": utcnow()}
    stmt = _insert(session, CraCaseRow).values(system_id=system_id, vuln_group=vuln_group, **values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["system_id", "vuln_group"],
            set_={c: stmt.excluded[c] for c in (*changes, "updated_at")},
        )
    )
