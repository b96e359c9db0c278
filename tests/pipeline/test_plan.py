"""The remediation plan's invariant, on SQLite and PostgreSQL: write one new snapshot per system in which
every planned action is applied, and no open exposure that an upgrade could clear is left, and no target
version is affected by any stored advisory. Checked on the bundled demo fleet and sample SBOMs (real
advisories) and on generated fleets (several versions of a package at once, overlapping advisories,
advisories without a fix, fixes in several majors)."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from core.packages import NotAssessable
from matcher.purls import purl_key
from pipeline.advice import package_advice
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.demo import load_demo
from pipeline.exposures.reports import exposures_report
from pipeline.ingest import SbomUpload, ingest_sbom, ingest_sboms
from pipeline.match import match_new
from pipeline.plan import plan_json
from pipeline.systems import list_snapshots, list_systems, snapshot_components
from pipeline.vex import import_vex
from reports.timeline import split_purl_version
from store.db import Database
from tests.conftest import cyclonedx_json

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sbom_samples"
MAX = 50_000_000


def apply_plan(db: Database, org: str, actions: list[dict[str, Any]]) -> int:
    """One new snapshot per system of ``org``: its latest components with every action applied."""
    upgrades: dict[tuple[str, str, str], str] = {}
    for action in actions:
        for system in action["systems"]:
            upgrades[(system["system"], action["package"], action["from_version"])] = action["to_version"]
    written = 0
    for system in list_systems(db, org):
        latest = list_snapshots(db, org, system.name)[-1]
        found = snapshot_components(db, org, latest.id)
        components: list[tuple[str, str | None, str | None]] = []
        for p in found.packages:
            to = upgrades.get((system.name, split_purl_version(p.purl)[0], p.version))
            purl = PackageURL.from_string(p.purl)._replace(version=to).to_string() if to else p.purl
            components.append((p.name, to or p.version, purl))
        components += [(u.name, u.version, u.purl) for u in found.unassessed]
        when = (latest.observed_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = cyclonedx_json(components, timestamp=when)
        written += (
            ingest_sbom(db, org=org, system=system.name, data=data, source="plan", max_bytes=MAX).status
            == "created"
        )
    match_new(db)
    return written


def assert_invariant(db: Database, org: str) -> dict[str, Any]:
    """Apply the plan; then nothing fixable stays open and no target is affected. Returns the plan."""
    plan = plan_json(db, org)
    assert plan["total_actions"] == len(plan["actions"])
    targets = set()
    for action in plan["actions"]:
        key = purl_key(f"{action['package']}@{action['to_version']}")
        assert not isinstance(key, NotAssessable)
        targets.add((key[0], key[1], action["to_version"]))
    with db.read() as session:
        advice = package_advice(session, targets)
    assert {target: a.suggestion.status for target, a in advice.items()} == dict.fromkeys(
        targets, "not-affected"
    )
    apply_plan(db, org, plan["actions"])
    still_fixable = [
        (e["system"], e["package"], v["version"], e["vulnerability"])
        for e in exposures_report(db, org, "open")
        for v in e["affected_versions"]
        if v["advice"] == "upgrade"
    ]
    assert still_fixable == []
    after = plan_json(db, org)
    assert after["total_actions"] == 0
    # What no upgrade clears is still listed, and only that.
    assert {(u["package"], u["version"]) for u in after["unfixable"]} <= {
        (u["package"], u["version"]) for u in plan["unfixable"]
    }
    return plan


def test_the_plan_of_the_demo_fleet_and_the_samples_closes_everything_fixable(db: Database) -> None:
    load_demo(db, "demo", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
    for folder in ("juice-shop", "go-lib", "rke-tools"):
        uploads = [SbomUpload(p.read_bytes(), str(p)) for p in sorted((SAMPLES / folder).glob("*.*"))]
        ingest_sboms(db, uploads, org="samples", system=folder, max_bytes=MAX)
    match_new(db)
    demo = assert_invariant(db, "demo")
    samples = assert_invariant(db, "samples")
    assert demo["total_actions"] >= 2
    assert samples["total_actions"] >= 10
    moves = {(a["package"], a["from_version"], a["to_version"]) for a in samples["actions"]}
    # juice-shop runs minimist 0.2.1 and 1.2.5 at once: two actions, each to its own fix.
    assert {("pkg:npm/minimist", "0.2.1", "0.2.4"), ("pkg:npm/minimist", "1.2.5", "1.2.6")} <= moves


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"


def _generated_fleet(db: Database, tmp_path: Path, seed: int) -> None:
    """Ten systems of npm packages, two snapshots each, and OSV records written to files."""
    rng = random.Random(seed)
    packages = [f"gen{seed}-p{i}" for i in range(12)]
    folder = tmp_path / f"osv-{seed}"
    folder.mkdir()
    for n in range(30):
        package = rng.choice(packages)
        ranges = []
        for major in sorted(rng.sample(range(4), rng.randint(1, 3))):
            events: list[dict[str, str]] = [{"introduced": f"{major}.0.0" if major else "0"}]
            if rng.random() < 0.85:  # some advisories have no fix in a major
                events.append({"fixed": f"{major}.{rng.randint(1, 9)}.{rng.randint(0, 9)}"})
            ranges.append({"type": "SEMVER", "events": events})
        record = {
            "schema_version": "1.6.0",
            "id": f"x_gen-{seed}-{n}",
            "modified": "2024-01-01T00:00:00Z",
            "published": "2023-06-01T00:00:00Z",
            "summary": "generated",
            "database_specific": {"severity": rng.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])},
            "affected": [{"package": {"ecosystem": "npm", "name": package}, "ranges": ranges}],
        }
        (folder / f"gen-{seed}-{n}.json").write_text(json.dumps(record))
    import_advisories(db, open_path(folder, "osv"), source="osv", origin=str(folder))
    for s in range(10):
        chosen = rng.sample(packages, 6)
        for week in range(2):
            components = []
            for package in chosen:
                for version in {_version(rng) for _ in range(rng.choice([1, 1, 2]))}:  # sometimes two at once
                    components.append((package, version, f"pkg:npm/{package}@{version}"))
            data = cyclonedx_json(components, timestamp=f"2024-0{week + 1}-01T00:00:00Z")
            ingest_sbom(db, org="gen", system=f"sys{s}", data=data, source=f"s{s}w{week}", max_bytes=MAX)
    match_new(db)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_plan_of_generated_fleets_closes_everything_fixable(
    db: Database, tmp_path: Path, seed: int
) -> None:
    _generated_fleet(db, tmp_path, seed)
    plan = assert_invariant(db, "gen")
    assert plan["total_actions"] > 3
    reasons = {u["reason"] for u in plan["unfixable"]}
    assert reasons <= {"no-fix-known", "no-single-version", "undetermined"}


def test_filters_and_vex_narrow_the_plan(db: Database) -> None:
    load_demo(db, "demo", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
    data = cyclonedx_json(
        [("minimist", "0.2.1", "pkg:npm/minimist@0.2.1"), ("ws", "6.1.4", "pkg:npm/ws@6.1.4")],
        timestamp="2024-09-01T00:00:00Z",
    )
    ingest_sboms(db, [SbomUpload(data, "edge")], org="demo", system="edge", environment="dmz", max_bytes=MAX)
    match_new(db)
    everything = plan_json(db, "demo")
    only_edge = plan_json(db, "demo", system="edge")
    by_env = plan_json(db, "demo", environment="dmz")
    assert only_edge["actions"] == [{**a, "rank": i + 1} for i, a in enumerate(by_env["actions"])]
    assert {(a["package"], a["from_version"]) for a in only_edge["actions"]} == {
        ("pkg:npm/minimist", "0.2.1"),
        ("pkg:npm/ws", "6.1.4"),
    }
    assert only_edge["total_actions"] < everything["total_actions"]
    # A VEX not_affected statement removes what it covers.
    statement = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "sec",
        "timestamp": "2024-09-02T00:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2021-44906"},
                "products": [{"@id": "pkg:npm/minimist"}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            }
        ],
    }
    import_vex(db, "demo", json.dumps(statement).encode(), "vex")
    narrowed = plan_json(db, "demo", system="edge")
    assert {a["package"] for a in narrowed["actions"]} == {"pkg:npm/ws"}
    # Paging: offset and limit cut the ranked list, ranks stay absolute.
    page = plan_json(db, "demo", offset=1, limit=1)
    assert [a["rank"] for a in page["actions"]] == [2]
    assert page["actions"][0]["id"] == plan_json(db, "demo")["actions"][1]["id"]


def test_the_ciso_report_opens_with_the_plans_top_actions(db: Database) -> None:
    from datetime import UTC, datetime

    from pipeline.exports import export

    load_demo(db, "demo", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
    moment = datetime(2024, 9, 2, tzinfo=UTC)
    top = plan_json(db, "demo", as_of=moment)["actions"]
    assert top
    html = export(db, "demo", "report-html", as_of=moment).content.decode()
    section = html[html.index("<h2>Top actions</h2>") : html.index("<h2>Time-to-deploy</h2>")]
    for action in top:
        assert f"<td>{action['package']}</td><td>{action['from_version']}</td>" in section
    assert section.index(top[0]["package"]) <= section.index(top[-1]["package"])
    pdf = export(db, "demo", "report-pdf", as_of=moment).content
    assert pdf.startswith(b"%PDF")
