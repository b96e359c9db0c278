"""Text that breaks storage, through the API, on SQLite and PostgreSQL alike (issue 12, items 5 and 6).

A NUL (or a lone surrogate) in an SBOM is a 400 naming the upload and the field; in a request's text
field a 422 naming the field; in a path or query parameter a 422 naming the parameter — never a 5xx,
never a difference between the databases, and nothing stored changes. Names, versions and purls over
the limits of ``core.text`` keep their component as not assessable (``too-long``), stored truncated.
"""

from __future__ import annotations

import json
import random
import re
import string
from typing import Any

import pytest

from core.text import (
    NAME_MAX_BYTES,
    NO_NUL_PATTERN,
    PURL_MAX_BYTES,
    SINGLE_LINE_PATTERN,
    VERSION_MAX_BYTES,
    utf8_length,
)
from core.triage import PURL_PATTERN
from tests.api.conftest import World
from tests.ingest.sbom.documents import BUILDERS

GOOD = ("good", "1.0", "pkg:pypi/good@1.0")


def noise(n: int, seed: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    """Text that does not compress: PostgreSQL compresses index entries, so "x" * 3000 would fit."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def stored(world: World) -> dict[str, Any]:
    """What the API shows of acme's stored state: systems, snapshots, components, keys, VEX, SLA."""
    c, admin = world.client, world.auth("acme-admin")
    systems = c.get("/api/v1/systems", headers=admin).json()
    snapshots = {
        s["name"]: c.get(f"/api/v1/systems/{s['name']}/snapshots", headers=admin).json() for s in systems
    }
    components = {
        snap["id"]: c.get(f"/api/v1/snapshots/{snap['id']}/components", headers=admin).json()
        for snaps in snapshots.values()
        for snap in snaps
    }
    return {
        "systems": systems,
        "snapshots": snapshots,
        "components": components,
        # Keys without last_used_at: using a key to send a refused request is still a use of it.
        "keys": [
            {k: v for k, v in key.items() if k != "last_used_at"}
            for key in c.get("/api/v1/keys", headers=admin).json()
        ],
        "vex": c.get("/api/v1/vex", headers=admin).json(),
        "sla": c.get("/api/v1/sla", headers=admin).json(),
        "exposures": c.get("/api/v1/exposures", params={"status": "all"}, headers=admin).json(),
    }


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_an_sbom_holding_a_nul_is_a_400_and_stores_nothing(world: World, fmt: str) -> None:
    before = stored(world)
    data = BUILDERS[fmt]([GOOD, ("bad\x00name", "1.0", "pkg:pypi/bad@1.0")])
    r = world.client.post("/api/v1/systems/shop/sboms", content=data, headers=world.auth("acme-uploader"))
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert detail.startswith("upload to shop: ")
    if fmt == "cyclonedx-xml":  # XML cannot hold a NUL at all: the parser refuses the document
        assert "malformed XML" in detail
    else:
        assert "NUL character (\\u0000)" in detail
        assert re.search(r"(components\[1\]\.name|packages\[1\]\.name|@graph\[2\]\.name|line 14) ", detail)
    assert stored(world) == before


def test_a_nul_in_a_key_name_or_a_lone_surrogate_is_a_400_too(world: World) -> None:
    before = stored(world)
    keyed = BUILDERS["cyclonedx-json"]([GOOD]).replace(b'"purl"', b'"pu\\u0000rl"')
    surrogate = BUILDERS["cyclonedx-json"]([GOOD]).replace(b'"good"', b'"go\\udfffod"')
    for data, reason in (
        (keyed, "an object key of components[0] contains a NUL character"),
        (surrogate, "components[0].name contains a lone surrogate (\\udfff)"),
    ):
        r = world.client.post("/api/v1/systems/shop/sboms", content=data, headers=world.auth("acme-uploader"))
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith(f"upload to shop: {reason}")
    assert stored(world) == before


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_over_long_values_keep_their_component_not_assessable(world: World, fmt: str) -> None:
    """Item 6: a 3,000-character purl, a 600-byte name, a 300-byte version and a distro qualifier that
    makes the ecosystem 300 bytes long: each such component is stored as not assessable with the reason
    and its values cut to the limits; the good one is matched as usual; reports still answer."""
    long_purl = "pkg:npm/" + noise(3000, 1) + "@1.0"
    long_name = noise(600, 2)
    long_version = "1." + noise(300, 3)
    long_distro = "pkg:deb/debian/curl@7.1?distro=debian-" + noise(300, 4, string.digits)
    data = BUILDERS[fmt](
        [
            GOOD,
            ("purl", "1.0", long_purl),
            (long_name, "1.0", "pkg:pypi/named@1.0"),
            ("versioned", long_version, f"pkg:pypi/versioned@{long_version}"),
            ("curl", "7.1", long_distro),
        ]
    )
    r = world.client.post("/api/v1/systems/shop/sboms", content=data, headers=world.auth("acme-uploader"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["component_count"], created["not_assessable_count"]) == (5, 4)
    flags = {f["code"]: f["count"] for f in created["quality"]}
    assert flags["component-too-long"] == 3  # the ecosystem is found too long only when it is mapped

    reader = world.auth("acme-reader")
    components = world.client.get(f"/api/v1/snapshots/{created['snapshot_id']}/components", headers=reader)
    assert components.status_code == 200, components.text
    found = components.json()
    assert [p["purl"] for p in found["packages"]] == ["pkg:pypi/good@1.0"]
    kept = {u["name"][:8]: u for u in found["not_assessable"]}
    assert {u["reason"] for u in kept.values()} == {"too-long"}
    assert kept["purl"]["purl"].endswith("…")
    assert utf8_length(kept["purl"]["purl"]) <= PURL_MAX_BYTES
    assert kept["purl"]["detail"] == "purl is 3012 bytes long (UTF-8), more than the limit of 1024"
    assert utf8_length(kept[long_name[:8]]["name"]) <= NAME_MAX_BYTES
    assert utf8_length(kept["versione"]["version"]) <= VERSION_MAX_BYTES
    assert kept["curl"]["purl"] == long_distro  # its own values are within the limits: kept whole
    assert kept["curl"]["detail"].startswith("the ecosystem of the package key is 307 bytes long")
    assert world.client.get("/api/v1/exposures", headers=reader).status_code == 200

    # The same SBOM again is the same snapshot: the truncated values are a stable identity.
    again = world.client.post("/api/v1/systems/shop/sboms", content=data, headers=world.auth("acme-uploader"))
    assert (again.status_code, again.json()["status"]) == (200, "unchanged"), again.text


def test_text_fields_of_requests_refuse_nul_and_control_characters(world: World) -> None:
    c, admin = world.client, world.auth("acme-admin")
    before = stored(world)
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("post", "/api/v1/keys", {"role": "reader", "name": "ci\x00"}, "body.name: key name contains a NUL"),
        (
            "post",
            "/api/v1/keys",
            {"role": "reader", "name": "ci\nx"},
            "body.name: key name contains a control",
        ),
        (
            "post",
            "/api/v1/systems",
            {"name": "new", "environment": "prod\x00"},
            "body.environment: environment contains a NUL",
        ),
        ("post", "/api/v1/systems", {"name": "new\x00"}, "body.name: String should match pattern"),
        (
            "patch",
            "/api/v1/systems/shop",
            {"environment": "\x00"},
            "body.environment: environment contains a NUL",
        ),
        (
            "post",
            "/api/v1/vex",
            {"vulnerability": "CVE-2024-1\x00", "purl": "pkg:pypi/lib0", "status": "affected"},
            "body.vulnerability: vulnerability contains a NUL",
        ),
        (
            "post",
            "/api/v1/vex",
            {"vulnerability": "CVE-2024-1", "purl": "pkg:pypi/" + "é" * 600, "status": "affected"},
            "body.purl: purl is 1209 bytes long (UTF-8), more than the limit of 1024",
        ),
        (
            "post",
            "/api/v1/vex",
            {
                "vulnerability": "CVE-2024-1",
                "purl": "pkg:pypi/lib0",
                "status": "not_affected",
                "impact_statement": "a\x00",
            },
            "body.impact_statement: impact_statement contains a NUL",
        ),
    ]
    for method, path, body, detail in cases:
        r = c.request(method.upper(), path, json=body, headers=admin)
        assert r.status_code == 422, (path, body, r.text)
        assert r.json()["detail"].startswith(detail), r.text
    # A multi-line impact statement is fine: only single-line fields refuse control characters.
    fine = {"vulnerability": "CVE-2024-1", "purl": "pkg:pypi/lib0", "status": "not_affected"}
    r = c.post("/api/v1/vex", json=fine | {"impact_statement": "line one\nline two"}, headers=admin)
    assert r.status_code == 201, r.text
    after = stored(world)
    assert after["vex"] != before["vex"]
    assert {k: v for k, v in after.items() if k not in ("vex", "exposures")} == {
        k: v for k, v in before.items() if k not in ("vex", "exposures")
    }


def test_documents_in_request_bodies_refuse_nul(world: World) -> None:
    c, admin = world.client, world.auth("acme-admin")
    before = stored(world)
    statement: dict[str, Any] = {
        "vulnerability": {"name": "CVE-2024-1"},
        "products": [{"@id": "pkg:pypi/lib0\x00"}],
        "status": "affected",
    }
    vex = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "doc",
        "author": "a",
        "timestamp": "2024-01-01T00:00:00Z",
        "version": 1,
        "statements": [statement],
    }
    r = c.post("/api/v1/vex/import", content=json.dumps(vex).encode(), headers=admin)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == (
        "uploaded VEX document: statements[0].products[0].@id contains a NUL character (\\u0000)"
    )
    statement["products"] = [{"@id": "pkg:pypi/" + noise(2000, 5)}]
    r = c.post("/api/v1/vex/import", content=json.dumps(vex).encode(), headers=admin)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == (
        "uploaded VEX document: statements[0].products[0]: the package URL is 2009 bytes long (UTF-8), "
        "more than the limit of 1024"
    )
    r = c.put("/api/v1/sla", content=b'{"tiers": [{"name": "a\\u0000", "days": 7}]}', headers=admin)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == "SLA policy: tiers[0].name contains a NUL character (\\u0000)"
    assert stored(world) == before


