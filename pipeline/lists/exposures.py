"""The exposures list, paged: the rows of ``patchgap report exposures`` filtered and sorted, one keyset
page at a time (``core.paging``), and the whole filtered list as a stream.

Rows are exactly the exposures report's (``pipeline.exposures.reports.exposures_report``): same keys,
same values. A query selects them by status, system, environment, owner, tags, SLA tier, severity,
KEV and package, and sorts them by one column in either direction; ties are broken by the row's
identity (system, package, vulnerability, first seen), unique within a status, so the order is total.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

from core.embargo import current_view, public, viewing
from core.errors import InputError
from core.kept import OneAtATime, UnderDigest, keep
from core.paging import DEFAULT_LIMIT, MAX_LIMIT, CursorValue, Page, decode_cursor, encode_cursor
from core.time import moment_asked, now_including, rfc3339, utcnow_seconds, within_range
from pipeline.database import refresh_statistics
from pipeline.embargo import hidden_groups, hidden_records
from pipeline.exposures.build import ensure_exposures
from pipeline.exposures.reports import (
    built_before,
    built_of_rows,
    exposures_from_inputs,
    exposures_report,
    group_details,
    inputs_of_built,
)
from pipeline.plan import item_rows, public_advice
from pipeline.systems import SystemFilter
from reports.deploy_time import assess_exposures
from store.db import Database, Tx
from store.queries import changes
from store.queries import exposures as q
from store.queries import lists as lq
from store.queries import plan as pq
from store.queries import systems as system_queries
from store.queries.organizations import get_organization, organizations
from store.queries.packages import affected_rows_for_keys
from store.sql import chunks

__all__ = [
    "LIST_STATUSES",
    "SORTS",
    "ExposureQuery",
    "ListStatus",
    "changed_systems",
    "exposure_page",
    "iter_exposures",
    "kept_stamps",
    "rebuild_list",
    "rebuild_lists",
    "refresh_list",
    "refreshed_state",
    "row_sort_key",
    "system_stamps",
]

ListStatus = Literal["open", "resolved", "excluded", "all", "risk_accepted"]
LIST_STATUSES: tuple[ListStatus, ...] = ("open", "resolved", "excluded", "all", "risk_accepted")
# Sort name → the row's value it orders by. Missing values sort after every present one ascending:
# no due date after the latest, no score below the lowest.
SORTS: dict[str, Callable[[dict[str, Any]], CursorValue]] = {
    "sla_due": lambda r: r["sla_due"] or "~",
    "first_seen": lambda r: r["first_seen"],
    "cvss": lambda r: -1.0 if r["cvss"] is None else float(r["cvss"]),
    "epss": lambda r: -1.0 if r["epss"] is None else float(r["epss"]),
    "system": lambda r: r["system"],
    "package": lambda r: r["package"],
}
_KIND = "exposures"


@dataclass(frozen=True, slots=True)
class ExposureQuery:
    """Which exposure rows, in which order, evaluated at which moment (``None``: now).

    ``status``: ``open`` | ``resolved`` | ``all`` (open and resolved) | ``excluded`` (intervals triage
    excludes) | ``risk_accepted`` (rows whose SLA status is ``risk_accepted``). ``package``: a purl
    prefix when it starts with ``pkg:`` (``pkg:npm/lodash`` or ``pkg:npm/``), else a package name
    (the purl's last path segment, e.g. ``lodash``). ``tags``: every one required.
    """

    status: ListStatus = "open"
    system: str | None = None
    environment: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    tier: str | None = None
    severity: str | None = None
    kev: bool | None = None
    package: str | None = None
    sort: str = "sla_due"
    descending: bool = False
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.status not in LIST_STATUSES:
            raise InputError("status", f"must be one of {', '.join(LIST_STATUSES)}, not {self.status!r}")
        if self.sort not in SORTS:
            raise InputError("sort", f"must be one of {', '.join(SORTS)}, not {self.sort!r}")

    @property
    def order(self) -> str:
        """The cursor's sort name: the column and direction (a cursor of one is refused by the other)."""
        return f"{self.sort}:{'desc' if self.descending else 'asc'}"

    def systems(self) -> SystemFilter:
        return SystemFilter.of(self.owner, self.tags)

    def matches(self, row: dict[str, Any]) -> bool:
        """Whether a report row passes the filters other than status, owner and tags."""
        wanted = (
            ("system", self.system),
            ("environment", self.environment),
            ("sla_tier", self.tier),
            ("severity", self.severity),
            ("kev", self.kev),
        )
        if any(value is not None and row[key] != value for key, value in wanted):
            return False
        return self.package is None or package_matches(row["package"], self.package)


def package_leaf(package: str) -> str:
    """The package's name as the purl's last path segment (``pkg:npm/%40scope/x`` → ``x``)."""
    return unquote(package.rsplit("/", 1)[-1])


def package_matches(package: str, wanted: str) -> bool:
    """A purl matches its own package and the packages under it as a path (never ``vuln-10`` for
    ``pkg:npm/vuln-1``); a plain name matches the purl's last segment."""
    if wanted.startswith("pkg:"):
        return package == wanted or package.startswith(wanted if wanted.endswith("/") else wanted + "/")
    return package_leaf(package) == wanted


def row_sort_key(row: dict[str, Any], sort: str) -> tuple[CursorValue, ...]:
    """The row's place in a list sorted by ``sort``: the column's value, then the row's identity."""
    return (SORTS[sort](row), row["system"], row["package"], row["vulnerability"], row["first_seen"])


def _report_rows(db: Database, org: str, query: ExposureQuery) -> list[dict[str, Any]]:
    """The rows of the only query the stored list does not answer (:func:`_stored` returns ``None``):
    the accepted risks at a moment before the newest snapshot."""
    assert query.status == "risk_accepted", query.status
    return [r for r in _accepted_rows(db, org, query) if query.matches(r)]


def _accepted_rows(db: Database, org: str, query: ExposureQuery) -> list[dict[str, Any]]:
    """The rows whose SLA status is ``risk_accepted`` at ``query.as_of`` among the systems of its owner
    and tags (the other filters are the caller's), from the full report there; kept in the process
    while every input of the organization's reports is unchanged (``_ACCEPTED``)."""
    org_id, state = refreshed_state(db, org)
    with db.read() as session:
        hidden = tuple(sorted(hidden_groups(session)))
    key = (str(db.url), org_id, query.as_of, query.systems(), current_view().entitled, hidden)
    kept = _ACCEPTED.get(key, state)
    if kept is None:
        rows = exposures_report(db, org, "all", query.as_of, only=query.systems())
        kept = [r for r in rows if r["sla_status"] == "risk_accepted"]
        _ACCEPTED.put(key, state, kept)
    return copy.deepcopy(kept)


# (database URL, organization id, moment asked, systems filter, the reader's entitlement, the groups
# hidden from them) → the accepted risks then, kept under the digest of every input of the
# organization's reports they were computed under. The accepted risks at an earlier moment are
# computed from the full report there (tens of seconds at 10,000 systems): the next pages read them
# from here while the digest holds.
_ACCEPTED: UnderDigest[tuple[Any, ...], list[dict[str, Any]]] = UnderDigest(4)


SortKey = tuple[CursorValue, ...]


def _sorted(rows: list[dict[str, Any]], query: ExposureQuery) -> list[tuple[SortKey, dict[str, Any]]]:
    keyed = [(row_sort_key(r, query.sort), r) for r in rows]
    keyed.sort(key=lambda kr: kr[0], reverse=query.descending)
    return keyed


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


# --- the stored list ------------------------------------------------------------------------------

_SEP = "\x1f"
_STATES: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "resolved": ("resolved",),
    "all": ("open", "resolved"),
    "risk_accepted": ("open", "resolved"),
    "excluded": ("excluded",),
}
#: Systems whose list rows are recomputed per transaction.
REFRESH_BATCH = 500


