"""CRA Article 14 facts: record when patchgap learned them, and keep what the manufacturer records.

Awareness (``reports.exports.cra_register``) is the first moment patchgap knew both that a vulnerability
is actively exploited and that it is present in a product. Both moments are recorded as they happen,
because the rows they are read from are overwritten later:

- *present* — :func:`record_awareness` runs inside every exposure rebuild
  (``pipeline.exposures``) and records, once per (system, group), the earliest
  max(snapshot received_at, advisory imported_at) of its affected matches
  (``store.queries.cra.record_presence``);
- *exploited* — the same hook (and the register export, for KEV updates that change no exposure)
  records, once per group, when the first exploitation fact arrived: the ``imported_at`` of an
  advisory saying ``exploited``, or the fetch of the KEV catalog that first listed one of the group's
  CVEs (``kev_entry.listed_since``, kept across catalog replacements); KEV's own ``dateAdded`` is kept
  beside it. A fact first seen by a later rebuild carries the stored arrival time, not the rebuild's.

The manufacturer's own records — an awareness override with a note, the submission times of the three
reports, mitigation texts — are set per (system, vulnerability) by :func:`set_case`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import InputError, NotFoundError
from core.time import require_utc, rfc3339
from store.db import Database, Tx
from store.queries import advisories as advisory_queries
from store.queries import cra as cq
from store.queries import organizations as organization_queries
from store.queries.organizations import get_organization
from store.queries.systems import get_system

KEV_SOURCE = "kev"


# --- recording facts ---------------------------------------------------------------------------------


def record_exploitation(session: Tx, groups: Iterable[str]) -> int:
    """Record exploitation facts of these groups not recorded yet (and new sources of recorded ones).

    Returns how many groups were inserted or updated.
    """
    wanted = sorted(set(groups))
    if not wanted:
        return 0
    advisories = advisory_queries.group_advisories(session, wanted)
    ids: dict[str, set[str]] = {g: {g} for g in wanted}
    for a in advisories:
        ids[a.group_key].add(a.advisory_id)
        ids[a.group_key].update(a.aliases)
    kev_by_cve = {
        k.cve_id: k
        for k in advisory_queries.kev_entries(
            session, {i for s in ids.values() for i in s if i.startswith("CVE-")}
        )
    }
    # Rows without ``listed_since`` (stored before it was kept) fall back to the catalog's fetch time.
    kev_time = (
        advisory_queries.kev_fetched_at(session)
        if any(k.listed_since is None for k in kev_by_cve.values())
        else None
    )
    recorded = cq.exploited(session, wanted)
    now = datetime.now(UTC)
    changes: list[cq.ExploitedRecord] = []
    by_group: dict[str, list[advisory_queries.GroupAdvisory]] = defaultdict(list)
    for a in advisories:
        if a.exploited:
            by_group[a.group_key].append(a)
    for group in wanted:
        flagged = by_group.get(group, [])
        kev = [kev_by_cve[i] for i in sorted(ids[group]) if i in kev_by_cve]
        sources = {a.source for a in flagged} | ({KEV_SOURCE} if kev else set())
        if not sources:
            continue
        times = [a.imported_at for a in flagged] + [k.listed_since or kev_time or now for k in kev]
        date_added = min((k.date_added for k in kev), default=None)
        ransomware = any(k.known_ransomware for k in kev)
        old = recorded.get(group)
        if old is not None:
            sources |= set(old.sources)
            date_added = old.kev_date_added if date_added is None else date_added
            ransomware = ransomware or old.known_ransomware
            if (tuple(sorted(sources)), date_added, ransomware) == (
                old.sources,
                old.kev_date_added,
                old.known_ransomware,
            ):
                continue
        known_at = old.known_at if old is not None else min(times)
        changes.append(cq.ExploitedRecord(group, known_at, tuple(sorted(sources)), date_added, ransomware))
    cq.record_exploited(session, changes)
    return len(changes)


def record_awareness(session: Tx, groups: Mapping[int, Collection[str]]) -> None:
    """The exposure-rebuild hook, given the groups of each rebuilt system's new rows: presence for the
    systems with a group not recorded yet (``store.queries.cra.presence_missing``: a rebuild that adds
    no group reads one index instead of joining the system's snapshots to every affected match),
    exploitation for their groups."""
    cq.record_presence(session, cq.presence_missing(session, groups))
    record_exploitation(session, {g for found in groups.values() for g in found})


# --- organizations -----------------------------------------------------------------------------------


def list_organizations(db: Database) -> list[dict[str, Any]]:
    """``patchgap orgs list --json``: name, manufacturer flag, number of systems, created_at."""
    with db.read() as session:
        rows = organization_queries.organizations(session)
    return [
        {
            "name": r.name,
            "manufacturer": r.is_manufacturer,
            "akrites_member": r.akrites_member,
            "systems": r.systems,
            "created_at": rfc3339(r.created_at),
        }
        for r in rows
    ]


def set_manufacturer(db: Database, org: str, flag: bool) -> None:
    """Mark (or unmark) an existing organization as a CRA manufacturer."""
    with db.write() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        organization_queries.set_manufacturer(session, org_id, flag)


# --- the manufacturer's records -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseChanges:
    """Fields of a case to change; ``None`` leaves a field as it is. ``clear_awareness`` removes the
    override (the computed awareness applies again); ``mitigations`` replaces the list."""

    awareness_at: datetime | None = None
    awareness_note: str | None = None
    clear_awareness: bool = False
    early_warning_at: datetime | None = None
    notification_at: datetime | None = None
    final_report_at: datetime | None = None
    mitigations: tuple[str, ...] | None = None

    def as_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.clear_awareness:
            out["awareness_at"] = None
        elif self.awareness_at is not None:
            out["awareness_at"] = require_utc(self.awareness_at, "--aware-at")
        if self.awareness_note is not None:
            out["awareness_note"] = self.awareness_note
        for name in ("early_warning_at", "notification_at", "final_report_at"):
            value = getattr(self, name)
            if value is not None:
                out[name] = require_utc(value, name)
        if self.mitigations is not None:
            out["mitigations"] = [m.strip() for m in self.mitigations if m.strip()]
        return out


def resolve_group(session: Tx, vulnerability: str) -> str:
    """The vulnerability group an id, alias or group key names."""
    found = advisory_queries.groups_for_ids(session, [vulnerability]).get(vulnerability)
    if found is None:
        raise NotFoundError(f"vulnerability {vulnerability!r}: no stored advisory has this id or alias")
    return found


def set_case(db: Database, org: str, system: str, vulnerability: str, changes: CaseChanges) -> dict[str, Any]:
    """Record the manufacturer's awareness override, submissions or mitigations; returns the case."""
    fields = changes.as_fields()
    if not fields:
        raise InputError(
            "cra case", "nothing to set: give an awareness time, a note, a submission or a mitigation"
        )
    with db.write() as session:
        system_row = get_system(session, org, system)
        assert system_row.id is not None
        group = resolve_group(session, vulnerability)
        cq.set_case(session, system_row.id, group, fields)
    return next(c for c in list_cases(db, org) if c["system"] == system and c["vulnerability_group"] == group)


def list_cases(db: Database, org: str) -> list[dict[str, Any]]:
    """The manufacturer's records of the organization, by system and group."""
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        rows = cq.cases(session, org_id)
    return [
        {
            "system": r.system,
            "vulnerability_group": r.vuln_group,
            "awareness_at": rfc3339(r.awareness_at),
            "awareness_note": r.awareness_note,
            "early_warning_at": rfc3339(r.early_warning_at),
            "notification_at": rfc3339(r.notification_at),
            "final_report_at": rfc3339(r.final_report_at),
            "mitigations": list(r.mitigations),
            "updated_at": rfc3339(r.updated_at),
        }
        for r in rows.values()
    ]
