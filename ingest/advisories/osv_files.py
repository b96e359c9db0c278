"""OSV records from files: directory trees of JSON/YAML, OSV export zips, and ``modified_id.csv``.

- Directory trees (advisory-database checkouts): ``*.json``, ``*.yaml`` and ``*.yml`` files, walked in
  sorted order so imports are reproducible; hidden folders (``.git``) are not entered; other files
  (LICENSE, README) are not records and are passed over silently.
- YAML is read with a safe loader that does NOT resolve timestamps: an unquoted ``modified:
  2021-01-01T00:00:00Z`` stays the exact string published instead of becoming a ``datetime``.
- Export zips (osv.dev ``all.zip`` and the per-ecosystem ``<ECOSYSTEM>/all.zip``) hold ``<ID>.json``.
  They are untrusted input and read defensively, before any record is yielded: the entry count, each
  entry's size and the total uncompressed size are capped (:class:`ZipLimits`), and names that are
  absolute or climb out with ``..`` refuse the whole archive. Sizes are enforced on the bytes actually
  read, not only on the sizes the archive declares. Only stored and deflated entries are read: the
  standard library inflates deflate within the size asked for, but bzip2 and LZMA entries a whole
  compressed chunk at a time, without a bound. Nothing is ever extracted to disk.
- ``modified_id.csv`` (``<modified>,<ecosystem_dir>/<id>`` at the top level, ``<modified>,<id>`` per
  ecosystem) drives incremental sync: :func:`ids_to_fetch` compares it with what we hold.
- :func:`read_records` opens whatever a user names (a tree, a zip, one record file) for the OSV-shaped
  sources (``sources/osv.py``, ``sources/akrites.py``), each with its own record parser.

One unreadable or invalid record becomes a :class:`Skipped` with the reason; only an unreadable input
as a whole (missing directory, corrupt or over-limit zip) raises :class:`AdvisoryError`.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from core.advisories import Advisory
from core.compression import the_limit
from core.errors import AdvisoryError
from core.jsondoc import JsonTextError, parse_json, unstorable_text
from core.time import parse_rfc3339
from ingest.advisories.interface import Skipped

RECORD_SUFFIXES = (".json", ".yaml", ".yml")
# A single OSV record is small; the largest real ones (Linux kernel CVEs) are a few MB.
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024

# Turns a loaded record into an Advisory; ``origin`` names the file or zip entry for messages.
RecordParser = Callable[[Any, str], Advisory]


@lru_cache(maxsize=1)
def yaml_loader() -> type[Any]:
    """Safe YAML loader that keeps timestamps as the strings written (OSV compares them as RFC 3339).

    Built on first use: PyYAML is imported only when a YAML record is read.
    """
    import yaml  # noqa: PLC0415 - only YAML records need it; JSON-only imports start without it

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # A fresh dict, so the stock SafeLoader keeps resolving timestamps for everyone else.
    resolvers = {
        first: [(tag, regexp) for tag, regexp in found if tag != "tag:yaml.org,2002:timestamp"]
        for first, found in base.yaml_implicit_resolvers.items()
    }
    return type("OsvYamlLoader", (base,), {"yaml_implicit_resolvers": resolvers})


def load_record(data: bytes, *, name: str) -> Any:
    """Decode one record file: JSON for ``.json``, YAML otherwise. Raises ValueError on bad syntax, and
    ``core.jsondoc.JsonTextError`` for a string no database stores (NUL, a lone surrogate).

    YAML aliases are refused before anything is built: a few hundred bytes of nested aliases (a
    "billion laughs") expand to gigabytes, and OSV records have no use for them. Only files that hold
    an alias indicator (``*``) pay for the check, a scan of the parser's events (nothing is expanded).
    YAML, like JSON, can write NUL or a surrogate only as an escape in a double-quoted scalar (its reader
    refuses them raw), so only files with a backslash have their strings checked.
    """
    if name.lower().endswith(".json"):
        return parse_json(data)
    import yaml  # noqa: PLC0415 - see yaml_loader

    try:
        events = yaml.parse(data, Loader=yaml_loader()) if b"*" in data else ()
        if any(isinstance(event, yaml.AliasEvent) for event in events):
            raise ValueError("YAML aliases (*name) are not accepted in advisory records")
        document = yaml.load(data, Loader=yaml_loader())  # noqa: S506 - yaml_loader() is a SafeLoader
    except yaml.YAMLError as exc:
        raise ValueError(" ".join(str(exc).split())) from exc
    if b"\\" in data and (problem := unstorable_text(document)) is not None:
        raise problem
    return document


def osv_parser(*, source: str = "osv") -> RecordParser:
    """The default parser: plain OSV records attributed to ``source``."""
    # The OSV source imports this module, so its parser is resolved here, when a reader is made.
    from ingest.advisories.sources.osv import parse_osv_record  # noqa: PLC0415

    def parse(obj: Any, origin: str) -> Advisory:
        return parse_osv_record(obj, source=source, origin=origin)

    return parse


def parse_or_skip(data: bytes, *, name: str, origin: str, parse: RecordParser) -> Advisory | Skipped:
    """Decode and parse one record, turning every per-record failure into a Skipped."""
    try:
        obj = load_record(data, name=name)
    except JsonTextError as exc:
        return Skipped(origin, None, str(exc))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if name.lower().endswith(".json") else "YAML"
        return Skipped(origin, None, f"not valid {kind}: {' '.join(str(exc).split())}")
    record_id = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
    try:
        return parse(obj, origin)
    except AdvisoryError as exc:
        return Skipped(origin, record_id, exc.problem)


def record_files(root: Path) -> Iterator[Path]:
    """Record files under a directory tree, in a stable (sorted) order; hidden ones are passed over."""
    if not root.is_dir():
        raise AdvisoryError(str(root), "not a directory of OSV records")
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(names):
            if file_name.lower().endswith(RECORD_SUFFIXES) and not file_name.startswith("."):
                yield Path(folder) / file_name


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Caps for reading an archive. The defaults fit osv.dev's ``all.zip`` with room to grow."""

    max_entries: int = 2_000_000
    max_entry_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_total_bytes: int = 32 * 1024**3