def _ident(system: str, package: str, vulnerability: str, first_seen: str) -> str:
    return _SEP.join((system, package, vulnerability, first_seen))


# A stored stamp is ``<inputs>.<facts token>.<facts>`` (64 characters, the column's width):
# - inputs: a digest of the system's own inputs (``lq.ListInputs``) and the organization's SLA policy;
# - facts token: a digest of ``lq.facts_token`` when the rows were computed;
# - facts: a digest of what advisories, KEV and EPSS said then about the system's vulnerability groups
#   and packages (:func:`_facts_of`).
# Rows are current while the inputs digest is; under the same facts token, so are the facts. When the
# token moved (an advisory, KEV, EPSS or feed changed), the facts digest is computed again, and only
# the systems whose facts differ are recomputed: the others are stamped with the new token.
# In this process a system's stamp is ``<inputs>.<facts>`` (:func:`system_stamps`), so that what is
# kept per system does not move with a token that changed nothing of it.
_INPUTS, _TOKEN, _FACTS = 28, 12, 22


def _inputs_hash(policy: str, i: lq.ListInputs) -> str:
    text = repr((policy, i.digest, i.built_at, i.name, i.environment, i.internet_exposed, i.criticality))
    return hashlib.sha256(repr((text, i.owner, i.tags)).encode()).hexdigest()[:_INPUTS]


