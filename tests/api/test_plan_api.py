"""``GET /api/v1/plan``: the CLI's document, paged with ``next`` links, for the caller's organization."""

from __future__ import annotations

from pathlib import Path

from pipeline.demo import load_demo
from pipeline.plan import plan_json
from tests.api.conftest import World

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"


def test_the_plan_pages_through_the_same_actions_as_the_cli(world: World) -> None:
    load_demo(world.db, "acme", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
    params = {"as_of": "2024-09-02T00:00:00Z"}
    whole = world.client.get(
        "/api/v1/plan", params={**params, "limit": 500}, headers=world.auth("acme-reader")
    )
    assert whole.status_code == 200, whole.text
    document = whole.json()
    assert document["next"] is None
    from datetime import UTC, datetime

    expected = plan_json(world.db, "acme", as_of=datetime(2024, 9, 2, tzinfo=UTC))
    assert {k: v for k, v in document.items() if k != "next"} == expected
    assert document["total_actions"] >= 2
    seen = []
    url: str | None = "/api/v1/plan?as_of=2024-09-02T00:00:00Z&limit=1"
    while url:
        page = world.client.get(url, headers=world.auth("acme-reader")).json()
        seen += page["actions"]
        url = page["next"]
    assert [a["id"] for a in seen] == [a["id"] for a in document["actions"]]
    assert [a["rank"] for a in seen] == list(range(1, len(seen) + 1))
    # The next page is also announced in a Link header, with its cursor; offset still skips actions.
    first = world.client.get(
        "/api/v1/plan", params={**params, "limit": 1}, headers=world.auth("acme-reader")
    )
    assert first.headers["X-Total-Count"] == str(document["total_actions"])
    assert "cursor=" in first.json()["next"]
    assert first.headers["Link"].endswith('>; rel="next"')
    assert "cursor=" in first.headers["Link"]
    skipped = world.client.get(
        "/api/v1/plan", params={**params, "limit": 1, "offset": 1}, headers=world.auth("acme-reader")
    ).json()
    assert skipped["actions"] == document["actions"][1:2]
    assert "offset" not in (skipped["next"] or "")
    # Another organization's plan holds none of acme's systems.
    other = world.client.get("/api/v1/plan", headers=world.auth("globex-admin")).json()
    assert not {s["system"] for a in other["actions"] for s in a["systems"]} & {"shop"}
    assert (
        world.client.get(
            "/api/v1/plan", params={"system": "shop"}, headers=world.auth("globex-admin")
        ).status_code
        == 404
    )
