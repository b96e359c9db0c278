"""Bounded decompression: the one way patchgap unpacks gzip and zlib data it did not just make itself.

A few hundred kilobytes of gzip can unpack to gigabytes (an EPSS ``.csv.gz`` of 1 MB once reached a 7 GB
peak). Every unpacking therefore names a limit, and output is produced at most one byte past it, so memory
stays near the limit whatever the input claims or holds:

* :func:`gunzip_bounded` — gzip (RFC 1952), every member of a multi-member file, as :func:`gzip.decompress`
  reads it (zero padding between and after members is allowed);
* :func:`inflate_bounded` — one zlib stream (RFC 1950), or raw deflate (RFC 1951) with ``raw=True``.

Both raise :class:`DecompressionError` with a one-line message saying what is wrong (corrupt, truncated,
trailing bytes), or its subclass :class:`DecompressionLimitError` when the output would pass the limit.
The message names no source: callers put theirs first (``"<file or URL>: <message>"``) and wrap it into the
error of their layer (an ``AdvisoryError``, a ``ServiceError``, a ``StorageError`` …).

Only the standard library's ``zlib`` is used (``decompressobj`` with ``max_length``); nothing here reads
files or the network.
"""

from __future__ import annotations

import zlib

_GZIP = 16 + zlib.MAX_WBITS  # wbits: gzip header and trailer, checked by zlib (CRC-32 and length)
_ZLIB = zlib.MAX_WBITS
_RAW = -zlib.MAX_WBITS


class DecompressionError(ValueError):
    """Compressed data that cannot be unpacked (corrupt, truncated, trailing bytes); a one-line message."""


class DecompressionLimitError(DecompressionError):
    """Compressed data that unpacks to more than the limit it was given."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"unpacks to more than {the_limit(limit)}")
        self.limit = limit


def describe_size(size: int) -> str:
    """A byte count for messages and docs: ``512 MiB``, ``50 MiB``, ``1.5 KiB``, ``900 bytes``."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def the_limit(limit: int) -> str:
    """``the limit of 67108864 bytes (64 MiB)`` for messages (the size in units from 1 KiB up)."""
    return f"the limit of {limit} bytes" + (f" ({describe_size(limit)})" if limit >= 1024 else "")


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """The unpacked bytes of gzip ``data`` (all members), refused past ``limit`` bytes of output."""
    return _unpack(data, limit, _GZIP, kind="gzip")


def inflate_bounded(data: bytes, limit: int, *, raw: bool = False) -> bytes:
    """The unpacked bytes of one zlib stream (raw deflate when ``raw``), refused past ``limit`` bytes."""
    return _unpack(data, limit, _RAW if raw else _ZLIB, kind="deflate" if raw else "zlib")


def _unpack(data: bytes, limit: int, wbits: int, *, kind: str) -> bytes:
    if limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")
    chunks: list[bytes] = []
    produced = 0
    pending = data
    while True:
        unpacker = zlib.decompressobj(wbits)
        try:
            while not unpacker.eof:
                # Never more than one byte past the limit: enough to know it was passed.
                chunk = unpacker.decompress(pending, limit - produced + 1)
                tail = unpacker.unconsumed_tail
                if not chunk and len(tail) == len(pending) and not unpacker.eof:
                    # Nothing came out and nothing went in: the input ended inside the stream.
                    raise DecompressionError(f"not valid {kind} data (it ends before its end marker)")
                pending = tail
                produced += len(chunk)
                if produced > limit:
                    raise DecompressionLimitError(limit)
                chunks.append(chunk)
        except zlib.error as exc:
            raise DecompressionError(f"not valid {kind} data ({exc})") from None
        rest = unpacker.unused_data
        if wbits != _GZIP:
            if rest:
                raise DecompressionError(f"not valid {kind} data ({len(rest)} bytes after its end)")
            break
        # gzip: another member may follow; zero bytes padding the file out are not one (as gzip reads it).
        pending = rest.lstrip(b"\x00")
        if not pending:
            break
    return b"".join(chunks)
