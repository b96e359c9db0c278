"""Bounded in-process stores of derived data, kept per (database, organization)."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Organizations (or databases) a process keeps derived data for; the one used longest ago goes first.
KEPT_ORGANIZATIONS = 8


def keep(store: dict[K, V], key: K, value: V, limit: int = KEPT_ORGANIZATIONS) -> V:
    """Put ``value`` under ``key`` as the newest entry of ``store``, dropping the oldest entries past
    ``limit`` (so that a process serving many organizations, or a test run over many databases, holds a
    bounded amount); returns ``value``. The caller holds the store's lock, if it has one."""
    store.pop(key, None)
    store[key] = value
    while len(store) > limit:
        store.pop(next(iter(store)))
    return value


class OneAtATime(Generic[K]):
    """A lock per key (a database's organization), made on first use: for work a process does for one
    key at a time, so that a second caller waits for the first and then finds what it kept instead of
    doing the same work alongside it."""

    def __init__(self) -> None:
        self._locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: K) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


class UnderDigest(Generic[K, V]):
    """Values kept under the digest of the inputs they were computed from (bounded as :func:`keep`
    bounds, thread-safe): a value is found while the digest asked with is the one it was kept under.
    The digest must be read before the value is computed, so that a change in between makes the next
    call compute again instead of finding a value older than its digest."""

    def __init__(self, limit: int) -> None:
        self._store: dict[K, tuple[str, V]] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, key: K, digest: str) -> V | None:
        with self._lock:
            kept = self._store.get(key)
        return kept[1] if kept is not None and kept[0] == digest else None

    def put(self, key: K, digest: str, value: V) -> None:
        with self._lock:
            keep(self._store, key, (digest, value), self._limit)

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