@pytest.mark.parametrize(
    ("method", "path", "params", "where"),
    [
        ("GET", "/api/v1/systems/a%00", None, "path.name"),
        ("PATCH", "/api/v1/systems/a%00", None, "path.name"),
        ("GET", "/api/v1/systems/a%00/snapshots", None, "path.name"),
        ("POST", "/api/v1/systems/a%00/sboms", None, "path.name"),
        ("GET", "/api/v1/advisories/CVE-2024-1%00", None, "path.id"),
        ("GET", "/api/v1/uploads/x%00", None, "path.token"),
        ("GET", "/api/v1/exposures", {"system": "shop\x00"}, "query.system"),
        ("GET", "/api/v1/exposures", {"tier": "a\tb"}, "query.tier"),
        ("GET", "/api/v1/exports/cra-register", {"system": "\x00"}, "query.system"),
    ],
)
def test_a_nul_in_a_path_or_query_parameter_is_a_422_naming_it(
    world: World, method: str, path: str, params: dict[str, str] | None, where: str
) -> None:
    r = world.client.request(method, path, params=params, headers=world.auth("acme-admin"), json={})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(f"{where}: "), r.text
    assert "contains a" in r.json()["detail"]


def test_a_nul_in_a_dashboard_address_is_a_422_page_naming_it(world: World) -> None:
    """The same refusal on a dashboard address is the dashboard's error page, not a problem document."""
    for path, params, named in (
        ("/dashboard/systems/a%00", None, "name"),
        ("/dashboard/exposures", {"system": "shop\x00"}, "system"),
    ):
        r = world.client.get(path, params=params)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert f'data-field="error">{named}: {named} contains a NUL character' in r.text, r.text