class OsvDirectory:
    """An :class:`~ingest.advisories.interface.AdvisorySource` over a directory tree of OSV files."""

    def __init__(
        self,
        root: Path,
        *,
        name: str = "osv",
        parse: RecordParser | None = None,
        max_file_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        self.name = name
        self.root = root
        self._parse = parse or osv_parser(source=name)
        self._max_file_bytes = max_file_bytes

    def files(self) -> Iterator[Path]:
        """Record files under the root, in a stable (sorted) order."""
        return record_files(self.root)

    def records(self) -> Iterator[Advisory | Skipped]:
        for path in self.files():
            origin = str(path)
            try:
                size = path.stat().st_size
                if size > self._max_file_bytes:
                    yield Skipped(origin, None, f"file of {size} bytes exceeds {self._max_file_bytes}")
                    continue
                data = path.read_bytes()
            except OSError as exc:
                yield Skipped(origin, None, f"cannot be read: {exc.strerror or exc}")
                continue
            yield parse_or_skip(data, name=path.name, origin=origin, parse=self._parse)


class OsvZip:
    """An :class:`~ingest.advisories.interface.AdvisorySource` over an OSV export zip.

    ``archive`` is a path or the zip's bytes (as fetched over HTTP). ``label`` names the archive in
    messages when it is given as bytes.
    """

    def __init__(
        self,
        archive: Path | bytes,
        *,
        name: str = "osv",
        parse: RecordParser | None = None,
        limits: ZipLimits | None = None,
        label: str | None = None,
    ) -> None:
        self.name = name
        self._archive = archive
        self._parse = parse or osv_parser(source=name)
        self.limits = limits or ZipLimits()
        self.label = label or (str(archive) if isinstance(archive, Path) else "archive.zip")

    def records(self) -> Iterator[Advisory | Skipped]:
        with self._open() as zf:
            entries = self._checked_entries(zf)
            total = 0
            for info in entries:
                origin = f"{self.label}!{info.filename}"
                data = self._read_entry(zf, info, origin)
                total += len(data)
                if total > self.limits.max_total_bytes:
                    raise AdvisoryError(
                        self.label,
                        f"more than {the_limit(self.limits.max_total_bytes)} uncompressed; refused",
                    )
                yield parse_or_skip(data, name=info.filename, origin=origin, parse=self._parse)

    def _open(self) -> zipfile.ZipFile:
        source: Path | io.BytesIO = (
            self._archive if isinstance(self._archive, Path) else io.BytesIO(self._archive)
        )
        try:
            return zipfile.ZipFile(source)
        # ValueError: UnicodeDecodeError of a member name flagged UTF-8 that is not.
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise AdvisoryError(self.label, f"not a readable zip archive ({one_line(exc)})") from exc

    def _checked_entries(self, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        """Check the whole directory of the archive before yielding anything, so that a refused
        archive imports nothing at all rather than a prefix of itself."""
        infos = zf.infolist()
        if len(infos) > self.limits.max_entries:
            raise AdvisoryError(
                self.label, f"{len(infos)} entries exceed the limit of {self.limits.max_entries}; refused"
            )
        declared = 0
        records: list[zipfile.ZipInfo] = []
        for info in infos:
            problem = unsafe_member_name(info.filename)
            if problem:
                raise AdvisoryError(self.label, f"entry {info.filename!r} {problem}; refused")
            if info.is_dir() or not info.filename.lower().endswith(".json"):
                continue
            problem = unreadable_member(info)
            if problem:
                raise AdvisoryError(self.label, f"entry {info.filename!r} {problem}; refused")
            if info.file_size > self.limits.max_entry_bytes:
                raise AdvisoryError(
                    self.label,
                    f"entry {info.filename!r} declares {info.file_size} bytes, "
                    f"more than {the_limit(self.limits.max_entry_bytes)}; refused",
                )
            declared += info.file_size
            records.append(info)
        if declared > self.limits.max_total_bytes:
            raise AdvisoryError(
                self.label,
                f"entries declare {declared} bytes uncompressed, "
                f"more than {the_limit(self.limits.max_total_bytes)}; refused",
            )
        return records

    def _read_entry(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, origin: str) -> bytes:
        # Declared sizes can lie: read at most one byte past the limit and judge what really came out.
        limit = self.limits.max_entry_bytes
        try:
            with zf.open(info) as stream:
                data = stream.read(limit + 1)
        except ZIP_READ_ERRORS as exc:
            raise AdvisoryError(origin, f"cannot be decompressed ({one_line(exc)})") from exc
        if len(data) > limit:
            raise AdvisoryError(
                self.label, f"entry {info.filename!r} inflates to more than {the_limit(limit)}; refused"
            )
        return data


# What reading one member can raise besides a bad CRC: corrupt deflate data (zlib.error), an unknown
# method (NotImplementedError), a password wanted (RuntimeError), a truncated archive (EOFError, OSError).
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError)
_READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64", 6: "implode"}


def unreadable_member(info: zipfile.ZipInfo) -> str | None:
    """Why a member is not read at all: encrypted, or compressed by a method that is not stored or
    deflate (bzip2 and LZMA members are inflated without a bound by the standard library)."""
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in _READABLE_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        return f"is compressed with {method}, not stored or deflate"
    return None


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def unsafe_member_name(name: str) -> str | None:
    """Why an archive member name is unsafe (absolute, drive-qualified, or climbing with ``..``)."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/"):
        return "has an absolute path"
    if len(normalized) >= 2 and normalized[1] == ":":
        return "has a drive-qualified path"
    if ".." in PurePosixPath(normalized).parts:
        return "climbs out of the archive with '..'"
    return None


def open_osv_path(
    path: Path, *, name: str = "osv", parse: RecordParser | None = None, limits: ZipLimits | None = None
) -> OsvDirectory | OsvZip:
    """The source for a path: a directory tree or a ``.zip`` export."""
    if path.is_dir():
        return OsvDirectory(path, name=name, parse=parse)
    if path.suffix.lower() == ".zip" and path.is_file():
        return OsvZip(path, name=name, parse=parse, limits=limits)
    raise AdvisoryError(str(path), "neither a directory of OSV records nor a .zip export")


def read_records(path: Path, *, name: str, parse: RecordParser) -> Iterator[Advisory | Skipped]:
    """The records of a directory tree, a ``.zip`` export or one ``.json``/``.yaml`` record file."""
    if path.is_dir():
        return OsvDirectory(path, name=name, parse=parse).records()
    if path.suffix.lower() == ".zip":
        return OsvZip(path, name=name, parse=parse).records()
    if path.suffix.lower() in RECORD_SUFFIXES:
        return _single_file(path, parse)
    raise AdvisoryError(str(path), "neither a directory, a .zip export nor a .json/.yaml record")


def _single_file(path: Path, parse: RecordParser) -> Iterator[Advisory | Skipped]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdvisoryError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    yield parse_or_skip(data, name=path.name, origin=str(path), parse=parse)


def count_records(path: Path) -> int | None:
    """How many records :func:`read_records` yields for a directory or a single file (one per file);
    None for a zip, whose record count is known only once it is opened."""
    if path.is_dir():
        return sum(1 for _ in record_files(path))
    return 1 if path.is_file() and path.suffix.lower() in RECORD_SUFFIXES else None


@dataclass(frozen=True, slots=True)
class ModifiedEntry:
    """One line of ``modified_id.csv``. ``ecosystem_dir`` is set only in the top-level file."""

    modified: str
    id: str
    ecosystem_dir: str | None = None

    @property
    def export_path(self) -> str:
        """Where the record lives in the export bucket, relative to the CSV's own folder."""
        prefix = f"{self.ecosystem_dir}/" if self.ecosystem_dir else ""
        return f"{prefix}{self.id}.json"


def read_modified_ids(data: bytes | str, *, origin: str) -> list[ModifiedEntry]:
    """Parse ``modified_id.csv``; a malformed line raises AdvisoryError naming its line number."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    entries: list[ModifiedEntry] = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != 2:
            raise AdvisoryError(origin, f"line {line_no}: expected '<modified>,<id>', got {len(row)} fields")
        modified, ref = row[0].strip(), row[1].strip()
        try:
            parse_rfc3339(modified)
        except ValueError as exc:
            raise AdvisoryError(origin, f"line {line_no}: {exc}") from exc
        eco, sep, record_id = ref.rpartition("/")
        if not record_id:
            raise AdvisoryError(origin, f"line {line_no}: empty id")
        entries.append(ModifiedEntry(modified, record_id, eco if sep else None))
    return entries


def ids_to_fetch(
    data: bytes | str, known: Mapping[str, str], *, origin: str = "modified_id.csv"
) -> list[ModifiedEntry]:
    """Entries of ``modified_id.csv`` that are new, or newer than the ``modified`` we hold.

    ``known`` maps record id → the ``modified`` string stored for it. Times are compared as instants,
    not as strings (``…:00Z`` and ``…:00.000Z`` are equal). The whole file is read rather than stopping
    at the first known time, so a record we hold in an older version is never missed.
    """
    wanted: list[ModifiedEntry] = []
    for entry in read_modified_ids(data, origin=origin):
        held = known.get(entry.id)
        if held is None:
            wanted.append(entry)
            continue
        try:
            held_at = parse_rfc3339(held)
        except ValueError:
            wanted.append(entry)  # what we hold is unreadable: fetching again repairs it
            continue
        if parse_rfc3339(entry.modified) > held_at:
            wanted.append(entry)
    return wanted
