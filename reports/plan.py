"""The remediation plan: what to deploy first to close the organization's open exposures.

An **action** is ``(package, from version) → to version``, where ``to`` is the smallest version that
clears every known advisory of the package (``patchgap why``'s suggestion), merged across every system
that runs the from-version. Actions are ranked by the risk they remove (:func:`pair_weight`, summed over
the (system, vulnerability group) pairs the action clears). Deployed versions with no clearing version
are listed apart, with the reason and what can be done instead.

Inputs are :class:`PlanItem` rows, one per open exposure and affected version deployed at its last
affected snapshot; ``pipeline.plan`` reads them. Nothing here reads the database.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.severity import RATING_FLOOR
from core.time import require_utc, rfc3339

# What each reason for "no clearing version" leaves the operator to do (README "Remediation plan").
REMEDIES = {
    "no-fix-known": "no fixed version is published: mitigate, state not_affected with a VEX statement or "
    "triage if it does not apply, or replace the package",
    "no-single-version": "every fixed version is still affected by another advisory: take the in-major "
    "or highest fix and triage what stays open, or replace the package",
    "undetermined": "versions could not be ordered or evaluated for this ecosystem: check the advisories "
    "by hand (patchgap why)",
    "not-affected": "the stored advisories no longer affect this version: run patchgap match to refresh",
}

# Said of an action or an unfixable version when a vulnerability it concerns is fixed by a last-resort
# maintainer (Akrites ``last_resort_maintainer``): the package is abandoned upstream.
LAST_RESORT_NOTE = "fix comes from the last-resort maintainer; upstream is unmaintained"

# Without a score, a severity rating stands for the lower bound of its CVSS band; unscored counts as low.
_UNSCORED = 2.0
_MAX_PAST_DUE_DAYS = 365


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One affected version of one open exposure, with the facts the plan ranks and the advice."""

    system: str
    environment: str
    internet_exposed: bool
    package: str
    ecosystem: str
    version: str
    vulnerability: str
    severity: str
    cvss: float | None
    kev: bool
    epss: float | None
    sla_due: datetime | None
    advice: str  # upgrade | no-fix-known | no-single-version | undetermined | not-affected
    to_version: str | None
    advice_detail: str
    major_upgrade: bool | None = None
    in_major: str | None = None
    in_major_leaves_open: tuple[str, ...] = ()
    last_resort_maintainer: bool = False


def pair_weight(item: PlanItem, as_of: datetime) -> float:
    """The risk one (system, vulnerability group) pair carries, which an action clearing it removes:

    ``severity × (3 if KEV) × (1.5 if internet-exposed) × (1 + 4·EPSS) × (1 + days past due / 30)``

    severity is the CVSS base score (else the lower bound of the rating's band, else 2); days past the
    SLA due date count up to a year. A KEV entry triples the weight (exploited now beats likely to be),
    EPSS up to fivefold, and each month past due adds the pair's weight once more.
    """
    return base_weight(item) * past_due_factor(days_past_due(item.sla_due, as_of))


def base_weight(item: PlanItem) -> float:
    """:func:`pair_weight` without the past-due factor: what does not change with the moment (the
    stored plan keeps it, and applies the factor when a page is asked for)."""
    score = item.cvss if item.cvss is not None else RATING_FLOOR.get(item.severity, _UNSCORED)
    weight = max(score, 0.1)
    if item.kev:
        weight *= 3.0
    if item.internet_exposed:
        weight *= 1.5
    return weight * (1.0 + 4.0 * (item.epss or 0.0))


