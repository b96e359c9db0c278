"""PyPI versions: PEP 440 through ``packaging``, legacy (pre-PEP 440) versions as osv.dev orders them.

Rank encoding of the key: ``(1, Version(v)._key)`` for a PEP 440 version and ``(0, legacy_key)`` for
anything ``packaging`` rejects. ``_key`` is the tuple that ``Version``'s own comparisons compare (and
its hash hashes), so the order and equality are exactly packaging's; keeping the tuple rather than the
``Version`` lets matching sort and ``bisect`` event tables with C tuple comparisons instead of Python
``__lt__``/``__eq__`` calls (fleet matching spent most of its table time there).

For the rejected ones, ``packaging_legacy.LegacyVersion`` gives the old setuptools order and puts
them before every PEP 440 version, which is exactly how osv.dev sorts PyPI versions. Because the legacy
rules accept any string, "invalid" here only means "not a version string at all": the registry already
rejects empty strings and strings with whitespace or control characters.

Speed (this machine, one pass over the fixtures' distinct strings, no cache):
≈ 800k keys/s (packaging 26, mostly PEP 440 strings).
"""

from __future__ import annotations

from typing import Any

from packaging.version import InvalidVersion as _PackagingInvalid
from packaging.version import Version
from packaging_legacy.version import LegacyVersion


class PyPIScheme:
    name = "PyPI (PEP 440, legacy fallback)"

    def key(self, version: str) -> tuple[Any, ...]:
        try:
            return (1, Version(version)._key)
        except _PackagingInvalid:
            return (0, LegacyVersion(version)._key)
