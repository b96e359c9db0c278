"""A Dependency-Track CI gate works unchanged against patchgap (issue 15 item 6), on SQLite and PostgreSQL.

``ci_gate`` makes the requests a DT CI plugin makes, in its order (the Jenkins plugin's: look the
project up, upload, poll the token until processing is false, look the project up again for its UUID,
read the project, its findings and its metrics) and fails the build when a finding is at or above the
severity threshold. The advisories are real ones bundled in sbom_samples: minimist GHSA-xvch-5gv4-984h
(CVE-2021-44906, CVSS 9.8, fixed in 1.2.6), express GHSA-rv95-896h-c2vc (CVE-2024-29041, CVSS 6.1,
fixed in 4.19.2) and Go's GO-2024-2687 (CVE-2023-45288, no severity given, fixed in 1.21.9).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from api.main import create_app
from core.settings import Settings
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.uploads import project_uuid
from tests.api.conftest import World
from tests.conftest import cyclonedx_json

OSV = Path(__file__).resolve().parents[2] / "sbom_samples" / "advisories" / "demo" / "osv"
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNASSIGNED")
# The OpenAPI document: every answer the gate reads is checked against the schema it documents.
DOCUMENT = schemathesis.openapi.from_dict(create_app(Settings(database_url="sqlite://")).openapi())


def documented(response: httpx.Response, path: str) -> httpx.Response:
    """``response``, after checking its status, content type and body against the document."""
    DOCUMENT[path][response.request.method].validate_response(response)
    return response


@pytest.fixture
def advisories(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    folder.mkdir()
    for advisory in ("GHSA-xvch-5gv4-984h", "GHSA-rv95-896h-c2vc", "GO-2024-2687"):
        shutil.copy(OSV / f"{advisory}.json", folder)
    import_advisories(world.db, open_path(folder, "osv"), source="osv", origin="test")


def build_sbom(when: str, minimist: str) -> bytes:
    components = [
        ("minimist", minimist, f"pkg:npm/minimist@{minimist}"),
        ("express", "4.18.2", "pkg:npm/express@4.18.2"),
        ("left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"),
        ("stdlib", "1.21.3", "pkg:golang/stdlib@1.21.3"),
    ]
    return cyclonedx_json(components, timestamp=when)


@dataclass(frozen=True)
class GateRun:
    lookup_before: int
    token: dict[str, Any]
    project: dict[str, Any]
    findings: list[dict[str, Any]]
    metrics: dict[str, Any]
    total_count: int
    started_ms: int

    def passes(self, fail_on: str) -> bool:
        """The plugin's gate: fail when a finding is at or above the threshold severity."""
        limit = SEVERITIES.index(fail_on)
        return not any(SEVERITIES.index(f["vulnerability"]["severity"]) <= limit for f in self.findings)


