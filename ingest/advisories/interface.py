"""The advisory-source interface: what every source (OSV, Akrites, CSAF, KEV, EPSS, …) offers.

Modelled on pip-audit's service interface. Two shapes live here:

- :class:`Source` — one *kind* of source, registered by name in :mod:`ingest.advisories.registry`:
  how to recognise its documents (:meth:`Source.claim`), how to read it from a path or bytes, and how
  to fetch what is new over HTTP (:meth:`Source.fetch`). A source declares what it yields
  (:attr:`Source.yields`): ``"records"`` (:class:`core.advisories.Advisory` records, merged one by one
  into the stored ones by ``(source, id)``) or ``"table"`` (a whole table of facts per CVE — the KEV
  catalog, the EPSS scores — that replaces the stored table). Callers branch on that declaration or on
  the two abstract subclasses :class:`RecordSource` and :class:`TableSource`, never on a source's name.
- :class:`AdvisorySource` — the records of one input (a directory, a zip, a feed's bytes): a small
  object with a ``name`` and one generator, as a record source's :meth:`RecordSource.open` returns.

What cannot be imported is a value (:class:`Skipped`) that travels with the results, so the import can
count and report it; a source raises :class:`core.errors.AdvisoryError` only when the whole input is
unreadable (a missing directory, a corrupt zip), never for one bad record.

Start-up is part of the interface: a source module imports its heavy dependencies (jsonschema, httpx,
yaml, cvss, …) inside the functions that use them, so that loading a source to list it, or to recognise
a document, costs next to nothing. This module imports only the standard library and ``core``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from core.advisories import Advisory
from core.errors import AdvisoryError

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient

Yields = Literal["records", "table"]
# A deployed package version as an OSV query names it: (ecosystem, name, version).
PackageVersion = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that was not imported, and why.

    ``source_ref`` names where it came from (a file path, ``archive.zip!ID.json``, a URL); ``id`` is the
    record's id when it could be read; ``reason`` is one line without the source_ref in it, so that
    identical reasons can be counted together.
    """

    source_ref: str
    id: str | None
    reason: str


@runtime_checkable
class AdvisorySource(Protocol):
    """The records of one input. ``records()`` may be called more than once; each call re-reads."""

    name: str

    def records(self) -> Iterator[Advisory | Skipped]:
        """Yield every record of the source, normalized, or skipped with the reason."""
        ...


class Claim(IntEnum):
    """How surely one document belongs to a source (:meth:`Source.claim`); the highest claim wins.

    ``SHAPE``: the document has the general shape the source reads (any JSON object is an OSV record
    until something says otherwise). ``MARK``: a record of a shared shape carries the source's own mark
    (an OSV record with ``database_specific.akrites``). ``FORMAT``: the document is of a format that is
    the source's alone (``document.csaf_version``, a KEV ``catalogVersion``). Two sources that claim a
    document equally are ordered by the registry.
    """

    NONE = 0
    SHAPE = 1
    MARK = 2
    FORMAT = 3


@runtime_checkable
class FactTable(Protocol):
    """What a table source reads: facts per CVE that replace the stored table as a whole."""

    @property
    def version(self) -> str | None:
        """The version of what was published (KEV catalog version, EPSS model version)."""
        ...

    @property
    def date(self) -> str | None:
        """When it was published or scored, as published (KEV ``dateReleased``, EPSS score date)."""
        ...

    @property
    def count(self) -> int:
        """How many entries it holds, as read (duplicates included)."""
        ...


