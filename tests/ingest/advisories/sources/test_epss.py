"""FIRST EPSS CSV parsing and fetching (ingest/advisories/sources/epss.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest

from core.advisories import EpssScore
from core.errors import AdvisoryError
from ingest.advisories.fetch import MAX_UNPACKED_BYTES, ServiceResponseError, fetch_feed
from ingest.advisories.interface import Claim, FetchRequest
from ingest.advisories.sources.epss import EPSS_URL, SOURCE, fetch_epss, parse_epss, read_epss_file
from tests.bombs import MIB, gzip_bomb
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


def test_a_gzip_bomb_is_refused_at_the_limit_naming_the_file() -> None:
    """About 1 MB that unpacks to 1 GiB (the file of issue 12 reached a 7 GB peak): refused at 64 MiB."""
    bomb = gzip_bomb(1024)
    assert len(bomb) < 1_100_000
    with pytest.raises(AdvisoryError) as refused:
        parse_epss(bomb, origin="epss.csv.gz")
    assert str(refused.value) == (
        f"epss.csv.gz: unpacks to more than the limit of {MAX_UNPACKED_BYTES} bytes (64 MiB); refused"
    )
    assert MAX_UNPACKED_BYTES == 64 * MIB


def test_every_gzip_member_counts_toward_the_limit() -> None:
    member = gzip.compress(bytes(MIB))
    with pytest.raises(AdvisoryError, match=r"^m\.csv\.gz: unpacks to more than the limit of 3145728 bytes"):
        parse_epss(member * 4, origin="m.csv.gz", max_bytes=3 * MIB)
    # Members split a real file as well: all are read.
    halves = gzip.compress(CSV[:80]) + gzip.compress(CSV[80:])
    assert parse_epss(halves, origin="m.csv.gz").count == 2


def test_plain_file_over_the_limit_and_broken_gzip_are_refused() -> None:
    with pytest.raises(AdvisoryError, match=r"^e\.csv: more than the limit of 100 bytes; refused"):
        parse_epss(CSV, origin="e.csv", max_bytes=100)
    with pytest.raises(AdvisoryError, match=r"^e\.csv\.gz: not valid gzip data \(it ends before"):
        parse_epss(gzip.compress(CSV)[:-20], origin="e.csv.gz")


def test_a_line_csv_cannot_read_is_an_error_naming_it() -> None:
    data = b"cve,epss,percentile\n" + b"x" * 200_000 + b"\n"
    with pytest.raises(AdvisoryError, match=r"^e\.csv: line 2: not CSV \(field larger than field limit"):
        parse_epss(data, origin="e.csv")


def test_a_cve_listed_twice_keeps_its_later_row_so_repeated_rows_cost_nothing() -> None:
    feed = parse_epss(CSV + b"CVE-1999-0001,0.5,0.6\n", origin="e.csv")
    assert feed.scores == (EpssScore("CVE-1999-0001", 0.5, 0.6), EpssScore("CVE-2022-46169", 0.97, 0.999))
    # One valid row 200,000 times (5 MB) gzips to ~5 KB: it holds one score, not 200,000.
    repeated = gzip.compress(b"CVE-2022-46169,0.97,0.999\n" * 200_000)
    assert len(repeated) < 20_000
    assert parse_epss(repeated, origin="r.csv.gz").scores == (EpssScore("CVE-2022-46169", 0.97, 0.999),)


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
