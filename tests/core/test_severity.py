"""CVSS score → rating bands (core.severity): the one place readers, reports and exporters rate scores."""

from __future__ import annotations

import pytest

from core.severity import RATING_FLOOR, cvss_rating


@pytest.mark.parametrize(
    ("score", "version", "rating"),
    [
        (0.0, 3, "none"),
        (0.1, 3, "low"),
        (3.9, 3, "low"),
        (4.0, 3, "medium"),
        (6.9, 3, "medium"),
        (7.0, 3, "high"),
        (8.9, 3, "high"),
        (9.0, 3, "critical"),
        (3.9, 2, "low"),
        (4.0, 2, "medium"),
        (10.0, 2, "high"),
    ],
)
def test_rating_bands(score: float, version: int, rating: str) -> None:
    assert cvss_rating(score, cvss_version=version) == rating


def test_each_ratings_floor_is_rated_as_itself() -> None:
    for rating, floor in RATING_FLOOR.items():
        assert cvss_rating(floor) == ("medium" if rating == "moderate" else rating)
    assert cvss_rating(RATING_FLOOR["medium"] - 0.1) == "low"
