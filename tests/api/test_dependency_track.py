"""Dependency-Track-compatible upload, with the exact requests DT clients send.

The JSON PUT is what ``curl -X PUT -H "X-Api-Key: $KEY" -H "Content-Type: application/json"
-d @payload.json $URL/api/v1/bom`` sends (the DT Jenkins plugin and GitHub action send the same body);
the multipart POST is what ``curl -X POST -H "X-Api-Key: $KEY" -F "autoCreate=true"
-F "projectName=…" -F "projectVersion=…" -F "bom=@bom.json" $URL/api/v1/bom`` sends.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from pipeline.uploads import project_uuid, run_pending
from tests.api.conftest import MAX_BYTES, World, sbom

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"


def put_payload(data: bytes, **fields: object) -> bytes:
    body = {"projectName": "webshop", "projectVersion": "2.4.1", "autoCreate": True, **fields}
    body["bom"] = base64.b64encode(data).decode()
    return json.dumps(body).encode()


def curl_put(world: World, payload: bytes, key: str = "acme-uploader") -> tuple[int, dict[str, object]]:
    r = world.client.put(
        "/api/v1/bom",
        content=payload,
        headers={"X-Api-Key": world.keys[key], "Content-Type": "application/json", "Accept": "*/*"},
    )
    return r.status_code, r.json()


def curl_post(
    world: World, data: bytes, fields: dict[str, str], *, bearer: bool = False
) -> tuple[int, dict[str, object]]:
    key = world.keys["acme-uploader"]
    headers = {"Authorization": f"Bearer {key}"} if bearer else {"X-Api-Key": key}
    r = world.client.post(
        "/api/v1/bom",
        data=fields,
        files={"bom": ("bom.json", data, "application/octet-stream")},
        headers=headers,
    )
    return r.status_code, r.json()


def job(world: World, token: str) -> dict[str, object]:
    r = world.client.get(f"/api/v1/uploads/{token}", headers=world.auth("acme-reader"))
    assert r.status_code == 200, r.text
    result: dict[str, object] = r.json()
    return result


def test_put_queues_then_the_worker_stores_a_snapshot_with_the_release_label(world: World) -> None:
    status, body = curl_put(world, put_payload(sbom(4)))
    assert status == 200
    assert set(body) == {"token", "projectUuid"}
    token = str(body["token"])
    assert uuid.UUID(token)
    assert body["projectUuid"] == project_uuid("acme", "webshop")
    for route in (f"/api/v1/event/token/{token}", f"/api/v1/bom/token/{token}"):
        answer = world.client.get(route, headers=world.auth("acme-reader")).json()
        assert answer == {"processing": True, "failed": False}
    assert world.drain() == 1
    for route in (f"/api/v1/event/token/{token}", f"/api/v1/bom/token/{token}"):
        answer = world.client.get(route, headers=world.auth("acme-reader")).json()
        assert answer == {"processing": False, "failed": False}
    done = job(world, token)
    assert done["status"] == "done"
    assert done["result"] == "created"
    snaps = world.client.get("/api/v1/systems/webshop/snapshots", headers=world.auth("acme-reader")).json()
    assert [(s["id"], s["release_label"], s["component_count"]) for s in snaps] == [
        (done["snapshot_id"], "2.4.1", 4)
    ]


def test_multipart_post_with_x_api_key_and_with_bearer(world: World) -> None:
    fields = {"autoCreate": "true", "projectName": "billing", "projectVersion": "7"}
    s1, b1 = curl_post(world, sbom(2), fields)
    s2, b2 = curl_post(world, sbom(3), fields, bearer=True)
    assert (s1, s2) == (200, 200)
    assert b1["projectUuid"] == b2["projectUuid"] == project_uuid("acme", "billing")
    assert world.drain() == 2
    assert [job(world, str(b["token"]))["result"] for b in (b1, b2)] == ["created", "created"]


def test_the_same_sbom_through_native_put_and_post_is_one_snapshot(world: World) -> None:
    data = (SAMPLES / "juice-shop" / "juice-shop-11.1.2.cdx.json").read_bytes()
    c = world.client
    assert (
        c.post("/api/v1/systems", json={"name": "juice"}, headers=world.auth("acme-uploader")).status_code
        == 201
    )
    native = c.post("/api/v1/systems/juice/sboms", content=data, headers=world.auth("acme-uploader"))
    assert native.status_code == 201, native.text
    _, put = curl_put(world, put_payload(data, projectName="juice", autoCreate=False))
    _, post = curl_post(world, data, {"projectName": "juice"})
    assert world.drain() == 2
    second, third = job(world, str(put["token"])), job(world, str(post["token"]))
    assert (second["result"], third["result"]) == ("unchanged", "unchanged")
    assert second["snapshot_id"] == third["snapshot_id"] == native.json()["snapshot_id"]
    assert len(c.get("/api/v1/systems/juice/snapshots", headers=world.auth("acme-reader")).json()) == 1


def test_project_uuid_names_an_existing_system(world: World) -> None:
    status, body = curl_put(
        world, put_payload(sbom(6), project=project_uuid("acme", "shop"), projectName=None)
    )
    assert status == 200
    assert body["projectUuid"] == project_uuid("acme", "shop")
    world.drain()
    assert job(world, str(body["token"]))["system"] == "shop"
    status, _ = curl_put(world, put_payload(sbom(6), project=str(uuid.uuid4()), projectName=None))
    assert status == 404


def test_unknown_project_without_auto_create_is_not_found(world: World) -> None:
    status, body = curl_put(world, put_payload(sbom(), projectName="nowhere", autoCreate=False))
    assert status == 404
    assert str(body["detail"]).startswith("project 'nowhere' does not exist")
    status, _ = curl_post(world, sbom(), {"projectName": "nowhere"})
    assert status == 404
    assert world.client.get("/api/v1/systems/nowhere", headers=world.auth("acme-reader")).status_code == 404


def test_bad_base64_is_refused(world: World) -> None:
    payload = json.dumps({"projectName": "webshop", "autoCreate": True, "bom": "not base64!"}).encode()
    status, body = curl_put(world, payload)
    assert status == 400
    assert "not valid Base64" in str(body["detail"])


def test_a_broken_sbom_is_refused_at_upload_and_nothing_is_stored_or_queued(world: World) -> None:
    # Issue 15 item 5: the Base64 of "hello world" used to answer 200 with a token reading
    # `processing: false`, exactly like a good upload.
    broken = {
        b"hello world": "unknown SBOM format",
        b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}': "9.9",
        b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [': "malformed JSON",
    }
    for data, reason in broken.items():
        r = world.client.put(
            "/api/v1/bom",
            content=put_payload(data),
            headers={"X-Api-Key": world.keys["acme-uploader"], "Content-Type": "application/json"},
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["status"] == 400
        assert problem["detail"].startswith("bom of webshop: ")
        assert reason in problem["detail"]
        status, body = curl_post(world, data, {"projectName": "webshop", "autoCreate": "true"})
        assert status == 400
        assert reason in str(body["detail"])
    # autoCreate created no system, and nothing waits in the queue.
    assert world.client.get("/api/v1/systems/webshop", headers=world.auth("acme-reader")).status_code == 404
    assert world.drain() == 0


def test_a_failure_found_by_the_worker_shows_on_the_token_routes(world: World) -> None:
    status, body = curl_put(world, put_payload(sbom(3)))
    assert status == 200
    token = str(body["token"])
    # A worker process configured with a lower size limit than the API's refuses the queued SBOM.
    assert run_pending(world.db, max_bytes=64) == 1
    failed = job(world, token)
    assert failed["status"] == "failed"
    assert "limit of 64 bytes" in str(failed["error"])
    for route in (f"/api/v1/event/token/{token}", f"/api/v1/bom/token/{token}"):
        answer = world.client.get(route, headers=world.auth("acme-reader")).json()
        assert answer == {"processing": False, "failed": True, "error": failed["error"]}


def test_an_sbom_without_timestamp_is_observed_at_upload_time(world: World) -> None:
    _, body = curl_put(world, put_payload(sbom(2, timestamp=None)))
    world.drain()
    done = job(world, str(body["token"]))
    assert done["status"] == "done", done
    snap = world.client.get(
        f"/api/v1/snapshots/{done['snapshot_id']}", headers=world.auth("acme-reader")
    ).json()
    assert snap["observed_at"][:10] == str(done["created_at"])[:10]


def test_oversized_uploads_answer_413(world: World) -> None:
    big = b" " * (MAX_BYTES + 1)
    status, body = curl_put(world, put_payload(big))
    assert status == 413
    assert body["status"] == 413
    status, _ = curl_post(world, big, {"projectName": "webshop", "autoCreate": "true"})
    assert status == 413


def test_unknown_token_is_not_found(world: World) -> None:
    r = world.client.get(f"/api/v1/event/token/{uuid.uuid4()}", headers=world.auth("acme-reader"))
    assert r.status_code == 404