def _token_hash(facts: str) -> str:
    return hashlib.sha256(facts.encode()).hexdigest()[:_TOKEN]


def _stored_parts(stamp: str | None) -> tuple[str, str, str] | None:
    """(inputs, token, facts) of a stored stamp; ``None`` for none or one of an older form."""
    parts = stamp.split(".") if stamp else []
    if len(parts) != 3 or (len(parts[0]), len(parts[1]), len(parts[2])) != (_INPUTS, _TOKEN, _FACTS):
        return None
    return parts[0], parts[1], parts[2]


def _digest(groups: Sequence[tuple[str, str]], packages: Sequence[tuple[tuple[str, str], str]]) -> str:
    return hashlib.sha256(repr((sorted(groups), sorted(packages))).encode()).hexdigest()[:_FACTS]


_NO_FACTS = _digest((), ())


def _facts_of(session: Tx, keys: Iterable[tuple[int, str, str, str]]) -> dict[int, str]:
    """System id → a digest of what advisories, KEV and EPSS say about its list rows and plan items,
    from its exposure rows' (system id, group, ecosystem, package name): the facts of each group as
    the reports derive them (``group_details``) and the live advisory entries naming each package,
    as a reader without embargo entitlement sees them (the plan's upgrade advice,
    ``pipeline.plan.public_advice``). Systems without exposure rows are absent (:data:`_NO_FACTS`)."""
    groups_of: dict[int, set[str]] = defaultdict(set)
    packages_of: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for sid, group, ecosystem, name in keys:
        groups_of[sid].add(group)
        packages_of[sid].add((ecosystem, name))
    groups = set().union(*groups_of.values()) if groups_of else set()
    facts, info = group_details(session, groups)
    of_group = {g: hashlib.sha256(repr((facts[g], info[g])).encode()).hexdigest() for g in groups}
    packages = set().union(*packages_of.values()) if packages_of else set()
    entries: dict[tuple[str, str], list[str]] = defaultdict(list)
    with viewing(public(current_view().now)):
        hidden = hidden_records(session)
        for row in affected_rows_for_keys(session, packages):
            if (row.source, row.advisory_id) not in hidden:
                entries[(row.eco_key, row.name_key)].append(repr(row))
    of_package = {k: hashlib.sha256(repr(sorted(entries[k])).encode()).hexdigest() for k in packages}
    return {
        sid: _digest(
            [(g, of_group[g]) for g in groups_of[sid]], [(k, of_package[k]) for k in packages_of.get(sid, ())]
        )
        for sid in groups_of
    }


# (database, organization) → system id → (the inputs its inputs digest was computed from, the digest):
# a refresh that finds a system's inputs unchanged reuses its digest instead of hashing them again (at
# 10,000 systems the hashing was most of a refresh that had nothing to do).
_STAMPED: dict[tuple[str, int], dict[int, tuple[tuple[Any, ...], str]]] = {}


def _hashes_of(key: tuple[str, int], policy: str, found: Sequence[lq.ListInputs]) -> dict[int, str]:
    """Each system's inputs digest (``_inputs_hash``), the unchanged ones' as computed before."""
    before = _STAMPED.get(key, {})
    memo: dict[int, tuple[tuple[Any, ...], str]] = {}
    for i in found:
        inputs: tuple[Any, ...] = (policy, i.digest, i.built_at, i.name, i.environment)
        inputs += (i.internet_exposed, i.criticality, i.owner, i.tags)
        kept = before.get(i.system_id)
        memo[i.system_id] = (
            inputs,
            kept[1] if kept is not None and kept[0] == inputs else _inputs_hash(policy, i),
        )
    keep(_STAMPED, key, memo)
    return {sid: digest for sid, (_, digest) in memo.items()}


# Above this many systems whose facts must be compared, the exposure keys of the whole organization
# are read at once instead of by system ids.
_WHOLE_ORG = 2000


