"""The dashboard's paged lists on the demo organization (exposures, systems, component search): their
rows are the list use-cases' (``pipeline.lists``) for the same query, paging forward and back visits
every row once, headers sort, the filter forms filter, every link keeps the moment and the filters,
bad parameters are error pages naming them, and another organization sees none of it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from core.time import rfc3339
from pipeline.lists.components import ComponentQuery, component_summary, iter_components
from pipeline.lists.exposures import ExposureQuery, iter_exposures
from pipeline.lists.systems import SystemQuery, iter_systems
from store.db import Database
from tests.api.test_dashboard import sign_in, site

__all__ = ["site"]  # the fixture, used by name

AS_OF = "2024-06-15T00:00:00Z"
MOMENT = datetime(2024, 6, 15, tzinfo=UTC)


def shown_rows(html: str) -> list[tuple[str, str, str, str]]:
    """(system, package, vulnerability, first_seen) of each row, read off its exposure link."""
    table = html[html.index('data-table="exposures"') :]
    table = table[: table.index("</table>")]
    out = []
    for href in re.findall(r'href="(/dashboard/exposure\?[^"]+)" data-link="exposure"', table):
        q = parse_qs(urlsplit(unescape(href)).query)
        out.append((q["system"][0], q["package"][0], q["vulnerability"][0], q["first_seen"][0]))
    return out


def identity(row: dict[str, object]) -> tuple[str, str, str, str]:
    return (str(row["system"]), str(row["package"]), str(row["vulnerability"]), str(row["first_seen"]))


def link(html: str, name: str) -> str | None:
    found = re.search(rf'href="([^"]+)" data-link="{name}"', html)
    return unescape(found.group(1)) if found else None


def test_paging_visits_every_row_once_in_the_lists_order(
    site: tuple[TestClient, dict[str, str]], db: Database
) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    query = ExposureQuery(status="all", sort="cvss", descending=True, as_of=MOMENT)
    expected = [identity(r) for r in iter_exposures(db, "demo", query)]
    assert len(expected) > 9
    page = client.get(
        "/dashboard/exposures",
        params={"as_of": AS_OF, "status": "all", "sort": "cvss", "order": "desc", "limit": "3"},
    )
    assert page.status_code == 200
    assert f'data-field="total">{len(expected)}<' in page.text
    seen, pages = [], [page.text]
    while True:
        seen.extend(shown_rows(pages[-1]))
        following = link(pages[-1], "next")
        if following is None:
            break
        assert "as_of=2024-06-15" in following
        assert "limit=3" in following
        pages.append(client.get(following).text)
    assert seen == expected
    assert len(pages) == -(-len(expected) // 3)
    # Back from the third page: the second, then the first; "first" from anywhere.
    second = client.get(link(pages[2], "previous") or "").text
    assert shown_rows(second) == shown_rows(pages[1])
    first = client.get(link(second, "previous") or "").text
    assert shown_rows(first) == shown_rows(pages[0])
    assert link(first, "previous") is None
    assert shown_rows(client.get(link(pages[-1], "first") or "").text) == shown_rows(pages[0])


def test_filters_and_sorting_follow_the_list_use_case(
    site: tuple[TestClient, dict[str, str]], db: Database
) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    for params, query in (
        ({"environment": "prod"}, ExposureQuery(environment="prod", as_of=MOMENT)),
        ({"kev": "yes", "status": "all"}, ExposureQuery(kev=True, status="all", as_of=MOMENT)),
        (
            {"system": "shop-web", "sort": "package"},
            ExposureQuery(system="shop-web", sort="package", as_of=MOMENT),
        ),
        ({"package": "pkg:npm/"}, ExposureQuery(package="pkg:npm/", as_of=MOMENT)),
    ):
        expected = [identity(r) for r in iter_exposures(db, "demo", query)][:50]
        page = client.get("/dashboard/exposures", params={"as_of": AS_OF, **params})
        assert page.status_code == 200, page.text
        assert shown_rows(page.text) == expected, params
        # The form shows the filters, and every link to a dashboard page keeps them and the moment.
        for key, value in params.items():
            if key in ("system", "environment", "package"):
                assert f'name="{key}" value="{value}"' in page.text
        clear = link(page.text, "clear")  # the one link that drops the filters, on purpose
        hrefs = [
            unescape(h)
            for h in re.findall(r'href="(/dashboard[^"]*)"', page.text)
            if "/static/" not in h and unescape(h) != clear
        ]
        for href in hrefs:
            query_of = parse_qs(urlsplit(href).query)
            assert query_of.get("as_of") == [AS_OF], href
            if "environment" in params and not href.startswith("/dashboard/exposure?"):
                assert query_of.get("environment") == [params["environment"]], href


def test_column_headers_sort_and_flip(site: tuple[TestClient, dict[str, str]], db: Database) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    page = client.get("/dashboard/exposures", params={"as_of": AS_OF}).text
    header = re.search(r'href="([^"]+)" data-sort="package"', page)
    assert header is not None
    by_package = client.get(unescape(header.group(1))).text
    expected = [identity(r) for r in iter_exposures(db, "demo", ExposureQuery(sort="package", as_of=MOMENT))]
    assert shown_rows(by_package) == expected[:50]
    flipped = re.search(r'href="([^"]+)" data-sort="package"', by_package)
    assert flipped is not None
    assert "order=desc" in flipped.group(1)


def test_bad_list_parameters_are_error_pages_naming_them(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    for params, status, named in (
        ({"sort": "colour"}, 400, "sort"),
        ({"cursor": "not-a-cursor"}, 400, "cursor"),
        ({"status": "maybe"}, 400, "status"),
        ({"kev": "nah"}, 400, "kev"),
        ({"order": "sideways"}, 422, "order"),
        ({"limit": "0"}, 422, "limit"),
        ({"as_of": "2024-02-30"}, 422, "as_of"),
        ({"back": "a..b"}, 400, "back"),
    ):
        r = client.get("/dashboard/exposures", params=params)
        assert r.status_code == status, (params, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        message = re.search(r'data-field="error">([^<]*)<', r.text)
        assert message is not None
        assert message.group(1).startswith(f"{named}: "), message.group(1)
    # A cursor of another sort order is refused, not followed from the wrong place.
    page = client.get("/dashboard/exposures", params={"as_of": AS_OF, "status": "all", "limit": "2"}).text
    following = link(page, "next")
    assert following is not None
    r = client.get(following.replace("sort=sla_due", "sort=cvss"))
    assert r.status_code == 400
    assert "cursor" in r.text


def test_another_organization_sees_no_demo_exposure(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    sign_in(client, keys["other"])
    page = client.get("/dashboard/exposures", params={"as_of": AS_OF, "status": "all"})
    assert page.status_code == 200
    assert shown_rows(page.text) == []
    assert 'data-field="total">0<' in page.text


def system_names(html: str) -> list[str]:
    return re.findall(r'<tr data-system="([^"]+)">', html)


def test_systems_page_follows_the_systems_list(site: tuple[TestClient, dict[str, str]], db: Database) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    everything = [r.system.name for r in iter_systems(db, "demo", SystemQuery(), now=MOMENT)]
    page = client.get("/dashboard/systems", params={"as_of": AS_OF, "limit": "2"})
    assert page.status_code == 200
    assert f'data-field="total">{len(everything)}<' in page.text
    seen = system_names(page.text)
    following = link(page.text, "next")
    while following is not None:
        assert "as_of=2024-06-15" in following
        html = client.get(following).text
        seen.extend(system_names(html))
        following = link(html, "next")
    assert seen == everything
    # Sorted by open exposures, most first; filtered by environment; stale judged at the moment shown.
    query = SystemQuery.of(sort="open_exposures", order="desc", environment="prod")
    expected = [r.system.name for r in iter_systems(db, "demo", query, now=MOMENT)]
    shown = client.get(
        "/dashboard/systems",
        params={"as_of": AS_OF, "sort": "open_exposures", "order": "desc", "environment": "prod"},
    ).text
    assert system_names(shown) == expected
    later = datetime(2026, 1, 1, tzinfo=UTC)  # every demo system is silent by then
    stale = client.get("/dashboard/systems", params={"as_of": rfc3339(later), "stale": "yes"}).text
    assert system_names(stale) == [
        r.system.name for r in iter_systems(db, "demo", SystemQuery(stale=True), now=later)
    ]
    assert stale.count('data-flag="stale"') == len(system_names(stale)) > 0
    for params, named in (({"sort": "size"}, "sort"), ({"stale": "nah"}, "stale")):
        r = client.get("/dashboard/systems", params=params)
        assert r.status_code == 400
        assert re.search(rf'data-field="error">{named}: ', r.text)


def test_component_search_answers_versions_and_systems(
    site: tuple[TestClient, dict[str, str]], db: Database
) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    assert 'data-table="versions"' not in client.get("/dashboard/components").text  # the form alone
    query = ComponentQuery.of("minimist")
    summary = component_summary(db, "demo", query)
    assert summary
    page = client.get("/dashboard/components", params={"q": "minimist"}).text
    shown = re.findall(r'<tr data-version="([^"]+)">.*?data-field="systems">(\d+)<', page, re.S)
    assert shown == [(v.version, str(v.systems)) for v in summary]
    rows = re.findall(r'<tr data-row="([^"]+)">', page)
    assert rows == [f"{r.system} {r.version}" for r in iter_components(db, "demo", query)][:50]
    # One version, by its link: that version's systems only.
    version_link = re.search(r'href="([^"]+)" data-link="version"', page)
    assert version_link is not None
    one = client.get(unescape(version_link.group(1))).text
    assert len(re.findall(r"<tr data-version=", one)) == 1
    # A range the ecosystem cannot read, and a refused query, are error pages naming the field.
    r = client.get("/dashboard/components", params={"q": "pkg:npm/minimist", "version": "<not a version!"})
    assert r.status_code == 400
    assert re.search(r'data-field="error">version: ', r.text)


def test_another_organization_sees_no_demo_system_or_component(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = site
    sign_in(client, keys["other"])
    assert system_names(client.get("/dashboard/systems").text) == []
    page = client.get("/dashboard/components", params={"q": "minimist"}).text
    assert "<tr data-version=" not in page
    assert "<tr data-row=" not in page
