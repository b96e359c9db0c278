"""Upgrade advice for deployed package versions, in bulk: the ``patchgap why`` suggestion (the smallest
version that clears every known advisory of the package, ``matcher.suggest``) for many versions at once.

Exposure reports and the remediation plan ask for the advice of every affected version they show; the
advisory entries of each package are read and indexed once however many versions ask.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from matcher.suggest import Suggestion, suggest_upgrade
from pipeline.match import advisory_index
from store.db import Tx
from store.queries.packages import affected_rows_for_keys

__all__ = ["PackageVersion", "Suggestion", "upgrade_advice"]

PackageVersion = tuple[str, str, str]  # the matcher's (ecosystem, name) and a version


def upgrade_advice(session: Tx, wanted: Iterable[PackageVersion]) -> dict[PackageVersion, Suggestion]:
    """The upgrade suggestion of each (ecosystem, name, version) in ``wanted``."""
    by_package: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ecosystem, name, version in wanted:
        by_package[(ecosystem, name)].add(version)
    if not by_package:
        return {}
    index = advisory_index(affected_rows_for_keys(session, set(by_package)))
    advice: dict[PackageVersion, Suggestion] = {}
    for (ecosystem, name), versions in sorted(by_package.items()):
        entries = [(entry.advisory_id, entry.affected) for entry in index.candidates((ecosystem, name))]
        for version in sorted(versions):
            advice[(ecosystem, name, version)] = suggest_upgrade(ecosystem, version, entries)
    return advice
