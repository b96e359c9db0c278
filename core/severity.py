"""The one home of CVSS qualitative ratings: score → rating bands, and the lowest score of each rating.

FIRST's CVSS v3/v4 specification (section 5) defines the bands: none 0.0, low 0.1–3.9, medium
4.0–6.9, high 7.0–8.9, critical 9.0–10.0. CVSS v2 has no scale of its own; NVD's v2 bands are used
(low < 4.0 <= medium < 7.0 <= high). Readers, reports and exporters all rate scores here, so a score
is the same rating in a report, a CSAF document and a CycloneDX VEX.
"""

from __future__ import annotations

from typing import Literal

Rating = Literal["none", "low", "medium", "high", "critical"]

#: (lowest score, rating), highest band first.
V3_BANDS: tuple[tuple[float, Rating], ...] = ((9.0, "critical"), (7.0, "high"), (4.0, "medium"), (0.1, "low"))
V2_BANDS: tuple[tuple[float, Rating], ...] = ((7.0, "high"), (4.0, "medium"), (0.0, "low"))

#: The lowest CVSS score a rating stands for; GitHub's "moderate" is CVSS "medium".
RATING_FLOOR: dict[str, float] = {"critical": 9.0, "high": 7.0, "medium": 4.0, "moderate": 4.0, "low": 0.1}


def cvss_rating(score: float, *, cvss_version: int = 3) -> Rating:
    """The qualitative rating of a CVSS base score (v3/v4 scale, or NVD's bands for v2)."""
    if cvss_version == 2:
        bands = V2_BANDS
    else:
        if score <= 0.0:
            return "none"
        bands = V3_BANDS
    for floor, name in bands:
        if score >= floor:
            return name
    return "low"
