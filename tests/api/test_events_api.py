"""``GET /api/v1/events``: any key of the organization reads its own events and the installation's,
never another organization's; paged with ``next``; filtered by kind (both databases)."""

from __future__ import annotations

from typing import get_args

from api.routes.events import EventKind
from core.events import EVENT_KINDS, SYNC_FAILED, UPLOAD_FAILED
from pipeline.uploads import enqueue_upload
from store.queries.notifications import add_event
from store.queries.organizations import organization_id
from tests.api.conftest import MAX_BYTES, World


def _failed_upload(world: World, org: str, system: str) -> str:
    with world.db.read() as session:
        org_id = organization_id(session, org)
    token = enqueue_upload(
        world.db, org_id=org_id, org=org, system=system, data=b"hello world", source="ci", max_bytes=MAX_BYTES
    ).token
    world.drain()
    return token


def test_the_documented_kinds_are_the_kinds() -> None:
    assert set(get_args(EventKind)) == set(EVENT_KINDS)


def test_each_organization_reads_its_own_events_and_the_installations(world: World) -> None:
    acme = [_failed_upload(world, "acme", "shop") for _ in range(3)]
    globex = _failed_upload(world, "globex", "mill")
    with world.db.write() as session:
        add_event(session, None, SYNC_FAILED, "kev:7", {"job": {"name": "kev"}, "summary": "kev sync failed"})

    r = world.client.get("/api/v1/events", headers=world.auth("acme-reader"))
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert [e["kind"] for e in events] == [UPLOAD_FAILED] * 3 + [SYNC_FAILED]
    assert [e["data"]["upload"]["token"] for e in events[:3]] == acme
    assert {e["organization"] for e in events} == {"acme", None}
    assert events[0]["data"]["system"]["name"] == "shop"
    assert r.json()["next"] is None

    other = world.client.get("/api/v1/events", headers=world.auth("globex-admin")).json()["events"]
    assert [e["data"].get("upload", {}).get("token") for e in other] == [globex, None]
    assert not {e["id"] for e in other[:1]} & {e["id"] for e in events}

    # Pages: `next` continues after the last id read, until a page is not full.
    first = world.client.get("/api/v1/events?limit=2", headers=world.auth("acme-uploader")).json()
    assert [e["id"] for e in first["events"]] == [e["id"] for e in events[:2]]
    second = world.client.get(first["next"], headers=world.auth("acme-uploader")).json()
    assert [e["id"] for e in second["events"]] == [e["id"] for e in events[2:]]
    assert second["next"] is not None
    third = world.client.get(second["next"], headers=world.auth("acme-uploader")).json()
    assert third == {"events": [], "next": None}

    only = world.client.get(
        "/api/v1/events", params={"kind": SYNC_FAILED}, headers=world.auth("acme-admin")
    ).json()["events"]
    assert [e["kind"] for e in only] == [SYNC_FAILED]


def test_bad_parameters_are_refused_naming_them(world: World) -> None:
    refused = (({"kind": "exposure.invented"}, "kind"), ({"after": "-1"}, "after"), ({"limit": 0}, "limit"))
    for params, name in refused:
        r = world.client.get("/api/v1/events", params=params, headers=world.auth("acme-reader"))
        assert r.status_code == 422, r.text
        assert name in r.json()["detail"]
    assert world.client.get("/api/v1/events").status_code == 401