def _compare(
    session: Tx, org_id: int, found: Sequence[lq.ListInputs], hashes: Mapping[int, str], facts: str
) -> tuple[list[int], dict[int, tuple[str, str]], dict[int, str]]:
    """(the systems to recompute, the stamps to replace — system id → (stored, new) —, this process's
    stamp of each system found current) of these systems' stored stamps against their inputs now."""
    token = _token_hash(facts)
    todo: list[int] = []
    current: dict[int, str] = {}
    stale: dict[int, tuple[str, str]] = {}
    for i in found:
        parts = _stored_parts(i.stamp)
        sid = i.system_id
        if parts is None or parts[0] != hashes[sid]:
            todo.append(sid)
        elif parts[1] == token:
            current[sid] = f"{parts[0]}.{parts[2]}"
        else:
            stale[sid] = (parts[0], parts[2])
    restamps: dict[int, tuple[str, str]] = {}
    if stale:
        ids = None if len(stale) > _WHOLE_ORG else sorted(stale)
        keys = [
            (k.system_id, k.vuln_group, k.ecosystem, k.package_name)
            for k in q.exposure_keys(session, org_id, system_ids=ids)
            if k.system_id in stale
        ]
        now = _facts_of(session, keys)
        stored = {i.system_id: i.stamp for i in found}
        for sid, (inputs, was) in stale.items():
            if now.get(sid, _NO_FACTS) == was:
                restamps[sid] = (stored[sid] or "", f"{inputs}.{token}.{was}")
                current[sid] = f"{inputs}.{was}"
            else:
                todo.append(sid)
    return sorted(todo), restamps, current


def _newest(s: system_queries.SystemRow) -> datetime | None:
    return max((t for t in (s.last_observed_at, s.decommissioned_at) if t is not None), default=None)


def _seconds(text: str | None) -> float | None:
    """An RFC 3339 time of a report row as Unix seconds."""
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _expiry(row: dict[str, Any]) -> float:
    analysis = row["analysis"]
    if not analysis or analysis["state"] != "accepted_risk" or not analysis["expires_at"]:
        return 0.0
    return datetime.fromisoformat(analysis["expires_at"].replace("Z", "+00:00")).timestamp()


def _list_row(
    row: dict[str, Any], state: str, exposure_id: int, system: system_queries.SystemRow, org_id: int
) -> dict[str, Any]:
    resolved = row["resolved_at"] is not None
    due, last = _seconds(row["sla_due"]), _seconds(row["last_affected_seen"])
    return {
        "exposure_id": exposure_id,
        "org_id": org_id,
        "system_id": system.id,
        "state": state,
        "system": row["system"],
        "environment": row["environment"],
        "owner_key": system.owner.casefold() if system.owner else None,
        "tags_key": "|" + "".join(f"{t}|" for t in system.tags),
        "package": row["package"],
        "package_leaf": package_leaf(row["package"]),
        "ecosystem": row["ecosystem"],
        "package_name": "",
        "vulnerability": row["vulnerability"],
        "first_seen": row["first_seen"],
        "ident": _ident(row["system"], row["package"], row["vulnerability"], row["first_seen"]),
        "sla_due": SORTS["sla_due"](row),
        "cvss": SORTS["cvss"](row),
        "epss": SORTS["epss"](row),
        "severity": row["severity"],
        "sla_tier": row["sla_tier"],
        "kev": bool(row["kev"]),
        # Open with a due date: breached or open at any moment; closed: breached whatever the moment.
        "risk_candidate": state != "excluded"
        and row["sla_due"] is not None
        and (not resolved or row["sla_status"] in ("breached", "risk_accepted")),
        "accepted_until": _expiry(row),
        "fixable": bool(row["fixed_versions"]),
        "interval_open": not resolved,
        "due_at": due,
        "seen_past_due": due is not None and last is not None and last >= due,
    }


def _identity(row: dict[str, Any], excluded: bool) -> tuple[str, str, str, str, bool]:
    return (row["system"], row["package"], row["vulnerability"], row["first_seen"], excluded)


def _stored_identity(r: q.StoredExposure) -> tuple[str, str, str, str, bool]:
    return (r.system, r.package, r.vuln_group, rfc3339(r.first_seen) or "", bool(r.excluded_by))


Identity = tuple[str, str, str, str, bool]


