"""Bounded decompression (core/compression.py): gzip (every member), zlib and raw deflate, with a limit."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.compression import (
    DecompressionError,
    DecompressionLimitError,
    describe_size,
    gunzip_bounded,
    inflate_bounded,
)
from tests.bombs import MIB, gzip_bomb, zlib_bomb

TEXT = b"cve,epss,percentile\n" + b"CVE-2022-46169,0.94,0.99\n" * 200


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def test_round_trips_within_the_limit() -> None:
    assert gunzip_bounded(gzip.compress(TEXT), len(TEXT)) == TEXT
    assert inflate_bounded(zlib.compress(TEXT), len(TEXT)) == TEXT
    assert inflate_bounded(raw_deflate(TEXT), len(TEXT), raw=True) == TEXT
    assert gunzip_bounded(gzip.compress(b""), 0) == b""
    assert inflate_bounded(zlib.compress(b""), 0) == b""


def _gzip_text(limit: int) -> bytes:
    return gunzip_bounded(gzip.compress(TEXT), limit)


def _zlib_text(limit: int) -> bytes:
    return inflate_bounded(zlib.compress(TEXT), limit)


def _deflate_text(limit: int) -> bytes:
    return inflate_bounded(raw_deflate(TEXT), limit, raw=True)


@pytest.mark.parametrize("unpack", [_gzip_text, _zlib_text, _deflate_text])
def test_one_byte_past_the_limit_is_refused_with_the_limit_named(unpack: Callable[[int], bytes]) -> None:
    assert unpack(len(TEXT)) == TEXT
    with pytest.raises(DecompressionLimitError) as refused:
        unpack(len(TEXT) - 1)
    assert refused.value.limit == len(TEXT) - 1
    assert str(refused.value) == f"unpacks to more than the limit of {len(TEXT) - 1} bytes (4.9 KiB)"


def test_multi_member_gzip_reads_every_member_as_gzip_does() -> None:
    members = gzip.compress(b"first\n") + gzip.compress(b"") + gzip.compress(b"second\n")
    padded = members + b"\x00" * 8  # zero padding after the last member, as tape tools write it
    assert gunzip_bounded(padded, 100) == gzip.decompress(padded) == b"first\nsecond\n"
    # The limit counts the members together: each is small, their sum is not.
    with pytest.raises(DecompressionLimitError):
        gunzip_bounded(members, len(b"first\nsecond\n") - 1)


@given(
    parts=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    limit=st.integers(min_value=0, max_value=1200),
)
def test_gzip_members_agree_with_the_standard_library(parts: list[bytes], limit: int) -> None:
    data = b"".join(gzip.compress(part) for part in parts)
    whole = b"".join(parts)
    if len(whole) <= limit:
        assert gunzip_bounded(data, limit) == gzip.decompress(data)
    else:
        with pytest.raises(DecompressionLimitError):
            gunzip_bounded(data, limit)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (gzip.compress(TEXT)[:-12], "ends before its end marker"),
        (b"\x1f\x8b" + b"\x00" * 30, "not valid gzip data"),
        (gzip.compress(TEXT)[:-8] + b"\x00\x00\x00\x00" + gzip.compress(TEXT)[-4:], "incorrect data check"),
        (gzip.compress(TEXT) + b"garbage", "not valid gzip data"),
        (b"", "ends before its end marker"),
    ],
    ids=["truncated", "garbage", "bad-crc", "trailing-garbage", "empty"],
)
def test_broken_gzip_is_a_decompression_error(data: bytes, fragment: str) -> None:
    with pytest.raises(DecompressionError, match=fragment) as failed:
        gunzip_bounded(data, 10 * MIB)
    assert not isinstance(failed.value, DecompressionLimitError)
    assert "\n" not in str(failed.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (zlib.compress(TEXT)[:-6], "ends before its end marker"),
        (zlib.compress(TEXT) + b"x", "1 bytes after its end"),
        (b"not zlib at all", "not valid zlib data"),
    ],
    ids=["truncated", "trailing-byte", "garbage"],
)
def test_broken_zlib_is_a_decompression_error(data: bytes, fragment: str) -> None:
    with pytest.raises(DecompressionError, match=fragment):
        inflate_bounded(data, 10 * MIB)


def test_a_gigabyte_bomb_is_refused_at_the_limit_without_unpacking_the_rest() -> None:
    """1 GiB of zeros in about 1 MB: refused once 1 MiB has come out; Python never holds much more."""
    bombs = [gzip_bomb(1024), zlib_bomb(1024)]
    assert all(len(bomb) < 2 * MIB for bomb in bombs)
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionLimitError, match=r"limit of 1048576 bytes \(1 MiB\)"):
            gunzip_bounded(bombs[0], MIB)
        with pytest.raises(DecompressionLimitError):
            inflate_bounded(bombs[1], MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MIB


def test_a_bomb_within_the_limit_is_unpacked_whole() -> None:
    assert gunzip_bounded(gzip_bomb(8), 8 * MIB) == bytes(8 * MIB)
    assert inflate_bounded(zlib_bomb(8), 8 * MIB) == bytes(8 * MIB)


def test_negative_limit_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        gunzip_bounded(gzip.compress(b"x"), -1)


def test_sizes_for_messages() -> None:
    assert [describe_size(n) for n in (900, 1536, 50 * MIB, 512 * MIB, 2 * 1024 * MIB)] == [
        "900 bytes",
        "1.5 KiB",
        "50 MiB",
        "512 MiB",
        "2 GiB",
    ]
