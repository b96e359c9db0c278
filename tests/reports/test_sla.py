"""SLA tiers: default precedence, status rules around the deadline, policy JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from core.errors import InputError
from core.systems import CRITICALITIES
from reports.sla import (
    CRITICALITY_VALUES,
    DEFAULT_POLICY,
    POLICY_SCHEMA,
    RiskFacts,
    SlaPolicy,
    SlaTier,
    due_date,
    sla_status,
)


@pytest.mark.parametrize(
    ("risk", "tier", "days"),
    [
        (RiskFacts(exploited=True, internet_exposed=True, cvss=2.0), "exploited-internet", 3),
        (RiskFacts(exploited=True, internet_exposed=False, cvss=9.8), "exploited", 7),
        (RiskFacts(cvss=9.0), "critical", 7),
        (RiskFacts(cvss=8.9), "high", 30),
        (RiskFacts(cvss=3.1, epss=0.1), "high", 30),  # EPSS alone lifts it to high
        (RiskFacts(cvss=3.1, epss=0.099), "low", 120),
        (RiskFacts(cvss=4.0), "medium", 90),
        (RiskFacts(rating="HIGH"), "high", 30),  # no score: the rating's band floor (7.0)
        (RiskFacts(rating="moderate"), "medium", 90),
        (RiskFacts(), "low", 120),  # unscored
    ],
)
def test_default_tiers_first_match_wins(risk: RiskFacts, tier: str, days: float) -> None:
    chosen = DEFAULT_POLICY.tier_for(risk)
    assert chosen is not None
    assert (chosen.name, chosen.days) == (tier, days)


D = datetime(2024, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("last", "resolved", "as_of", "status"),
    [
        (D - 5 * DAY, D - 2 * DAY, D + 9 * DAY, "met"),  # fixed before the deadline
        (D - 5 * DAY, D, D + 9 * DAY, "met"),  # R on the deadline still meets it
        (D, D + 7 * DAY, D + 9 * DAY, "breached"),  # seen affected on the deadline
        (D - 1 * DAY, D + 6 * DAY, D + 9 * DAY, "indeterminate"),  # L < due < R
        (D - 1 * DAY, None, D - 1 * DAY, "open"),  # open, deadline ahead
        (D - 1 * DAY, None, D + 1 * DAY, "breached"),  # open, deadline passed
    ],
)
def test_status_around_the_deadline(
    last: datetime, resolved: datetime | None, as_of: datetime, status: str
) -> None:
    assert sla_status(due=D, last_affected_seen=last, resolved_at=resolved, as_of=as_of) == status


def test_due_date_adds_the_tier_days() -> None:
    assert due_date(D, SlaTier("x", 7.5)) == D + timedelta(days=7, hours=12)


def test_policy_json_round_trip() -> None:
    assert SlaPolicy.from_json(DEFAULT_POLICY.to_json()) == DEFAULT_POLICY
    custom = SlaPolicy.from_json('{"tiers": [{"name": "all", "days": 14}]}')
    assert custom.tier_for(RiskFacts(cvss=10.0)) == SlaTier("all", 14.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"tiers": []}', "at least one tier"),
        ('{"tiers": [{"name": "a"}]}', "'days' must be a positive number"),
        ('{"tiers": [{"name": "a", "days": true}]}', "'days'"),
        ('{"tiers": [{"name": "a", "days": 3, "kev": true}]}', "unknown field"),
        ('{"tiers": [{"name": "a", "days": 3, "exploited": "yes"}]}', "'exploited'"),
        ('{"tiers": [{"name": "a", "days": 3, "min_cvss": "9"}]}', "'min_cvss'"),
        ('{"tiers": [{"name": "a", "days": 3}, {"name": "a", "days": 4}]}', "unique"),
    ],
)
def test_policy_json_errors_name_the_source(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        SlaPolicy.from_json(text, source="acme SLA policy")
    assert str(info.value).startswith("acme SLA policy: ")


# --- criticality in the policy ---------------------------------------------------------------------

CRITICAL_FIRST = SlaPolicy.from_json(
    '{"tiers": [{"name": "critical-system", "days": 3, "criticality": ["critical"], "min_cvss": 7},'
    ' {"name": "high", "days": 30, "min_cvss": 7}, {"name": "rest", "days": 90}]}'
)


@pytest.mark.parametrize(
    ("criticality", "cvss", "tier"),
    [
        ("critical", 7.5, "critical-system"),
        ("high", 7.5, "high"),  # the tier names only critical systems
        ("critical", 5.0, "rest"),  # and only their high findings
        ("medium", 9.9, "high"),
    ],
)
def test_a_tier_can_name_the_systems_criticality(criticality: str, cvss: float, tier: str) -> None:
    chosen = CRITICAL_FIRST.tier_for(RiskFacts(cvss=cvss, criticality=criticality))
    assert chosen is not None
    assert chosen.name == tier


def test_the_default_policy_ignores_criticality() -> None:
    for risk in (RiskFacts(cvss=9.5), RiskFacts(cvss=5.0, epss=0.2), RiskFacts(exploited=True)):
        tiers = {DEFAULT_POLICY.tier_for(replace(risk, criticality=c)) for c in CRITICALITIES}
        assert len(tiers) == 1
    # A policy without criticality writes none, so stored policies read back as they were.
    assert "criticality" not in DEFAULT_POLICY.to_json()


def test_criticality_round_trips_and_is_validated() -> None:
    assert SlaPolicy.from_json(CRITICAL_FIRST.to_json()) == CRITICAL_FIRST
    assert CRITICAL_FIRST.tiers[0].criticality == ("critical",)
    for bad in ('"critical"', "[]", '["urgent"]', '["high", "high"]', "[1]"):
        text = f'{{"tiers": [{{"name": "a", "days": 3, "criticality": {bad}}}]}}'
        with pytest.raises(InputError, match="'criticality' must be null or a non-empty list"):
            SlaPolicy.from_json(text, source="policy")
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(text), POLICY_SCHEMA)
    jsonschema.validate(json.loads(CRITICAL_FIRST.to_json()), POLICY_SCHEMA)
    # The values are the system criticalities the store accepts.
    assert CRITICALITY_VALUES == CRITICALITIES
