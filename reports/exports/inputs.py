"""Input records of the auditor exports: what ``pipeline`` gathers from the store for each format.

The exposure records of ``reports.exposure_records`` (Exposure, VulnFacts, FixAvailability …) say
*when* things happened; exports also need *what* was deployed (the latest snapshot's components, with
purls), the identifiers and scores of each vulnerability group, the fixed versions, the organization's
VEX decisions, and — for the CRA register — when patchgap learned each fact. Everything here is a frozen
value with timezone-aware datetimes, so every exporter is a pure function of its input.

Statuses use the OpenVEX words (``affected``, ``fixed``, ``not_affected``, ``under_investigation``);
CSAF's ``known_affected`` / ``known_not_affected`` and CycloneDX's analysis states are mapped from them
in the format modules. Justifications use the five labels OpenVEX and CSAF share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from reports.deploy_time import AssessedExposure, DeployTimeReport
from reports.exposure_records import Exposure, FixAvailability
from reports.plan import Action
from reports.sla import SlaPolicy
from reports.timeline import split_purl_version

VexStatus = Literal["affected", "fixed", "not_affected", "under_investigation"]
Justification = Literal[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
]
JUSTIFICATIONS: tuple[Justification, ...] = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)


@dataclass(frozen=True, slots=True)
class Component:
    """One deployed package version as its SBOM named it; ``purl`` carries the version."""

    purl: str
    name: str
    version: str
    ecosystem: str = ""

    @property
    def package(self) -> str:
        """The purl without version, qualifiers or subpath: the key exposures use."""
        return split_purl_version(self.purl)[0]


@dataclass(frozen=True, slots=True)
class ProductSnapshot:
    """A system (a product, for CRA) and the components of its latest snapshot at the export's as_of."""

    system: str
    snapshot_key: str  # sha256 of the raw SBOM: lets an auditor match the export to the uploaded file
    observed_at: datetime
    components: tuple[Component, ...]
    environment: str = ""


@dataclass(frozen=True, slots=True)
class CvssScore:
    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    score: float


@dataclass(frozen=True, slots=True)
class VulnDetails:
    """What the advisories of one vulnerability group say, as the exports present it.

    ``ids`` are every identifier of the group (CVE, GHSA, PYSEC, OSV …). ``exploited_since`` is the date
    a source states (KEV ``dateAdded``, an advisory's exploitation date), not when patchgap learned it.
    """

    vuln_group: str
    ids: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    published: datetime | None = None
    modified: datetime | None = None
    cvss: tuple[CvssScore, ...] = ()
    rating: str | None = None
    exploited: bool = False
    exploited_sources: tuple[str, ...] = ()  # "kev", "akrites", "advisory"
    exploited_since: datetime | None = None
    known_ransomware: bool = False
    epss: float | None = None
    references: tuple[str, ...] = ()

    @property
    def cve(self) -> str | None:
        """The group's CVE id (the lowest when an alias closure holds several)."""
        cves = sorted(i for i in (*self.ids, self.vuln_group) if i.startswith("CVE-"))
        return cves[0] if cves else None

    @property
    def display_id(self) -> str:
        return self.cve or self.vuln_group

    @property
    def all_ids(self) -> tuple[str, ...]:
        return tuple(sorted({*self.ids, self.vuln_group}))


@dataclass(frozen=True, slots=True)
class Remediation:
    """The fix of a vulnerability group for one package (purl without version)."""

    vuln_group: str
    package: str
    fixed_versions: tuple[str, ...]
    fix: FixAvailability


