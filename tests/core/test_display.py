"""Figures as people read them: one decimal at most for days, no trailing ``.0``, no ``-0``."""

from __future__ import annotations

import pytest

from core.display import days_text, percent_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (13.452, "13.5 d"),
        (35.0, "35 d"),
        (0.04, "0 d"),
        (-0.04, "0 d"),
        (2.96, "3 d"),
        (0.25, "0.2 d"),
        (None, "not reached"),
    ],
)
def test_days(value: float | None, text: str) -> None:
    assert days_text(value) == text


def test_percent() -> None:
    assert percent_text(0.4567) == "45.7%"
    assert percent_text(1.0) == "100.0%"
    assert percent_text(None) == "–"
