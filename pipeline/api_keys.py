"""API keys and dashboard sign-in: create, list, revoke, authenticate.

A key looks like ``pgk_<prefix>_<secret>``: 12 hex characters of random lookup prefix and 32 random
bytes (URL-safe Base64) of secret. Only the SHA-256 of the whole token is stored; a plain hash is
enough because the token has 256 bits of entropy (a slow password hash protects low-entropy secrets,
and would cost every API request milliseconds). The prefix finds the row through a unique index, and
the hashes are compared in constant time. The token is returned once, by ``create_key``.

Roles are ordered: ``reader`` reads; ``uploader`` also uploads SBOMs and creates systems; ``admin``
also changes system attributes, VEX, SLA policies and keys.

A dashboard session is a random cookie token (its SHA-256 stored, as for keys) bound to the API key
that signed in, with its own CSRF token for forms; revoking the key ends its sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.embargo import admit
from core.errors import InputError
from core.time import utcnow
from store.db import Database
from store.queries.organizations import (
    KeyRow,
    delete_dashboard_session,
    find_dashboard_session,
    find_key_by_prefix,
    get_or_create_organization,
    insert_api_key,
    insert_dashboard_session,
    list_api_keys,
    revoke_api_key,
    touch_api_key,
)

ROLES = ("reader", "uploader", "admin")
KEY_SCHEME = "pgk"
# last_used_at is written at most this often per key (a write per request would serialize reads).
LAST_USED_RESOLUTION = timedelta(minutes=1)
SESSION_LIFETIME = timedelta(hours=12)
_HEX = "0123456789abcdef"
_MAX_PREFIX = 32  # the prefix column's width

# Compared against when the prefix is unknown, so a miss costs the same comparison as a hit.
_DUMMY_HASH = hashlib.sha256(b"patchgap-no-such-key").hexdigest()


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key: everything but the secret (which is not stored)."""

    id: int
    org: str
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    embargo: bool = False  # may read embargoed Akrites data (in an Akrites member organization)


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: ``token`` is shown to the user once and never again."""

    token: str
    key: KeyInfo


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key, its organization and its role (and the key's name, for audit trails)."""

    key_id: int
    org_id: int
    org: str
    role: str
    name: str = ""
    embargo: bool = False  # the key's ``embargo`` permission
    akrites_member: bool = False  # the organization is an Akrites member

    @property
    def sees_embargoed(self) -> bool:
        """Whether this key may be shown embargoed Akrites data (``core.embargo``): both are needed."""
        return self.embargo and self.akrites_member

    @property
    def actor(self) -> str:
        """How decisions made with this key are signed: its name, else its id."""
        return self.name or f"API key {self.key_id}"

    def allows(self, role: str) -> bool:
        """Whether this principal's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True, slots=True)
class DashboardLogin:
    """A dashboard session: the cookie value (shown once to the browser) and the form CSRF token."""

    cookie: str
    csrf_token: str
    principal: Principal


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: KeyRow) -> KeyInfo:
    return KeyInfo(
        row.id,
        row.org,
        row.name,
        row.role,
        row.prefix,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
        row.embargo,
    )


def _principal(row: KeyRow) -> Principal:
    """The principal of a key, which is also the reader of the current request: the request's embargo
    view follows the key (``core.embargo.admit``; no effect outside a request)."""
    principal = Principal(
        key_id=row.id,
        org_id=row.org_id,
        org=row.org,
        role=row.role,
        name=row.name,
        embargo=row.embargo,
        akrites_member=row.akrites_member,
    )
    admit(principal.sees_embargoed)
    return principal


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError("role", f"{role!r} is not one of {', '.join(ROLES)}")
    return role


def create_key(
    db: Database,
    *,
    org: str,
    role: str,
    name: str = "",
    embargo: bool = False,
    granted_by: Principal | None = None,
) -> CreatedKey:
    """Create a key for ``org`` (the organization is created on first use, to bootstrap a database).

    ``embargo`` gives the key the permission to read embargoed Akrites data. The operator (the CLI,
    ``granted_by`` None) may give it to any key; over the API only a key that itself sees embargoed data
    (``embargo`` in an Akrites member organization) may, so a tenant cannot grant itself access.
    """
    check_role(role)
    if embargo and granted_by is not None and not granted_by.sees_embargoed:
        raise InputError(
            "embargo", "only a key with the embargo permission of an Akrites member organization may grant it"
        )
    prefix = secrets.token_hex(6)
    token = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    with db.write() as session:
        organization = get_or_create_organization(session, org)
        row = insert_api_key(
            session,
            organization,
            name=name,
            role=role,
            prefix=prefix,
            key_hash=_hash(token),
            embargo=embargo,
        )
    return CreatedKey(token, _info(row))


def list_keys(db: Database, org: str) -> list[KeyInfo]:
    with db.read() as session:
        return [_info(row) for row in list_api_keys(session, org)]


def revoke_key(db: Database, org: str, key_id: int) -> KeyInfo:
    with db.write() as session:
        return _info(revoke_api_key(session, org, key_id, utcnow()))


def _prefix_of(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        return None
    # Only hex can be a stored prefix: anything else (a NUL typed into the sign-in form, which PostgreSQL
    # would refuse to look up) is no key, on every database alike, without a query.
    if len(parts[1]) > _MAX_PREFIX or parts[1].strip(_HEX):
        return None
    return parts[1]


def authenticate(db: Database, token: str, *, now: datetime | None = None) -> Principal | None:
    """The principal of a valid, unrevoked key, recording its use; ``None`` for anything else."""
    prefix = _prefix_of(token.strip())
    if prefix is None:
        return None
    with db.read() as session:
        row = find_key_by_prefix(session, prefix)
    matches = hmac.compare_digest(_hash(token.strip()), row.key_hash if row else _DUMMY_HASH)
    if row is None or not matches or row.revoked_at is not None:
        return None
    moment = now or utcnow()
    if row.last_used_at is None or row.last_used_at < moment - LAST_USED_RESOLUTION:
        with db.write() as session:
            touch_api_key(session, row.id, moment, moment - LAST_USED_RESOLUTION)
    return _principal(row)


def start_dashboard_session(db: Database, token: str) -> DashboardLogin | None:
    """Sign a browser in with an API key; ``None`` when the key is not valid."""
    principal = authenticate(db, token)
    if principal is None:
        return None
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as session:
        insert_dashboard_session(
            session,
            token_hash=_hash(cookie),
            key_id=principal.key_id,
            csrf_token=csrf,
            now=now,
            expires_at=now + SESSION_LIFETIME,
        )
    return DashboardLogin(cookie, csrf, principal)


def dashboard_session(db: Database, cookie: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session cookie; ``None`` if unknown, expired or revoked."""
    if not cookie:
        return None
    with db.read() as session:
        found = find_dashboard_session(session, _hash(cookie), utcnow())
    if found is None:
        return None
    row, csrf = found
    return _principal(row), csrf


def end_dashboard_session(db: Database, cookie: str) -> None:
    with db.write() as session:
        delete_dashboard_session(session, _hash(cookie))


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a form's CSRF token with the session's."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
