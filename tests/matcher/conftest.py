"""Helpers shared by the matcher tests."""

from __future__ import annotations

from core.packages import PackageRef
from matcher.index import AdvisoryIndex, Outcome, match_versions


def match_one(index: AdvisoryIndex, package: PackageRef) -> Outcome:
    """One package version through the batched entry point, as the pipeline and the bench match."""
    (outcome,) = match_versions(index, [(package.ecosystem, package.name, package.version)])
    return outcome
