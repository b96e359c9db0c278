"""Which rules an event goes to: a rule's kinds and filters against the event's organization and payload.

Pure logic over the event payload schema (README, "Notifications"). An organization's rules see its own
events and the installation's (``org_id`` null: a failed sync), never another organization's. An empty
list filters nothing; a filter that is set matches only an event that carries the field it reads
(``system.environment``, ``exposure.tier``, ``system.name``, ``exposure.kev``, ``system.owner``,
``system.tags``), so a "prod only" rule never receives a sync failure, which concerns no system.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store.queries.notifications import EventRow, RuleRow


def _section(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = payload.get(name)
    return value if isinstance(value, Mapping) else {}


def _one_of(value: Any, allowed: list[str]) -> bool:
    return not allowed or (isinstance(value, str) and value in allowed)


def rule_matches(rule: RuleRow, event: EventRow) -> bool:
    """Whether ``event`` is one ``rule`` delivers."""
    if event.org_id is not None and event.org_id != rule.org_id:
        return False
    if rule.event_kinds and event.kind not in rule.event_kinds:
        return False
    system = _section(event.payload, "system")
    exposure = _section(event.payload, "exposure")
    if not _one_of(system.get("environment"), rule.environments):
        return False
    if not _one_of(system.get("name"), rule.systems):
        return False
    owner = system.get("owner")
    # Owners compare without regard to case, as e-mail addresses do (the report filters do the same).
    if rule.owners and not (
        isinstance(owner, str) and owner.casefold() in {o.casefold() for o in rule.owners}
    ):
        return False
    if not _one_of(exposure.get("tier"), rule.tiers):
        return False
    if rule.kev_only and exposure.get("kev") is not True:
        return False
    if rule.tags:
        tags = system.get("tags")
        if not isinstance(tags, list) or not set(rule.tags) & {t for t in tags if isinstance(t, str)}:
            return False
    return True
