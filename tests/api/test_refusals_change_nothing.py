"""Issue 12's last acceptance point: no refused input changes anything already stored. A battery of
hostile requests against an organization with history; every one is a 4xx, and every report, list and
export reads the same afterwards (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from pipeline.demo import load_demo
from tests.api.conftest import World, sbom

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"
AS_OF = "2024-09-02T00:00:00Z"
DEEP = b"[" * 100_000 + b"]" * 100_000


def _state(world: World) -> dict[str, Any]:
    reader = world.auth("acme-admin")
    c = world.client
    reads = {
        "exposures": ("/api/v1/exposures", {"status": "all", "as_of": AS_OF}),
        "excluded": ("/api/v1/exposures", {"status": "excluded", "as_of": AS_OF}),
        "deploy": ("/api/v1/reports/deploy-time", {"as_of": AS_OF}),
        "plan": ("/api/v1/plan", {"as_of": AS_OF, "limit": 500}),
        "systems": ("/api/v1/systems", {}),
        "vex": ("/api/v1/vex", {}),
        "sla": ("/api/v1/sla", {}),
        "keys": ("/api/v1/keys", {}),
        "snapshots": ("/api/v1/systems/shop/snapshots", {}),
        "openvex": ("/api/v1/exports/openvex", {"as_of": AS_OF}),
    }
    state = {}
    for name, (path, params) in reads.items():
        r = c.get(path, params=params, headers=reader)
        assert r.status_code == 200, (name, r.text)
        state[name] = r.json()
    # Last-used times of keys move with every request: compare what a refusal could have changed.
    for key in state["keys"]:
        key.pop("last_used_at", None)
    return state


def _refused(world: World) -> list[tuple[str, int]]:
    admin, uploader = world.auth("acme-admin"), world.auth("acme-uploader")
    c = world.client
    j = {"Content-Type": "application/json"}
    answers = [
        ("bad sbom", c.post("/api/v1/systems/shop/sboms", content=b"{nonsense", headers=admin)),
        ("deep sbom", c.post("/api/v1/systems/shop/sboms", content=DEEP, headers=admin)),
        (
            "far observed_at",
            c.post(
                "/api/v1/systems/shop/sboms",
                params={"observed_at": "9999-12-31T00:00:00Z"},
                content=sbom(9),
                headers=admin,
            ),
        ),
        ("deep sla", c.put("/api/v1/sla", content=DEEP, headers={**admin, **j})),
        ("huge sla", c.put("/api/v1/sla", json={"tiers": [{"name": "x", "days": 1e9}]}, headers=admin)),
        (
            "nan sla",
            c.put("/api/v1/sla", content=b'{"tiers": [{"name": "x", "days": NaN}]}', headers={**admin, **j}),
        ),
        (
            "bad utf-8 sla",
            c.put("/api/v1/sla", content=b'{"tiers": [{"name": "\xff", "days": 3}]}', headers={**admin, **j}),
        ),
        ("deep vex", c.post("/api/v1/vex/import", content=DEEP, headers={**admin, **j})),
        (
            "not vex",
            c.post(
                "/api/v1/vex/import",
                json={"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "bogus"}]},
                headers=admin,
            ),
        ),
        (
            "vex purl",
            c.post(
                "/api/v1/vex",
                json={"vulnerability": "CVE-1", "purl": "nope", "status": "affected"},
                headers=admin,
            ),
        ),
        ("slash system", c.post("/api/v1/systems", json={"name": "a/b"}, headers=admin)),
        (
            "dt control name",
            c.put(
                "/api/v1/bom",
                json={"projectName": "x\ty", "autoCreate": True, "bom": base64.b64encode(sbom()).decode()},
                headers=uploader,
            ),
        ),
        (
            "dt hello world",
            c.put(
                "/api/v1/bom",
                json={"projectName": "shop", "bom": base64.b64encode(b"hello world").decode()},
                headers=uploader,
            ),
        ),
        ("huge id", c.get(f"/api/v1/snapshots/{2**63}", headers=admin)),
        ("huge key id", c.delete(f"/api/v1/keys/{2**40}", headers=admin)),
        (
            "far as_of",
            c.get(
                "/api/v1/reports/deploy-time", params={"as_of": "0001-01-01T00:00:00+08:00"}, headers=admin
            ),
        ),
        ("numeric as_of", c.get("/api/v1/exposures", params={"as_of": "0.5"}, headers=admin)),
        ("other org system", c.patch("/api/v1/systems/mill", json={"criticality": "high"}, headers=admin)),
    ]
    world.drain()  # a queued upload that fails later must not change anything either
    return [(name, r.status_code) for name, r in answers]


def test_no_refused_input_changes_anything_stored(world: World) -> None:
    load_demo(world.db, "acme", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
    before = _state(world)
    answers = _refused(world)
    # The DT "hello world" upload is queued (Dependency-Track answers 200 with a token too) and fails
    # in the worker; everything else is refused on the spot.
    wrong = [
        (name, status) for name, status in answers if name != "dt hello world" and not 400 <= status < 500
    ]
    assert wrong == []
    after = _state(world)
    for name in before:
        assert after[name] == before[name], name
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
