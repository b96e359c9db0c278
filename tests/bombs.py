"""Decompression bombs for the tests: megabytes that unpack to gigabytes, built in well under a second.

Each is a valid stream (checksums and lengths included), so an unbounded reader really would produce
every byte: the same 1 MiB of zeros is deflated once, flushed with ``Z_FULL_FLUSH`` (which makes the
compressed block byte-aligned and independent of what came before) and repeated.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache

MIB = 1024 * 1024
_ZEROS = bytes(MIB)


@cache
def _block() -> tuple[bytes, bytes]:
    """One raw-deflate block of 1 MiB of zeros (≈1 KB), and the final empty block that ends a stream."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = packer.compress(_ZEROS) + packer.flush(zlib.Z_FULL_FLUSH)
    return block, packer.flush()


def gzip_bomb(mib: int) -> bytes:
    """One gzip member that unpacks to ``mib`` MiB of zeros (about 1 KB per MiB)."""
    block, end = _block()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(_ZEROS, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * mib + end + struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)


def zlib_bomb(mib: int) -> bytes:
    """One zlib stream (as ``zlib.compress`` writes) that unpacks to ``mib`` MiB of zeros."""
    block, end = _block()
    adler = 1
    for _ in range(mib):
        adler = zlib.adler32(_ZEROS, adler)
    return b"\x78\xda" + block * mib + end + struct.pack(">I", adler)


def zip_bomb(name: str, mib: int, *, declared: int | None = None) -> bytes:
    """A zip of one deflated member ``name`` that inflates to ``mib`` MiB of zeros (at most 4095).

    ``declared`` is the uncompressed size its headers state (the true one unless given): a lying
    archive declares a small size and holds a large stream."""
    if not 0 < mib < 4096:
        raise ValueError("one member of 1 to 4095 MiB (no ZIP64)")
    block, end = _block()
    data = block * mib + end
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(_ZEROS, crc)
    size = mib * MIB if declared is None else declared
    encoded = name.encode()
    # version 2.0, no flags, deflate (8), 1980-01-01 00:00, then CRC-32 and the sizes.
    common = struct.pack("<HHHHHLLL", 20, 0, 8, 0, 0x21, crc, len(data), size)
    local = b"PK\x03\x04" + common + struct.pack("<HH", len(encoded), 0) + encoded
    central = (
        b"PK\x01\x02"
        + struct.pack("<H", 20)
        + common
        + struct.pack("<HHHHHLL", len(encoded), 0, 0, 0, 0, 0, 0)
        + encoded
    )
    offset = len(local) + len(data)
    end_record = b"PK\x05\x06" + struct.pack("<HHHHLLH", 0, 0, 1, 1, len(central), offset, 0)
    return local + data + central + end_record
