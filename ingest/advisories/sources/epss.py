"""FIRST EPSS scores (CSV) → :class:`core.advisories.EpssScore`.

The daily file (``epss_scores-YYYY-MM-DD.csv.gz``) starts with a comment line carrying the model and
the scoring date, then a header, then one row per CVE::

    #model_version:v2023.03.01,score_date:2023-03-20T00:00:00+0000
    cve,epss,percentile
    CVE-1999-0001,0.01055,0.82356

It is read from bytes (gzip-compressed or not, as fetched) or from a file, unpacked at most to
:data:`~ingest.advisories.fetch.MAX_UNPACKED_BYTES` (64 MiB; the real file is ~12 MB): a larger file,
or a gzip that unpacks past it, is refused before any score is read. The comment line and the
header are optional, because excerpts and older files lack them; when the comment is missing, the model
version and score date are None. A malformed row fails the whole file with an error naming its line:
a partly-read score file would silently lower SLA tiers. A CVE listed twice keeps its later row.

As a registered source (:data:`SOURCE`), EPSS yields a whole table: each score file replaces the stored
scores. It is fetched from FIRST with a conditional GET (:func:`ingest.advisories.fetch.fetch_feed`); a
``.csv``/``.csv.gz`` file is recognised as EPSS by its name alone, since no other source is CSV.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.advisories import EpssScore
from core.compression import DecompressionError, gunzip_bounded, the_limit
from core.errors import AdvisoryError
from ingest.advisories.fetch import MAX_UNPACKED_BYTES, FeedDownload, ServiceResponseError, fetch_feed
from ingest.advisories.interface import Fetched, FetchRequest, TableSource, Validators

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient

NAME = "epss"
# FIRST's bulk download; epss.cyentia.com, the older host, now points here too.
EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_GZIP_MAGIC = b"\x1f\x8b"
_HEADER = ["cve", "epss", "percentile"]


@dataclass(frozen=True, slots=True)
class EpssFeed:
    """One EPSS file: its model and scoring date (from the comment line) and every score."""

    model_version: str | None
    score_date: str | None
    scores: tuple[EpssScore, ...]

    @property
    def version(self) -> str | None:
        return self.model_version

    @property
    def date(self) -> str | None:
        return self.score_date

    @property
    def count(self) -> int:
        return len(self.scores)


def parse_epss(data: bytes, *, origin: str, max_bytes: int = MAX_UNPACKED_BYTES) -> EpssFeed:
    """Parse EPSS CSV bytes; raises AdvisoryError ``"<origin>: line N: …"`` on a bad line, and
    ``"<origin>: … limit …; refused"`` for a file over ``max_bytes`` (unpacked)."""
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gunzip_bounded(data, max_bytes)
        except DecompressionError as exc:
            raise AdvisoryError(origin, f"{exc}; refused") from None
    elif len(data) > max_bytes:
        raise AdvisoryError(origin, f"more than {the_limit(max_bytes)}; refused")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AdvisoryError(origin, f"not UTF-8 text ({exc})") from exc

    model_version: str | None = None
    score_date: str | None = None
    # By CVE: a CVE listed twice keeps its later row (as the stored table would), so a small gzip of one
    # row repeated millions of times holds one score, not millions.
    scores: dict[str, EpssScore] = {}
    seen_header = False
    # Lines are handed to csv one at a time: io.StringIO would hold the text again, at 4 bytes a character.
    reader = csv.reader(_lines(text))
    try:
        for line_no, row in enumerate(reader, start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            first = row[0].strip()
            if first.startswith("#"):
                if scores or seen_header:
                    raise AdvisoryError(origin, f"line {line_no}: comment line after the data started")
                model_version, score_date = _metadata(row, line_no, origin)
                continue
            if [cell.strip().lower() for cell in row] == _HEADER:
                if scores or seen_header:
                    raise AdvisoryError(origin, f"line {line_no}: header repeated inside the data")
                seen_header = True
                continue
            score = _score(row, line_no, origin)
            scores[score.cve_id] = score
    except csv.Error as exc:  # a field past csv's size limit, say
        raise AdvisoryError(origin, f"line {reader.line_num}: not CSV ({exc})") from None
    return EpssFeed(model_version, score_date, tuple(scores.values()))


def _lines(text: str) -> Iterator[str]:
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def read_epss_file(path: Path) -> EpssFeed:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdvisoryError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    return parse_epss(data, origin=str(path))


def _metadata(row: list[str], line_no: int, origin: str) -> tuple[str | None, str | None]:
    # The comment is itself comma-separated "key:value" pairs, and the date holds colons too.
    fields: dict[str, str] = {}
    for cell in row:
        key, sep, value = cell.strip().lstrip("#").partition(":")
        if not sep:
            raise AdvisoryError(origin, f"line {line_no}: comment field {cell!r} is not 'key:value'")
        fields[key.strip()] = value.strip()
    return fields.get("model_version"), fields.get("score_date")


def _score(row: list[str], line_no: int, origin: str) -> EpssScore:
    if len(row) != 3:
        raise AdvisoryError(origin, f"line {line_no}: expected 'cve,epss,percentile', got {len(row)} fields")
    cve = row[0].strip()
    if not _CVE.fullmatch(cve):
        raise AdvisoryError(origin, f"line {line_no}: {cve!r} is not a CVE id")
    values: list[float] = []
    for column, cell in zip(("epss", "percentile"), row[1:], strict=True):
        try:
            value = float(cell)
        except ValueError:
            raise AdvisoryError(origin, f"line {line_no}: {column} {cell!r} is not a number") from None
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            raise AdvisoryError(origin, f"line {line_no}: {column} {cell!r} is not between 0 and 1")
        values.append(value)
    return EpssScore(cve_id=cve, epss=values[0], percentile=values[1])


def fetch_epss(http: HttpClient, url: str = EPSS_URL, previous: Validators | None = None) -> FeedDownload:
    """The FIRST EPSS scores (CSV bytes, unpacked, for :func:`parse_epss`), or "not changed"."""
    download = fetch_feed(http, url, previous)
    # An error page served with 200 must not reach the parser as "a CSV with zero scores".
    if download.changed and not download.content.lstrip().startswith((b"#model_version", b"cve,")):
        head = download.content[:60].decode("utf-8", "replace").splitlines()[0:1]
        raise ServiceResponseError(f"{url}: does not look like an EPSS CSV (starts with {head!r})")
    return download


class Epss(TableSource):
    """FIRST's EPSS scores: a CSV file (gzipped or not), or FIRST's feed (see the module docstring)."""

    name = NAME
    file_suffixes = (".csv", ".csv.gz")
    fetchable = True
    default_url = EPSS_URL
    url_help = "feed URL (default: FIRST)"

    def read_table(self, data: bytes, *, origin: str) -> EpssFeed:
        return parse_epss(data, origin=origin)

    def fetch(self, http: HttpClient, request: FetchRequest) -> Fetched:
        download = fetch_epss(http, request.url, request.validators)
        return Fetched(download.changed, content=download.content, validators=download.validators)


SOURCE = Epss()
