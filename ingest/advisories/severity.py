"""Severity statements: CVSS vectors scored with the ``cvss`` library, and rating-only fallbacks.

Every source states severity differently: OSV ``severity[]`` entries (``CVSS_V2``/``CVSS_V3``/
``CVSS_V4`` vectors, or an ``Ubuntu`` priority word), GitHub's ``database_specific.severity``
(``LOW``/``MODERATE``/``HIGH``/``CRITICAL``), CSAF ``scores[].cvss_v3``. They all become
:class:`core.advisories.Severity`. A vector that cannot be scored keeps the record: the statement
carries ``error`` and no score, so reports can say "unscored because …" instead of dropping data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4, CVSSError

from core.advisories import Severity
from core.severity import cvss_rating

# GitHub says MODERATE where CVSS says medium.
_GHSA_RATINGS = {
    "LOW": "low",
    "MODERATE": "medium",
    "MEDIUM": "medium",
    "HIGH": "high",
    "CRITICAL": "critical",
}

# Ubuntu priorities (https://ubuntu.com/security/cves/about#priority); "negligible" is below CVSS low,
# kept as "low" because the rating vocabulary stops there; "untriaged" says nothing yet.
_UBUNTU_RATINGS = {
    "negligible": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}

# Preference when one statement must stand for a record: the newest CVSS version the publisher gave,
# then rating-only statements in the order of how much they rest on a method.
_PREFERENCE = {"CVSS_V4": 0, "CVSS_V3": 1, "CVSS_V2": 2, "GHSA": 3, "Ubuntu": 4}


def score_vector(kind: str, vector: str) -> Severity:
    """Score one vector of the given OSV severity type; an unscorable vector yields ``error``.

    ``kind`` may be ``CVSS_V2``, ``CVSS_V3`` or ``CVSS_V4``; the vector's own prefix must agree with
    it (a ``CVSS:4.0/…`` vector labelled ``CVSS_V3`` is an error, not silently re-typed).
    """
    try:
        if kind == "CVSS_V3":
            if not vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
                return Severity(kind, vector, None, None, error="not a CVSS 3.x vector")
            v3 = CVSS3(vector)
            return Severity(kind, vector, _as_float(v3.base_score), v3.severities()[0].lower())
        if kind == "CVSS_V4":
            if not vector.startswith("CVSS:4.0/"):
                return Severity(kind, vector, None, None, error="not a CVSS 4.0 vector")
            v4 = CVSS4(vector)
            return Severity(kind, vector, _as_float(v4.base_score), str(v4.severity).lower())
        if kind == "CVSS_V2":
            # v2 vectors are published bare; some feeds wrap them in parentheses or add "CVSS:2.0/".
            bare = vector.strip("()").removeprefix("CVSS:2.0/")
            v2 = CVSS2(bare)
            score = _as_float(v2.base_score)
            return Severity(kind, vector, score, cvss_rating(score, cvss_version=2))
    except CVSSError as exc:
        return Severity(kind, vector, None, None, error=f"invalid {kind} vector: {exc}")
    return Severity(kind, vector, None, None, error=f"unknown severity type {kind!r}")


def from_osv(entries: Iterable[Mapping[str, Any]]) -> list[Severity]:
    """Turn OSV ``severity[]`` entries into statements, one per entry, in the given order."""
    out: list[Severity] = []
    for entry in entries:
        kind = entry.get("type")
        score = entry.get("score")
        if not isinstance(kind, str) or not isinstance(score, str):
            label = kind if isinstance(kind, str) else "unknown"
            out.append(Severity(label, None, None, None, error="severity entry without type and score"))
        elif kind == "Ubuntu":
            rating = _UBUNTU_RATINGS.get(score.lower())
            error = None if rating else f"unknown Ubuntu priority {score!r}"
            out.append(Severity(kind, None, None, rating, error=error))
        else:
            out.append(score_vector(kind, score))
    return out


def from_ghsa(database_specific: Mapping[str, Any] | None) -> Severity | None:
    """GitHub's rating-only ``database_specific.severity``, or None when absent or not a known word."""
    if not database_specific:
        return None
    word = database_specific.get("severity")
    if not isinstance(word, str):
        return None
    rating = _GHSA_RATINGS.get(word.upper())
    return Severity("GHSA", None, None, rating) if rating else None


def best(severities: Iterable[Severity]) -> Severity | None:
    """The one statement that stands for a record: a scored CVSS vector if any, newest version first,
    else a rating-only statement (GHSA, then Ubuntu, then any other), else None.

    Statements with an error are never chosen.
    """
    usable = [s for s in severities if s.error is None and (s.score is not None or s.rating is not None)]
    if not usable:
        return None
    return min(usable, key=lambda s: (s.score is None, _PREFERENCE.get(s.type, len(_PREFERENCE))))


def _as_float(value: Decimal | float) -> float:
    return float(value)
