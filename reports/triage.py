"""Which analysis record decides about one observation, and what the decisions add up to.

The rule (README "Triage"): among the records of the observation's vulnerability group and package that
cover its version and its system, the most specific wins —

    system + version  >  version  >  system  >  package (every version, every system)

— a version narrows *what* runs (the code the advisory's range is about), a system *where* it runs; when
a record about the version and one about the system both cover an observation, the one about the exact
code wins, because it holds wherever that version is deployed. Among equally specific records the latest
decision wins (its decision time, then the record made last). A winner in any state decides: a
version-level ``exploitable`` record brings back what a package-level ``not_affected`` one excluded.

Everything here is a pure function of the records given; ``pipeline.triage`` reads them from the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from core.time import rfc3339
from core.triage import STATES, Analysis

_RANK = {"system+version": 3, "version": 2, "system": 1, "package": 0}


def scope_rank(*, system: bool, version: bool) -> int:
    """The rule above as a number: 3 for system + version, 2 for version, 1 for system, 0 for neither."""
    return 3 if system and version else 2 if version else 1 if system else 0


def specificity(record: Analysis) -> int:
    """:func:`scope_rank` of a record."""
    return _RANK[record.scope]


def _order(record: Analysis) -> tuple[int, float, int]:
    decided = record.decided_at.timestamp() if record.decided_at is not None else 0.0
    return (specificity(record), decided, record.id)


class AnalysisIndex:
    """The winning record for (system, vulnerability group, package, version), looked up per group and
    package (a fleet's lookups share few keys, so each key's candidates are sorted once).

    ``package_of`` gives the package a record is looked up under (default: its own ``package``): the
    caller's spelling of the package when records name it another way (``pkg:pypi/Jinja2`` for the
    exposures' ``pkg:pypi/jinja2``).
    """

    def __init__(
        self, records: Iterable[Analysis], package_of: Callable[[Analysis], str] | None = None
    ) -> None:
        self._by_key: dict[tuple[str, str], list[Analysis]] = {}
        for r in records:
            package = package_of(r) if package_of is not None else r.package
            self._by_key.setdefault((r.vuln_group, package), []).append(r)
        for candidates in self._by_key.values():
            candidates.sort(key=_order, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def records(self) -> list[Analysis]:
        return [r for candidates in self._by_key.values() for r in candidates]

    def find(self, system: str, group: str, package: str, version: str) -> Analysis | None:
        """The record that decides about ``version`` of ``package`` on ``system`` for ``group``."""
        for r in self._by_key.get((group, package), ()):
            if r.system in (None, system) and r.version in (None, version):
                return r
        return None

    def excluded(self, system: str, group: str, package: str, version: str) -> bool:
        """Whether a ``not_affected`` / ``false_positive`` record takes this observation out of the
        numbers (what the remediation plan asks before it lists an action)."""
        found = self.find(system, group, package, version)
        return found is not None and found.excludes


def state_counts(records: Iterable[Analysis | None]) -> dict[str, int]:
    """How many of ``records`` are in each state (every state named, zero included)."""
    counts = Counter(r.state for r in records if r is not None)
    return {state: counts.get(state, 0) for state in STATES}


def in_force(record: Analysis | None, as_of: datetime) -> bool:
    """Whether ``record`` is an accepted risk still in force at ``as_of``."""
    return record is not None and record.accepts_risk_at(as_of)


def analysis_json(record: Analysis | None) -> dict[str, Any] | None:
    """The ``analysis`` object of an exposure row (``null`` when no record decides about it)."""
    if record is None:
        return None
    return {
        "id": record.id,
        "state": record.state,
        "scope": record.scope,
        "justification": record.justification,
        "impact_statement": record.impact_statement,
        "comment": record.comment,
        "expires_at": rfc3339(record.expires_at),
        "approver": record.approver,
        "actor": record.actor,
        "actor_role": record.actor_role,
        "decided_at": rfc3339(record.decided_at),
    }
