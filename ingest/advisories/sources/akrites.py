"""The Akrites coordinated-disclosure feed: OSV records with a ``database_specific.akrites`` block.

Akrites publishes plain OSV-schema records (ids ``AKRITES-…``, which the OSV schema's list of home
databases does not carry, so that prefix is admitted on top of it). A record may add::

    "database_specific": {"akrites": {
        "case_id": "AK-2026-0001",            # the coordinated-disclosure case
        "disclosed_at": "2026-01-12T09:00:00Z",
        "fix_released_at": "2026-01-20T15:30:00Z",
        "exploited": true,
        "last_resort_maintainer": false        # Akrites shipped the fix itself (abandoned package)
    }}

``fix_released_at`` becomes ``Advisory.fix_available_at`` (source ``"akrites"``), the clock start of
time-to-deploy; ``exploited`` becomes ``Advisory.exploited``. Every field is optional; a field of the
wrong type rejects the record (it is skipped with the reason), because a wrong fix date would silently
skew every time-to-deploy figure. The feed is read from a directory or an export zip through
:mod:`ingest.advisories.osv_files`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.advisories import Advisory
from core.errors import AdvisoryError
from ingest.advisories.interface import Skipped
from ingest.advisories.osv_files import OsvDirectory, OsvZip, ZipLimits, open_osv_path, parse_timestamp
from ingest.advisories.sources.osv import parse_osv_record

SOURCE = "akrites"
ID_PREFIX = "AKRITES"


@dataclass(frozen=True, slots=True)
class AkritesCase:
    """The Akrites facts of one record, as published."""

    case_id: str | None = None
    disclosed_at: str | None = None
    fix_released_at: str | None = None
    exploited: bool = False
    last_resort_maintainer: bool = False


def parse_akrites_record(obj: Any, origin: str) -> Advisory:
    """Validate and normalize one Akrites record (OSV rules plus the ``akrites`` block)."""
    advisory = parse_osv_record(obj, source=SOURCE, origin=origin, extra_id_prefixes=(ID_PREFIX,))
    case = read_case(advisory.database_specific, origin=origin)
    if case is None:
        return advisory
    return dataclasses.replace(
        advisory,
        fix_available_at=case.fix_released_at,
        fix_available_source=SOURCE if case.fix_released_at else None,
        exploited=case.exploited,
    )


def read_case(database_specific: Mapping[str, Any] | None, *, origin: str) -> AkritesCase | None:
    """The ``database_specific.akrites`` block of a record, checked; None when the record has none."""
    block = (database_specific or {}).get("akrites")
    if block is None:
        return None
    where = "database_specific.akrites"
    if not isinstance(block, dict):
        raise AdvisoryError(origin, f"{where} must be an object")
    case_id = block.get("case_id")
    if case_id is not None and not isinstance(case_id, str):
        raise AdvisoryError(origin, f"{where}.case_id must be a string")
    times: dict[str, str | None] = {}
    for key in ("disclosed_at", "fix_released_at"):
        value = block.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise AdvisoryError(origin, f"{where}.{key} must be an RFC 3339 string")
            try:
                parse_timestamp(value)
            except ValueError as exc:
                raise AdvisoryError(origin, f"{where}.{key}: {exc}") from exc
        times[key] = value
    flags: dict[str, bool] = {}
    for key in ("exploited", "last_resort_maintainer"):
        value = block.get(key, False)
        if not isinstance(value, bool):
            raise AdvisoryError(origin, f"{where}.{key} must be true or false, not {value!r}")
        flags[key] = value
    return AkritesCase(
        case_id=case_id,
        disclosed_at=times["disclosed_at"],
        fix_released_at=times["fix_released_at"],
        exploited=flags["exploited"],
        last_resort_maintainer=flags["last_resort_maintainer"],
    )


class AkritesSource:
    """An :class:`~ingest.advisories.interface.AdvisorySource` over the Akrites feed.

    ``feed`` is a directory, a ``.zip`` export, or the bytes of such a zip as fetched over HTTP
    (``label`` then names it in messages).
    """

    name = SOURCE

    def __init__(
        self, feed: Path | bytes, *, label: str = "akrites.zip", limits: ZipLimits | None = None
    ) -> None:
        self._inner: OsvDirectory | OsvZip
        if isinstance(feed, bytes):
            self._inner = OsvZip(feed, name=SOURCE, parse=parse_akrites_record, limits=limits, label=label)
        else:
            self._inner = open_osv_path(feed, name=SOURCE, parse=parse_akrites_record, limits=limits)

    def records(self) -> Iterator[Advisory | Skipped]:
        return self._inner.records()
