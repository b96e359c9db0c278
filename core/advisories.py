"""Normalized advisory records: what every advisory source (OSV, Akrites, CSAF) is turned into.

The shape follows the OSV schema, because every source maps onto it without loss of what matching
needs. Timestamps are kept as RFC 3339 strings exactly as published (YAML loaders would turn them into
datetimes; we never let them), and parsed where they are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
RangeType = Literal["SEMVER", "ECOSYSTEM", "GIT"]


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    value: str


@dataclass(frozen=True, slots=True)
class AffectedRange:
    type: str  # "SEMVER" | "ECOSYSTEM" | "GIT" (kept as a string: feeds carry others we must report)
    events: tuple[Event, ...]
    repo: str | None = None


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """One ``affected[]`` entry. ``ecosystem`` keeps its suffix (``Debian:12``)."""

    ecosystem: str | None
    name: str | None
    purl: str | None
    ranges: tuple[AffectedRange, ...] = ()
    versions: tuple[str, ...] = ()
    ecosystem_specific: dict[str, Any] | None = None
    database_specific: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Severity:
    """A severity statement: a CVSS vector with the base score computed from it, or a rating only."""

    type: str  # "CVSS_V3", "CVSS_V4", "CVSS_V2", "Ubuntu", "GHSA" …
    vector: str | None
    score: float | None
    rating: str | None  # "critical" | "high" | "medium" | "low" | "none"
    error: str | None = None  # why the vector could not be scored; the record keeps its other data


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    source: str  # "osv", "akrites", "csaf", …
    modified: str
    published: str | None = None
    withdrawn: str | None = None
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    severity: tuple[Severity, ...] = ()
    affected: tuple[AffectedPackage, ...] = ()
    # Facts some sources state beyond OSV: when a fix was released and whether it is exploited.
    fix_available_at: str | None = None
    fix_available_source: str | None = None
    exploited: bool = False
    # When the flaw was disclosed (Akrites ``disclosed_at``; CSAF ``discovery_date`` else
    # ``initial_release_date``) and whether the fix comes from a last-resort maintainer (Akrites).
    disclosed_at: str | None = None
    last_resort_maintainer: bool = False
    database_specific: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class KevEntry:
    cve_id: str
    date_added: str
    due_date: str | None
    known_ransomware: bool
    vendor: str = ""
    product: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class EpssScore:
    cve_id: str
    epss: float
    percentile: float
