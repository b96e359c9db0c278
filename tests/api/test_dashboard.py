"""Dashboard: sign-in, cookie flags, CSRF, the demo organization's pages, isolation, no external resources."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.demo import load_demo
from store.db import Database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(db: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    keys = {
        "demo": create_key(db, org="demo", role="reader").token,
        "other": create_key(db, org="other", role="admin").token,
    }
    app = create_app(Settings(database_url="unused://", max_sbom_bytes=1_000_000), db=db, start_worker=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client, keys


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def sign_in(client: TestClient, key: str) -> None:
    form = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login", data={"api_key": key, "csrf_token": csrf(form.text)}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/"


def test_pages_need_a_session(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    r = client.get("/dashboard/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/login"


def test_sign_in_sets_a_strict_http_only_cookie(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    form = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        data={"api_key": keys["demo"], "csrf_token": csrf(form.text)},
        follow_redirects=False,
    )
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("patchgap_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie


def test_sign_in_refuses_a_missing_csrf_token_and_a_bad_key(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login", data={"api_key": keys["demo"], "csrf_token": "forged"}, follow_redirects=False
    )
    assert r.headers["location"] == "/dashboard/login?error=expired"
    form = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login", data={"api_key": "pgk_x_y", "csrf_token": csrf(form.text)}, follow_redirects=False
    )
    assert r.headers["location"] == "/dashboard/login?error=invalid"
    assert client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_overview_system_and_exposure_pages(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    page = client.get("/dashboard/", params={"as_of": "2024-06-15T00:00:00Z"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    for metric in ("open_fixable", "kev_open", "half_life", "within_30", "past_due"):
        assert f'data-metric="{metric}"' in page.text
    assert page.text.count("<svg") >= 3
    # Offline: nothing is loaded from another host.
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    system = client.get("/dashboard/systems/shop-web", params={"as_of": "2024-06-15T00:00:00Z"})
    assert system.status_code == 200
    assert 'data-table="exposures"' in system.text
    link = re.search(r'href="(/dashboard/exposure\?[^"]+)"', system.text)
    assert link is not None
    assert "as_of=2024-06-15" in link.group(1)
    exposure = client.get(link.group(1).replace("&amp;", "&"))
    assert exposure.status_code == 200
    assert 'data-field="fix_available_at"' in exposure.text
    assert "Upgrade suggestion" in exposure.text
    assert 'data-section="timeline"' in exposure.text
    assert 'data-state="affected"' in exposure.text
    # The page is evaluated as of its as_of: before the exposure was first seen there is none.
    before = link.group(1).replace("&amp;", "&").replace("as_of=2024-06-15", "as_of=2023-01-01")
    assert "as_of=2023-01-01" in before
    earlier = client.get(before)
    assert earlier.status_code == 404
    assert "as of 2023-01-01T00:00:00Z" in earlier.text
    snapshot_id = re.search(r'href="/dashboard/snapshots/(\d+)[?"]', system.text)
    assert snapshot_id is not None
    assert client.get(f"/dashboard/snapshots/{snapshot_id.group(1)}").status_code == 200


def test_another_organization_sees_nothing_of_demo(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    snapshot_id = re.search(
        r'href="/dashboard/snapshots/(\d+)"', client.get("/dashboard/systems/shop-web").text
    )
    assert snapshot_id is not None
    client.cookies.clear()
    sign_in(client, keys["other"])
    assert "shop-web" not in client.get("/dashboard/").text
    assert client.get("/dashboard/systems/shop-web").status_code == 404
    assert client.get(f"/dashboard/snapshots/{snapshot_id.group(1)}").status_code == 404


def test_sign_out_needs_the_sessions_csrf_token(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    page = client.get("/dashboard/")
    assert client.post("/dashboard/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/dashboard/", follow_redirects=False).status_code == 200
    r = client.post("/dashboard/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_a_snapshot_id_beyond_the_integer_range_is_a_not_found_page(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    r = client.get(f"/dashboard/snapshots/{2**31}")
    assert r.status_code == 404
    assert f"snapshot {2**31} does not exist" in r.text