def test_a_dependency_track_form_with_a_nul_in_the_release_is_a_400_and_queues_nothing(world: World) -> None:
    """The multipart upload's fields are form text, not parameters: the queue refuses the release label."""
    before = stored(world)
    for project in ("shop", "new-project"):  # an existing system, and one the upload would create
        r = world.client.post(
            "/api/v1/bom",
            files={"bom": ("bom.json", BUILDERS["cyclonedx-json"]([GOOD]))},
            data={"projectName": project, "projectVersion": "2.0\x00", "autoCreate": "true"},
            headers=world.auth("acme-uploader"),
        )
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == "bom.json: release label contains a NUL character (\\u0000)"
    assert world.drain() == 0
    assert stored(world) == before


def test_a_sign_in_with_a_nul_in_the_key_is_an_invalid_key(world: World) -> None:
    form = world.client.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    r = world.client.post(
        "/dashboard/login",
        data={"api_key": "pgk_ab\x00cd_secret", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard/login?error=invalid")


def test_the_openapi_document_states_the_rules(world: World) -> None:
    """What the server refuses, the document says (the schemathesis run holds the server to it)."""
    document = world.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["KeyCreate"]["properties"]["name"]["pattern"] == SINGLE_LINE_PATTERN
    (impact, _null) = schemas["VexCreate"]["properties"]["impact_statement"]["anyOf"]
    assert impact["pattern"] == NO_NUL_PATTERN
    # A statement names a package: a type and a name (core.triage.PURL_PATTERN, issue 14).
    assert schemas["VexCreate"]["properties"]["purl"]["pattern"] == PURL_PATTERN
    parameters = {
        (path, p["name"]): p["schema"]
        for path, item in document["paths"].items()
        for operation in item.values()
        for p in operation.get("parameters", ())
    }
    assert parameters[("/api/v1/advisories/{id}", "id")]["pattern"] == SINGLE_LINE_PATTERN
    (system, _null) = parameters[("/api/v1/exposures", "system")]["anyOf"]
    assert system["pattern"] == SINGLE_LINE_PATTERN
