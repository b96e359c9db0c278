"""System lifecycle over the REST API: owner and tags, decommission / recommission, delete with
confirmation, filters; roles and organizations (on SQLite and PostgreSQL, through the ``world``)."""

from __future__ import annotations

import base64
import json

from tests.api.conftest import World, sbom


def test_owner_and_tags_are_set_listed_and_filtered(world: World) -> None:
    c, admin, reader = world.client, world.auth("acme-admin"), world.auth("acme-reader")
    r = c.patch(
        "/api/v1/systems/shop",
        json={"owner": "shop@example.com", "tags": ["pci", "eu", "pci"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["owner"], r.json()["tags"], r.json()["decommissioned_at"]) == (
        "shop@example.com",
        ["eu", "pci"],
        None,
    )
    c.post("/api/v1/systems", json={"name": "api", "tags": ["eu"]}, headers=admin)
    assert [s["name"] for s in c.get("/api/v1/systems?tag=eu", headers=reader).json()] == ["api", "shop"]
    assert [s["name"] for s in c.get("/api/v1/systems?tag=eu&tag=pci", headers=reader).json()] == ["shop"]
    assert [s["name"] for s in c.get("/api/v1/systems?owner=SHOP@example.com", headers=reader).json()] == [
        "shop"
    ]
    assert c.get("/api/v1/systems?tag=Not%20a%20tag", headers=reader).status_code == 422
    for bad in ({"tags": ["UPPER"]}, {"owner": "two\nlines"}, {"owner": "x" * 201}, {"tags": "pci"}):
        r = c.patch("/api/v1/systems/shop", json=bad, headers=admin)
        assert r.status_code == 422, bad
        assert next(iter(bad)) in r.text
    assert c.get("/api/v1/systems/shop", headers=reader).json()["tags"] == ["eu", "pci"]
    # Only administrators change systems; another organization's system is not found.
    assert (
        c.patch("/api/v1/systems/shop", json={"owner": "x"}, headers=world.auth("acme-uploader")).status_code
        == 403
    )
    assert (
        c.patch("/api/v1/systems/shop", json={"owner": "x"}, headers=world.auth("globex-admin")).status_code
        == 404
    )
    # Exposure rows and the deploy-time report take the same filters.
    assert c.get("/api/v1/exposures?status=all&tag=pci", headers=reader).status_code == 200
    document = c.get("/api/v1/reports/deploy-time?owner=shop@example.com", headers=reader).json()
    assert document["filter"] == {"owner": "shop@example.com", "tags": []}
    assert c.get("/api/v1/plan?tag=pci&tag=eu", headers=reader).status_code == 200


def test_decommission_refuses_uploads_until_recommissioned(world: World) -> None:
    c, admin = world.client, world.auth("acme-admin")
    assert c.post("/api/v1/systems/shop/decommission", headers=world.auth("acme-uploader")).status_code == 403
    assert c.post("/api/v1/systems/shop/decommission", headers=world.auth("globex-admin")).status_code == 404
    r = c.post("/api/v1/systems/shop/decommission?at=2023-12-31T00:00:00Z", headers=admin)
    assert r.status_code == 400
    assert "before its last snapshot" in r.json()["detail"]
    r = c.post("/api/v1/systems/shop/decommission?at=2024-02-01T00:00:00Z", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["decommissioned_at"] == "2024-02-01T00:00:00Z"
    assert c.post("/api/v1/systems/shop/decommission", headers=admin).status_code == 409
    # Native upload and the Dependency-Track upload are both refused, naming the way back.
    r = c.post("/api/v1/systems/shop/sboms", content=sbom(4), headers=admin)
    assert r.status_code == 409
    assert "recommission" in r.json()["detail"]
    body = {"projectName": "shop", "autoCreate": True, "bom": base64.b64encode(sbom(5)).decode()}
    r = c.put("/api/v1/bom", content=json.dumps(body), headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 409
    assert world.drain() == 0
    assert c.get("/api/v1/systems/shop", headers=admin).json()["snapshot_count"] == 1
    # A Dependency-Track client sees the project inactive, with the system's tags.
    c.patch("/api/v1/systems/shop", json={"tags": ["pci"]}, headers=admin)
    project = c.get("/api/v1/project/lookup?name=shop", headers=admin).json()
    assert (project["active"], project["tags"]) == (False, [{"name": "pci"}])
    r = c.post("/api/v1/systems/shop/recommission", headers=admin)
    assert (r.status_code, r.json()["decommissioned_at"]) == (200, None)
    assert c.post("/api/v1/systems/shop/recommission", headers=admin).status_code == 409
    assert c.post("/api/v1/systems/shop/sboms", content=sbom(4), headers=admin).status_code == 201
    assert c.get("/api/v1/project/lookup?name=shop", headers=admin).json()["active"] is True


def test_delete_needs_confirmation_and_an_administrator(world: World) -> None:
    c, admin = world.client, world.auth("acme-admin")
    assert (
        c.delete("/api/v1/systems/shop?confirm=true", headers=world.auth("acme-uploader")).status_code == 403
    )
    assert (
        c.delete("/api/v1/systems/shop?confirm=true", headers=world.auth("globex-admin")).status_code == 404
    )
    r = c.delete("/api/v1/systems/shop", headers=admin)
    assert r.status_code == 409
    assert "1 snapshot(s)" in r.json()["detail"]
    assert c.get("/api/v1/systems/shop", headers=admin).status_code == 200
    r = c.delete("/api/v1/systems/shop?confirm=true", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "shop", "snapshots": 1, "exposures": 0, "upload_jobs": 0}
    assert c.get("/api/v1/systems/shop", headers=admin).status_code == 404
    # The other organization's system is untouched.
    mill = c.get("/api/v1/systems/mill", headers=world.auth("globex-admin")).json()
    assert mill["snapshot_count"] == 1
