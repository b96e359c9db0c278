"""Alias groups: every id that names the same vulnerability, across sources, as one group.

A record's ``id`` and its ``aliases`` name one vulnerability (OSV schema: aliases are "the same
vulnerability"; ``related`` ids are *not*: they are different vulnerabilities with something in common,
so they never join groups). The closure over all records — PYSEC-2021-1 ↔ CVE-2021-1 ↔ GHSA-x — is
computed with union-find, so the result does not depend on the order records arrive in.

Withdrawn records add their own id but not their alias edges: withdrawal often means the aliasing was
wrong, and a wrong edge would merge two real vulnerabilities. A live record that names a withdrawn id
as an alias still pulls it in.

The group key is stable (it depends only on the set of ids), chosen by :func:`group_key`:

1. the lowest CVE id, compared by (year, number), so ``CVE-2021-9999`` < ``CVE-2021-10000``;
2. else the lowest GHSA id (GitHub's ids are cross-ecosystem and widely cited);
3. else the lowest PYSEC id, then any other id, in plain string order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.advisories import Advisory

_CVE = re.compile(r"CVE-(\d{4})-(\d+)")


@dataclass(frozen=True, slots=True)
class AliasGroup:
    """One vulnerability: its stable key and every id known for it (sorted)."""

    key: str
    ids: tuple[str, ...]


def group_key(ids: Iterable[str]) -> str:
    """The stable key of a set of ids (see the module docstring for the order)."""
    return min(ids, key=_rank)


def alias_groups(advisories: Iterable[Advisory]) -> list[AliasGroup]:
    """The alias closure of ``advisories``, one group per vulnerability, sorted by key."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = parent.setdefault(node, node)
        while root != parent[root]:
            root = parent[root]
        while parent[node] != root:  # path compression keeps later finds near O(1)
            parent[node], node = root, parent[node]
        return root

    def union(a: str, b: str) -> None:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[root_b] = root_a

    for advisory in advisories:
        find(advisory.id)
        if advisory.withdrawn is None:
            for alias in advisory.aliases:
                union(advisory.id, alias)

    members: dict[str, list[str]] = {}
    for node in parent:
        members.setdefault(find(node), []).append(node)
    groups = [AliasGroup(group_key(ids), tuple(sorted(ids))) for ids in members.values()]
    return sorted(groups, key=lambda g: _rank(g.key))


def group_index(groups: Iterable[AliasGroup]) -> dict[str, str]:
    """Map every id to its group key."""
    return {member: group.key for group in groups for member in group.ids}


def _rank(identifier: str) -> tuple[int, int, int, str]:
    cve = _CVE.fullmatch(identifier)
    if cve:
        return (0, int(cve.group(1)), int(cve.group(2)), identifier)
    if identifier.startswith("GHSA-"):
        return (1, 0, 0, identifier)
    if identifier.startswith("PYSEC-"):
        return (2, 0, 0, identifier)
    return (3, 0, 0, identifier)
