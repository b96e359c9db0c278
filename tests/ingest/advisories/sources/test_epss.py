"""FIRST EPSS CSV parsing and fetching (ingest/advisories/sources/epss.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest

from core.advisories import EpssScore
from core.errors import AdvisoryError
from ingest.advisories.fetch import ServiceResponseError, fetch_feed
from ingest.advisories.interface import Claim, FetchRequest
from ingest.advisories.sources.epss import EPSS_URL, SOURCE, fetch_epss, parse_epss, read_epss_file
from tests.ingest.advisories.feed_server import FEEDS, Server, conditional, needs_shared

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


# --- over HTTP: EPSS_URL through MockTransport ------------------------------------------------------


DATED = "https://epss.empiricalsecurity.com/epss_scores-2026-09-29.csv.gz"
TINY_EPSS = (
    b"#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z\n"
    b"cve,epss,percentile\n"
    b"CVE-2022-46169,0.94,0.99\n"
)


def _epss_server(plain: bytes) -> Server:
    """The real layout: ``-current`` redirects to the dated file, served as application/gzip."""
    return Server(
        {
            EPSS_URL: lambda r: httpx.Response(302, headers={"Location": DATED}),
            DATED: conditional(
                gzip.compress(plain), '"epss-2026-09-29"', {"Content-Type": "application/gzip"}
            ),
        }
    )


def test_epss_real_excerpt_gzipped_behind_a_redirect() -> None:
    plain = needs_shared(FEEDS / "epss" / "epss_scores-excerpt-head.csv").read_bytes()
    server = _epss_server(plain)

    download = fetch_epss(server.http())

    assert server.urls() == [EPSS_URL, DATED]
    assert download.changed
    assert download.content == plain
    feed = parse_epss(download.content, origin=download.url)
    assert (feed.model_version, len(feed.scores)) == ("v2026.06.15", 49)


def test_epss_second_sync_is_not_modified() -> None:
    server = _epss_server(TINY_EPSS)
    first = fetch_epss(server.http())
    second = fetch_epss(server.http(), previous=first.validators)
    assert first.content == TINY_EPSS
    assert not second.changed
    assert server.requests[-1].headers["If-None-Match"] == '"epss-2026-09-29"'


def test_epss_with_content_encoding_is_decoded_once() -> None:
    body = gzip.compress(TINY_EPSS)
    server = Server(
        {EPSS_URL: lambda r: httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})}
    )
    assert fetch_epss(server.http()).content == TINY_EPSS


def test_epss_corrupt_gzip_bomb_and_error_page() -> None:
    corrupt = Server({EPSS_URL: lambda r: httpx.Response(200, content=b"\x1f\x8b" + b"\x00" * 30)})
    with pytest.raises(ServiceResponseError, match=rf"^{EPSS_URL}: not valid gzip data"):
        fetch_epss(corrupt.http())

    bomb = Server({EPSS_URL: lambda r: httpx.Response(200, content=gzip.compress(b"0" * 10_000))})
    with pytest.raises(ServiceResponseError, match="unpacks to more than the limit of 1000 bytes"):
        fetch_feed(bomb.http(), EPSS_URL, max_unpacked_bytes=1000)

    page = Server({EPSS_URL: lambda r: httpx.Response(200, text="<!doctype html><title>Moved</title>")})
    with pytest.raises(ServiceResponseError, match="does not look like an EPSS CSV"):
        fetch_epss(page.http())


# --- the registered source -----------------------------------------------------------------------------


def test_source_reads_a_whole_score_file_and_fetches_conditionally() -> None:
    table = SOURCE.read_table(gzip.compress(CSV), origin="epss.csv.gz")
    assert (table.version, table.date, table.count) == ("v2023.03.01", "2023-03-20T00:00:00+0000", 2)
    assert SOURCE.file_suffixes == (".csv", ".csv.gz")
    assert SOURCE.claim({"cve": "CVE-2022-46169"}) is Claim.NONE

    server = _epss_server(TINY_EPSS)
    first = SOURCE.fetch(server.http(), FetchRequest(url=EPSS_URL))
    assert (first.changed, first.content) == (True, TINY_EPSS)
    again = SOURCE.fetch(server.http(), FetchRequest(url=EPSS_URL, validators=first.validators))
    assert not again.changed
