"""The dashboard's "Fix first": the plan's top five on the overview, the whole plan on its own page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from pipeline.plan import plan_json
from store.db import Database
from tests.api.test_dashboard import sign_in, site

__all__ = ["site"]  # the fixture, used by name

AS_OF = "2024-06-15T00:00:00Z"


def test_the_overview_shows_the_top_actions_and_links_the_plan(
    site: tuple[TestClient, dict[str, str]], db: Database
) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    expected = plan_json(db, "demo", as_of=datetime(2024, 6, 15, tzinfo=UTC))
    assert expected["total_actions"] >= 2
    page = client.get("/dashboard/", params={"as_of": AS_OF}).text
    top = page[page.index('data-table="top-actions"') : page.index('data-table="worst"')]
    shown = re.findall(r'<td class="pkg">([^<]+) <span class="muted">([^<]+)</span>', top)
    assert shown == [(a["package"], a["from_version"]) for a in expected["actions"][:5]]
    # Above the charts, and linked to the whole plan at the same moment.
    assert page.index('data-table="top-actions"') < page.index('data-table="tiers"')
    assert 'href="/dashboard/plan?as_of=2024-06-15T00%3A00%3A00Z" data-link="plan-all"' in page


def test_the_plan_page_lists_every_action_expandable_and_filters(
    site: tuple[TestClient, dict[str, str]], db: Database
) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    expected = plan_json(db, "demo", as_of=datetime(2024, 6, 15, tzinfo=UTC))
    page = client.get("/dashboard/plan", params={"as_of": AS_OF})
    assert page.status_code == 200
    assert re.findall(r'data-action="([^"]+)"', page.text) == [a["id"] for a in expected["actions"]]
    first = expected["actions"][0]
    assert f'href="/dashboard/systems/{first["systems"][0]["system"]}?as_of=' in page.text
    assert first["vulnerabilities"][0]["vulnerability"] in page.text
    system = first["systems"][0]["system"]
    narrowed = client.get("/dashboard/plan", params={"as_of": AS_OF, "system": system}).text
    wanted = plan_json(db, "demo", system=system, as_of=datetime(2024, 6, 15, tzinfo=UTC))
    assert re.findall(r'data-action="([^"]+)"', narrowed) == [a["id"] for a in wanted["actions"]]
    assert client.get("/dashboard/plan", params={"system": "no-such-system"}).status_code == 404


def test_another_organization_sees_none_of_the_plan(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    sign_in(client, keys["other"])
    page = client.get("/dashboard/plan", params={"as_of": AS_OF}).text
    assert "data-action=" not in page
    assert client.get("/dashboard/plan", params={"system": "shop-web"}).status_code == 404