@dataclass(frozen=True, slots=True)
class VexDecision:
    """An organization's decision as recorded: an analysis record (``core.triage``) in VEX words.

    ``system`` None covers every system; ``version`` None (and no version in ``package``) every version.
    ``justification`` is one of :data:`JUSTIFICATIONS` (or a CycloneDX justification, mapped to the
    nearest label) or free text; free text travels as the impact statement. ``action_statement`` is what
    an ``affected`` decision says will be done. ``state`` is the analysis state (``""``: the one
    ``status`` stands for), which tells a false positive from a not-affected package and an accepted
    risk from an exploitable one.
    """

    vuln_group: str
    package: str
    status: VexStatus = "not_affected"
    system: str | None = None
    version: str | None = None
    justification: str = ""
    impact_statement: str = ""
    action_statement: str = ""
    author: str = ""
    decided_at: datetime | None = None
    source: str = ""
    state: str = ""
    comment: str = ""
    expires_at: datetime | None = None
    approver: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """The VEX status of one deployed component of one system for one vulnerability group."""

    system: str
    component: Component
    vuln_group: str
    status: VexStatus
    justification: Justification | None = None
    impact_statement: str = ""
    action_statement: str = ""
    since: datetime | None = None  # when the status became true (first seen, resolved, decided)
    state: str = ""  # the analysis state behind it (CycloneDX says false_positive and in_triage too)


@dataclass(frozen=True, slots=True)
class Undetermined:
    """A match the matcher could not decide (unparsable version, unsupported range): under investigation."""

    system: str
    purl: str
    vuln_group: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Publisher:
    """Who issues the documents; ``namespace`` is a URI the organization controls (CSAF requires one)."""

    name: str
    namespace: str
    contact: str = ""


@dataclass(frozen=True, slots=True)
class Revision:
    number: int
    date: datetime
    summary: str


@dataclass(frozen=True, slots=True)
class TrackingState:
    """A document's history: read from the previous export, extended by the next one.

    ``content_digest`` is the sha256 of the previous document's content without its history fields; an
    export whose content is unchanged keeps the previous version, so it is byte-identical.
    """

    document_id: str
    initial_release: datetime
    revisions: tuple[Revision, ...]
    content_digest: str

    @property
    def version(self) -> int:
        return self.revisions[-1].number

    @property
    def current_release(self) -> datetime:
        return self.revisions[-1].date


@dataclass(frozen=True, slots=True)
class VexInput:
    """Everything a VEX export (CSAF, CycloneDX, OpenVEX) needs, for one system or a whole organization."""

    organization: str
    system: str | None
    as_of: datetime
    publisher: Publisher
    products: tuple[ProductSnapshot, ...]
    vulnerabilities: tuple[VulnDetails, ...]
    findings: tuple[Finding, ...]
    remediations: tuple[Remediation, ...] = ()
    previous: TrackingState | None = None
    tool_version: str = "0.1.0"


# --- CRA Article 14 -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submission:
    """When the manufacturer sent one of the three Article 14 reports (as recorded by a user)."""

    early_warning_at: datetime | None = None
    notification_at: datetime | None = None
    final_report_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CraCase:
    """One actively exploited vulnerability group present in one product (a system of a manufacturer).

    ``exploited_known_at`` is when patchgap first stored an exploitation fact for the group (the KEV or
    Akrites record's arrival, not its ``dateAdded``); ``present_known_at`` when it first matched the group
    against a received snapshot of the product (the later of the snapshot's receipt and the advisory's
    arrival). ``awareness_override`` is a user-set awareness time; it wins over the computed one.
    ``deployments`` are the product's exposure intervals for the group.
    """

    vuln: VulnDetails
    product: str
    deployments: tuple[Exposure, ...]
    exploited_known_at: datetime | None
    present_known_at: datetime | None
    fix: FixAvailability
    fixed_versions: tuple[str, ...] = ()
    mitigations: tuple[str, ...] = ()
    awareness_override: datetime | None = None
    awareness_note: str = ""
    submissions: Submission = field(default_factory=Submission)


@dataclass(frozen=True, slots=True)
class CraInput:
    organization: str
    manufacturer: bool
    as_of: datetime
    cases: tuple[CraCase, ...]


# --- NIS2 evidence pack -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotSource:
    """One SBOM snapshot the evidence rests on."""

    system: str
    observed_at: datetime
    received_at: datetime
    sha256: str
    format: str
    spec_version: str
    serial_number: str | None = None
    component_count: int = 0