def _report_of_rows(
    session: Tx,
    org: str,
    org_id: int,
    rows: Sequence[q.StoredExposure],
    systems: Sequence[system_queries.SystemRow],
    *,
    moment: datetime,
    advice: bool,
    plan: bool = False,
    before: bool = False,
) -> tuple[dict[Identity, tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """Identity → (state, report row) of these stored rows, computed by the exposures report's code;
    with ``plan``, also the stored plan's item rows of their open counted exposures (``pipeline.plan``,
    with the advice a reader without embargo entitlement sees). ``before``: ``moment`` is before the
    systems' newest snapshot, and the rows are cut there (``built_before``)."""
    if before:
        built = built_before(session, org_id, rows, systems, moment)
    else:
        built = built_of_rows(session, org_id, rows, systems)
    inputs = inputs_of_built(session, org, org_id, built, systems, moment=moment, advice=advice)
    assessed = assess_exposures(
        inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
    )
    out: dict[Identity, tuple[str, dict[str, Any]]] = {}
    for row in exposures_from_inputs(inputs, "all", assessed):
        out[_identity(row, False)] = ("open" if row["resolved_at"] is None else "resolved", row)
    for row in exposures_from_inputs(inputs, "excluded"):
        out[_identity(row, True)] = ("excluded", row)
    items: list[dict[str, Any]] = []
    if plan:
        ids = {(r.system, r.package, r.vuln_group, r.first_seen): r.id for r in rows if not r.excluded_by}
        items = item_rows(
            public_advice(session, inputs),
            assessed,
            {k: v for k, v in ids.items() if v is not None},
            {s.name: s for s in systems},
            org_id,
        )
    return out, items


def refreshed_state(db: Database, org: str) -> tuple[int, str]:
    """Bring the organization's list rows current (:func:`refresh_list`; stored exposures must be
    current first) and return its id and a digest of every system's list stamp: a digest of
    everything the organization's reports are computed from (each built system's snapshots, match
    results and triage through its build digest, its attributes, the SLA policy, and what advisories,
    KEV, EPSS and feeds say about its vulnerability groups and packages), which changes whenever any
    report could."""
    refresh_list(db, org)
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
    return org_id, _VERSIONS[(str(db.url), org_id)]


@dataclass(frozen=True, slots=True)
class _Read:
    """The organization's list inputs as this process last read them: the facts and policy tokens, the
    change clock's number read before them (``store.queries.changes``: every change up to it is in
    them), each built system's inputs (their stored stamp as read), its inputs digest, and its stamp in
    this process (``<inputs>.<facts>``) once its rows are current."""

    facts: str
    policy: str
    seq: int
    inputs: Mapping[int, lq.ListInputs]
    hashes: Mapping[int, str]
    stamps: dict[int, str]  # never changed once kept: shared with ``_STAMPS``


# (database, organization) → :class:`_Read` after the last refresh in this process that recomputed
# every system whose stamp differed.
_READ: dict[tuple[str, int], _Read] = {}
_READ_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Todo:
    """What a refresh has to do: the systems to recompute, and the stamps to replace (system id →
    (stamp read, new stamp)) of systems whose facts are unchanged under a new facts token."""

    recompute: list[int]
    restamp: dict[int, tuple[str, str]]


def _read_inputs(db: Database, org: str) -> tuple[int, _Read | None, _Todo]:
    """(the organization's id, its list inputs now — ``None``: as kept —, what to do).

    Narrowed by the change clock: when the facts and policy tokens and the clock are what they were at
    the last refresh in this process, no system's inputs moved (none is read); when only the clock
    moved, the systems it names as changed since are read and merged into the inputs kept, and only
    theirs are compared (the others' stored stamps were current after that refresh: writing a stamp
    moves the clock too, so a concurrent refresh that wrote a stamp from older inputs is seen). A
    system deleted leaves no row to name it: when the inputs so merged do not count the organization's
    built systems, every system is read again. When the facts token moved, each system's facts are
    compared (:func:`_compare`).
    """
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        key = (str(db.url), org_id)
        with _READ_LOCK:
            kept = _READ.get(key)
        facts, policy = lq.facts_token(session), lq.policy_token(session, org_id)
        if kept is not None and (kept.facts, kept.policy) == (facts, policy):
            seq, moved = changes.changed_since(session, org_id, kept.seq)
            if seq == kept.seq and not moved:
                return org_id, None, _Todo([], {})
            inputs = dict(kept.inputs)
            for sid in moved:
                inputs.pop(sid, None)
            found = lq.list_inputs(session, org_id, moved) if moved else []
            inputs.update((i.system_id, i) for i in found)
            if len(inputs) == lq.built_count(session, org_id):
                hashes = {sid: h for sid, h in kept.hashes.items() if sid in inputs}
                hashes.update((i.system_id, _inputs_hash(policy, i)) for i in found)
                todo, restamps, current = _compare(session, org_id, found, hashes, facts)
                # The systems read again have their stamp here once current (the others once recomputed).
                again = set(moved)
                stamps = {sid: st for sid, st in kept.stamps.items() if sid in inputs and sid not in again}
                stamps.update(current)
                return org_id, _Read(facts, policy, seq, inputs, hashes, stamps), _Todo(todo, restamps)
        # Every system: the clock read first, so that every change up to it is in what follows.
        seq = changes.current_seq(session, org_id)
        every = lq.list_inputs(session, org_id)
        hashes = _hashes_of(key, policy, every)
        todo, restamps, current = _compare(session, org_id, every, hashes, facts)
    read = _Read(facts, policy, seq, {i.system_id: i for i in every}, hashes, current)
    return org_id, read, _Todo(todo, restamps)


def refresh_list(db: Database, org: str) -> int:
    """Recompute the list rows of the organization's systems whose inputs changed since they were
    computed (see ``store.tables.lists``); returns how many systems were recomputed.

    One refresh of an organization at a time in this process: a caller that comes while another
    recomputes (a reader while the keep-warm thread absorbs a sync or an SLA-policy change, a minute at
    10,000 systems) waits for it and then finds the rows current, instead of recomputing them too."""
    with _REFRESHING((str(db.url), org)):
        return _refresh_list(db, org)


# (database URL, organization name) → the lock its refreshes take in this process.
_REFRESHING: OneAtATime[tuple[str, str]] = OneAtATime()


def _refresh_list(db: Database, org: str) -> int:
    org_id, read, todo = _read_inputs(db, org)
    if read is None:  # nothing moved: the stamps, the version and the rows stay as they are
        return 0
    key = (str(db.url), org_id)
    if todo.restamp:
        with db.write() as session:
            lq.restamp(session, org_id, todo.restamp)
    stamps = dict(read.stamps)
    for batch in chunks(todo.recompute, REFRESH_BATCH):
        with db.read() as session:
            # The stamps and the rows are read in one transaction: rows computed from inputs newer
            # than their stamp are recomputed by the next list, never kept under a stale stamp.
            token = _token_hash(lq.facts_token(session))
            policy = lq.policy_token(session, org_id)
            inputs = {i.system_id: i for i in lq.list_inputs(session, org_id, batch)}
            systems = system_queries.org_systems(session, org_id, ids=list(inputs))
            stored = q.stored_exposures(session, org_id, [s.id for s in systems])
            rows, items = _report_of_rows(
                session, org, org_id, stored, systems, moment=utcnow_seconds(), advice=False, plan=True
            )
            by_name = {s.name: s for s in systems}
            keys = ((by_name[r.system].id, r.vuln_group, r.ecosystem, r.package_name) for r in stored)
            facts = _facts_of(session, keys)
        list_rows = []
        for r in stored:
            state, row = rows[_stored_identity(r)]
            assert r.id is not None
            list_rows.append(_list_row(row, state, r.id, by_name[r.system], org_id))
        states: dict[int, tuple[str, datetime | None]] = {}
        for s in systems:
            digest, of_facts = _inputs_hash(policy, inputs[s.id]), facts.get(s.id, _NO_FACTS)
            states[s.id] = (f"{digest}.{token}.{of_facts}", _newest(s))
            stamps[s.id] = f"{digest}.{of_facts}"
        with db.write() as session:
            lq.replace_list(session, org_id, batch, list_rows, states)
            pq.replace_items(session, batch, items)
    if stamps != _STAMPS.get(key):
        text = "".join(stamp for _, stamp in sorted(stamps.items()))
        _VERSIONS[key] = hashlib.sha256(text.encode()).hexdigest()
        _STAMPS[key] = stamps
    # Kept once every system found changed was recomputed: a refresh that failed reads them again.
    with _READ_LOCK:
        keep(_READ, key, replace(read, stamps=stamps))
    if todo.recompute:
        refresh_statistics(db)
    return len(todo.recompute)


# (database, organization) → a digest of every system's list stamp at the last refresh in this
# process: counts of the list are kept under it (``_COUNTS``) and stay valid while it does.
_VERSIONS: dict[tuple[str, int], str] = {}
_COUNTS: dict[tuple[str, int, lq.ListFilter], tuple[str, int]] = {}
# (database, organization) → system id → the stamp of its list rows at the last refresh in this process.
_STAMPS: dict[tuple[str, int], dict[int, str]] = {}


def system_stamps(db: Database, org_id: int) -> Mapping[int, str] | None:
    """Each built system's list stamp at this process's last refresh of the organization's list
    (``None`` before one): what is derived from a system's list rows and plan items stays valid while
    its stamp does, so a cache kept per system reads again only the systems whose stamp moved
    (:func:`changed_systems`)."""
    return _STAMPS.get((str(db.url), org_id))


def kept_stamps(stored: Mapping[int, str]) -> dict[int, str]:
    """Stored list stamps in this process's form (``<inputs>.<facts>``, :func:`system_stamps`): without
    the facts token they were written under, so that a stamp replaced under a new token (its facts
    unchanged, its rows kept) is the same stamp here."""
    out: dict[int, str] = {}
    for sid, stamp in stored.items():
        parts = _stored_parts(stamp)
        out[sid] = stamp if parts is None else f"{parts[0]}.{parts[2]}"
    return out


def changed_systems(before: Mapping[int, str], now: Mapping[int, str]) -> set[int]:
    """The systems whose stamp differs between two :func:`system_stamps` (added and removed ones too)."""
    return {sid for sid, stamp in now.items() if before.get(sid) != stamp} | (before.keys() - now.keys())


def _count(db: Database, where: _Stored) -> int | None:
    """The number of rows of the filtered list when that is cheap: for a status (and system) alone,
    counted along the index once per state of the list's inputs; ``None`` for other filters."""
    f = where.filter
    if replace(f, system=None, at=None) != lq.ListFilter(f.states):
        return None
    key = (str(db.url), where.org_id, f)
    version = _VERSIONS.get((str(db.url), where.org_id))
    cached = _COUNTS.get(key)
    if cached is not None and version is not None and cached[0] == version:
        return cached[1]
    with db.read() as session:
        total = lq.count_rows(session, where.org_id, f)
    if version is not None:
        _COUNTS[key] = (version, total)
    return total


def rebuild_list(db: Database, org: str) -> int:
    """Forget and recompute the organization's list rows from its stored exposures (``patchgap db
    rebuild``); returns how many systems were computed."""
    with db.write() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        lq.clear_list(session, org_id)
    return refresh_list(db, org)


def rebuild_lists(db: Database, org: str | None = None) -> int:
    """:func:`rebuild_list` of the organization, or of every organization; returns the systems."""
    with db.read() as session:
        names = [org] if org is not None else [o.name for o in organizations(session)]
    return sum(rebuild_list(db, name) for name in names)


def _filter(query: ExposureQuery) -> lq.ListFilter:
    package = query.package
    prefix = package if package is not None and package.startswith("pkg:") else None
    return lq.ListFilter(
        _STATES[query.status],
        system=query.system,
        environment=query.environment,
        owner_key=query.owner.casefold() if query.owner else None,
        tags=query.systems().tags,
        tier=query.tier,
        severity=query.severity,
        kev=query.kev,
        package_prefix=prefix,
        package_leaf=package if package is not None and prefix is None else None,
        accepted_after=None,
    )


@dataclass(frozen=True, slots=True)
class _Stored:
    """A query answered from the stored list: where and at which moment."""

    org: str
    org_id: int
    moment: datetime
    filter: lq.ListFilter
    # ``moment`` is before the organization's newest snapshot or decommissioning (a look back).
    before: bool = False


def _stored(db: Database, org: str, query: ExposureQuery) -> _Stored | None:
    """Bring the stored exposures and list rows current. "Now" is the clock cut to its second, or a
    snapshot or decommissioning since the cut (``now_including``).

    A moment before the organization's newest snapshot or decommissioning (a look back) reads the
    same stored list, its rows taken by their interval's state then (``ListFilter.at``: nothing else
    the filters and sorts read depends on the moment), and computes the page's rows cut there;
    ``None`` (the in-memory path answers) for the accepted risks then, which depend on the version
    each interval ran then."""
    if query.as_of is not None:
        within_range(query.as_of, "as_of", "list")
    moment, now = moment_asked(query.as_of)
    ensure_exposures(db, org)
    refresh_list(db, org)
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        newest = lq.newest_moment(session, org_id)
        hidden = tuple(sorted(hidden_groups(session)))
    if now is not None:
        moment = now_including(moment, newest, now)
    f = replace(_filter(query), hidden_groups=hidden)
    if newest is not None and moment < newest:
        if query.status == "risk_accepted":
            return None
        return _Stored(org, org_id, moment, replace(f, at=moment), before=True)
    if query.status == "risk_accepted":
        f = replace(f, accepted_after=moment.timestamp())
    return _Stored(org, org_id, moment, f)


def _stored_page(
    db: Database, where: _Stored, query: ExposureQuery, after: SortKey | None, limit: int
) -> list[tuple[SortKey, dict[str, Any]]] | None:
    """Up to ``limit`` rows after ``after``, in order; ``None`` when a rebuild replaced some of them
    meanwhile (the caller refreshes and asks again)."""
    bound = None if after is None else (after[0], _ident(*(str(v) for v in after[1:])))
    with db.read() as session:
        found = lq.page_rows(
            session,
            where.org_id,
            where.filter,
            sort=query.sort,
            descending=query.descending,
            after=bound,
            limit=limit,
        )
        if not found:
            return []
        stored = q.stored_exposures(session, where.org_id, exposure_ids=[f[0] for f in found])
        if len(stored) != len(found):
            return None
        systems = system_queries.org_systems(session, where.org_id, ids=sorted({f[1] for f in found}))
        rows, _ = _report_of_rows(
            session,
            where.org,
            where.org_id,
            stored,
            systems,
            moment=where.moment,
            advice=True,
            before=where.before,
        )
    by_id = {r.id: _stored_identity(r) for r in stored}
    out: list[tuple[SortKey, dict[str, Any]]] = []
    for exposure_id, _, value, _ in found:
        row = rows[by_id[exposure_id]][1]
        out.append(((value, row["system"], row["package"], row["vulnerability"], row["first_seen"]), row))
    return out


def _walk_stored(
    db: Database, where: _Stored, query: ExposureQuery, after: SortKey | None, limit: int
) -> list[tuple[SortKey, dict[str, Any]]]:
    for _ in range(3):
        page = _stored_page(db, where, query, after, limit)
        if page is not None:
            return page
        ensure_exposures(db, where.org)
        refresh_list(db, where.org)
    raise RuntimeError("the exposures changed under three reads of the same page")


def exposure_page(
    db: Database,
    org: str,
    query: ExposureQuery,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    count: bool = True,
) -> Page[dict[str, Any]]:
    """The ``limit`` rows of the query that follow ``cursor`` (from the start without one), the cursor
    of the next page (``None`` on the last) and, with ``count``, the count of the whole filtered list.

    Read from the stored list (one indexed statement per state), at an earlier moment too (the rows
    taken by their interval's state then, each computed there: :func:`_stored`); the accepted risks
    at an earlier moment compute the full report and page it in memory.
    """
    _check_limit(limit)
    after = decode_cursor(cursor, _KIND, query.order, 5) if cursor else None
    where = _stored(db, org, query)
    if where is None:
        keyed = _sorted(_report_rows(db, org, query), query)
        total: int | None = len(keyed)
        if after is not None:
            keyed = [(k, r) for k, r in keyed if (k < after if query.descending else k > after)]
        keyed = keyed[: limit + 1]
    else:
        keyed = _walk_stored(db, where, query, after, limit + 1)
        total = _count(db, where) if count else None
    items = keyed[:limit]
    next_cursor = encode_cursor(_KIND, query.order, items[-1][0]) if len(keyed) > limit else None
    return Page([r for _, r in items], next_cursor, total if count else None, query.sort, query.descending)


#: Rows read per statement by :func:`iter_exposures`.
ITER_PAGE = 1000


def iter_exposures(db: Database, org: str, query: ExposureQuery) -> Iterator[dict[str, Any]]:
    """Every row of the query in order, read a page at a time from the stored list (constant memory
    in the list's length); the accepted risks at a moment before the newest snapshot compute the full
    report instead."""
    where = _stored(db, org, query)
    if where is None:
        for _, row in _sorted(_report_rows(db, org, query), query):
            yield row
        return
    after: SortKey | None = None
    size = DEFAULT_LIMIT  # a small first page: the first rows go out sooner
    while True:
        page = _walk_stored(db, where, query, after, size)
        for _, row in page:
            yield row
        if len(page) < size:
            return
        after = page[-1][0]
        size = ITER_PAGE
