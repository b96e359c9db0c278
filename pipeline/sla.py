"""The SLA policy of an organization: read it, store it, change tiers' days."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from core.errors import InputError
from reports.sla import DEFAULT_POLICY, POLICY_SCHEMA, SlaPolicy
from store.db import Database, Tx
from store.queries import exposures as q
from store.queries.organizations import get_or_create_organization, get_organization

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_SCHEMA",
    "SlaPolicy",
    "get_sla_policy",
    "policy_from_tiers",
    "policy_of",
    "set_sla_policy",
]


def _own_policy(session: Tx, org_id: int, org: str) -> SlaPolicy | None:
    """The organization's stored policy; ``None`` when it has none, or when what is stored no longer
    passes validation (stored before a rule existed): reports then use the defaults and say so in the
    log instead of failing until someone stores a valid policy."""
    stored = q.sla_policy(session, org_id)
    if stored is None:
        return None
    try:
        return SlaPolicy.from_json(json.dumps(stored), f"SLA policy of {org}")
    except InputError as exc:
        log.warning("%s; the default policy applies until a valid one is stored", exc)
        return None


def policy_of(session: Tx, org_id: int, org: str) -> SlaPolicy:
    """The organization's stored policy, else the DESIGN.md defaults."""
    return _own_policy(session, org_id, org) or DEFAULT_POLICY



def get_sla_policy(db: Database, org: str) -> tuple[SlaPolicy, bool]:
    """The organization's policy and whether it is its own (``False``: DESIGN.md defaults)."""
    with db.read() as session:
        org_row = get_organization(session, org)
        assert org_row.id is not None
        own = _own_policy(session, org_row.id, org)
        return own or DEFAULT_POLICY, own is not None


def set_sla_policy(db: Database, org: str, policy: SlaPolicy) -> None:
    """Store ``policy`` for ``org`` (validated by ``SlaPolicy.from_json`` on the way in)."""
    with db.write() as session:
        org_row = get_or_create_organization(session, org)
        assert org_row.id is not None
        q.set_sla_policy(session, org_row.id, json.loads(policy.to_json()))


def policy_from_tiers(assignments: Sequence[str], base: SlaPolicy, source: str = "--tier") -> SlaPolicy:
    """``base`` with the days of named tiers replaced: ``["critical=5", "high=20"]``."""
    days: dict[str, float] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not sep or not name or number <= 0:
            raise InputError(source, f"{item!r}: expected NAME=DAYS with a positive number of days")
        days[name] = number
    unknown = set(days) - {t.name for t in base.tiers}
    if unknown:
        known = ", ".join(t.name for t in base.tiers)
        raise InputError(source, f"unknown tier(s) {', '.join(sorted(unknown))}; the policy has {known}")
    tiers = tuple(replace(t, days=days.get(t.name, t.days)) for t in base.tiers)
    return SlaPolicy(tiers)
