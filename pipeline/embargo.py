"""What the current reader may not see: the embargoed groups and records of ``core.embargo``'s rule.

Every read of an organization's exposures, events, analyses and advisories asks here once, under the
view of the request (``core.embargo.current_view``): nothing is hidden from an entitled reader; from
everyone else (other organizations, keys without ``embargo``, exports, notifications) the groups whose
every record is an Akrites record not yet disclosed, and the records themselves.
"""

from __future__ import annotations

from datetime import datetime

from core.embargo import current_view
from store.db import Conn, Database, Tx
from store.queries import embargo as q
from store.queries.organizations import organization_id, set_akrites_member
from store.queries.triage import AnalysisView


def hidden_groups(session: Tx | Conn, *, now: datetime | None = None) -> frozenset[str]:
    """The vulnerability groups the current reader may not see (none for an entitled reader)."""
    view = current_view()
    if view.entitled:
        return frozenset()
    return frozenset(q.embargoed_groups(session, now if now is not None else view.moment()))


def hidden_records(session: Tx | Conn) -> frozenset[tuple[str, str]]:
    """(source, advisory id) of the records the current reader may not see."""
    view = current_view()
    if view.entitled:
        return frozenset()
    return frozenset(q.embargoed_records(session, view.moment()))


def visible_analyses(session: Tx, views: list[AnalysisView], groups: dict[int, str]) -> list[AnalysisView]:
    """The analysis records the reader may see (``groups``: record id → its group): none about a group,
    or naming a record, that is under embargo for this reader."""
    hidden_group_keys = hidden_groups(session)
    hidden_ids = {advisory_id for _, advisory_id in hidden_records(session)}
    return [
        v
        for v in views
        if groups.get(v.id) not in hidden_group_keys and not hidden_ids & {v.vulnerability, *v.aliases}
    ]


def embargoed_groups(session: Tx, now: datetime) -> set[str]:
    """The groups under embargo at ``now`` for everyone but entitled readers (notifications hold their
    events)."""
    return q.embargoed_groups(session, now)


def set_member(db: Database, org: str, flag: bool) -> None:
    """Mark (or unmark) an existing organization as an Akrites member: the operator's decision (the CLI),
    never an organization's own key's."""
    with db.write() as session:
        set_akrites_member(session, organization_id(session, org), flag)


def disclosed_at_of(session: Tx, after: datetime, until: datetime) -> dict[datetime, set[str]]:
    """Disclosure moment → the groups of the Akrites records disclosed then, in (``after``, ``until``]."""
    return q.disclosures(session, after, until)


def excluded_in_groups(session: Tx, org_id: int, groups: frozenset[str]) -> bool:
    """Whether the organization has triage-excluded stored rows of these groups."""
    return q.excluded_in_groups(session, org_id, groups)
