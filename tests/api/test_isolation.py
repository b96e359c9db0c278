"""Tenant isolation and roles, over EVERY route of the OpenAPI document (new routes are walked too).

For each operation the test knows a value for each path parameter and a request for each write route
(and fails, naming the route, when a new one appears without them), then checks:

- with a key of another organization: a route that names one of acme's ids (in its path, or a
  ``system`` query) answers 404 exactly like a missing id, and no answer contains acme's data; routes
  of global data (advisories) answer both organizations alike, still without acme's data;
- with acme's reader key: every write route answers 403;
- without a key: every route answers 401.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.cra import set_manufacturer
from pipeline.uploads import project_uuid
from tests.api.conftest import World, sbom

WRITE = {"post", "put", "patch", "delete"}
VEX_DOCUMENT = json.dumps(
    {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "a",
        "timestamp": "2024-01-01T00:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2024-0002"},
                "products": [{"@id": "pkg:pypi/lib1"}],
                "status": "not_affected",
                "justification": "component_not_present",
            }
        ],
    }
).encode()
SLA_POLICY = b'{"tiers": [{"name": "all", "days": 30}]}'
AKRITES = Path(__file__).resolve().parents[2] / "sbom_samples" / "advisories" / "akrites"
ADVISORY = "AKRITES-SAMPLE-2026-0004"
# Global data: every organization reads the same document, which must hold nothing of acme's.
GLOBAL = {("get", "/api/v1/advisories/{id}")}
# Query values: required parameters, and acme's system for routes scoped by a `system` query.
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("get", "/api/v1/exports/csaf-vex"): {"system": "shop"},
    ("get", "/api/v1/exports/cyclonedx-vex"): {"system": "shop"},
    ("get", "/api/v1/exports/openvex"): {"system": "shop"},
    ("get", "/api/v1/exports/nis2-evidence"): {"from": "2024-01-01T00:00:00Z"},
    ("get", "/api/v1/plan"): {"system": "shop"},
    ("get", "/api/v1/project/lookup"): {"name": "shop"},
    # Confirmed: only the key (role, organization) stands between the request and the deletion.
    ("delete", "/api/v1/systems/{name}"): {"confirm": "true"},
    # A package both organizations run: each must see only its own systems running it.
    ("get", "/api/v1/components"): {"q": "lib0"},
    ("get", "/api/v1/components/versions"): {"q": "lib0"},
}
# Routes naming acme's system in another query than `system` (Dependency-Track's `name`): 404 for others.
NAMED_IN_QUERY = {("get", "/api/v1/project/lookup")}
# Routes whose `system` query only filters the caller's own rows (another's name: nothing matches).
SYSTEM_FILTERS = {
    ("get", "/api/v1/exposures"),
    ("get", "/api/v1/exposures/export"),
    ("get", "/api/v1/analyses"),
}
# A decision a key may make about anything (allow_unmatched): valid for acme and for globex alike.
ANALYSIS = {
    "vulnerability": "CVE-2024-0001",
    "purl": "pkg:pypi/lib0",
    "state": "in_triage",
    "allow_unmatched": True,
}
# A notification rule (its receiver is never contacted: every request here is refused before sending).
NOTIFICATION_RULE = {
    "name": "isolation-probe",
    "channel": {"type": "slack", "url": "https://hooks.example/x"},
}
# Unauthenticated documentation routes are not in the schema; everything in it needs a key.


def operations(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    schema = world.client.app.openapi()  # type: ignore[attr-defined]
    return [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in WRITE | {"get"}
    ]


def acme_values(world: World) -> dict[str, str]:
    """A value of acme's for every path parameter name used by the API."""
    c = world.client
    snapshot_id = c.get("/api/v1/systems/shop/snapshots", headers=world.auth("acme-reader")).json()[0]["id"]
    bom = base64.b64encode(sbom(2)).decode()
    token = c.put(
        "/api/v1/bom", json={"projectName": "shop", "bom": bom}, headers=world.auth("acme-uploader")
    ).json()["token"]
    world.drain()
    reader_key = next(
        k for k in c.get("/api/v1/keys", headers=world.auth("acme-admin")).json() if k["role"] == "reader"
    )
    # Advisories are global; both organizations are manufacturers, so each has a CRA register.
    import_advisories(world.db, open_path(AKRITES, "akrites"), source="akrites", origin=str(AKRITES))
    for org in ("acme", "globex"):
        set_manufacturer(world.db, org, True)
    analysis = c.post("/api/v1/analyses", json=ANALYSIS, headers=world.auth("acme-admin"))
    assert analysis.status_code == 201, analysis.text
    rule = c.post("/api/v1/notification-rules", json=NOTIFICATION_RULE, headers=world.auth("acme-admin"))
    assert rule.status_code == 201, rule.text
    return {
        "rule_id": str(rule.json()["rule"]["id"]),
        "analysis_id": str(analysis.json()["id"]),
        "name": "shop",
        "snapshot_id": str(snapshot_id),
        "token": token,
        "key_id": str(reader_key["id"]),
        "id": ADVISORY,
        "uuid": project_uuid("acme", "shop"),
    }


