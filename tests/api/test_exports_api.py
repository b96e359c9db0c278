"""``/api/v1/exports/…``: the pipeline's export bytes, media type and file name, for a reader key.

acme's system ``shop`` runs guzzlehttp/psr7 1.9.0, which the Akrites sample AKRITES-SAMPLE-2026-0004
says is exploited; every body is compared with ``pipeline.exports`` for the same moment (the exports are
deterministic for a given as_of), so the routes are checked to be the thin wrappers they claim to be.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
from httpx import Response

from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.cra import set_manufacturer
from pipeline.exports import export
from reports.exports.cra_register import schema_text
from tests.api.conftest import World
from tests.conftest import cyclonedx_json

ROOT = Path(__file__).resolve().parents[2]
AKRITES = ROOT / "sbom_samples" / "advisories" / "akrites"
AS_OF = datetime(2026, 5, 1, tzinfo=UTC)
# Awareness is recorded in wall-clock time (when the test imports and uploads): a register as of a
# moment after all of it holds the case.
LATER = datetime(2030, 1, 1, tzinfo=UTC)
PSR7_SBOM = cyclonedx_json(
    [("guzzlehttp/psr7", "1.9.0", "pkg:composer/guzzlehttp/psr7@1.9.0")], timestamp="2026-04-01T00:00:00Z"
)


def exploited_shop(world: World) -> None:
    import_advisories(world.db, open_path(AKRITES, "akrites"), source="akrites", origin="akrites")
    r = world.client.post(
        "/api/v1/systems/shop/sboms", content=PSR7_SBOM, headers=world.auth("acme-uploader")
    )
    assert r.status_code == 201, r.text


def get(world: World, path: str, key: str = "acme-reader", **params: str) -> Response:
    r: Response = world.client.get(f"/api/v1/exports/{path}", params=params, headers=world.auth(key))
    return r


def attachment(r: Response) -> str:
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="'), disposition
    return disposition.removeprefix('attachment; filename="').removesuffix('"')


def test_vex_exports_equal_the_pipeline_and_scope_systems_to_the_org(world: World) -> None:
    exploited_shop(world)
    media = {
        "csaf-vex": "application/csaf+json",
        "cyclonedx-vex": "application/vnd.cyclonedx+json; version=1.6",
        "openvex": "application/json",
    }
    for fmt, media_type in media.items():
        r = get(world, fmt, system="shop", as_of=AS_OF.isoformat())
        assert r.status_code == 200, (fmt, r.text)
        expected = export(world.db, "acme", fmt, system="shop", as_of=AS_OF)
        assert r.content == expected.content, fmt
        assert r.headers["content-type"] == media_type
        assert attachment(r) == expected.filename
        assert r.headers["x-content-sha256"] == expected.sha256
    openvex = json.loads(get(world, "openvex", as_of=AS_OF.isoformat()).content)
    statements = {(s["vulnerability"]["name"], s["status"]) for s in openvex["statements"]}
    assert ("AKRITES-SAMPLE-2026-0004", "affected") in statements
    # Another organization's system is missing for globex, exactly like an unknown one.
    for name in ("shop", "no-such-system"):
        other = get(world, "openvex", key="globex-admin", system=name)
        assert other.status_code == 404, other.text
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["detail"] == f"system {name!r} does not exist in organization 'globex'"
    # globex's own organization-wide exports: nothing of acme's. CSAF VEX and OpenVEX have no empty
    # document; a CycloneDX BOM without vulnerabilities is one.
    for fmt in media:
        # At one fixed moment: two documents "as of now" made a second apart differ in their timestamps.
        own = get(world, fmt, key="globex-admin", as_of=AS_OF.isoformat())
        if fmt == "cyclonedx-vex":
            assert own.status_code == 200, own.text
            assert own.content == export(world.db, "globex", fmt, as_of=AS_OF).content
            empty = own.json()
            assert empty.get("vulnerabilities", []) == []
            assert [c["name"] for c in empty["components"]] == ["mill"]  # globex's own system only
            continue
        assert (own.status_code, own.json()["detail"]) == (
            400,
            f"{fmt}: globex: no VEX statements to export (no matched vulnerabilities)",
        )
    html = get(world, "report-html", key="globex-admin")
    assert html.status_code == 200, html.text
    assert "psr7" not in html.text
    assert "shop" not in html.text


def test_cra_register_needs_a_manufacturer_and_equals_the_pipeline(world: World) -> None:
    exploited_shop(world)
    refused = get(world, "cra-register")
    assert refused.status_code == 400
    assert "not marked as a manufacturer" in refused.json()["detail"]
    set_manufacturer(world.db, "acme", True)
    r = get(world, "cra-register", as_of=LATER.isoformat())
    assert r.status_code == 200, r.text
    assert r.content == export(world.db, "acme", "cra-register", as_of=LATER).content
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    jsonschema.validate(doc, json.loads(schema_text()))
    assert [(x["product"], x["vulnerability"], x["exploited"]["sources"]) for x in doc["records"]] == [
        ("shop", "AKRITES-SAMPLE-2026-0004", ["akrites"])
    ]
    csv = get(world, "cra-register", format="csv", as_of=LATER.isoformat())
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert attachment(csv).endswith(".cra.csv")
    assert csv.text.splitlines()[1].split(",")[1:3] == ["shop", "AKRITES-SAMPLE-2026-0004"]
    assert get(world, "cra-register", format="xml").status_code == 422
    assert get(world, "cra-register", key="globex-admin").status_code == 400  # globex is no manufacturer


def test_evidence_pack_and_ciso_reports(world: World) -> None:
    exploited_shop(world)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    r = get(world, "nis2-evidence", **{"from": start.isoformat(), "to": AS_OF.isoformat()})
    assert r.status_code == 200, r.text
    assert r.content == export(world.db, "acme", "nis2-evidence", start=start, as_of=AS_OF).content
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert "MANIFEST.sha256" in archive.namelist()
    assert get(world, "nis2-evidence").status_code == 422  # the period start is required

    html = get(world, "report-html", as_of=AS_OF.isoformat())
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "AKRITES-SAMPLE-2026-0004" in html.text or "psr7" in html.text
    pdf = get(world, "report-pdf", as_of=AS_OF.isoformat())
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert attachment(pdf).endswith(".pdf")
