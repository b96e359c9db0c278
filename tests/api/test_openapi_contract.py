"""The OpenAPI document says what the server does (issue 12, item 11); the schemathesis run
(test_schemathesis.py) checks it broadly, these pin each rule."""

from __future__ import annotations

import pytest

from tests.api.conftest import World


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/api/v1/systems", "DELETE", "GET, POST"),
        ("/api/v1/systems/shop", "PUT", "GET, PATCH, DELETE"),
        ("/api/v1/sla", "POST", "GET, PUT"),
        ("/api/v1/bom", "GET", "POST, PUT"),
        ("/api/v1/keys", "PATCH", "GET, POST"),
        ("/api/v1/vex", "OPTIONS", "GET, POST"),
    ],
)
def test_a_405_allows_every_method_of_the_path(world: World, path: str, method: str, allowed: str) -> None:
    r = world.client.request(method, path, headers=world.auth("acme-admin"))
    assert r.status_code == 405
    assert r.headers["allow"] == allowed
    assert r.headers["content-type"] == "application/problem+json"
    document = world.client.get("/openapi.json").json()["paths"][path.replace("shop", "{name}")]
    assert sorted(m.upper() for m in document) == sorted(allowed.split(", "))


def test_every_operation_with_input_documents_its_400_and_422_as_problems(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    operations = [op for item in paths.values() for op in item.values()]
    with_input = [op for op in operations if op.get("parameters") or op.get("requestBody")]
    assert len(with_input) > 20
    for op in with_input:
        for status in ("400", "422"):
            assert list(op["responses"][status]["content"]) == ["application/problem+json"], op["operationId"]
    for op in operations:
        if op.get("requestBody"):
            assert "413" in op["responses"], op["operationId"]
    schemas = world.client.get("/openapi.json").json()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas


def test_a_body_that_does_not_parse_is_a_documented_400(world: World) -> None:
    r = world.client.post(
        "/api/v1/systems",
        content=b"\xff{",
        headers={**world.auth("acme-admin"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("value", ["0.5", "1700000000", "yesterday", "2024-13-01T00:00:00Z"])
def test_a_moment_is_an_rfc3339_date_time_never_a_number(world: World, value: str) -> None:
    r = world.client.get("/api/v1/exposures", params={"as_of": value}, headers=world.auth("acme-reader"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("query.as_of:")


def test_the_document_states_the_accepted_years_and_the_server_keeps_to_them(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    (as_of,) = [p for p in paths["/api/v1/exposures"]["get"]["parameters"] if p["name"] == "as_of"]
    pattern = as_of["schema"]["anyOf"][0]["pattern"]
    assert pattern == "^(19[7-9][0-9]|2[01][0-9]{2})-"
    reader = world.auth("acme-reader")
    for moment, status in [
        ("1970-01-01T00:00:00+08:00", 200),  # written in 1970: accepted, though 1969 in UTC
        ("2199-12-31T23:59:59-08:00", 200),
        ("1969-12-31T23:59:59Z", 400),
        ("2200-01-01T00:00:00Z", 400),
    ]:
        r = world.client.get("/api/v1/exposures", params={"as_of": moment}, headers=reader)
        assert r.status_code == status, (moment, r.text)


def test_the_sla_policy_schema_is_the_validation(world: World) -> None:
    admin = world.auth("acme-admin")
    before = world.client.get("/api/v1/sla", headers=admin).json()
    refused = [
        {"tiers": [{"name": "all", "days": 30}], "extra": 1},  # unknown top-level field
        {"tiers": [{"name": "a\u0085b", "days": 30}]},  # a C1 control character
        {"tiers": [{"name": "all", "days": 30}, {"name": "all", "days": 7}]},  # duplicate names
    ]
    for body in refused:
        r = world.client.put("/api/v1/sla", json=body, headers=admin)
        assert r.status_code == 400, (body, r.text)
    assert world.client.get("/api/v1/sla", headers=admin).json() == before
    accepted = {"tiers": [{"name": "ĉiuj — all\u00a0tiers", "days": 30}]}  # not "printable", but no control
    r = world.client.put("/api/v1/sla", json=accepted, headers=admin)
    assert r.status_code == 200, r.text
    schema = world.client.get("/openapi.json").json()["paths"]["/api/v1/sla"]["put"]["requestBody"]
    assert schema["content"]["application/json"]["schema"]["additionalProperties"] is False


def test_dependency_track_json_flags_are_json_booleans(world: World) -> None:
    r = world.client.put(
        "/api/v1/bom",
        json={"projectName": "shop", "bom": "e30=", "isLatest": 0},
        headers=world.auth("acme-uploader"),
    )
    assert r.status_code == 422
    assert "isLatest" in r.json()["detail"]


def test_a_database_that_is_down_is_a_503_not_a_client_error(world: World) -> None:
    """A transient storage failure (the server gone) is the server's problem and worth a retry."""
    from sqlalchemy.engine import make_url

    from store.db import Database

    url = make_url(str(world.db.url))
    if url.get_backend_name() == "sqlite":
        broken = Database.open("sqlite:////nonexistent-dir/patchgap.db")
    else:
        broken = Database.open(url.set(port=1).render_as_string(hide_password=False))
    world.client.app.state.db = broken  # type: ignore[attr-defined]
    try:
        r = world.client.get("/api/v1/systems", headers=world.auth("acme-reader"))
    finally:
        world.client.app.state.db = world.db  # type: ignore[attr-defined]
        broken.dispose()
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith("database: ")
