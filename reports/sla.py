"""SLA tiers: which deadline applies to an exposure, whether it was kept, and attainment per tier.

A policy is an ordered list of tiers; the first tier whose predicates all hold wins, so the last tier
should have none (the catch-all). Predicates:

- ``exploited`` / ``internet_exposed``: when set, the exposure's flag must equal it;
- ``criticality``: when set (a list of ``low`` / ``medium`` / ``high`` / ``critical``), the system's
  criticality must be one of them. This is how a policy uses criticality: a tier such as
  ``{"name": "critical-system", "days": 3, "criticality": ["critical"], "min_cvss": 7}`` placed before
  the general tiers gives a critical system's high and critical findings three days. No default tier
  names it, so the default policy's numbers do not depend on criticality;
- ``min_cvss`` / ``min_epss``: when either is set, at least one of the set thresholds must be met
  (DESIGN.md's "high" tier is "CVSS ≥ 7 *or* EPSS ≥ 0.1"). Without a CVSS score, a textual rating counts
  as the lower bound of its CVSS v3 band (critical 9.0, high 7.0, medium 4.0, low 0.1).

Status of one exposure with due = clock start + tier days (L = last affected snapshot, R = first clean):
``met`` when R ≤ due; ``breached`` when L ≥ due (the deadline passed while it was seen affected);
``indeterminate`` when L < due < R (snapshots straddle the deadline); while open, ``breached`` once
as_of > due, else ``open``.

Attainment per tier is read from the Kaplan–Meier curve of the exposure window (M2: upgrade or
removal closes an exposure, and either meets an SLA): 1 − S(tier days).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from core.errors import InputError
from core.jsondoc import JsonDocumentError, parse_json
from core.severity import RATING_FLOOR
from reports.exposure_records import SlaStatus


@dataclass(frozen=True, slots=True)
class SlaTier:
    name: str
    days: float
    exploited: bool | None = None
    internet_exposed: bool | None = None
    min_cvss: float | None = None
    min_epss: float | None = None
    criticality: tuple[str, ...] | None = None

    def matches(self, risk: RiskFacts) -> bool:
        if self.exploited is not None and risk.exploited != self.exploited:
            return False
        if self.criticality is not None and risk.criticality not in self.criticality:
            return False
        if self.internet_exposed is not None and risk.internet_exposed != self.internet_exposed:
            return False
        if self.min_cvss is None and self.min_epss is None:
            return True
        score = risk.score
        by_cvss = self.min_cvss is not None and score is not None and score >= self.min_cvss
        by_epss = self.min_epss is not None and risk.epss is not None and risk.epss >= self.min_epss
        return by_cvss or by_epss


@dataclass(frozen=True, slots=True)
class RiskFacts:
    """What tier assignment looks at for one exposure."""

    exploited: bool = False
    internet_exposed: bool = False
    cvss: float | None = None
    rating: str | None = None
    epss: float | None = None
    criticality: str = "medium"

    @property
    def score(self) -> float | None:
        if self.cvss is not None:
            return self.cvss
        return RATING_FLOOR.get((self.rating or "").lower())


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    tiers: tuple[SlaTier, ...]

    def tier_for(self, risk: RiskFacts) -> SlaTier | None:
        """The first matching tier, or None when the policy has no catch-all and nothing matches."""
        return next((t for t in self.tiers if t.matches(risk)), None)

    def to_json(self) -> str:
        # ``criticality`` is written only where a tier sets it, so policies without it read as before.
        tiers = [
            {k: (list(v) if k == "criticality" else v) for k, v in asdict(t).items()}
            if t.criticality is not None
            else {k: v for k, v in asdict(t).items() if k != "criticality"}
            for t in self.tiers
        ]
        return json.dumps({"tiers": tiers}, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "SLA policy") -> SlaPolicy:
        """Parse and validate a policy (as stored by ``patchgap sla set``); errors name ``source``."""
        try:
            data = parse_json(text)
        except JsonDocumentError as exc:
            raise InputError(source, exc.explain("not JSON")) from None
        if not isinstance(data, dict) or not isinstance(data.get("tiers"), list) or not data["tiers"]:
            raise InputError(source, 'expected {"tiers": [ ... ]} with at least one tier')
        if set(data) != {"tiers"}:
            raise InputError(source, f"unknown field(s) {', '.join(sorted(set(data) - {'tiers'}))}")
        tiers = tuple(_tier_from_dict(raw, source, i) for i, raw in enumerate(data["tiers"]))
        names = [t.name for t in tiers]
        if len(set(names)) != len(names):
            raise InputError(source, "tier names must be unique")
        return cls(tiers)


_FIELDS = {"name", "days", "exploited", "internet_exposed", "min_cvss", "min_epss", "criticality"}
#: The values of a system's criticality (``core.systems.CRITICALITIES``, repeated: reports import no core
#: rule module beyond records; tests/reports/test_sla.py checks they agree).
CRITICALITY_VALUES = ("low", "medium", "high", "critical")


#: The longest deadline a tier may set (ten years): a due date must stay a date.
MAX_SLA_DAYS = 3650
MAX_TIER_NAME = 100


_NULLABLE_FLAG = {"type": ["boolean", "null"]}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

#: The policy's JSON Schema, as strict as ``SlaPolicy.from_json`` but for the one rule a schema cannot
#: say: tier names are unique.
POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tiers"],
    "properties": {
        "tiers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "days"],
                "properties": {
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_TIER_NAME,
                        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]+$",
                    },
                    "days": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SLA_DAYS},
                    "exploited": _NULLABLE_FLAG,
                    "internet_exposed": _NULLABLE_FLAG,
                    "min_cvss": {"type": ["number", "null"], "minimum": 0, "maximum": 10},
                    "min_epss": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                    "criticality": {
                        "type": ["array", "null"],
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"enum": list(CRITICALITY_VALUES)},
                    },
                },
            },
        }
    },
}


def _number(value: Any) -> TypeGuard[float]:
    """A finite JSON number (``true``/``false`` are not numbers here)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _tier_from_dict(raw: Any, source: str, index: int) -> SlaTier:
    where = f"tier {index + 1}"
    if not isinstance(raw, dict):
        raise InputError(source, f"{where}: expected an object")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise InputError(source, f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name, days = raw.get("name"), raw.get("days")
    if not isinstance(name, str) or not name:
        raise InputError(source, f"{where}: 'name' must be a non-empty string")
    if len(name) > MAX_TIER_NAME or _CONTROL.search(name):
        limit = f"at most {MAX_TIER_NAME} characters"
        raise InputError(source, f"{where}: 'name' must have no control characters and {limit}")
    if not _number(days) or not 0 < days <= MAX_SLA_DAYS:
        most = f"at most {MAX_SLA_DAYS}"
        raise InputError(source, f"{where} ({name}): 'days' must be a positive number, {most}")
    for flag in ("exploited", "internet_exposed"):
        if raw.get(flag) is not None and not isinstance(raw[flag], bool):
            raise InputError(source, f"{where} ({name}): '{flag}' must be true, false or null")
    for threshold, top in (("min_cvss", 10.0), ("min_epss", 1.0)):
        value = raw.get(threshold)
        if value is not None and (not _number(value) or not 0 <= value <= top):
            allowed = f"null or a number from 0 to {top:g}"
            raise InputError(source, f"{where} ({name}): '{threshold}' must be {allowed}")
    criticality = raw.get("criticality")
    if criticality is not None and (
        not isinstance(criticality, list)
        or not criticality
        or len(set(map(str, criticality))) != len(criticality)
        or not all(isinstance(c, str) and c in CRITICALITY_VALUES for c in criticality)
    ):
        allowed = f"null or a non-empty list of distinct values from {', '.join(CRITICALITY_VALUES)}"
        raise InputError(source, f"{where} ({name}): 'criticality' must be {allowed}")
    return SlaTier(
        name,
        float(days),
        raw.get("exploited"),
        raw.get("internet_exposed"),
        None if raw.get("min_cvss") is None else float(raw["min_cvss"]),
        None if raw.get("min_epss") is None else float(raw["min_epss"]),
        None if criticality is None else tuple(criticality),
    )


# DESIGN.md defaults, in precedence order.
DEFAULT_POLICY = SlaPolicy(
    (
        SlaTier("exploited-internet", 3, exploited=True, internet_exposed=True),
        SlaTier("exploited", 7, exploited=True),
        SlaTier("critical", 7, min_cvss=9.0),
        SlaTier("high", 30, min_cvss=7.0, min_epss=0.1),
        SlaTier("medium", 90, min_cvss=4.0),
        SlaTier("low", 120),
    )
)


def due_date(start: datetime, tier: SlaTier) -> datetime:
    return start + timedelta(days=tier.days)


def sla_status(
    *, due: datetime, last_affected_seen: datetime, resolved_at: datetime | None, as_of: datetime
) -> SlaStatus:
    """met / breached / indeterminate for closed exposures, open / breached for open ones."""
    if resolved_at is not None:
        if resolved_at <= due:
            return "met"
        if last_affected_seen >= due:
            return "breached"
        return "indeterminate"
    if last_affected_seen >= due or as_of > due:
        return "breached"
    return "open"
