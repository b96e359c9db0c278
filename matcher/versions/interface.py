"""The one interface every version scheme implements.

A scheme turns a version string into a comparison key such that ``key(a) < key(b)`` exactly when the
ecosystem's own tool orders ``a`` before ``b``, and ``key(a) == key(b)`` when it considers them equal.
Usually the key is a tuple with a documented rank encoding. Where the tool's own order is not
transitive (Maven's ``ComparableVersion``; Packagist with OSV's ``#`` words) no tuple can reproduce it,
and the key is an object whose rich comparisons run the tool's pairwise algorithm on items parsed once;
its hash agrees with its ``==``, so keys can still be sorted and used as dict keys. Parsing dominates
cost, so the registry caches keys per distinct string.

Such a scheme also offers ``chain_guard()``: a ``ChainGuard`` that proves, key by key, that a set of its
keys is ordered consistently (a chain: every sort of it is the same and every ``bisect`` in it agrees
with comparing one by one). The matcher merges the event versions of many advisories into one sorted
table per package only when the guard admits them all; otherwise it compares entry by entry.
"""

from __future__ import annotations

from typing import Any, Protocol


class InvalidVersion(ValueError):
    """The string is not a version of this scheme; the matcher reports it as not assessed."""


class VersionScheme(Protocol):
    #: A short name for messages ("PyPI (PEP 440)", "dpkg", …).
    name: str

    def key(self, version: str) -> Any:
        """The comparison key of ``version``; raises ``InvalidVersion`` when it does not parse."""
        ...


class ChainGuard(Protocol):
    """Grows a set of keys of a scheme whose order is not transitive everywhere, proving it a chain."""

    def admit(self, key: Any) -> bool:
        """Add ``key``; ``False`` when the set with it can no longer be shown to be a chain."""
        ...

    def allows(self, key: Any) -> bool:
        """Would the set with ``key`` still be a chain? (The set is left as it is.)"""
        ...