def days_past_due(due: datetime | None, as_of: datetime) -> float:
    if due is None or due >= as_of:
        return 0.0
    return (as_of - due).total_seconds() / 86_400


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """A moment as microseconds since the Unix epoch: exact, so that days past due computed from it
    (:func:`days_past_due_us`) are the very floats :func:`days_past_due` computes from datetimes."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def days_past_due_us(due: int | None, as_of: int) -> float:
    """:func:`days_past_due` of moments in microseconds (``timedelta.total_seconds`` divides the
    microseconds by 10⁶, as here)."""
    if due is None or due >= as_of:
        return 0.0
    return ((as_of - due) / 10**6) / 86_400


def past_due_factor(days: float) -> float:
    """What a pair's weight is multiplied by, ``days`` past its due date: once more per 30 days, up to
    a year."""
    return 1.0 + min(days, _MAX_PAST_DUE_DAYS) / 30.0


def past_due_factors(dues: NDArray[np.int64], has_due: NDArray[np.bool_], as_of: int) -> NDArray[np.float64]:
    """:func:`past_due_factor` of :func:`days_past_due_us` for many pairs at once (``dues`` in
    microseconds, counted where ``has_due``): the very floats the two compute one by one — the same
    operations in the same order (an integer difference below 2⁵³ converts to a float exactly)."""
    late = has_due & (dues < as_of)
    days = np.zeros(len(dues))
    days[late] = ((as_of - dues[late]) / 10**6) / 86_400
    return 1.0 + np.minimum(days, float(_MAX_PAST_DUE_DAYS)) / 30.0


def vulnerability_order(v: PlanVulnerability) -> tuple[bool, float, float, str]:
    """Most urgent first: KEV, then past due, then score; the group key breaks ties."""
    return (not v.kev, -v.max_days_past_due, -(v.cvss or 0.0), v.vulnerability)


def action_id(ecosystem: str, package: str, from_version: str, to_version: str) -> str:
    """A stable id of an action: the same upgrade of the same package is the same id week after week
    (a ticketing import de-duplicates on it), whatever systems it covers."""
    text = "\x1f".join((ecosystem, package, from_version, to_version))
    return "act-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _in_major_json(version: str | None, leaves_open: tuple[str, ...]) -> dict[str, Any] | None:
    return {"to_version": version, "leaves_open": list(leaves_open)} if version else None


@dataclass(frozen=True, slots=True)
class PlanVulnerability:
    vulnerability: str
    severity: str
    cvss: float | None
    kev: bool
    epss: float | None
    systems: int
    earliest_due: datetime | None
    max_days_past_due: float
    last_resort_maintainer: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "vulnerability": self.vulnerability,
            "severity": self.severity,
            "cvss": self.cvss,
            "kev": self.kev,
            "epss": self.epss,
            "systems": self.systems,
            "earliest_due": rfc3339(self.earliest_due),
            "max_days_past_due": round(self.max_days_past_due, 1),
            "last_resort_maintainer": self.last_resort_maintainer,
        }


def _note(vulnerabilities: Iterable[PlanVulnerability]) -> str | None:
    return LAST_RESORT_NOTE if any(v.last_resort_maintainer for v in vulnerabilities) else None


@dataclass(frozen=True, slots=True)
class PlanSystem:
    system: str
    environment: str
    internet_exposed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "environment": self.environment,
            "internet_exposed": self.internet_exposed,
        }


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    package: str
    ecosystem: str
    from_version: str
    to_version: str
    major_upgrade: bool | None
    in_major: str | None
    in_major_leaves_open: tuple[str, ...]
    score: float
    systems: tuple[PlanSystem, ...]
    vulnerabilities: tuple[PlanVulnerability, ...]
    past_due: int  # (system, vulnerability) pairs past their SLA due date
    max_days_past_due: float
    earliest_due: datetime | None

    @property
    def kev(self) -> int:
        return sum(v.kev for v in self.vulnerabilities)

    def to_json(self, rank: int) -> dict[str, Any]:
        return {
            "rank": rank,
            "id": self.id,
            "package": self.package,
            "ecosystem": self.ecosystem,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "major_upgrade": self.major_upgrade,
            "in_major": _in_major_json(self.in_major, self.in_major_leaves_open),
            "score": round(self.score, 2),
            "system_count": len(self.systems),
            "vulnerability_count": len(self.vulnerabilities),
            "kev_count": self.kev,
            "past_due": self.past_due,
            "max_days_past_due": round(self.max_days_past_due, 1),
            "earliest_due": rfc3339(self.earliest_due),
            "systems": [s.to_json() for s in self.systems],
            "vulnerabilities": [v.to_json() for v in self.vulnerabilities],
            "note": _note(self.vulnerabilities),
        }


@dataclass(frozen=True, slots=True)
class Unfixable:
    """A deployed version no single upgrade clears, with why and what to do instead."""

    package: str
    ecosystem: str
    version: str
    reason: str
    detail: str
    remedy: str
    in_major: str | None
    in_major_leaves_open: tuple[str, ...]
    systems: tuple[PlanSystem, ...]
    vulnerabilities: tuple[PlanVulnerability, ...]
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "ecosystem": self.ecosystem,
            "version": self.version,
            "reason": self.reason,
            "detail": self.detail,
            "what_to_do": self.remedy,
            "in_major": _in_major_json(self.in_major, self.in_major_leaves_open),
            "score": round(self.score, 2),
            "system_count": len(self.systems),
            "systems": [s.to_json() for s in self.systems],
            "vulnerabilities": [v.to_json() for v in self.vulnerabilities],
            "note": _note(self.vulnerabilities),
        }


@dataclass(frozen=True, slots=True)
class Plan:
    as_of: datetime
    actions: tuple[Action, ...]
    unfixable: tuple[Unfixable, ...]


def _vulnerabilities(items: list[PlanItem], as_of: datetime) -> tuple[PlanVulnerability, ...]:
    by_group: dict[str, list[PlanItem]] = defaultdict(list)
    for item in items:
        by_group[item.vulnerability].append(item)
    out = []
    for group, rows in by_group.items():
        first = rows[0]
        dues = [r.sla_due for r in rows if r.sla_due is not None]
        out.append(
            PlanVulnerability(
                group,
                first.severity,
                first.cvss,
                any(r.kev for r in rows),
                first.epss,
                len({r.system for r in rows}),
                min(dues) if dues else None,
                max(days_past_due(r.sla_due, as_of) for r in rows),
                any(r.last_resort_maintainer for r in rows),
            )
        )
    out.sort(key=vulnerability_order)
    return tuple(out)


def _systems(items: list[PlanItem]) -> tuple[PlanSystem, ...]:
    found = {r.system: PlanSystem(r.system, r.environment, r.internet_exposed) for r in items}
    return tuple(found[name] for name in sorted(found))


def _pairs(items: list[PlanItem]) -> list[PlanItem]:
    """One item per (system, vulnerability group): an action clears each pair once, whatever rows say so."""
    seen: dict[tuple[str, str], PlanItem] = {}
    for item in items:
        seen.setdefault((item.system, item.vulnerability), item)
    return list(seen.values())


def build_plan(items: Iterable[PlanItem], as_of: datetime) -> Plan:
    """Merge the items into actions and unfixable versions, ranked by the risk they remove.

    Ties in score are broken by more KEV vulnerabilities, then the earlier due date, then package,
    from-version and to-version: the order never depends on the order of the items.
    """
    as_of = require_utc(as_of, "as_of")
    fixable: dict[tuple[str, str, str, str], list[PlanItem]] = defaultdict(list)
    unfixable: dict[tuple[str, str, str], list[PlanItem]] = defaultdict(list)
    for item in items:
        if item.advice == "upgrade" and item.to_version is not None:
            fixable[(item.ecosystem, item.package, item.version, item.to_version)].append(item)
        else:
            unfixable[(item.ecosystem, item.package, item.version)].append(item)
    actions = []
    for (ecosystem, package, from_version, to_version), rows in fixable.items():
        pairs = _pairs(rows)
        dues = [r.sla_due for r in pairs if r.sla_due is not None]
        first = rows[0]
        actions.append(
            Action(
                action_id(ecosystem, package, from_version, to_version),
                package,
                ecosystem,
                from_version,
                to_version,
                first.major_upgrade,
                first.in_major,
                first.in_major_leaves_open,
                sum(pair_weight(r, as_of) for r in pairs),
                _systems(rows),
                _vulnerabilities(pairs, as_of),
                sum(1 for r in pairs if days_past_due(r.sla_due, as_of) > 0),
                max(days_past_due(r.sla_due, as_of) for r in pairs),
                min(dues) if dues else None,
            )
        )
    far = as_of.replace(year=as_of.year + 100)
    actions.sort(
        key=lambda a: (
            -round(a.score, 6),
            -a.kev,
            a.earliest_due or far,
            a.package,
            a.from_version,
            a.to_version,
        )
    )
    apart = []
    for (ecosystem, package, version), rows in unfixable.items():
        pairs = _pairs(rows)
        first = rows[0]
        apart.append(
            Unfixable(
                package,
                ecosystem,
                version,
                first.advice,
                first.advice_detail,
                REMEDIES.get(first.advice, REMEDIES["undetermined"]),
                first.in_major,
                first.in_major_leaves_open,
                _systems(rows),
                _vulnerabilities(pairs, as_of),
                sum(pair_weight(r, as_of) for r in pairs),
            )
        )
    apart.sort(key=lambda u: (-round(u.score, 6), u.package, u.version))
    return Plan(as_of, tuple(actions), tuple(apart))


# The CSV columns, in this order: a stable contract (README). Lists are joined with ";".
CSV_FIELDS = (
    "rank",
    "id",
    "package",
    "ecosystem",
    "from_version",
    "to_version",
    "major_upgrade",
    "in_major_to_version",
    "score",
    "system_count",
    "vulnerability_count",
    "kev_count",
    "past_due",
    "max_days_past_due",
    "earliest_due",
    "systems",
    "vulnerabilities",
)


def csv_row(action: dict[str, Any]) -> dict[str, Any]:
    """An action's JSON as the CSV row's cells (before joining lists)."""
    return {
        **action,
        "in_major_to_version": action["in_major"]["to_version"] if action["in_major"] else None,
        "systems": [s["system"] for s in action["systems"]],
        "vulnerabilities": [v["vulnerability"] for v in action["vulnerabilities"]],
    }
