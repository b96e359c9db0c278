"""The one home of patchgap's time helpers: every stored and reported moment is an aware UTC datetime.

- :func:`utcnow` — now, aware; :func:`utcnow_seconds` — the same to the second (document and export
  times, which are shown to the second).
- :func:`assume_utc` — a moment a person typed (a query parameter, a CLI option) without a zone is
  taken as UTC; one with a zone is kept.
- :func:`as_utc` — any moment converted to UTC (naive ones taken as UTC).
- :func:`require_utc` — reports refuse naive moments, because their zone would be a guess.
- :func:`rfc3339` — the one timestamp format of every report and document: UTC, seconds, ``Z``.
- :func:`utc_midnight` — an ISO date (``2024-05-01``) as the start of that day in UTC.
- :func:`parse_rfc3339` — an RFC 3339 timestamp of a document (advisories, feeds) as an aware datetime.
- :func:`within_range` — the moments patchgap accepts from its users and their SBOMs: written from
  :data:`EARLIEST` (1970-01-01) up to, not including, :data:`LATEST` (2200-01-01). Deadlines and month
  buckets are computed from them, and a year-1 or year-9999 moment would overflow those.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta

from core.errors import InputError


def utcnow() -> datetime:
    return datetime.now(UTC)


def utcnow_seconds() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def moment_asked(as_of: datetime | None, what: str = "as_of") -> tuple[datetime, datetime | None]:
    """(the moment a view computes at, the clock): ``as_of`` and ``None`` when one is asked for;
    without, the clock read now cut to its second, and the clock (see :func:`now_including`)."""
    if as_of is not None:
        return require_utc(as_of, what), None
    now = utcnow()
    return now.replace(microsecond=0), now


#: How far ahead of this server's clock a snapshot's time may lie: the clock of the machine that made
#: the SBOM may run that far ahead. Ingest refuses a later one (``pipeline.ingest``), and a view of
#: "now" counts one within it as happened (:func:`now_including`).
CLOCK_SKEW = timedelta(minutes=5)


def now_including(moment: datetime, newest: datetime | None, now: datetime) -> datetime:
    """The moment a view of "now" is computed at: ``moment`` — the clock read as ``now`` and cut to
    its second or minute, so that views within it share what they compute — or, when the
    organization's newest snapshot or decommissioning (``newest``) came after that cut and not later
    than :data:`CLOCK_SKEW` after ``now``, that event's moment: it has happened (stamped by a clock at
    most that far ahead of this one), so "now" shows it; at the cut it would be a look back that
    leaves it out, and computes every figure from the report inputs."""
    if newest is not None and moment < newest <= now + CLOCK_SKEW:
        return newest
    return moment


def assume_utc(moment: datetime | None) -> datetime | None:
    """``moment`` with UTC as its zone when it has none; ``None`` stays ``None``."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def require_utc(moment: datetime, what: str = "timestamp") -> datetime:
    """``moment`` in UTC; naive datetimes are refused because their zone would be a guess."""
    if moment.tzinfo is UTC:  # the common case, and the reports call this ~10 times per exposure
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError("report", f"{what} {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime | None) -> str | None:
    """UTC, second precision, ``Z`` suffix — the one timestamp format of every report and document."""
    if moment is None:
        return None
    return _rfc3339(moment)


# A report formats ~7 timestamps per exposure, mostly the same few hundred (snapshot times repeat across
# a fleet): caching turns 1.8 µs per call into 0.1 µs (0.6 s of a 60,000-exposure report). Equal
# instants in other zones hash and compare equal, and format to the same UTC string.
@functools.lru_cache(maxsize=16384)
def _rfc3339(moment: datetime) -> str:
    moment = require_utc(moment)
    if moment.microsecond:
        moment = moment.replace(microsecond=0)
    # isoformat, unlike strftime, pads years below 1000 to four digits; "+00:00" becomes "Z".
    return moment.isoformat()[:-6] + "Z"


def utc_midnight(day: str) -> datetime:
    """An ISO date as the first moment of that day in UTC (``ValueError`` when it is not a date)."""
    return datetime.combine(date.fromisoformat(day), time.min, tzinfo=UTC)


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime (UTC when no offset is given; ``ValueError`` when it
    is not one).

    Fractions beyond microseconds are cut, because ``datetime`` holds no finer resolution.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty timestamp")
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)] + rest[digits:]
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def within_range(moment: datetime, what: str, source: str = "input") -> datetime:
    """``moment`` when its date and time as written (before its offset is applied; a naive moment is
    UTC) lie in [:data:`EARLIEST`, :data:`LATEST`); an ``InputError`` naming ``source`` and ``what``
    otherwise.

    The bound is on the written value, so that "the year is 1970 to 2199" is the whole rule (the API's
    document says it with a pattern); an offset moves the instant by less than a day, which no
    deadline or month bucket computed from it can overflow on.
    """
    written = moment.replace(tzinfo=UTC)
    if not EARLIEST <= written < LATEST:
        raise InputError(
            source, f"{what} {moment.isoformat()} is outside the accepted range 1970-01-01 to 2200-01-01"
        )
    return moment
