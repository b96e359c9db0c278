"""FIRST EPSS CSV parsing (ingest/advisories/sources/epss.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from core.advisories import EpssScore
from core.errors import AdvisoryError
from ingest.advisories.sources.epss import parse_epss, read_epss_file

CSV = b"""#model_version:v2023.03.01,score_date:2023-03-20T00:00:00+0000
cve,epss,percentile
CVE-1999-0001,0.01055,0.82356
CVE-2022-46169,0.97,0.999
"""


def test_metadata_and_scores_from_plain_and_gzip_bytes() -> None:
    for data in (CSV, gzip.compress(CSV)):
        feed = parse_epss(data, origin="epss.csv")
        assert (feed.model_version, feed.score_date) == ("v2023.03.01", "2023-03-20T00:00:00+0000")
        assert feed.scores == (
            EpssScore("CVE-1999-0001", 0.01055, 0.82356),
            EpssScore("CVE-2022-46169", 0.97, 0.999),
        )


def test_headerless_excerpt_has_no_metadata() -> None:
    feed = parse_epss(b"CVE-2022-46117,0.00734,0.52585\n", origin="x.csv")
    assert (feed.model_version, feed.score_date, len(feed.scores)) == (None, None, 1)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"CVE-2022-1234,abc,0.5", "line 3: epss 'abc' is not a number"),
        (b"CVE-2022-1234,1.5,0.5", "line 3: epss '1.5' is not between 0 and 1"),
        (b"CVE-2022-1234,0.5,nan", "line 3: percentile 'nan' is not between 0 and 1"),
        (b"CVE-2022-1234,0.5", "line 3: expected 'cve,epss,percentile', got 2 fields"),
        (b"GHSA-x,0.5,0.5", "line 3: 'GHSA-x' is not a CVE id"),
    ],
)
def test_bad_line_fails_naming_file_and_line(line: bytes, fragment: str) -> None:
    data = b"#model_version:v1,score_date:2023-01-01\ncve,epss,percentile\n" + line + b"\n"
    with pytest.raises(AdvisoryError, match=r"^e\.csv: " + fragment):
        parse_epss(data, origin="e.csv")


def test_comment_or_header_inside_data_fails() -> None:
    with pytest.raises(AdvisoryError, match="line 2: comment line after"):
        parse_epss(b"CVE-2022-1234,0.1,0.1\n#model_version:v1\n", origin="e.csv")
    with pytest.raises(AdvisoryError, match="line 2: header repeated"):
        parse_epss(b"CVE-2022-1234,0.1,0.1\ncve,epss,percentile\n", origin="e.csv")


def test_real_excerpts(shared_data: Path) -> None:
    head = read_epss_file(shared_data / "feeds/epss/epss_scores-excerpt-head.csv")
    assert head.model_version is not None
    assert head.model_version.startswith("v")
    assert head.scores[0].cve_id == "CVE-1999-0001"
    assert len(head.scores) == 49  # 51 lines: the comment, the header and 49 rows
    middle = read_epss_file(shared_data / "feeds/epss/epss_scores-excerpt-2022-46117_46181.csv")
    assert len(middle.scores) == 57
    assert "CVE-2022-46169" in {s.cve_id for s in middle.scores}
