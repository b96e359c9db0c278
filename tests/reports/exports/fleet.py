"""A small hand-built fleet shared by the export tests; every status the exports know occurs once or more.

Systems (2024, UTC): ``web`` (prod, internet-exposed) snapshots w0..w3 on Jan 1, 8, 15, 22;
``api`` (prod) snapshots a0..a1 on Jan 1, 15. Evaluated as of Jan 23.

| system | package            | group       | history                      | finding now               |
|--------|--------------------|-------------|------------------------------|---------------------------|
| web    | npm lodash 4.17.20 | GHSA-LODASH | affected w0–w3 (open)        | affected (KEV, 4.17.21)   |
| web    | npm minimist 1.2.5 | GHSA-MINI   | affected w0–w1, 1.2.6 from w2| fixed (1.2.6)             |
| web    | npm qs 6.5.2       | GHSA-QS     | VEX not_affected, label      | not_affected + flag       |
| api    | pypi jinja2 2.10   | PYSEC-JINJA | affected a0–a1 (open), no fix| affected, none_available  |
| api    | pypi pyyaml 5.3    | GHSA-YAML   | VEX not_affected, free text  | not_affected + impact     |
| api    | pypi odd 1.0-x     | OSV-ODD     | undetermined match           | under_investigation       |
"""

from __future__ import annotations

from datetime import UTC, datetime

from reports.deploy_time import AssessedExposure, DeployTimeReport, assess_exposures, deploy_time_report
from reports.exports.inputs import (
    Component,
    CvssScore,
    ProductSnapshot,
    Publisher,
    Remediation,
    TrackingState,
    Undetermined,
    VexDecision,
    VexInput,
    VulnDetails,
)
from reports.exports.vex.findings import build_findings
from reports.exposure_records import (
    AffectedHistory,
    FixAvailability,
    SnapshotRef,
    SystemHistory,
    Timeline,
    VexStatement,
    VulnFacts,
)
from reports.timeline import build_timeline


def jan(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)


AS_OF = jan(23)
WEB_DAYS = (1, 8, 15, 22)
API_DAYS = (1, 15)
WEB = SystemHistory(
    "web", tuple(SnapshotRef(jan(d), f"w{i}") for i, d in enumerate(WEB_DAYS)), "prod", True, 7
)
API = SystemHistory(
    "api", tuple(SnapshotRef(jan(d), f"a{i}") for i, d in enumerate(API_DAYS)), "prod", False, 7
)
SYSTEMS = (WEB, API)


def c(purl: str) -> Component:
    base, version = purl.rsplit("@", 1)
    return Component(purl, base.rsplit("/", 1)[-1], version, purl.split(":", 1)[1].split("/", 1)[0])


WEB_LATEST = ProductSnapshot(
    "web",
    "a" * 64,
    jan(22),
    (
        c("pkg:npm/lodash@4.17.20"),
        c("pkg:npm/minimist@1.2.6"),
        c("pkg:npm/qs@6.5.2"),
        c("pkg:npm/react@18.2.0"),
    ),
    "prod",
)
API_LATEST = ProductSnapshot(
    "api",
    "b" * 64,
    jan(15),
    (c("pkg:pypi/jinja2@2.10"), c("pkg:pypi/pyyaml@5.3"), c("pkg:pypi/odd@1.0-x")),
    "prod",
)
PRODUCTS = (WEB_LATEST, API_LATEST)

