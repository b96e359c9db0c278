"""What the API lets a tenant name and see: one rule for system names on every way a system is created,
and no global (cross-organization) id in any answer."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.conftest import World, sbom

BAD_NAMES = ["a/b", "tab\there", "nul\x00byte", "del\x7f", "line\nbreak", "   ", "x" * 201]


def _system_names(world: World) -> list[str]:
    r = world.client.get("/api/v1/systems", headers=world.auth("acme-admin"))
    assert r.status_code == 200, r.text
    return [s["name"] for s in r.json()]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_one_name_rule_for_every_way_a_system_is_created(world: World, name: str) -> None:
    before = _system_names(world)
    created = world.client.post("/api/v1/systems", json={"name": name}, headers=world.auth("acme-admin"))
    assert created.status_code in (400, 422), created.text
    put = world.client.put(
        "/api/v1/bom",
        content=json.dumps(
            {"projectName": name, "autoCreate": True, "bom": base64.b64encode(sbom()).decode()}
        ).encode(),
        headers={**world.auth("acme-uploader"), "Content-Type": "application/json"},
    )
    assert put.status_code in (400, 422), put.text  # 422: the body's schema already says "at most 200"
    assert put.headers["content-type"].startswith("application/problem+json")
    posted = world.client.post(
        "/api/v1/bom",
        data={"projectName": name, "autoCreate": "true"},
        files={"bom": ("bom.json", sbom(), "application/octet-stream")},
        headers=world.auth("acme-uploader"),
    )
    assert posted.status_code == 400, posted.text
    # A form field of blanks is no name at all (Dependency-Track trims form fields).
    assert any(w in posted.json()["detail"] for w in ("system name", "projectName"))
    world.drain()
    assert _system_names(world) == before


def test_a_good_name_still_creates_a_system_through_dependency_track(world: World) -> None:
    posted = world.client.post(
        "/api/v1/bom",
        data={"projectName": "web shop (eu) · v2", "autoCreate": "true"},
        files={"bom": ("bom.json", sbom(), "application/octet-stream")},
        headers=world.auth("acme-uploader"),
    )
    assert posted.status_code == 200, posted.text
    world.drain()
    assert "web shop (eu) · v2" in _system_names(world)


def test_answers_carry_no_id_shared_across_organizations(world: World) -> None:
    """A component list acme already uploaded and one nobody has: globex gets answers of the same shape,
    with nothing global (content-addressed) in them that would tell it the first list is known."""
    known = world.client.post("/api/v1/systems/mill/sboms", content=sbom(7), headers=world.auth("acme-admin"))
    assert known.status_code == 404  # acme has no system "mill": the route is tenant-scoped
    assert world.client.post(
        "/api/v1/systems", json={"name": "a"}, headers=world.auth("acme-admin")
    ).is_success
    first = world.client.post("/api/v1/systems/a/sboms", content=sbom(7), headers=world.auth("acme-admin"))
    assert first.status_code == 201, first.text
    answers = []
    for n in (7, 9):  # 7: the same bytes acme uploaded; 9: a list nobody uploaded
        r = world.client.post(
            "/api/v1/systems/mill/sboms", content=sbom(n), headers=world.auth("globex-admin")
        )
        assert r.status_code == 201, r.text
        answers.append(r.json())
    assert answers[0].keys() == answers[1].keys()
    assert "component_set_id" not in answers[0]
    for answer in answers:
        shown = world.client.get(
            f"/api/v1/snapshots/{answer['snapshot_id']}", headers=world.auth("globex-admin")
        )
        assert shown.status_code == 200
        assert "component_set_id" not in shown.json()
    listed = world.client.get("/api/v1/systems/mill/snapshots", headers=world.auth("globex-admin")).json()
    assert all("component_set_id" not in s for s in listed)
    schemas = world.client.get("/openapi.json").json()["components"]["schemas"]
    assert "component_set_id" not in schemas["IngestOut"]["properties"]
    assert "component_set_id" not in schemas["SnapshotOut"]["properties"]