def request_for(method: str, path: str, world: World) -> dict[str, Any]:
    """The body of a write route: valid for acme, so only the key decides the answer."""
    acme_bom = base64.b64encode(sbom(2, version="2.0")).decode()
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("post", "/api/v1/systems"): {"json": {"name": "isolation-probe"}},
        ("patch", "/api/v1/systems/{name}"): {"json": {"criticality": "high"}},
        ("post", "/api/v1/systems/{name}/decommission"): {},
        ("post", "/api/v1/systems/{name}/recommission"): {},
        ("delete", "/api/v1/systems/{name}"): {},
        ("post", "/api/v1/systems/{name}/sboms"): {"content": sbom(4)},
        ("put", "/api/v1/bom"): {"json": {"project": project_uuid("acme", "shop"), "bom": acme_bom}},
        ("post", "/api/v1/bom"): {
            "data": {"projectName": "shop", "autoCreate": "false"},
            "files": {"bom": ("bom.json", sbom(5), "application/json")},
        },
        ("post", "/api/v1/keys"): {"json": {"role": "reader"}},
        ("delete", "/api/v1/keys/{key_id}"): {},
        ("post", "/api/v1/vex"): {
            "json": {
                "vulnerability": "CVE-2024-0001",
                "purl": "pkg:pypi/lib0",
                "status": "not_affected",
                "justification": "component_not_present",
            }
        },
        ("post", "/api/v1/vex/import"): {"content": VEX_DOCUMENT},
        ("post", "/api/v1/analyses"): {"json": ANALYSIS},
        ("put", "/api/v1/sla"): {"content": SLA_POLICY},
        ("post", "/api/v1/notification-rules"): {"json": NOTIFICATION_RULE},
        ("delete", "/api/v1/notification-rules/{rule_id}"): {},
        ("post", "/api/v1/notification-rules/{rule_id}/test"): {},
    }
    if method == "get":
        return {}
    assert (method, path) in bodies, (
        f"new write route {method.upper()} {path}: add a request to the isolation test"
    )
    return bodies[(method, path)]


def query_for(method: str, path: str, op: dict[str, Any]) -> dict[str, str]:
    """The query of a route: fails, naming the route, when a new one needs a value the test lacks."""
    params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    given = QUERIES.get((method, path), {})
    for name, param in params.items():
        assert not param.get("required") or name in given, (
            f"{method.upper()} {path}: add a value for its required query parameter {name!r}"
        )
    assert "system" not in params or "system" in given or (method, path) in SYSTEM_FILTERS, (
        f"{method.upper()} {path} takes a system: give acme's in QUERIES (404 expected for others) "
        "or list it in SYSTEM_FILTERS"
    )
    return given


def fill(path: str, values: dict[str, str]) -> str:
    out = path
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    assert "{" not in out, f"route {path}: add a value for its path parameter to the isolation test"
    return out


