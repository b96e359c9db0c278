"""Bounded in-process stores of derived data, kept per (database, organization)."""

from __future__ import annotations

from typing import TypeVar

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
