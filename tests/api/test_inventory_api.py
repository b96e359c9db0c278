"""The paged systems list and the component search over HTTP: pages linked by ``Link: rel="next"``,
totals in ``X-Total-Count``, filters and sorts as parameters, bad input a problem naming the parameter,
and each organization seeing only its own systems and components (both databases)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World, sbom
from tests.conftest import cyclonedx_json


def _walk(world: World, path: str, params: dict[str, Any], key: str = "acme-reader") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url: str | None = path
    first = True
    total = None
    while url is not None:
        r = world.client.get(url, params=params if first else None, headers=world.auth(key))
        assert r.status_code == 200, r.text
        first = False
        total = r.headers.get("x-total-count")
        rows.extend(r.json())
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert total == str(len(rows))
    return rows


def _systems(world: World) -> None:
    for i in range(5):
        name = f"app-{i}"
        body = {"name": name, "owner": "Team-A" if i % 2 else None, "tags": ["pci"] if i < 3 else []}
        r = world.client.post("/api/v1/systems", json=body, headers=world.auth("acme-admin"))
        assert r.status_code == 201, r.text
        data = sbom(2 + i, version=f"1.{i}", timestamp=f"2024-0{i + 1}-01T00:00:00Z")
        r = world.client.post(f"/api/v1/systems/{name}/sboms", content=data, headers=world.auth("acme-admin"))
        assert r.status_code == 201, r.text


def test_systems_list_pages_with_links_and_totals(world: World) -> None:
    _systems(world)
    names = [r["name"] for r in _walk(world, "/api/v1/systems", {"limit": 2})]
    assert names == ["app-0", "app-1", "app-2", "app-3", "app-4", "shop"]
    by_last = _walk(world, "/api/v1/systems", {"limit": 2, "sort": "last_sbom", "order": "desc"})
    # shop and app-0 were both last seen on 2024-01-01: the name breaks the tie (descending too).
    assert [r["name"] for r in by_last] == ["app-4", "app-3", "app-2", "app-1", "shop", "app-0"]
    row = by_last[0]
    assert {"stale", "open_exposures", "open_kev", "project_uuid", "last_observed_at"} <= set(row)
    assert row["open_exposures"] == 0
    assert row["stale"] is True  # silent since 2024 with a weekly cadence
    filtered = _walk(world, "/api/v1/systems", {"owner": "team-a", "tag": "pci", "limit": 1})
    assert [r["name"] for r in filtered] == ["app-1"]
    assert [r["name"] for r in _walk(world, "/api/v1/systems", {"prefix": "app-", "search": "P-3"})] == [
        "app-3"
    ]
    # The other organization sees its own system only.
    assert [r["name"] for r in _walk(world, "/api/v1/systems", {}, key="globex-admin")] == ["mill"]


def test_systems_list_refuses_bad_parameters(world: World) -> None:
    _systems(world)
    h = world.auth("acme-reader")
    r = world.client.get("/api/v1/systems", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=h)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("cursor:")
    for params in ({"sort": "size"}, {"order": "up"}, {"limit": 0}, {"limit": 1001}, {"cursor": "a b"}):
        r = world.client.get("/api/v1/systems", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    # A cursor of one sort is refused by another.
    r = world.client.get("/api/v1/systems", params={"limit": 1}, headers=h)
    cursor = r.headers["link"].split("cursor=")[1].split(">")[0]
    r = world.client.get("/api/v1/systems", params={"limit": 1, "sort": "owner", "cursor": cursor}, headers=h)
    assert r.status_code == 400
    assert "cursor" in r.json()["detail"]


def test_component_search_pages_and_summarizes(world: World) -> None:
    _systems(world)
    rows = _walk(world, "/api/v1/components", {"q": "lib1", "limit": 2})
    # lib1 is in every acme SBOM (2 + i components each; shop has 3); the latest snapshot counts.
    assert [(r["system"], r["version"]) for r in rows] == [
        ("app-0", "1.0"), ("shop", "1.0"), ("app-1", "1.1"),
        ("app-2", "1.2"), ("app-3", "1.3"), ("app-4", "1.4"),
    ]  # fmt: skip
    assert rows[0]["purl"] == "pkg:pypi/lib1@1.0"
    assert rows[0]["package"] == "pkg:pypi/lib1"
    assert rows[0]["affected"] is False
    by_system = _walk(
        world, "/api/v1/components", {"q": "pkg:pypi/lib1", "version": ">=1.2", "sort": "system"}
    )
    assert [r["system"] for r in by_system] == ["app-2", "app-3", "app-4"]
    r = world.client.get(
        "/api/v1/components/versions", params={"q": "LIB1"}, headers=world.auth("acme-reader")
    )
    assert r.status_code == 200, r.text
    assert [(v["version"], v["systems"]) for v in r.json()] == [
        ("1.0", 2), ("1.1", 1), ("1.2", 1), ("1.3", 1), ("1.4", 1),
    ]  # fmt: skip


def test_component_search_sees_only_the_callers_organization(world: World) -> None:
    _systems(world)
    data = cyclonedx_json([("lib1", "9.9", "pkg:pypi/lib1@9.9")], timestamp="2024-09-01T00:00:00Z")
    r = world.client.post("/api/v1/systems/mill/sboms", content=data, headers=world.auth("globex-admin"))
    assert r.status_code == 201, r.text
    theirs = _walk(world, "/api/v1/components", {"q": "lib1"}, key="globex-admin")
    assert [(r["system"], r["version"]) for r in theirs] == [("mill", "9.9")]
    ours = _walk(world, "/api/v1/components", {"q": "lib1"})
    assert "mill" not in {r["system"] for r in ours}
    assert "9.9" not in {r["version"] for r in ours}


def test_component_search_refuses_bad_parameters(world: World) -> None:
    h = world.auth("acme-reader")
    r = world.client.get("/api/v1/components", params={"q": "lib1", "version": "<~1"}, headers=h)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("version:")
    r = world.client.get(
        "/api/v1/components", params={"q": "pkg:npm/lib1", "version": "<not.a+version!"}, headers=h
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("version:")
    r = world.client.get(
        "/api/v1/components/versions", params={"q": "lib1", "ecosystem": "Nonesuch"}, headers=h
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("ecosystem:")
    assert world.client.get("/api/v1/components", headers=h).status_code == 422