def ci_gate(world: World, name: str, version: str, bom: bytes) -> GateRun:
    """What a Dependency-Track CI plugin does, with one key (an uploader's: BOM upload and view)."""
    c, key = world.client, world.auth("acme-uploader")
    lookup = {"name": name, "version": version}
    before = c.get("/api/v1/project/lookup", params=lookup, headers=key).status_code
    started_ms = int(time.time() * 1000)
    r = c.post(
        "/api/v1/bom",
        data={"autoCreate": "true", "projectName": name, "projectVersion": version},
        files={"bom": ("bom.json", bom, "application/octet-stream")},
        headers=key,
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    # Poll until processing ends; the test's "worker" runs between polls (no sleeping, no clock).
    for _ in range(3):
        state = documented(
            c.get(f"/api/v1/event/token/{token}", headers=key), "/api/v1/event/token/{token}"
        ).json()
        if not state["processing"]:
            break
        world.drain()
    r = c.get("/api/v1/project/lookup", params=lookup, headers=key)
    assert r.status_code == 200, r.text
    uuid = r.json()["uuid"]
    assert uuid == project_uuid("acme", name)
    documented(r, "/api/v1/project/lookup")
    project = documented(c.get(f"/api/v1/project/{uuid}", headers=key), "/api/v1/project/{uuid}").json()
    assert project == r.json()
    found = documented(
        c.get(f"/api/v1/finding/project/{uuid}", headers=key), "/api/v1/finding/project/{uuid}"
    )
    metrics = documented(
        c.get(f"/api/v1/metrics/project/{uuid}/current", headers=key),
        "/api/v1/metrics/project/{uuid}/current",
    ).json()
    for refresh in ("/api/v1/metrics/project/{uuid}/refresh", "/api/v1/metrics/portfolio/refresh"):
        r = documented(c.get(refresh.replace("{uuid}", uuid), headers=key), refresh)
        assert (r.status_code, r.content) == (200, b"")
    return GateRun(
        before, state, project, found.json(), metrics, int(found.headers["X-Total-Count"]), started_ms
    )


def by_package(run: GateRun) -> dict[str, dict[str, Any]]:
    return {f["component"]["name"]: f for f in run.findings}


def test_a_ci_gate_fails_above_its_threshold_then_passes_once_the_fix_is_deployed(
    world: World, advisories: None
) -> None:
    uuid = project_uuid("acme", "webshop")

    # Build 1 deploys minimist 1.2.5: a critical finding, so a gate at HIGH fails the build.
    first = ci_gate(world, "webshop", "2.4.1", build_sbom("2024-03-01T00:00:00Z", "1.2.5"))
    assert first.lookup_before == 404  # a new project: the plugin uploads with autoCreate
    assert first.token == {"processing": False, "failed": False}
    assert first.project == {
        "uuid": uuid,
        "name": "webshop",
        "version": "2.4.1",
        "classifier": "APPLICATION",
        "active": True,
        "isLatest": True,
        "tags": [],
        "lastBomImport": first.project["lastBomImport"],
        "lastBomImportFormat": "CycloneDX 1.5",
    }
    assert first.project["lastBomImport"] >= first.started_ms
    findings = by_package(first)
    assert sorted(findings) == ["express", "minimist", "stdlib"]
    assert first.total_count == 3
    minimist = findings["minimist"]
    assert minimist["component"] == {
        "uuid": minimist["component"]["uuid"],
        "name": "minimist",
        "version": "1.2.5",
        "purl": "pkg:npm/minimist@1.2.5",
        "project": uuid,
    }
    assert minimist["vulnerability"] == {
        "uuid": minimist["vulnerability"]["uuid"],
        "vulnId": "CVE-2021-44906",
        "source": "NVD",
        "severity": "CRITICAL",
        "severityRank": 0,
        "cvssV3BaseScore": 9.8,
        "aliases": [{"ghsaId": "GHSA-xvch-5gv4-984h"}],
    }
    assert minimist["analysis"] == {"state": "NOT_SET", "isSuppressed": False}
    assert minimist["matrix"] == (
        f"{uuid}:{minimist['component']['uuid']}:{minimist['vulnerability']['uuid']}"
    )
    express, stdlib = findings["express"]["vulnerability"], findings["stdlib"]["vulnerability"]
    assert (express["vulnId"], express["severity"], express["cvssV3BaseScore"]) == (
        "CVE-2024-29041",
        "MEDIUM",
        6.1,
    )
    assert (stdlib["vulnId"], stdlib["severity"], stdlib["severityRank"]) == (
        "CVE-2023-45288",
        "UNASSIGNED",
        5,
    )
    assert "cvssV3BaseScore" not in stdlib  # unknown: left out, as Dependency-Track leaves out nulls
    assert {next(iter(a.items())) for a in stdlib["aliases"]} == {
        ("ghsaId", "GHSA-4v7x-pqxf-cx7m"),
        ("osvId", "GO-2024-2687"),
    }
    assert {k: first.metrics[k] for k in ("critical", "high", "medium", "low", "unassigned")} == {
        "critical": 1,
        "high": 0,
        "medium": 1,
        "low": 0,
        "unassigned": 1,
    }
    assert first.metrics["vulnerabilities"] == first.metrics["findingsTotal"] == 3
    assert (first.metrics["components"], first.metrics["vulnerableComponents"]) == (4, 3)
    assert (first.metrics["suppressed"], first.metrics["findingsAudited"]) == (0, 0)
    assert first.metrics["findingsUnaudited"] == 3
    assert first.metrics["inheritedRiskScore"] == 10 + 3 + 5
    assert first.metrics["firstOccurrence"] == first.metrics["lastOccurrence"] >= first.started_ms
    assert not first.passes("HIGH")

    # Build 2 deploys minimist 1.2.6: only the medium and the unscored findings are left.
    second = ci_gate(world, "webshop", "2.4.2", build_sbom("2024-03-08T00:00:00Z", "1.2.6"))
    assert second.lookup_before == 404  # 2.4.2 is not the current version before its upload
    assert second.project["version"] == "2.4.2"
    assert second.project["lastBomImport"] >= second.started_ms
    assert sorted(by_package(second)) == ["express", "stdlib"]
    assert (second.metrics["critical"], second.metrics["medium"]) == (0, 1)
    assert second.passes("HIGH")
    assert not second.passes("MEDIUM")

    # The same SBOM again (a re-run of the build): unchanged, yet a new import the gate can see.
    third = ci_gate(world, "webshop", "2.4.2", build_sbom("2024-03-08T00:00:00Z", "1.2.6"))
    assert third.lookup_before == 200
    assert third.project["lastBomImport"] >= third.started_ms
    assert third.findings == second.findings


def test_reads_need_a_reader_key_and_hide_other_organizations_projects(
    world: World, advisories: None
) -> None:
    ci_gate(world, "webshop", "1", build_sbom("2024-03-01T00:00:00Z", "1.2.5"))
    uuid = project_uuid("acme", "webshop")
    reads = [
        ("/api/v1/project/lookup", {"name": "webshop"}),
        ("/api/v1/project/lookup", {"name": "webshop", "version": "1"}),
        (f"/api/v1/project/{uuid}", {}),
        (f"/api/v1/finding/project/{uuid}", {}),
        (f"/api/v1/metrics/project/{uuid}/current", {}),
        (f"/api/v1/metrics/project/{uuid}/refresh", {}),
    ]
    for path, params in reads:
        assert world.client.get(path, params=params, headers=world.auth("acme-reader")).status_code == 200
        r = world.client.get(path, params=params, headers=world.auth("globex-admin"))
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"
        assert world.client.get(path, params=params).status_code == 401
    # globex's own system is its project; its UUID means nothing to acme.
    mill = project_uuid("globex", "mill")
    assert world.client.get(f"/api/v1/project/{mill}", headers=world.auth("globex-admin")).status_code == 200
    assert world.client.get(f"/api/v1/project/{mill}", headers=world.auth("acme-admin")).status_code == 404


def test_a_version_other_than_the_current_one_is_not_found(world: World, advisories: None) -> None:
    ci_gate(world, "webshop", "1", build_sbom("2024-03-01T00:00:00Z", "1.2.5"))
    ci_gate(world, "webshop", "2", build_sbom("2024-03-08T00:00:00Z", "1.2.6"))
    r = world.client.get(
        "/api/v1/project/lookup",
        params={"name": "webshop", "version": "1"},
        headers=world.auth("acme-reader"),
    )
    assert r.status_code == 404
    assert "its latest snapshot has release '2'" in r.json()["detail"]
    # A system without snapshots is a project without a version or an import.
    r = world.client.post("/api/v1/systems", json={"name": "empty"}, headers=world.auth("acme-admin"))
    assert r.status_code == 201
    r = world.client.get(
        "/api/v1/project/lookup", params={"name": "empty"}, headers=world.auth("acme-reader")
    )
    assert r.json() == {
        "uuid": project_uuid("acme", "empty"),
        "name": "empty",
        "classifier": "APPLICATION",
        "active": True,
        "isLatest": True,
        "tags": [],
    }
    metrics = world.client.get(
        f"/api/v1/metrics/project/{project_uuid('acme', 'empty')}/current", headers=world.auth("acme-reader")
    ).json()
    assert (metrics["components"], metrics["vulnerabilities"], metrics["inheritedRiskScore"]) == (0, 0, 0.0)
