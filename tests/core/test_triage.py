"""The checks every triage decision passes before anything is written (core.triage.check_decision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InputError
from core.triage import (
    CYCLONEDX_JUSTIFICATIONS,
    JUSTIFICATIONS,
    OPENVEX_JUSTIFICATIONS,
    STATES,
    Analysis,
    Decision,
    check_decision,
)

NOW = datetime(2024, 6, 1, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (Decision("ignored"), "unknown state 'ignored'"),
        (Decision("not_affected", "because"), "unknown justification 'because'"),
        (Decision("not_affected"), "not_affected needs a justification or an impact statement"),
        (Decision("not_affected", "  ", "   "), "not_affected needs a justification or an impact statement"),
        (Decision("exploitable", "code_not_present"), "a justification goes with not_affected"),
        (Decision("accepted_risk"), "accepted_risk needs an expiry"),
        (Decision("accepted_risk", expires_at=NOW - timedelta(days=1)), "is not in the future"),
        (Decision("accepted_risk", expires_at=NOW), "is not in the future"),
        (Decision("accepted_risk", expires_at=datetime(2024, 7, 1)), "needs a time zone"),
        (Decision("accepted_risk", expires_at=datetime(9999, 1, 1, tzinfo=UTC)), "outside the accepted"),
        (Decision("in_triage", expires_at=LATER), "an expiry goes with accepted_risk"),
        (Decision("in_triage", approver="cso"), "an approver goes with accepted_risk"),
        (Decision("in_triage", comment="x" * 4001), "comment has at most 4000 characters"),
        (Decision("in_triage", comment="a\x00b"), "comment contains a NUL character"),
        (Decision("in_triage", comment="a\ud800b"), "comment contains a lone surrogate"),
    ],
)
def test_bad_decisions_are_refused_with_the_reason(decision: Decision, message: str) -> None:
    with pytest.raises(InputError, match=rf"^triage: .*{message}"):
        check_decision(decision, now=NOW)


def test_good_decisions_come_back_with_blank_texts_as_none() -> None:
    checked = check_decision(Decision("in_triage", None, None, "  looking  "), now=NOW)
    assert checked == Decision("in_triage", comment="looking")
    for label in JUSTIFICATIONS:
        assert check_decision(Decision("not_affected", label), now=NOW).justification == label
    both = check_decision(Decision("not_affected", "code_not_reachable", "never called"), now=NOW)
    assert (both.justification, both.impact_statement) == ("code_not_reachable", "never called")
    assert check_decision(Decision("false_positive", "code_not_present"), now=NOW).state == "false_positive"
    risk = check_decision(Decision("accepted_risk", expires_at=LATER, approver="CISO"), now=NOW)
    assert (risk.expires_at, risk.approver) == (LATER, "CISO")


def test_the_vocabularies_are_openvex_and_cyclonedx() -> None:
    assert len(OPENVEX_JUSTIFICATIONS) == 5
    assert len(CYCLONEDX_JUSTIFICATIONS) == 9
    assert STATES == (
        "in_triage",
        "exploitable",
        "not_affected",
        "false_positive",
        "accepted_risk",
        "resolved",
    )


def test_scope_exclusion_and_acceptance() -> None:
    base = Analysis(1, "G", "pkg:npm/a", "accepted_risk", expires_at=LATER)
    assert [
        base.scope,
        Analysis(2, "G", "pkg:npm/a", "x", version="1").scope,
        Analysis(3, "G", "pkg:npm/a", "x", system="web").scope,
        Analysis(4, "G", "pkg:npm/a", "x", version="1", system="web").scope,
    ] == ["package", "version", "system", "system+version"]
    assert base.accepts_risk_at(NOW)
    assert not base.accepts_risk_at(LATER)  # the expiry itself ends it
    assert not Analysis(5, "G", "p", "exploitable").accepts_risk_at(NOW)
    assert Analysis(6, "G", "p", "false_positive").excludes
    assert not base.excludes
