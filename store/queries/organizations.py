"""Queries on organizations, their API keys and the dashboard sessions signed in with those keys.

Every read that takes an organization scopes by it: another tenant's key or session is "not found",
exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import NotFoundError
from core.time import utcnow
from store.sql import dialect_insert as _insert
from store.sql import storable_id
from store.sql import table_of as _table
from store.tables.organizations import ApiKey, DashboardSession, Organization
from store.tables.systems import System

# --- organizations -------------------------------------------------------------------------------


def find_organization(session: Session, name: str) -> Organization | None:
    return session.exec(select(Organization).where(Organization.name == name)).first()


def get_organization(session: Session, name: str) -> Organization:
    org = find_organization(session, name)
    if org is None:
        raise NotFoundError(f"organization {name!r} does not exist")
    return org


def organization_id(session: Session, name: str) -> int:
    """The id of the organization named ``name`` (one indexed read, no ORM object)."""
    org = _table(Organization)
    found = session.execute(sa.select(org.c.id).where(org.c.name == name)).scalar()
    if found is None:
        raise NotFoundError(f"organization {name!r} does not exist")
    return int(found)


def get_or_create_organization(session: Session, name: str) -> Organization:
    """The organization named ``name``, created on first use (safe against a concurrent creator)."""
    org = find_organization(session, name)
    if org is not None:
        return org
    stmt = _insert(session, Organization).values(name=name, created_at=utcnow()).on_conflict_do_nothing()
    session.execute(stmt)
    return get_organization(session, name)


def organization_names(session: Session) -> list[str]:
    """Every organization's name, sorted (one narrow read, no ORM objects)."""
    org = _table(Organization)
    return [str(n) for n in session.execute(sa.select(org.c.name).order_by(org.c.name)).scalars()]


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    """An organization with its manufacturer flag and number of systems."""

    name: str
    is_manufacturer: bool
    created_at: datetime
    systems: int
    akrites_member: bool = False


def organizations(session: Session) -> list[OrganizationRow]:
    """Every organization with its manufacturer flag and number of systems, by name."""
    org, system = _table(Organization), _table(System)
    stmt = (
        sa.select(
            org.c.name,
            org.c.is_manufacturer,
            org.c.created_at,
            sa.func.count(system.c.id),
            org.c.akrites_member,
        )
        .select_from(org.outerjoin(system, system.c.org_id == org.c.id))
        .group_by(org.c.id, org.c.name, org.c.is_manufacturer, org.c.created_at, org.c.akrites_member)
        .order_by(org.c.name)
    )
    return [OrganizationRow(r[0], bool(r[1]), r[2], int(r[3]), bool(r[4])) for r in session.execute(stmt)]


def set_manufacturer(session: Session, org_id: int, flag: bool) -> None:
    org = _table(Organization)
    session.execute(org.update().where(org.c.id == org_id).values(is_manufacturer=flag))


def set_akrites_member(session: Session, org_id: int, flag: bool) -> None:
    org = _table(Organization)
    session.execute(org.update().where(org.c.id == org_id).values(akrites_member=flag))


def is_manufacturer(session: Session, org_id: int) -> bool:
    org = _table(Organization)
    return bool(session.execute(sa.select(org.c.is_manufacturer).where(org.c.id == org_id)).scalar_one())


# --- API keys ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyRow:
    """An API key with its organization's name (never the secret, which is not stored)."""

    id: int
    org_id: int
    org: str
    name: str
    role: str
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    # The key's ``embargo`` permission, and whether its organization is an Akrites member.
    embargo: bool = False
    akrites_member: bool = False


def _key_row(key: ApiKey, org_name: str, akrites_member: bool = False) -> KeyRow:
    return KeyRow(
        id=cast(int, key.id),
        org_id=key.org_id,
        org=org_name,
        name=key.name,
        role=key.role,
        prefix=key.prefix,
        key_hash=key.key_hash,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        embargo=bool(key.embargo),
        akrites_member=akrites_member,
    )