@dataclass(frozen=True, slots=True)
class AdvisorySource:
    """One advisory source the figures rest on: what was used and how to recognize it again.

    ``source`` names it (``osv``, ``akrites``, ``csaf``, ``kev``, ``epss``, ``registry:PyPI``, a feed
    state ``feed:<name>``); ``origin`` where its records came from (an import path or a feed URL);
    ``version`` the feed's own (KEV catalog, EPSS model and score date, an ETag); ``modified`` the newest
    record or the feed's Last-Modified; ``fetched_at`` when it was last fetched or imported; ``sha256``
    identifies the data kept; ``records`` how many it holds (None: a feed state, which counts none) and
    ``records_used`` how many concern the vulnerabilities of the pack (None: not counted).
    """

    source: str
    version: str
    modified: datetime | None
    sha256: str | None
    records: int | None
    origin: str = ""
    fetched_at: datetime | None = None
    records_used: int | None = None


@dataclass(frozen=True, slots=True)
class SlaException:
    """An accepted risk: an open exposure allowed past its SLA, with the reason and who accepted it."""

    system: str
    package: str
    vuln_group: str
    reason: str
    approved_by: str = ""
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class EvidenceInput:
    organization: str
    period_from: datetime
    period_to: datetime
    report: DeployTimeReport
    assessed: tuple[AssessedExposure, ...]
    policy: SlaPolicy
    vex: tuple[VexDecision, ...]
    snapshots: tuple[SnapshotSource, ...]
    advisory_sources: tuple[AdvisorySource, ...]
    exceptions: tuple[SlaException, ...] = ()
    vulnerabilities: tuple[VulnDetails, ...] = ()
    tool_version: str = "0.1.0"


# --- CISO report ---------------------------------------------------------------------------------------


#: The CISO report compares its figures with the same figures this many days before its as_of.
COMPARISON_DAYS = 90


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """The headline figures at one moment, so that two moments compare figure by figure."""

    as_of: datetime
    open: int  # open exposures (triage exclusions left out, as everywhere)
    exploited: int  # of them exploited (KEV or an advisory's flag)
    past_sla: int  # of them past their SLA due date
    half_life_days: float | None  # Kaplan–Meier median time-to-deploy (None: not reached)
    within_30: float | None  # share of fixes deployed within 30 days

    @classmethod
    def of(cls, report: DeployTimeReport, assessed: Sequence[AssessedExposure]) -> PeriodFigures:
        open_items = [a for a in assessed if a.exposure.is_open]
        ttd = report.overall.time_to_deploy.conservative
        return cls(
            report.as_of,
            len(open_items),
            sum(1 for a in open_items if a.risk.exploited),
            sum(1 for a in open_items if a.sla_status == "breached"),
            ttd.km_median_days,
            dict(ttd.within_days).get(30),
        )


@dataclass(frozen=True, slots=True)
class AdvisoryFreshness:
    """When an advisory source or feed last brought data: ``osv`` records imported, ``kev`` fetched …"""

    source: str
    last_update: datetime


@dataclass(frozen=True, slots=True)
class CisoInput:
    """The overview a CISO reads: the deploy-time report and the exposures behind it."""

    organization: str
    report: DeployTimeReport
    assessed: tuple[AssessedExposure, ...]
    vulnerabilities: tuple[VulnDetails, ...] = ()
    systems: int = 0
    top: int = 10
    # The remediation plan's actions, ranked (reports.plan): the report's "Top actions".
    actions: tuple[Action, ...] = ()
    # The same figures at the start of the comparison period (None: not computed, or no system yet).
    previous: PeriodFigures | None = None
    # system → owner, for the systems that have one.
    owners: Mapping[str, str] = field(default_factory=dict)
    # system → its newest snapshot at as_of (systems in service).
    last_snapshots: Mapping[str, datetime] = field(default_factory=dict)
    advisory_freshness: tuple[AdvisoryFreshness, ...] = ()
