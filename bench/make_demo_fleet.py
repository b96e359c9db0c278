"""Generate the bundled demo fleet: weekly CycloneDX snapshots of five systems and the advisories they need.

Run ``python -m bench.make_demo_fleet`` from the project root (``--shared PATH`` if ``../shared/data``
is elsewhere). Output is deterministic (no randomness: every date, version and serial number follows from
the plan below), so re-running rewrites identical files; the output is committed:

- ``sbom_samples/demo-fleet/<system>/<system>-<date>.cdx.json``: one CycloneDX 1.5 JSON SBOM per week,
  26 Mondays from 2024-03-04 (the stale system stops after 13);
- ``sbom_samples/demo-fleet/vex/admin-portal.openvex.json``: the organization's OpenVEX statement;
- ``sbom_samples/advisories/demo/``: verbatim copies of the real advisory records the fleet meets
  (GitHub Advisory Database, PyPA, Go vulndb) and the EPSS line of one of their CVEs.

The plan gives one exposure of every kind the reports distinguish (see ``PLAN``): quick and slow
upgrades, a removal, a re-introduction by rollback, one still open, one on a system that went stale,
and one a VEX statement excludes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
ADVISORIES = ROOT / "sbom_samples" / "advisories" / "demo"
START = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC: the nightly SBOM job
WEEKS = 26


@dataclass(frozen=True)
class Track:
    """A package of a system: ``(first week, version)`` steps; version ``None`` = not deployed."""

    purl_base: str  # purl without version
    name: str
    steps: tuple[tuple[int, str | None], ...]

    def version_at(self, week: int) -> str | None:
        current: str | None = None
        for first, version in self.steps:
            if week >= first:
                current = version
        return current


@dataclass(frozen=True)
class SystemPlan:
    name: str
    weeks: int
    tracks: tuple[Track, ...]


def npm(name: str, *steps: tuple[int, str | None]) -> Track:
    return Track(f"pkg:npm/{name}", name, steps)


def pypi(name: str, *steps: tuple[int, str | None]) -> Track:
    return Track(f"pkg:pypi/{name}", name, steps)


def golang(module: str, *steps: tuple[int, str | None]) -> Track:
    return Track(f"pkg:golang/{module}", module, steps)


# Week w is START + 7w days. Comments name the advisory each track meets and what it demonstrates.
PLAN: tuple[SystemPlan, ...] = (
    SystemPlan(
        "shop-web",
        WEEKS,
        (
            npm(
                "express", (0, "4.18.2"), (6, "4.19.2")
            ),  # GHSA-rv95-896h-c2vc: quick upgrade after publication
            npm(
                "ws", (0, "8.16.0"), (17, "8.17.1")
            ),  # GHSA-3h5v-q93c-6h6q: fixed two weeks after publication
            npm("lodash", (0, "4.17.20"), (20, "4.17.21")),  # GHSA-35jh-r3h4-6jhm: old fix, slow upgrade
            npm("braces", (0, "3.0.2"), (12, "3.0.3")),  # GHSA-grv7-fg5c-xmjg
            npm("react", (0, "18.2.0"), (14, "18.3.1")),  # no advisory
            npm("accepts", (0, "1.3.8")),
        ),
    ),
    SystemPlan(
        "billing-api",
        WEEKS,
        (
            pypi("requests", (0, "2.28.2"), (10, "2.31.0")),  # PYSEC-2023-74: upgraded
            pypi("urllib3", (0, "1.26.15")),  # PYSEC-2023-212: still open at the end
            pypi("certifi", (0, "2024.2.2"), (9, "2024.7.4")),
            pypi("idna", (0, "3.6"), (9, "3.7")),
            pypi("flask", (0, "3.0.2")),
        ),
    ),
    SystemPlan(
        "admin-portal",
        WEEKS,
        (
            npm("json5", (0, "2.2.1"), (8, None)),  # GHSA-9c47-m6qq-7p4h: removed (package dropped)
            # GHSA-xvch-5gv4-984h: upgraded in week 4, rolled back in week 9 (re-introduced), fixed in week 11
            npm("minimist", (0, "1.2.5"), (4, "1.2.6"), (9, "1.2.5"), (11, "1.2.8")),
            npm("semver", (0, "7.5.1")),  # GHSA-c2qf-rxjj-qqgw: excluded by the OpenVEX statement
            npm("express", (0, "4.19.2")),
            npm("react", (0, "18.2.0")),
        ),
    ),
    SystemPlan(
        "legacy-batch",
        13,  # silent after week 12: stale
        (
            npm("minimatch", (0, "3.0.4")),  # GHSA-f8q6-p94x-37v3: open when the system went silent
            npm("glob-parent", (0, "5.1.1"), (5, "5.1.2")),  # GHSA-ww39-953v-wcq6: upgraded before that
            npm("commander", (0, "2.20.3")),
        ),
    ),
    SystemPlan(
        "edge-gateway",
        WEEKS,
        (
            golang("golang.org/x/net", (0, "v0.21.0"), (8, "v0.23.0")),  # GO-2024-2687: upgraded
            golang("github.com/prometheus/client_golang", (0, "v1.19.0")),
            golang("golang.org/x/text", (0, "v0.14.0"), (8, "v0.15.0")),
        ),
    ),
)

ENVIRONMENT = {"admin-portal": "staging"}

# (source folder under ../shared/data/advisories, file) of every record the fleet meets.
RECORDS = (
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-rv95-896h-c2vc.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-3h5v-q93c-6h6q.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-35jh-r3h4-6jhm.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-grv7-fg5c-xmjg.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-9c47-m6qq-7p4h.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-xvch-5gv4-984h.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-c2qf-rxjj-qqgw.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-f8q6-p94x-37v3.json"),
    ("distro-npm-samples/npm-ghsa/advisory-database-subset", "GHSA-ww39-953v-wcq6.json"),
    ("pypa-pypi/vulns/requests", "PYSEC-2023-74.yaml"),
    ("pypa-pypi/vulns/urllib3", "PYSEC-2023-212.yaml"),
    ("golang-go/data/osv", "GO-2024-2687.json"),
)
# The EPSS file keeps its two header lines and the one row of a CVE above (CVE-2022-46175, json5).
EPSS = ("epss_scores-excerpt-head.csv", "epss_scores-excerpt-2022-46117_46181.csv", "CVE-2022-46175,")


def week(w: int) -> datetime:
    return START + timedelta(days=7 * w)


def sbom(plan: SystemPlan, w: int) -> dict[str, object]:
    when = week(w)
    components = []
    for track in plan.tracks:
        version = track.version_at(w)
        if version is None:
            continue
        purl = f"{track.purl_base}@{version}"
        components.append(
            {"type": "library", "bom-ref": purl, "name": track.name, "version": version, "purl": purl}
        )
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"patchgap-demo/{plan.name}/{when.date().isoformat()}")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "component": {"type": "application", "name": plan.name, "version": f"2024.{w + 1}"},
        },
        "components": components,
    }


def openvex() -> dict[str, object]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/patchgap-demo/vex/admin-portal-2024-03",
        "author": "demo organization security team",
        "timestamp": "2024-03-20T10:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2022-25883", "aliases": ["GHSA-c2qf-rxjj-qqgw"]},
                "products": [
                    {"@id": "pkg:npm/admin-portal", "subcomponents": [{"@id": "pkg:npm/semver@7.5.1"}]}
                ],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "admin-portal never parses user-supplied version ranges with semver.",
            }
        ],
    }


def write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT / ".." / "shared" / "data")
    args = parser.parse_args()
    source = args.shared / "advisories"
    if FLEET.exists():
        shutil.rmtree(FLEET)
    for plan in PLAN:
        for w in range(plan.weeks):
            write_json(
                FLEET / plan.name / f"{plan.name}-{week(w).date().isoformat()}.cdx.json", sbom(plan, w)
            )
    write_json(FLEET / "vex" / "admin-portal.openvex.json", openvex())
    write_json(
        FLEET / "systems.json", {p.name: {"environment": ENVIRONMENT.get(p.name, "prod")} for p in PLAN}
    )
    if ADVISORIES.exists():
        shutil.rmtree(ADVISORIES)
    (ADVISORIES / "osv").mkdir(parents=True)
    for folder, name in RECORDS:
        shutil.copyfile(source / folder / name, ADVISORIES / "osv" / name)
    head_file, rows_file, prefix = EPSS
    feeds = args.shared / "feeds" / "epss"
    header = (feeds / head_file).read_text(encoding="utf-8").splitlines()[:2]
    rows = [
        line
        for line in (feeds / rows_file).read_text(encoding="utf-8").splitlines()
        if line.startswith(prefix)
    ]
    (ADVISORIES / "epss").mkdir()
    (ADVISORIES / "epss" / "epss-demo.csv").write_text("\n".join([*header, *rows]) + "\n", encoding="utf-8")
    print(
        f"wrote {sum(p.weeks for p in PLAN)} SBOMs to {FLEET} and {len(RECORDS)} advisories to {ADVISORIES}"
    )


if __name__ == "__main__":
    main()
