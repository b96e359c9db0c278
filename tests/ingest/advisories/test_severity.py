"""CVSS scoring and rating fallbacks (ingest/advisories/severity.py).

Expected scores are the ones the CVSS specifications publish for these vectors (FIRST's calculators):
the classic all-high network vector is 9.8 in v3.1 and 9.3 in v4.0; v2's AV:N/AC:L/Au:N/C:P/I:P/A:P is 7.5.
"""

from __future__ import annotations

import pytest

from core.advisories import Severity
from ingest.advisories.severity import best, from_ghsa, from_osv, score_vector


def test_v3_v4_v2_vectors_are_scored() -> None:
    v3 = score_vector("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    v4 = score_vector("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    v2 = score_vector("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P")
    assert (v3.score, v3.rating, v3.error) == (9.8, "critical", None)
    assert (v4.score, v4.rating, v4.error) == (9.3, "critical", None)
    assert (v2.score, v2.rating, v2.error) == (7.5, "high", None)


@pytest.mark.parametrize(
    ("kind", "vector", "fragment"),
    [
        ("CVSS_V3", "CVSS:3.1/AV:N/AC:L", "Missing mandatory"),
        ("CVSS_V3", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "not a CVSS 3.x"),
        ("CVSS_V4", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "not a CVSS 4.0"),
        ("CVSS_V2", "AV:X/AC:L/Au:N/C:P/I:P/A:P", "invalid CVSS_V2"),
        ("CVSS_V9", "whatever", "unknown severity type"),
    ],
)
def test_unscorable_vectors_keep_the_vector_and_state_why(kind: str, vector: str, fragment: str) -> None:
    result = score_vector(kind, vector)
    assert result.score is None
    assert result.vector == vector
    assert result.error is not None
    assert fragment in result.error


def test_ubuntu_priorities_and_ghsa_words() -> None:
    ubuntu = from_osv([{"type": "Ubuntu", "score": "negligible"}, {"type": "Ubuntu", "score": "weird"}])
    assert [(s.rating, s.error is None) for s in ubuntu] == [("low", True), (None, False)]
    assert from_ghsa({"severity": "MODERATE"}) == Severity("GHSA", None, None, "medium")
    assert from_ghsa({"severity": "unknown"}) is None
    assert from_ghsa(None) is None


def test_best_prefers_scored_newest_cvss_then_rating_only_and_never_errors() -> None:
    v3 = Severity("CVSS_V3", "v", 7.5, "high")
    v4 = Severity("CVSS_V4", "v", 6.0, "medium")
    broken = Severity("CVSS_V4", "v", None, None, error="bad")
    ghsa = Severity("GHSA", None, None, "critical")
    assert best([ghsa, v3, v4, broken]) == v4
    assert best([ghsa, v3]) == v3
    assert best([broken, ghsa]) == ghsa
    assert best([broken]) is None
