"""Input and output records of the exposure and time-to-deploy reports.

Inputs are shaped so that ``store`` can fill them with a few set-based queries (one row per system, one
row per (system, package, vulnerability group), one row per (vulnerability group[, package])); outputs
are frozen trees that ``pipeline`` renders or serializes. Every timestamp is a timezone-aware
``datetime``; the reports convert to UTC themselves.

Snapshots are identified by a stable ``key`` (the sha256 of the raw SBOM is the natural choice), never by
an autoincrement id: ids follow arrival order, and the reports must not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from core.triage import Analysis

# vex_not_affected / false_positive: intervals an analysis record excludes (its state).
# decommissioned: still open when the system was taken out of service (``SystemHistory``).
Resolution = Literal["upgraded", "removed", "decommissioned", "vex_not_affected", "false_positive"]
FixSource = Literal["csaf", "akrites", "registry", "published"]
# risk_accepted: breached or open, but an accepted risk covers it until its expiry.
SlaStatus = Literal["met", "breached", "open", "indeterminate", "risk_accepted"]


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """One snapshot of a system: when it was observed and a stable identity that breaks time ties."""

    observed_at: datetime
    key: str


@dataclass(frozen=True, slots=True)
class SystemHistory:
    """A deployed system and every snapshot it has (in any order; the reports sort them).

    ``cadence_days`` is the expected time between SBOM uploads; ``None`` means unknown, and such a system
    is never flagged stale. ``decommissioned_at``: when the system was taken out of service (``None``:
    in service); from then on it is never stale, and intervals still open then end there, resolution
    ``decommissioned``. ``criticality`` is what an SLA policy may name (``reports.sla``).
    """

    system: str
    snapshots: tuple[SnapshotRef, ...]
    environment: str = ""
    internet_exposed: bool = False
    cadence_days: float | None = None
    decommissioned_at: datetime | None = None
    criticality: str = "medium"

    def retired_by(self, as_of: datetime | None) -> datetime | None:
        """The decommissioning moment when it lies at or before ``as_of`` (any time, when ``None``)."""
        if self.decommissioned_at is None or (as_of is not None and self.decommissioned_at > as_of):
            return None
        return self.decommissioned_at


@dataclass(frozen=True, slots=True)
class AffectedHistory:
    """Everything the timeline needs about one (system, package, vulnerability group).

    ``affected`` lists (snapshot key, deployed version) for each snapshot where an affected version of the
    package is present; ``present_in`` the keys of every snapshot where the package is present in any
    version (affected or not). ``present_in`` tells an upgrade (package still there) from a removal, and
    only has to cover this system's snapshots. ``package`` is the purl without version or qualifiers.
    """

    system: str
    package: str
    ecosystem: str
    vuln_group: str
    affected: tuple[tuple[str, str], ...]
    present_in: frozenset[str]


@dataclass(frozen=True, slots=True)
class VexStatement:
    """An organization's ``not_affected`` statement for a vulnerability group and a package.

    ``package`` is a purl with or without version, or the package key; ``version`` (or the purl's version)
    narrows the statement to that deployed version, otherwise every version is covered.
    """

    vuln_group: str
    package: str
    version: str | None = None
    justification: str = ""


@dataclass(frozen=True, slots=True)
class Exposure:
    """One interval while a system ran an affected version (DESIGN.md "Time-to-deploy — definitions").

    ``versions`` are the affected versions seen during the interval, in order of first appearance;
    ``current`` those deployed at its last affected snapshot (L), sorted — a system may run several
    versions of a package at once, and every one of them needs its own upgrade.
    ``resolved_at`` is R, the first later snapshot without an affected version (``None`` while open);
    ``resolution`` is how it ended, or ``vex_not_affected`` / ``false_positive`` for intervals an
    analysis record excludes. ``analysis`` is the record that decides about the last version (the one
    deployed last; ``None`` when none does): anything built on exposures can read its state.
    ``steps`` say where the deployed versions changed within the interval: (snapshot time, the
    affected versions deployed from it on), from its first snapshot, when there was more than one
    step (empty otherwise: ``current`` throughout). The interval as an earlier moment within it saw
    it is computed from them (:func:`reports.timeline.cut_at`); they are derived from the other
    fields' history, not part of the interval's value.
    """

    system: str
    package: str
    ecosystem: str
    vuln_group: str
    versions: tuple[str, ...]
    first_seen: datetime
    last_affected_seen: datetime
    resolved_at: datetime | None
    resolution: Resolution | None
    current: tuple[str, ...] = ()
    analysis: Analysis | None = None
    steps: tuple[tuple[datetime, tuple[str, ...]], ...] = field(default=(), compare=False, repr=False)

    @property
    def deployed(self) -> tuple[str, ...]:
        """The affected versions deployed at L (``versions``' last one for records made without them)."""
        return self.current or self.versions[-1:]

    @property
    def version(self) -> str:
        """The affected version deployed at L; the last of :attr:`deployed` when there are several."""
        return self.deployed[-1]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class Timeline:
    """The timeline of a fleet: counted exposures, VEX-excluded intervals, and what was dropped why."""

    exposures: tuple[Exposure, ...]
    vex_excluded: tuple[Exposure, ...]
    withdrawn_groups_skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VulnFacts:
    """What advisories say about a vulnerability group (for one package, or for all when ``package`` is None).

    ``cvss`` is the highest base score of the group; ``rating`` a textual severity used when no score
    exists; ``exploited`` is KEV membership or an advisory's exploited flag.
    """

    vuln_group: str
    package: str | None = None
    published: datetime | None = None
    csaf_vendor_fix: datetime | None = None
    akrites_fix_released: datetime | None = None
    registry_release: datetime | None = None
    cvss: float | None = None
    rating: str | None = None
    exploited: bool = False
    epss: float | None = None
    # When the flaw was disclosed (Akrites ``disclosed_at``, CSAF discovery/initial release), else the
    # earliest ``published``: where upstream's part of the gap begins.
    disclosed: datetime | None = None
    # An Akrites record says the package is abandoned upstream: the fix comes from the last-resort
    # maintainer.
    last_resort_maintainer: bool = False


@dataclass(frozen=True, slots=True)
class FixAvailability:
    """When a fix became available and which source said so; ``approximated`` when only ``published`` did."""

    at: datetime | None
    source: FixSource | None
    approximated: bool