def test_every_route_hides_other_organizations_data(world: World) -> None:
    values = acme_values(world)
    ops = operations(world)
    assert len(ops) >= 14
    acme_markers = ["shop", values["token"], project_uuid("acme", "shop")]
    for method, path, op in ops:
        url = fill(path, values)
        query = query_for(method, path, op)
        r = world.client.request(
            method, url, params=query, headers=world.auth("globex-admin"), **request_for(method, path, world)
        )
        where = f"{method.upper()} {path} with another organization's key"
        if (method, path) in GLOBAL:
            assert r.status_code == 200, f"{where}: {r.status_code} {r.text}"
        elif "{" in path or path == "/api/v1/bom" or "system" in query or (method, path) in NAMED_IN_QUERY:
            # A path id, a system query, or a project named in the body: acme's do not exist for globex.
            assert r.status_code == 404, f"{where}: {r.status_code} {r.text}"
            assert r.headers["content-type"] == "application/problem+json"
        else:
            assert r.status_code < 400, f"{where}: {r.status_code} {r.text}"
        for marker in acme_markers:
            assert marker not in r.text or "does not exist" in r.text, f"{where} leaks {marker!r}: {r.text}"


def test_reader_keys_cannot_write_anywhere(world: World) -> None:
    values = acme_values(world)
    writes = [(m, p) for m, p, _ in operations(world) if m in WRITE]
    assert len(writes) >= 6
    for method, path in writes:
        r = world.client.request(
            method, fill(path, values), headers=world.auth("acme-reader"), **request_for(method, path, world)
        )
        assert r.status_code == 403, f"{method.upper()} {path} with a reader key: {r.status_code} {r.text}"


def test_uploader_keys_cannot_administer(world: World) -> None:
    values = acme_values(world)
    admin_only = [
        ("patch", "/api/v1/systems/{name}"),
        ("post", "/api/v1/systems/{name}/decommission"),
        ("post", "/api/v1/systems/{name}/recommission"),
        ("delete", "/api/v1/systems/{name}"),
        ("post", "/api/v1/keys"),
        ("delete", "/api/v1/keys/{key_id}"),
        ("get", "/api/v1/keys"),
        ("post", "/api/v1/analyses"),
    ]
    for method, path in admin_only:
        r = world.client.request(
            method,
            fill(path, values),
            headers=world.auth("acme-uploader"),
            **request_for(method, path, world),
        )
        assert r.status_code == 403, f"{method.upper()} {path} with an uploader key: {r.status_code}"


@pytest.mark.parametrize(
    "headers", [{}, {"X-Api-Key": "pgk_000000000000_nope"}, {"Authorization": "Bearer nope"}]
)
def test_every_route_needs_a_valid_key(world: World, headers: dict[str, str]) -> None:
    values = acme_values(world)
    for method, path, op in operations(world):
        r = world.client.request(
            method,
            fill(path, values),
            params=query_for(method, path, op),
            headers=headers,
            **request_for(method, path, world),
        )
        assert r.status_code == 401, f"{method.upper()} {path} without a valid key: {r.status_code}"
        assert r.headers.get("www-authenticate") == "Bearer"


def test_every_operation_declares_both_security_schemes(world: World) -> None:
    schema = world.client.app.openapi()  # type: ignore[attr-defined]
    assert set(schema["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    for method, path, op in operations(world):
        assert {"ApiKey": []} in op["security"], f"{method} {path}"
        assert {"Bearer": []} in op["security"], f"{method} {path}"
        assert "200" in op["responses"] or "201" in op["responses"], f"{method} {path}"
        assert "401" in op["responses"], f"{method} {path} does not document 401"


def test_the_walk_refuses_routes_it_has_no_values_for() -> None:
    # The walk covers new routes only because it fails on them until they are given values.
    required = {"parameters": [{"name": "since", "in": "query", "required": True}]}
    with pytest.raises(AssertionError, match="required query parameter 'since'"):
        query_for("get", "/api/v1/new", required)
    scoped = {"parameters": [{"name": "system", "in": "query", "required": False}]}
    with pytest.raises(AssertionError, match="takes a system"):
        query_for("get", "/api/v1/new", scoped)
    with pytest.raises(AssertionError, match="add a value for its path parameter"):
        fill("/api/v1/new/{thing}", {"name": "shop"})
    assert query_for("get", "/api/v1/exposures", scoped) == {}
