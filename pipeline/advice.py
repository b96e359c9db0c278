"""Upgrade advice for deployed package versions, in bulk: the ``patchgap why`` suggestion (the smallest
version that clears every known advisory of the package, ``matcher.suggest``) for many versions at once,
with the best step inside the deployed major version where the suggestion crosses one.

Exposure reports and the remediation plan ask for the advice of every affected version they show; the
advisory entries of each package are read and indexed once however many versions ask.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from matcher.suggest import Suggestion, in_major_step, major_of, suggest_upgrade
from pipeline.embargo import hidden_records
from pipeline.match import advisory_index
from store.db import Tx
from store.queries.packages import affected_rows_for_keys

__all__ = ["Advice", "PackageVersion", "Suggestion", "package_advice"]

PackageVersion = tuple[str, str, str]  # the matcher's (ecosystem, name) and a version


@dataclass(frozen=True, slots=True)
class Advice:
    """A deployed version's way out: the suggestion, whether it crosses a major version (``None`` when a
    version has no recognisable major), and the best in-major step with the vulnerability groups it
    leaves open (when the suggestion crosses a major, or no single version clears all)."""

    suggestion: Suggestion
    major_upgrade: bool | None = None
    in_major: str | None = None
    in_major_leaves_open: tuple[str, ...] = ()


def package_advice(session: Tx, wanted: Iterable[PackageVersion]) -> dict[PackageVersion, Advice]:
    """The advice of each (ecosystem, name, version) in ``wanted``."""
    by_package: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ecosystem, name, version in wanted:
        by_package[(ecosystem, name)].add(version)
    if not by_package:
        return {}
    hidden = hidden_records(session)  # embargoed records move no advice the reader may not see
    rows = affected_rows_for_keys(session, set(by_package))
    rows = [r for r in rows if (r.source, r.advisory_id) not in hidden]
    group_of = {row.advisory_id: row.group_key for row in rows}
    index = advisory_index(rows)
    advice: dict[PackageVersion, Advice] = {}
    for (ecosystem, name), versions in sorted(by_package.items()):
        entries = [(entry.advisory_id, entry.affected) for entry in index.candidates((ecosystem, name))]
        for version in sorted(versions):
            suggestion = suggest_upgrade(ecosystem, version, entries)
            step = in_major_step(ecosystem, version, suggestion, entries)
            major, target = major_of(version), suggestion.version
            advice[(ecosystem, name, version)] = Advice(
                suggestion,
                None if major is None or target is None else major_of(target) != major,
                step.version if step else None,
                tuple(sorted({group_of.get(a, a) for a in step.leaves_open})) if step else (),
            )
    return advice
