"""OSV records → :class:`core.advisories.Advisory`: schema validation and normalization.

Every OSV-shaped source (OSV files and exports, the OSV API, the Akrites feed) goes through
:func:`parse_osv_record`, so the rules live in one place:

- the record is validated against the OSV JSON Schema shipped in ``schemas/osv.schema.json``
  (from github.com/ossf/osv-schema, Apache-2.0; see ``schemas/__init__.py`` for the exact commit);
  a record that fails it is rejected with the first, most relevant schema error;
- a record whose ``affected[]`` names no package (ecosystem + name, or purl) is rejected too, because it
  cannot be matched against anything (the PSF CPython records have only GIT ranges) — unless it is
  withdrawn, since a withdrawal must still reach the store to retract the earlier record;
- timestamps and versions are kept as the exact strings published; the raw record is kept unchanged.

Severity statements given per ``affected[]`` entry (the schema allows them there *instead of* at the
top) are folded into ``Advisory.severity``, because the records keep one severity list per advisory;
GitHub's ``database_specific.severity`` is added as a rating-only ``GHSA`` statement when present.

As a registered source (:data:`SOURCE`), OSV reads directory trees, export zips and single record files
(:mod:`ingest.advisories.osv_files`) and is fetched from the OSV API (:mod:`ingest.advisories.osv_api`):
the API is asked about every deployed package version and only new or changed records are hydrated.
Any JSON object counts as an OSV record when no source marks it as its own.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event, EventKind
from core.errors import AdvisoryError
from ingest.advisories.interface import Claim, Fetched, FetchRequest, RecordSource, Skipped
from ingest.advisories.osv_api import DEFAULT_BASE_URL
from ingest.advisories.osv_files import count_records, osv_parser, read_records

if TYPE_CHECKING:
    import jsonschema_rs

    from ingest.advisories.http import HttpClient

NAME = "osv"

_EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")
# Schema messages quote the failing instance, which can be a whole record: keep reasons one line.
_MAX_REASON = 200


def parse_osv_record(
    obj: Any,
    *,
    source: str = NAME,
    origin: str,
    extra_id_prefixes: Sequence[str] = (),
) -> Advisory:
    """Validate and normalize one OSV record.

    ``origin`` names where the record came from (a path, ``all.zip!GHSA-….json``, a URL) and starts
    every error message. ``extra_id_prefixes`` admits id prefixes the OSV schema does not (yet) list,
    for feeds of our own such as ``AKRITES-``.

    Raises :class:`AdvisoryError` when the record fails the schema or names no package.
    """
    if not isinstance(obj, dict):
        raise AdvisoryError(origin, f"an OSV record must be a JSON object, not {type(obj).__name__}")
    problem = schema_problem(obj, extra_id_prefixes=tuple(extra_id_prefixes))
    if problem is not None:
        raise AdvisoryError(origin, problem)

    affected = tuple(_affected(entry) for entry in obj.get("affected") or ())
    withdrawn = obj.get("withdrawn")
    if withdrawn is None and not any(a.name or a.purl for a in affected):
        raise AdvisoryError(origin, "no affected package: nothing to match (affected[].package is missing)")

    from ingest.advisories import severity as sev  # noqa: PLC0415 - cvss loads with the first record

    severities = sev.from_osv(obj.get("severity") or ())
    for entry in obj.get("affected") or ():
        for statement in sev.from_osv(entry.get("severity") or ()):
            if statement not in severities:
                severities.append(statement)
    ghsa = sev.from_ghsa(obj.get("database_specific"))
    if ghsa is not None:
        severities.append(ghsa)

    return Advisory(
        id=obj["id"],
        source=source,
        modified=obj["modified"],
        published=obj.get("published"),
        withdrawn=withdrawn,
        aliases=tuple(obj.get("aliases") or ()),
        related=tuple(obj.get("related") or ()),
        summary=obj.get("summary") or "",
        details=obj.get("details") or "",
        severity=tuple(severities),
        affected=affected,
        database_specific=obj.get("database_specific"),
        raw=obj,
    )


def schema_problem(obj: Mapping[str, Any], *, extra_id_prefixes: tuple[str, ...] = ()) -> str | None:
    """The first OSV-schema violation of ``obj`` as one line, or None when it is valid."""
    validator = _validator(extra_id_prefixes)
    # is_valid stops at the first failure and builds no error objects: the common, valid case is cheap.
    if validator.is_valid(obj):
        return None
    error = next(iter(validator.iter_errors(obj)), None)
    if error is None:  # pragma: no cover - is_valid said invalid, so there is an error
        return "does not follow the OSV schema"
    where = "/".join(str(part) for part in error.instance_path) or "(record)"
    message = " ".join(error.message.split())
    if len(message) > _MAX_REASON:
        message = message[: _MAX_REASON - 1] + "…"
    return f"does not follow the OSV schema at {where}: {message}"


@lru_cache(maxsize=8)
def _validator(extra_id_prefixes: tuple[str, ...]) -> jsonschema_rs.Validator:
    """One validator per prefix set, built once and reused for every record.

    jsonschema-rs (compiled) rather than the pure-Python ``jsonschema``: validating the 19,000 records
    of the shared corpus takes about 0.1 s with it and 18 s with a reused ``jsonschema`` validator.
    """
    import jsonschema_rs  # noqa: PLC0415 - loaded with the first record validated, not with the source

    schema = copy.deepcopy(_schema())
    if extra_id_prefixes:
        prefix = schema["$defs"]["prefix"]
        head = "^(x_|("
        if not prefix["pattern"].startswith(head):  # pragma: no cover - guards a schema update
            raise RuntimeError("the shipped OSV schema's id prefix pattern changed; update osv.py")
        added = "|".join(re.escape(p.rstrip("-")) for p in extra_id_prefixes)
        prefix["pattern"] = head + added + "|" + prefix["pattern"][len(head) :]
    return jsonschema_rs.validator_for(schema)


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    from importlib import resources  # noqa: PLC0415 - read once, with the first record validated

    text = resources.files("ingest.advisories.schemas").joinpath("osv.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _affected(entry: Mapping[str, Any]) -> AffectedPackage:
    package = entry.get("package") or {}
    ranges = tuple(
        AffectedRange(
            type=r["type"],
            events=tuple(_event(e) for e in r.get("events") or ()),
            repo=r.get("repo"),
        )
        for r in entry.get("ranges") or ()
    )
    return AffectedPackage(
        ecosystem=package.get("ecosystem"),
        name=package.get("name"),
        purl=package.get("purl"),
        ranges=ranges,
        versions=tuple(entry.get("versions") or ()),
        ecosystem_specific=entry.get("ecosystem_specific"),
        database_specific=entry.get("database_specific"),
    )


def _event(obj: Mapping[str, Any]) -> Event:
    # The schema makes each event hold exactly one of the four kinds.
    for kind in _EVENT_KINDS:
        if kind in obj:
            return Event(kind=kind, value=obj[kind])
    raise AssertionError("schema-validated event without a kind")  # pragma: no cover


class Osv(RecordSource):
    """OSV records: files, export zips, and the OSV API (see the module docstring)."""

    name = NAME
    fetchable = True
    default_url = DEFAULT_BASE_URL
    url_help = "API base URL"
    needs_known = True
    needs_packages = True

    def claim(self, document: Any) -> Claim:
        return Claim.SHAPE if isinstance(document, dict) else Claim.NONE

    def open(self, path: Path) -> Iterator[Advisory | Skipped]:
        return read_records(path, name=NAME, parse=osv_parser(source=NAME))

    def count(self, path: Path) -> int | None:
        return count_records(path)

    def fetch(self, http: HttpClient, request: FetchRequest) -> Fetched:
        """Ask the API about every deployed package version; hydrate the records new or newer than ours."""
        from ingest.advisories.osv_api import OsvApiClient, OsvQuery  # noqa: PLC0415 - fetching only

        queries = [OsvQuery(ecosystem=e, name=n, version=v) for e, n, v in request.packages]
        synced = OsvApiClient(http, base_url=request.url).sync(queries, request.known)
        ids = {ref.id for result in synced.results for ref in result.vulns}
        fetched = synced.hydration.advisories
        return Fetched(
            changed=True,
            records=[*fetched, *synced.hydration.skipped],
            note=(
                f"asked about {len(queries)} package versions, {len(ids)} advisories name them, "
                f"{len(fetched)} fetched (new or changed)"
            ),
        )


SOURCE = Osv()