HISTORIES = (
    AffectedHistory(
        "web",
        "pkg:npm/lodash",
        "npm",
        "GHSA-LODASH",
        tuple((f"w{i}", "4.17.20") for i in range(4)),
        frozenset(f"w{i}" for i in range(4)),
    ),
    AffectedHistory(
        "web",
        "pkg:npm/minimist",
        "npm",
        "GHSA-MINI",
        (("w0", "1.2.5"), ("w1", "1.2.5")),
        frozenset(f"w{i}" for i in range(4)),
    ),
    AffectedHistory(
        "web",
        "pkg:npm/qs",
        "npm",
        "GHSA-QS",
        tuple((f"w{i}", "6.5.2") for i in range(4)),
        frozenset(f"w{i}" for i in range(4)),
    ),
    AffectedHistory(
        "api",
        "pkg:pypi/jinja2",
        "PyPI",
        "PYSEC-JINJA",
        (("a0", "2.10"), ("a1", "2.10")),
        frozenset({"a0", "a1"}),
    ),
    AffectedHistory(
        "api", "pkg:pypi/pyyaml", "PyPI", "GHSA-YAML", (("a0", "5.3"), ("a1", "5.3")), frozenset({"a0", "a1"})
    ),
)
DECISIONS = (
    VexDecision(
        "GHSA-QS",
        "pkg:npm/qs",
        justification="vulnerable_code_not_in_execute_path",
        # Both a label and an impact statement: every format carries both.
        impact_statement="qs only parses our own query strings.",
        author="sec@example.org",
        decided_at=jan(9),
    ),
    VexDecision(
        "GHSA-YAML",
        "pkg:pypi/pyyaml",
        system="api",
        justification="only trusted YAML from our own repository is loaded",
        decided_at=jan(2),
    ),
    VexDecision(
        "GHSA-LODASH",
        "pkg:npm/lodash",
        status="affected",
        action_statement="WAF rule blocks prototype-pollution payloads until the upgrade ships.",
        decided_at=jan(3),
    ),
)
UNDETERMINED = (Undetermined("api", "pkg:pypi/odd@1.0-x", "OSV-ODD", "version 1.0-x is not PEP 440"),)
VULNS = (
    VulnDetails(
        "GHSA-LODASH",
        ("CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"),
        title="Command injection in lodash",
        description="lodash before 4.17.21 is vulnerable to command injection via the template function.",
        published=datetime(2021, 2, 15, tzinfo=UTC),
        cvss=(CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),),
        exploited=True,
        exploited_sources=("kev",),
        exploited_since=jan(5),
        epss=0.42,
    ),
    VulnDetails(
        "GHSA-MINI",
        ("CVE-2021-44906",),
        title="Prototype pollution in minimist",
        cvss=(
            CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            CvssScore("2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
        ),
    ),
    VulnDetails("GHSA-QS", ("CVE-2022-24999",), title="qs prototype poisoning"),
    VulnDetails("PYSEC-JINJA", ("PYSEC-2019-217",), title="Jinja2 sandbox escape", rating="high"),
    VulnDetails("GHSA-YAML", ("CVE-2020-14343", "PYSEC-2021-142"), title="PyYAML arbitrary code execution"),
)
REMEDIATIONS = (
    Remediation("GHSA-LODASH", "pkg:npm/lodash", ("4.17.21",), FixAvailability(jan(2), "csaf", False)),
    Remediation("GHSA-MINI", "pkg:npm/minimist", ("1.2.6",), FixAvailability(jan(4), "registry", False)),
    Remediation("PYSEC-JINJA", "pkg:pypi/jinja2", (), FixAvailability(None, None, True)),
)
PUBLISHER = Publisher("Example Corp", "https://example.org", "psirt@example.org")


def timeline() -> Timeline:
    vex = [VexStatement(d.vuln_group, d.package) for d in DECISIONS if d.status == "not_affected"]
    return build_timeline(SYSTEMS, HISTORIES, vex, as_of=AS_OF)


def vex_input(
    system: str | None = None, as_of: datetime = AS_OF, previous: TrackingState | None = None
) -> VexInput:
    t = timeline()
    products = tuple(p for p in PRODUCTS if system in (None, p.system))
    findings = build_findings(products, t.exposures, t.vex_excluded, DECISIONS, UNDETERMINED)
    return VexInput(
        "Example Corp", system, as_of, PUBLISHER, products, VULNS, findings, REMEDIATIONS, previous
    )


FACTS = (
    VulnFacts("GHSA-LODASH", csaf_vendor_fix=jan(2), cvss=7.2, exploited=True),
    VulnFacts("GHSA-MINI", registry_release=jan(4), cvss=9.8),
    VulnFacts("PYSEC-JINJA", rating="high"),
)


def assessed_report() -> tuple[DeployTimeReport, tuple[AssessedExposure, ...]]:
    """The fleet's deploy-time report as of AS_OF (default SLA policy) and the exposures behind it."""
    t = timeline()
    assessed = assess_exposures(t, SYSTEMS, FACTS, AS_OF)
    return deploy_time_report(t, SYSTEMS, FACTS, AS_OF, assessed=assessed), assessed
