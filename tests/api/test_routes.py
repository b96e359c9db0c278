"""Systems, native SBOM upload, snapshots, components and keys through the REST API."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from store.tables.organizations import ApiKey
from tests.api.conftest import MAX_BYTES, World, sbom

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"


def test_systems_create_list_update(world: World) -> None:
    c, admin = world.client, world.auth("acme-admin")
    r = c.post(
        "/api/v1/systems",
        json={"name": "api", "environment": "staging", "internet_exposed": True, "cadence_days": 1},
        headers=world.auth("acme-uploader"),
    )
    assert r.status_code == 201
    created = r.json()
    assert (created["environment"], created["internet_exposed"], created["cadence_days"]) == (
        "staging",
        True,
        1,
    )
    assert created["snapshot_count"] == 0
    assert created["last_observed_at"] is None
    assert c.post("/api/v1/systems", json={"name": "api"}, headers=admin).status_code == 409
    r = c.patch(
        "/api/v1/systems/api", json={"criticality": "critical", "internet_exposed": False}, headers=admin
    )
    assert r.status_code == 200
    assert (r.json()["criticality"], r.json()["internet_exposed"], r.json()["environment"]) == (
        "critical",
        False,
        "staging",
    )
    assert c.patch("/api/v1/systems/api", json={"criticality": "huge"}, headers=admin).status_code == 422
    names = [s["name"] for s in c.get("/api/v1/systems", headers=world.auth("acme-reader")).json()]
    assert names == ["api", "shop"]


def test_native_upload_created_then_unchanged(world: World) -> None:
    c, up = world.client, world.auth("acme-uploader")
    data = sbom(5, version="2.0")
    r1 = c.post("/api/v1/systems/shop/sboms", content=data, headers=up | {"Content-Type": "application/json"})
    r2 = c.post("/api/v1/systems/shop/sboms", content=data, headers=up)
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["status"] == "created"
    assert r2.json()["status"] == "unchanged"
    assert r1.json()["snapshot_id"] == r2.json()["snapshot_id"]
    assert r1.json()["component_count"] == 5


def test_native_upload_multipart_xml_observed_at_and_release(world: World) -> None:
    data = (SAMPLES / "laravel" / "laravel-7.12.0.cdx.xml").read_bytes()
    r = world.client.post(
        "/api/v1/systems/shop/sboms",
        params={"observed_at": "2024-02-03T04:05:06", "release": "7.12.0"},
        files={"bom": ("laravel.cdx.xml", data, "application/xml")},
        headers=world.auth("acme-uploader"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["observed_at"] == "2024-02-03T04:05:06Z"
    snap = world.client.get(f"/api/v1/snapshots/{r.json()['snapshot_id']}", headers=world.auth("acme-reader"))
    assert (snap.json()["release_label"], snap.json()["format"]) == ("7.12.0", "cyclonedx-xml")


def test_bad_sbom_is_400_with_the_readers_message(world: World) -> None:
    r = world.client.post(
        "/api/v1/systems/shop/sboms", content=b"{not json", headers=world.auth("acme-uploader")
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["title"] == "Bad Request"
    assert problem["detail"].startswith("upload to shop: ")
    r = world.client.post(
        "/api/v1/systems/shop/sboms", content=sbom(timestamp=None), headers=world.auth("acme-uploader")
    )
    assert r.status_code == 400
    assert "no timestamp" in r.json()["detail"]


def test_oversized_native_upload_is_413_also_without_content_length(world: World) -> None:
    big = b"x" * (MAX_BYTES + 10)
    r = world.client.post("/api/v1/systems/shop/sboms", content=big, headers=world.auth("acme-uploader"))
    assert r.status_code == 413

    def chunks() -> object:
        for _ in range(3):
            yield b"y" * (MAX_BYTES // 2)

    r = world.client.post("/api/v1/systems/shop/sboms", content=chunks(), headers=world.auth("acme-uploader"))
    assert r.status_code == 413


def test_upload_to_a_missing_system_is_404(world: World) -> None:
    r = world.client.post("/api/v1/systems/nope/sboms", content=sbom(), headers=world.auth("acme-uploader"))
    assert r.status_code == 404


def test_snapshot_and_components(world: World) -> None:
    c, rd = world.client, world.auth("acme-reader")
    data = sbom(2).replace(b'"purl": "pkg:pypi/lib1@1.0"', b'"purl": "pkg:unknowntype/lib1@1.0"')
    sid = c.post("/api/v1/systems/shop/sboms", content=data, headers=world.auth("acme-uploader")).json()[
        "snapshot_id"
    ]
    snap = c.get(f"/api/v1/snapshots/{sid}", headers=rd).json()
    assert snap["system"] == "shop"
    assert snap["sha256"] == hashlib.sha256(data).hexdigest()
    comps = c.get(f"/api/v1/snapshots/{sid}/components", headers=rd).json()
    assert [p["purl"] for p in comps["packages"]] == ["pkg:pypi/lib0@1.0"]
    assert [(u["name"], u["purl"]) for u in comps["not_assessable"]] == [("lib1", "pkg:unknowntype/lib1@1.0")]
    assert c.get("/api/v1/snapshots/999999", headers=rd).status_code == 404


def test_keys_created_once_listed_without_secret_and_revoked(world: World) -> None:
    c, admin = world.client, world.auth("acme-admin")
    r = c.post("/api/v1/keys", json={"role": "uploader", "name": "jenkins"}, headers=admin)
    assert r.status_code == 201
    token, key = r.json()["token"], r.json()["key"]
    assert token.startswith(f"pgk_{key['prefix']}_")
    listed = c.get("/api/v1/keys", headers=admin)
    assert token not in listed.text
    assert key["id"] in [k["id"] for k in listed.json()]
    with world.db.read() as session:
        stored = session.exec(select(ApiKey.key_hash).where(ApiKey.id == key["id"])).one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert c.get("/api/v1/systems", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    used = next(k for k in c.get("/api/v1/keys", headers=admin).json() if k["id"] == key["id"])
    assert used["last_used_at"] is not None
    assert c.delete(f"/api/v1/keys/{key['id']}", headers=admin).json()["revoked_at"] is not None
    assert c.get("/api/v1/systems", headers={"X-Api-Key": token}).status_code == 401
    # A token with the right prefix and a wrong secret is refused like an unknown one.
    forged = f"pgk_{key['prefix']}_{'A' * 43}"
    assert c.get("/api/v1/systems", headers={"X-Api-Key": forged}).status_code == 401


def test_validation_errors_are_problem_documents(world: World) -> None:
    r = world.client.get("/api/v1/snapshots/abc", headers=world.auth("acme-reader"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith("path.snapshot_id:")


def test_openapi_documents_bodies_examples_and_errors(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    upload = schema["paths"]["/api/v1/systems/{name}/sboms"]["post"]
    assert {"application/json", "application/xml", "multipart/form-data"} <= set(
        upload["requestBody"]["content"]
    )
    assert {"200", "201", "400", "404", "413"} <= set(upload["responses"])
    assert schema["paths"]["/api/v1/bom/token/{token}"]["get"]["deprecated"] is True
    assert "examples" in schema["components"]["schemas"]["DtBomUpload"]
    problem = upload["responses"]["400"]["content"]["application/problem+json"]["schema"]
    assert problem["required"] == ["type", "title", "status", "detail"]


@pytest.mark.parametrize("huge", [2**31, 2**63, 10**30])
def test_ids_beyond_the_integer_range_are_not_found(world: World, huge: int) -> None:
    """An id no row can have answers 404 like any missing id, on both databases (PostgreSQL would
    otherwise refuse the parameter: issue 12, item 8)."""
    c = world.client
    for path in (f"/api/v1/snapshots/{huge}", f"/api/v1/snapshots/{huge}/components"):
        r = c.get(path, headers=world.auth("acme-reader"))
        assert r.status_code == 404, (path, r.text)
        assert r.json()["detail"] == f"snapshot {huge} does not exist in organization 'acme'"
    r = c.delete(f"/api/v1/keys/{huge}", headers=world.auth("acme-admin"))
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == f"API key {huge} does not exist in organization 'acme'"
    assert c.get(f"/api/v1/snapshots/{-huge}", headers=world.auth("acme-reader")).status_code == 404


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def test_deeply_nested_or_non_utf8_json_is_a_400_naming_the_document(world: World) -> None:
    """One bounded JSON reader for every untrusted document: nesting past the interpreter's recursion
    limit is a refusal, not a 500 (issue 12, item 3; invalid UTF-8 in a policy: item 10)."""
    c, admin = world.client, world.auth("acme-admin")
    before = c.get("/api/v1/sla", headers=admin).json()
    for body, reason in ((DEEP_JSON, "nested too deeply"), (b'{"tiers": "\xff"}', "not UTF-8 text")):
        r = c.put("/api/v1/sla", content=body, headers=admin)
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith(f"SLA policy: not JSON: {reason}")
    assert c.get("/api/v1/sla", headers=admin).json() == before
    r = c.post("/api/v1/vex/import", content=DEEP_JSON, headers=admin)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == "uploaded VEX document: not JSON: nested too deeply"
    assert c.get("/api/v1/vex", headers=admin).json() == []


@pytest.mark.parametrize(
    ("days", "problem"),
    [
        ("1e9", "'days' must be a positive number, at most 3650"),
        ("0", "'days' must be a positive number, at most 3650"),
        ("NaN", "not JSON: NaN is not a JSON number"),
        ("Infinity", "not JSON: Infinity is not a JSON number"),
        ('7, "min_cvss": 11', "'min_cvss' must be null or a number from 0 to 10"),
    ],
)
def test_an_sla_policy_that_would_break_later_reports_is_refused(
    world: World, days: str, problem: str
) -> None:
    """Issue 12, item 4: days are finite, positive and bounded, thresholds within their scales; the
    stored policy and the reports are unchanged by a refusal."""
    c, admin = world.client, world.auth("acme-admin")
    before = c.get("/api/v1/sla", headers=admin).json()
    body = '{"tiers": [{"name": "a", "days": ' + days + "}]}"
    r = c.put("/api/v1/sla", content=body.encode(), headers=admin)
    assert r.status_code == 400, r.text
    assert problem in r.json()["detail"]
    assert c.get("/api/v1/sla", headers=admin).json() == before
    assert c.get("/api/v1/reports/deploy-time", headers=admin).status_code == 200


def test_a_stored_policy_that_no_longer_validates_gives_way_to_the_defaults(world: World) -> None:
    """What an earlier version may have stored (days of 1e9) no longer breaks every report."""
    from pipeline.sla import DEFAULT_POLICY
    from store.queries.exposures import set_sla_policy
    from store.queries.organizations import organization_id

    c, admin = world.client, world.auth("acme-admin")
    with world.db.write() as session:
        set_sla_policy(session, organization_id(session, "acme"), {"tiers": [{"name": "a", "days": 1e9}]})
    assert c.get("/api/v1/sla", headers=admin).json() == json.loads(DEFAULT_POLICY.to_json())
    assert c.get("/api/v1/reports/deploy-time", headers=admin).status_code == 200
    assert c.get("/api/v1/exposures", headers=admin).status_code == 200


FAR_MOMENTS = ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00+08:00", "1969-12-31T23:59:59Z"]


@pytest.mark.parametrize("moment", FAR_MOMENTS)
def test_moments_outside_the_accepted_range_are_a_400(world: World, moment: str) -> None:
    """Issue 12, item 7: as_of and observed_at outside 1970-01-01 .. 2200-01-01 are refused (not a 500),
    and nothing is stored by a refused upload."""
    c, rd = world.client, world.auth("acme-reader")
    expected = f"as_of {datetime.fromisoformat(moment).isoformat()} is outside the accepted range"
    for path in ("/api/v1/reports/deploy-time", "/api/v1/exposures", "/api/v1/exports/csaf-vex"):
        r = c.get(path, params={"as_of": moment}, headers=rd)
        assert r.status_code == 400, (path, r.text)
        assert expected in r.json()["detail"]
    before = c.get("/api/v1/systems/shop/snapshots", headers=rd).json()
    r = c.post(
        "/api/v1/systems/shop/sboms",
        params={"observed_at": moment},
        content=sbom(version="9.9"),
        headers=world.auth("acme-uploader"),
    )
    assert r.status_code == 400, r.text
    assert "observed_at" in r.json()["detail"]
    assert "outside the accepted range" in r.json()["detail"]
    assert c.get("/api/v1/systems/shop/snapshots", headers=rd).json() == before
