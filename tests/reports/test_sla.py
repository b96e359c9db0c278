"""SLA tiers: default precedence, status rules around the deadline, policy JSON round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InputError
from reports.sla import DEFAULT_POLICY, RiskFacts, SlaPolicy, SlaTier, due_date, sla_status


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
