"""Which advisory source a path holds, when that is unambiguous.

A file whose name ends in a source's :attr:`~ingest.advisories.interface.Source.file_suffixes` is that
source's (``.csv``/``.csv.gz`` is EPSS). Otherwise the path's first record files (directory trees in
sorted order, the ``.json`` entries of a zip, or the file itself; at most :data:`SAMPLE`) are loaded and
each is given to the source that claims it most surely (:meth:`~ingest.advisories.interface.Source.claim`;
ties go to the earlier source in the registry). The samples must agree, except that a source may absorb
others (an Akrites feed folder may hold plain OSV records beside its own). Anything else is an
:class:`~core.errors.AdvisoryError` asking for ``--source``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from core.errors import AdvisoryError
from core.jsondoc import JsonTextError
from ingest.advisories import registry
from ingest.advisories.interface import Claim, Source
from ingest.advisories.osv_files import (
    ZIP_READ_ERRORS,
    load_record,
    one_line,
    record_files,
    unreadable_member,
)

# How many record files detection reads from a directory or zip before deciding.
SAMPLE = 50
_MAX_BYTES = 64 * 1024 * 1024


def detect_source(path: Path) -> str:
    """The name of the source ``path`` holds; an AdvisoryError naming the path when it cannot tell."""
    if not path.exists():
        raise AdvisoryError(str(path), "no such file or directory")
    sources = registry.sources()
    if path.is_file():
        for source in sources:
            # The suffix alone decides; the source's parser says precisely what is wrong with a bad file.
            if source.file_suffixes and path.name.lower().endswith(source.file_suffixes):
                return source.name
    found: set[str] = set()
    try:
        for name, data in _sample_documents(path):
            try:
                document = load_record(data, name=name)
            except JsonTextError as exc:
                # Valid JSON holding a NUL: it still shows whose it is, and that source's import
                # then says precisely what is wrong with it.
                document = exc.document
            except (ValueError, UnicodeDecodeError):
                continue
            kind = classify(document, sources)
            if kind is not None:
                found.add(kind)
    except (*ZIP_READ_ERRORS, ValueError) as exc:  # ValueError: a zip member name flagged UTF-8 that is not
        raise AdvisoryError(str(path), f"cannot be read: {one_line(exc)}") from None
    if len(found) == 1:
        return found.pop()
    if not found:
        raise AdvisoryError(str(path), "holds no advisory records to detect the source from; pass --source")
    for source in sources:
        if source.name in found and found - {source.name} <= set(source.absorbs):
            return source.name
    raise AdvisoryError(str(path), f"holds several sources ({', '.join(sorted(found))}); pass --source")


def classify(document: Any, sources: Sequence[Source] | None = None) -> str | None:
    """The source that claims one loaded document most surely, or None when none claims it."""
    best: tuple[Claim, str | None] = (Claim.NONE, None)
    for source in sources if sources is not None else registry.sources():
        claim = source.claim(document)
        if claim > best[0]:
            best = (claim, source.name)
    return best[1]


def _sample_documents(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        for found in islice(record_files(path), SAMPLE):
            yield found.name, found.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [i for i in zf.infolist() if i.filename.lower().endswith(".json")][:SAMPLE]
            for info in members:
                problem = unreadable_member(info)  # encrypted, or bzip2/LZMA: inflated without a bound
                if problem:
                    raise AdvisoryError(str(path), f"entry {info.filename!r} {problem}; refused")
                with zf.open(info) as handle:
                    yield info.filename, handle.read(_MAX_BYTES)
    else:
        with path.open("rb") as handle:
            yield path.name, handle.read(_MAX_BYTES)
