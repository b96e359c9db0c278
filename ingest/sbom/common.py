"""Helpers every SBOM reader shares: JSON loading with clear errors, timestamps, purl triage, the result.

Kept free of format knowledge so that each format module reads as a plain mapping from its fields to
``core.sbom`` records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from packageurl import PackageURL

from core.errors import SbomError
from core.jsondoc import JsonDocumentError, JsonTextError, parse_json
from core.packages import NotAssessable
from core.purls import split_plain
from core.sbom import Component, Hash, ParsedSbom, SbomFormat, Tool
from core.text import NAME_MAX_BYTES, PURL_MAX_BYTES, VERSION_MAX_BYTES, length_problem, truncate_utf8

# Skip reasons: stable strings, reports and the database match on them.
NO_PURL = "no-purl"
INVALID_PURL = "invalid-purl"
NO_VERSION = "no-version"
TOO_LONG = NotAssessable.TOO_LONG

# packageurl-python lower-cases the version of these types.
_LOWER_CASE_VERSION_TYPES = frozenset({"huggingface", "oci"})


def load_json(data: bytes, source: str) -> Any:
    """The SBOM's JSON (``core.jsondoc.parse_json``), or an SbomError saying where it is broken.

    A string holding a NUL character or a lone surrogate refuses the whole SBOM, naming the field:
    nothing of it could be stored the same on every database, and a snapshot must be all of the SBOM.
    """
    try:
        return parse_json(data, non_finite=True)
    except JsonTextError as exc:
        raise SbomError(source, str(exc)) from None
    except JsonDocumentError as exc:
        where = f" at {exc.position}" if exc.position else ""
        raise SbomError(source, f"malformed JSON{where}: {exc.reason}") from None


def text(value: object) -> str | None:
    """A scalar field as a stripped, non-empty string, or ``None``.

    Numbers are accepted because some generators write versions such as ``1`` unquoted; anything else
    (objects, lists, booleans) is treated as absent rather than rejected, since it never decides matching.
    """
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):  # json.loads accepts Infinity and NaN
        return str(value)
    return None


def objects(value: object, source: str, where: str) -> list[dict[str, Any]]:
    """A JSON array of objects; absent means empty, anything else of the wrong shape is an error."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise SbomError(source, f"{where} is not an array")
    for item in value:
        if not isinstance(item, dict):
            raise SbomError(source, f"{where} holds an entry that is not an object")
    return value


def parse_timestamp(value: object, source: str, where: str) -> datetime | None:
    """An ISO 8601 date-time as an aware UTC ``datetime``; ``None`` when absent.

    A value without an offset is read as UTC: the specifications require one, and a snapshot's time must
    not depend on the server's local zone. A value that is not a date-time is an error, not "missing",
    because ``observed_at`` comes from it.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SbomError(source, f"{where} is not a date-time: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise SbomError(source, f"{where} is not an ISO 8601 date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59-01:00 lies beyond datetime.max in UTC
        raise SbomError(source, f"{where} is out of range: {value!r}") from exc


def purl_version(purl: str) -> tuple[bool, str | None]:
    """Whether packageurl-python accepts ``purl`` (stripped), and the version it reads from it.

    Plain purls (``core.purls``, nearly all) are answered without it: it costs ~11 µs a purl, half of
    the parse time of a 10,000-component SBOM.
    """
    plain = split_plain(purl)
    if plain is not None:
        version = plain.version
        if version is not None and plain.type in _LOWER_CASE_VERSION_TYPES:
            version = version.lower()
        return True, version
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return False, None
    return True, text(parsed.version)


def component(
    *,
    name: str | None,
    version: str | None,
    purl: str | None,
    bom_ref: str | None = None,
    type_: str | None = None,
    supplier: str | None = None,
    hashes: tuple[Hash, ...] = (),
    licenses: tuple[str, ...] = (),
    source_name: str | None = None,
    source_version: str | None = None,
) -> Component:
    """Build a ``Component`` and decide whether it can be assessed.

    ``purl`` and ``version`` must already be stripped (``text`` does that). The purl string is kept as
    written; only its validity is checked, as packageurl-python decides it (``purl_version``). When the
    SBOM gives no version field, the purl's version is the component's version.

    A name, version or purl (or source package name or version) over the limits of ``core.text`` makes
    the component not assessable (``too-long``), with its values truncated to the limits and the detail
    naming what was too long: it is kept and counted, the rest of the SBOM is assessed, and the snapshot
    keeps the SBOM's raw bytes with the whole values.
    """
    too_long = _too_long(
        ("name", name, NAME_MAX_BYTES),
        ("version", version, VERSION_MAX_BYTES),
        ("purl", purl, PURL_MAX_BYTES),
        ("source package name", source_name, NAME_MAX_BYTES),
        ("source package version", source_version, VERSION_MAX_BYTES),
    )
    if too_long:
        return Component(
            name=truncate_utf8(name or "", NAME_MAX_BYTES),
            version=None if version is None else truncate_utf8(version, VERSION_MAX_BYTES),
            purl=None if purl is None else truncate_utf8(purl, PURL_MAX_BYTES),
            bom_ref=bom_ref,
            type=type_,
            supplier=supplier,
            hashes=hashes,
            licenses=licenses,
            skip_reason=TOO_LONG,
            source_name=None if source_name is None else truncate_utf8(source_name, NAME_MAX_BYTES),
            source_version=None
            if source_version is None
            else truncate_utf8(source_version, VERSION_MAX_BYTES),
            skip_detail="; ".join(too_long),
        )
    skip: str | None = None
    if purl is None:
        skip = NO_PURL
    else:
        valid, in_purl = purl_version(purl)
        if not valid:
            skip = INVALID_PURL
        else:
            if version is None:
                version = in_purl
            if version is None:
                skip = NO_VERSION
    return Component(
        name=name or "",
        version=version,
        purl=purl,
        bom_ref=bom_ref,
        type=type_,
        supplier=supplier,
        hashes=hashes,
        licenses=licenses,
        skip_reason=skip,
        source_name=source_name,
        source_version=source_version,
    )


def _too_long(*fields: tuple[str, str | None, int]) -> list[str]:
    """The reasons of the values over their byte limits (the hot loop: short values cost one ``len``)."""
    return [
        problem
        for field, value, limit in fields
        if value is not None
        and len(value) > limit // 4
        and (problem := length_problem(value, field, limit)) is not None
    ]


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    """Non-empty values once each, in first-seen order."""
    return tuple(dict.fromkeys(v for v in values if v))


def parsed_sbom(
    source: str,
    *,
    format: SbomFormat,
    spec_version: str,
    serial_number: str | None,
    timestamp: datetime | None,
    subject: Component | None,
    tools: Iterable[Tool],
    components: list[Component],
    vulnerability_count: int = 0,
    authors: Iterable[str | None] = (),
) -> ParsedSbom:
    """The reader's result; an SBOM without a single component is refused, it proves nothing."""
    if not components:
        raise SbomError(source, "SBOM has no components")
    return ParsedSbom(
        format=format,
        spec_version=spec_version,
        serial_number=serial_number,
        timestamp=timestamp,
        subject=subject,
        tools=tuple(dict.fromkeys(tools)),
        components=tuple(components),
        vulnerability_count=vulnerability_count,
        authors=unique(authors),
    )


def unsupported_version(source: str, what: str, version: str, supported: Iterable[str]) -> SbomError:
    """The one wording for a spec version we do not read."""
    return SbomError(source, f"unsupported spec version {what} {version} (supported: {', '.join(supported)})")
