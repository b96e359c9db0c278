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


def test_the_plan_page_pages_with_the_cursor_keeping_the_moment_and_filters(db: Database) -> None:
    """A fleet whose plan spans several pages: following "next" walks every action of the plan in
    rank order; every link keeps the moment and the filters; "first" leads back."""
    import html

    from api.main import create_app
    from core.settings import Settings
    from pipeline.api_keys import create_key
    from tests.pipeline.test_exposure_list import _fleet

    _fleet(db)
    key = create_key(db, org="bench", role="reader").token
    when = datetime(2030, 1, 1, tzinfo=UTC)
    expected = plan_json(db, "bench", environment="prod", as_of=when)
    assert expected["total_actions"] > 100
    app = create_app(Settings(database_url="unused://"), db=db, start_worker=False)
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client, key)
        url: str | None = "/dashboard/plan?as_of=2030-01-01T00%3A00%3A00Z&environment=prod"
        seen: list[str] = []
        pages = 0
        while url is not None:
            page = client.get(url)
            assert page.status_code == 200, page.text[:300]
            seen += re.findall(r'data-action="([^"]+)"', page.text)
            ranks = re.findall(r"<strong>#(\d+) ", page.text)
            assert [int(r) for r in ranks] == list(range(len(seen) - len(ranks) + 1, len(seen) + 1))
            pages += 1
            if pages > 1:
                assert 'data-link="first"' in page.text
            found = re.search(r'href="([^"]+)" data-link="next"', page.text)
            url = html.unescape(found.group(1)) if found else None
            if url is not None:
                assert "as_of=2030-01-01" in url
                assert "environment=prod" in url
        assert seen == [a["id"] for a in expected["actions"]]
        assert pages == -(-expected["total_actions"] // 50)
