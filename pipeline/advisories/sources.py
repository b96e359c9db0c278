"""The advisory sources as the CLI and the API list them, and reading the paths a user names.

Everything here iterates :mod:`ingest.advisories.registry`; nothing names a source. Importing this module
loads no source (:func:`source_names` is free); :func:`source_catalog` and :func:`sync_targets` load
them, which is cheap (a source imports its parsers' and fetchers' libraries only when it uses them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from core.errors import AdvisoryError
from ingest.advisories import registry

if TYPE_CHECKING:
    from core.advisories import Advisory
    from ingest.advisories.interface import Skipped


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a source declares, for listings: ``advisories sources`` and ``GET /api/v1/advisories/sources``.

    ``yields`` is ``"records"`` (advisory records, merged by id) or ``"table"`` (a whole table of facts
    per CVE that each import replaces); ``fetchable`` says whether ``advisories sync`` can fetch it, from
    ``default_url`` unless a URL is given (``url_help`` says what that URL names; without a default the
    URL is required).
    """

    name: str
    yields: Literal["records", "table"]
    fetchable: bool
    default_url: str | None
    url_help: str

    @property
    def url_required(self) -> bool:
        return self.fetchable and self.default_url is None


def sources_json(catalog: list[SourceInfo]) -> list[dict[str, object]]:
    """``patchgap advisories sources --json`` and ``GET /api/v1/advisories/sources``: one document."""
    return [
        {
            "name": info.name,
            "yields": info.yields,
            "fetchable": info.fetchable,
            "default_url": info.default_url,
            "url_help": info.url_help if info.fetchable else None,
            "url_required": info.url_required,
        }
        for info in catalog
    ]


def source_names() -> tuple[str, ...]:
    """Every source name, in registry order (loads no source)."""
    return registry.names()


def source_catalog() -> list[SourceInfo]:
    """Every source with what it declares, in registry order."""
    return [SourceInfo(s.name, s.yields, s.fetchable, s.default_url, s.url_help) for s in registry.sources()]


def sync_targets() -> list[SourceInfo]:
    """The sources ``advisories sync`` can fetch, in registry order."""
    return [info for info in source_catalog() if info.fetchable]


def source_info(name: str, *, what: str = "--source") -> SourceInfo:
    """The source called ``name``; an AdvisoryError ``"<what>: 'x' is not one of …"`` when none is."""
    names = registry.names()
    if name not in names:
        raise AdvisoryError(what, f"{name!r} is not one of {', '.join(names)}")
    s = registry.get(name)
    return SourceInfo(s.name, s.yields, s.fetchable, s.default_url, s.url_help)


def detect_source(path: Path) -> str:
    """Which source ``path`` holds, when that is unambiguous; else an AdvisoryError asking for --source.

    See :mod:`ingest.advisories.detect`: documents are given to the source that claims them most surely
    (a CSAF document, a KEV catalog, an Akrites record, any other OSV record); a ``.csv``/``.csv.gz``
    file is EPSS; directories and zips are judged by their first record files, which must agree.
    """
    from ingest.advisories.detect import detect_source as detect  # noqa: PLC0415 - reads files

    return detect(path)


def open_path(path: Path, source: str) -> Iterator[Advisory | Skipped]:
    """The records of one path (directory, ``.zip`` export or single file) as ``source`` reads them.

    A table source (KEV, EPSS) has no records: its files are imported with
    :func:`pipeline.advisories.tables.import_file`.
    """
    if not path.exists():
        raise AdvisoryError(str(path), "no such file or directory")
    return registry.get(source).open(path)


def count_files(path: Path, source: str) -> int | None:
    """How many records a path will yield, when that is known cheaply (one record per OSV file)."""
    return registry.get(source).count(path)
