"""Exports of the demo fleet end to end (both databases): every format validates, goldens, determinism.

Goldens live in ``golden/exports/``; ``PATCHGAP_REGEN_GOLDEN=1`` rewrites them (review the diff).
Hand-checked against the demo plan (see test_exposures_demo.py): as of 2024-09-02 the open exposures are
billing-api urllib3 1.26.15 (CVE-2023-45803) and legacy-batch minimatch 3.0.4 (CVE-2022-3517); semver
7.5.1 on admin-portal is VEX not_affected; express on shop-web was upgraded to 4.19.2 (fixed).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from core.errors import InputError
from pipeline.demo import load_demo
from pipeline.exports import export
from store.db import Database
from tests.reports.exports.checks import check_csaf_vex, check_openvex

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
ADVISORIES = ROOT / "sbom_samples" / "advisories" / "demo"
GOLDEN = Path(__file__).parent / "golden" / "exports"
END = datetime(2024, 9, 2, tzinfo=UTC)
ORG = "demo"


def golden(name: str, content: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        path.write_bytes(content)
    assert content == path.read_bytes(), f"{name} differs from its golden file"


def statuses(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    out = {}
    for s in doc["statements"]:
        for p in s["products"]:
            for sub in p["subcomponents"]:
                out[(s["vulnerability"]["name"], sub["@id"])] = s["status"]
    return out


def test_demo_fleet_exports(db: Database, tmp_path: Path) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)

    csaf = export(db, ORG, "csaf-vex", as_of=END)
    check_csaf_vex(json.loads(csaf.content))
    golden("demo.csaf.json", csaf.content)
    again = export(db, ORG, "csaf-vex", as_of=END, previous=csaf.content)
    assert again.content == csaf.content

    cdx = export(db, ORG, "cyclonedx-vex", as_of=END)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx.content.decode()) is None
    golden("demo.cdx.json", cdx.content)

    openvex = export(db, ORG, "openvex", as_of=END)
    doc = json.loads(openvex.content)
    check_openvex(doc)
    golden("demo.openvex.json", openvex.content)
    found = statuses(doc)
    assert found[("CVE-2023-45803", "pkg:pypi/urllib3@1.26.15")] == "affected"
    assert any(k[1].startswith("pkg:npm/semver@7.5.1") and v == "not_affected" for k, v in found.items())

    one = json.loads(export(db, ORG, "openvex", system="billing-api", as_of=END).content)
    assert {p["@id"] for s in one["statements"] for p in s["products"]} == {
        "urn:patchgap:system:demo:billing-api"
    }

    start = datetime(2024, 3, 1, tzinfo=UTC)
    pack = export(db, ORG, "nis2-evidence", start=start, as_of=END)
    assert pack.content == export(db, ORG, "nis2-evidence", start=start, as_of=END).content
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        names = archive.namelist()
        snapshots = archive.read("sources/snapshots.csv").decode().splitlines()
    assert "MANIFEST.sha256" in names
    assert len(snapshots) > 1

    pdf = export(db, ORG, "report-pdf", as_of=END)
    assert pdf.content.startswith(b"%PDF-")
    html = export(db, ORG, "report-html", as_of=END)
    assert b"CVE-2023-45803" in html.content or b"urllib3" in html.content

    with pytest.raises(InputError, match="manufacturer flag"):
        export(db, ORG, "cra-register")