@dataclass(frozen=True, slots=True)
class Validators:
    """What a previous download of a feed left behind to tell whether the next one is new."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What a fetch may use to ask only for what is new.

    ``url`` is where to fetch (the source's :attr:`~Source.default_url` unless the user named another);
    ``validators`` and ``cursor`` are what the last sync of this feed left (:meth:`Source.feed_key`
    names it); ``known`` maps the ids of the records held of this source to their ``modified``
    (filled when the source sets :attr:`~Source.needs_known`); ``packages`` are the deployed package
    versions (filled when it sets :attr:`~Source.needs_packages`).
    """

    url: str
    validators: Validators | None = None
    cursor: str | None = None
    known: Mapping[str, str] = field(default_factory=dict)
    packages: Sequence[PackageVersion] = ()


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one fetch brought.

    ``changed`` False means the feed said nothing is new (an HTTP 304, the body hash held, an unchanged
    index): there is nothing to import. A record source brings ``records``; a table source brings the
    feed file as ``content``, to be read with :meth:`TableSource.read_table` exactly as a file import
    reads it. ``validators`` and ``cursor`` are to be kept for the next sync (``cursor`` None keeps the
    one held). ``note`` is one line for people saying what the fetch asked and found, or None when the
    import's own report says it all.
    """

    changed: bool
    records: Sequence[Advisory | Skipped] = ()
    content: bytes = b""
    validators: Validators | None = None
    cursor: str | None = None
    note: str | None = None


class Source(ABC):
    """One kind of advisory source, registered by :attr:`name` in :mod:`ingest.advisories.registry`.

    Subclass :class:`RecordSource` or :class:`TableSource`. Every hook but those of the subclass has a
    default meaning "not supported", so a source states only what it does.
    """

    name: ClassVar[str]
    yields: ClassVar[Yields]
    #: Other sources whose documents may sit beside this source's in one path without making the path
    #: ambiguous (an Akrites feed folder may hold plain OSV records): the path is this source's.
    absorbs: ClassVar[tuple[str, ...]] = ()
    #: File name endings that identify this source's files by themselves (``.csv`` for EPSS).
    file_suffixes: ClassVar[tuple[str, ...]] = ()
    #: Whether :meth:`fetch` is implemented: the sources ``patchgap advisories sync`` offers.
    fetchable: ClassVar[bool] = False
    #: Where :meth:`fetch` goes when no URL is given; None with ``fetchable`` means a URL is required.
    default_url: ClassVar[str | None] = None
    #: What the URL of a sync names, for ``--url``'s help ("provider-metadata.json URL").
    url_help: ClassVar[str] = "URL"
    #: A fetch needs the ids and ``modified`` of the records held (:attr:`FetchRequest.known`).
    needs_known: ClassVar[bool] = False
    #: A fetch needs the deployed package versions (:attr:`FetchRequest.packages`).
    needs_packages: ClassVar[bool] = False

    def claim(self, document: Any) -> Claim:
        """How surely one loaded document (JSON or YAML) is this source's."""
        del document
        return Claim.NONE

    def open(self, path: Path) -> Iterator[Advisory | Skipped]:
        """The records of a path (directory, zip, single file); only record sources have them."""
        raise AdvisoryError(str(path), f"{self.name} is a feed file, not advisory records")

    def count(self, path: Path) -> int | None:
        """How many records :meth:`open` will yield, when that is known cheaply; else None."""
        del path
        return None

    def feed_key(self, url: str) -> str | None:
        """The name under which a sync from ``url`` keeps its validators and cursor; None keeps none."""
        del url
        return None

    def fetch(self, http: HttpClient, request: FetchRequest) -> Fetched:
        """Fetch what is new since what ``request`` says is held."""
        del http
        raise AdvisoryError(request.url, f"{self.name} cannot be fetched")


class RecordSource(Source):
    """A source of :class:`Advisory` records, stored one by one under ``(source, id)``."""

    yields: ClassVar[Yields] = "records"

    @abstractmethod
    def open(self, path: Path) -> Iterator[Advisory | Skipped]:
        """The records of a path (directory, zip, single file), or an AdvisoryError for the whole."""


class TableSource(Source):
    """A source of one whole table of facts per CVE, replacing the stored table (KEV, EPSS)."""

    yields: ClassVar[Yields] = "table"

    @abstractmethod
    def read_table(self, data: bytes, *, origin: str) -> FactTable:
        """Parse the feed file; an AdvisoryError ``"<origin>: …"`` fails the whole of it."""

    def feed_key(self, url: str) -> str | None:
        """One table, one feed state, wherever its file came from: the source's name."""
        del url
        return self.name