def insert_api_key(
    session: Session,
    org: Organization,
    *,
    name: str,
    role: str,
    prefix: str,
    key_hash: str,
    embargo: bool = False,
) -> KeyRow:
    assert org.id is not None
    key = ApiKey(
        org_id=org.id,
        name=name,
        role=role,
        prefix=prefix,
        key_hash=key_hash,
        created_at=utcnow(),
        embargo=embargo,
    )
    session.add(key)
    session.flush()
    return _key_row(key, org.name, bool(org.akrites_member))


def find_key_by_prefix(session: Session, prefix: str) -> KeyRow | None:
    """The key with this lookup prefix, revoked or not (the caller decides)."""
    row = session.exec(
        select(ApiKey, Organization.name, Organization.akrites_member)
        .join(Organization, col(Organization.id) == ApiKey.org_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    return None if row is None else _key_row(row[0], row[1], bool(row[2]))


def touch_api_key(session: Session, key_id: int, now: datetime, not_since: datetime) -> None:
    """Record a use of the key, at most once per interval (``last_used_at`` older than ``not_since``).

    Throttled because a write per request would serialize every read request on SQLite's single writer.
    """
    key = _table(ApiKey)
    session.execute(
        sa.update(key)
        .where(key.c.id == key_id)
        .where(sa.or_(key.c.last_used_at.is_(None), key.c.last_used_at < not_since))
        .values(last_used_at=now)
    )


def list_api_keys(session: Session, org_name: str) -> list[KeyRow]:
    org = get_organization(session, org_name)
    keys = session.exec(select(ApiKey).where(ApiKey.org_id == org.id).order_by(col(ApiKey.id)))
    return [_key_row(k, org.name, bool(org.akrites_member)) for k in keys]


def revoke_api_key(session: Session, org_name: str, key_id: int, now: datetime) -> KeyRow:
    """Revoke a key of ``org_name`` (idempotent: an already revoked key keeps its first revocation time)."""
    org = get_organization(session, org_name)
    key = (
        session.exec(select(ApiKey).where(ApiKey.id == key_id, ApiKey.org_id == org.id)).first()
        if storable_id(key_id)
        else None
    )
    if key is None:
        raise NotFoundError(f"API key {key_id} does not exist in organization {org_name!r}")
    if key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
        session.flush()
        # Signed-in browsers of a revoked key are signed out at once.
        sessions = _table(DashboardSession)
        session.execute(sa.delete(sessions).where(sessions.c.key_id == key_id))
    return _key_row(key, org.name, bool(org.akrites_member))


# --- dashboard sessions --------------------------------------------------------------------------


def insert_dashboard_session(
    session: Session, *, token_hash: str, key_id: int, csrf_token: str, now: datetime, expires_at: datetime
) -> None:
    table = _table(DashboardSession)
    # Expired sessions are removed whenever someone signs in, so the table never grows without bound.
    session.execute(sa.delete(table).where(table.c.expires_at < now))
    session.execute(
        sa.insert(table).values(
            token_hash=token_hash, key_id=key_id, csrf_token=csrf_token, created_at=now, expires_at=expires_at
        )
    )


def find_dashboard_session(session: Session, token_hash: str, now: datetime) -> tuple[KeyRow, str] | None:
    """The key behind a live session and the session's CSRF token; ``None`` if expired or revoked."""
    row = session.exec(
        select(DashboardSession, ApiKey, Organization.name, Organization.akrites_member)
        .join(ApiKey, col(ApiKey.id) == DashboardSession.key_id)
        .join(Organization, col(Organization.id) == ApiKey.org_id)
        .where(
            DashboardSession.token_hash == token_hash,
            DashboardSession.expires_at > now,
            col(ApiKey.revoked_at).is_(None),
        )
    ).first()
    if row is None:
        return None
    dash, key, org_name, member = row
    return _key_row(key, org_name, bool(member)), dash.csrf_token


def delete_dashboard_session(session: Session, token_hash: str) -> None:
    table = _table(DashboardSession)
    session.execute(sa.delete(table).where(table.c.token_hash == token_hash))
