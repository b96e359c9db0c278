"""Dashboard actions with the session cookie: SBOM upload from the system page (uploader role, CSRF,
refusals shown on the page with nothing stored) and downloads of every export of the registry, each the
bytes the API's export route answers for the same moment. Refused requests on dashboard addresses are
HTML error pages; the API keeps its problem documents."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from pipeline.cra import set_manufacturer
from pipeline.export_formats import FORMATS
from tests.api.conftest import World, sbom
from tests.api.test_dashboard import csrf, sign_in
from tests.api.test_exports_api import exploited_shop

AS_OF = "2026-05-01T00:00:00Z"


def snapshot_count(world: World, system: str = "shop") -> int:
    r = world.client.get(f"/api/v1/systems/{system}/snapshots", headers=world.auth("acme-admin"))
    assert r.status_code == 200, r.text
    return len(r.json())


def upload(client: TestClient, token: str, data: bytes, *, system: str = "shop", **fields: str) -> Response:
    r: Response = client.post(
        f"/dashboard/systems/{system}/upload",
        data={"csrf_token": token, **fields},
        files={"bom": ("app.cdx.json", data, "application/json")},
        follow_redirects=False,
    )
    return r


def test_an_uploader_uploads_an_sbom_from_the_system_page(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-uploader"])
    page = client.get("/dashboard/systems/shop")
    assert 'data-form="upload"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    before = snapshot_count(world)
    r = upload(client, csrf(page.text), sbom(4, version="2.0"), release="v2")
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/dashboard/systems/shop\?uploaded=\d+&outcome=created", location), location
    shown = client.get(location)
    assert 'data-field="upload_notice"' in shown.text
    assert snapshot_count(world) == before + 1
    # The API sees the same snapshot: release label, four components.
    snapshots = client.get("/api/v1/systems/shop/snapshots", headers=world.auth("acme-reader")).json()
    newest = max(snapshots, key=lambda s: s["id"])
    assert location.endswith(f"uploaded={newest['id']}&outcome=created")
    assert newest["release_label"] == "v2"
    assert newest["component_count"] == 4
    # The same bytes again: unchanged, nothing new.
    again = upload(client, csrf(page.text), sbom(4, version="2.0"))
    assert again.headers["location"].endswith("outcome=unchanged")
    assert snapshot_count(world) == before + 1


def test_a_refused_sbom_is_shown_on_the_page_and_nothing_is_stored(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-admin"])
    token = csrf(client.get("/dashboard/systems/shop").text)
    before = snapshot_count(world)
    r = upload(client, token, b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}')
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert 'data-field="upload_error"' in r.text
    assert "app.cdx.json" in r.text  # the reader's message names the uploaded file
    bad_date = upload(client, token, sbom(2, version="3.0"), observed_at="31/12/2024")
    assert bad_date.status_code == 400
    assert "observed at" in bad_date.text
    assert snapshot_count(world) == before


def test_upload_needs_the_csrf_token_and_the_uploader_role(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-uploader"])
    before = snapshot_count(world)
    assert upload(client, "forged", sbom(2, version="4.0")).status_code == 403
    client.cookies.clear()
    sign_in(client, world.keys["acme-reader"])
    page = client.get("/dashboard/systems/shop")
    assert 'data-form="upload"' not in page.text
    r = upload(client, csrf(page.text), sbom(2, version="4.0"))
    assert r.status_code == 403
    assert "uploader role" in r.text
    assert snapshot_count(world) == before


def test_upload_to_another_organizations_system_is_not_found(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-admin"])
    token = csrf(client.get("/dashboard/systems/shop").text)
    r = upload(client, token, sbom(2, version="5.0"), system="mill")
    assert r.status_code == 404
    mill = world.client.get("/api/v1/systems/mill/snapshots", headers=world.auth("globex-admin")).json()
    assert len(mill) == 1


def fleet_upload(client: TestClient, token: str, data: bytes, **fields: str) -> Response:
    r: Response = client.post(
        "/dashboard/upload",
        data={"csrf_token": token, **fields},
        files={"bom": ("app.cdx.json", data, "application/json")},
        follow_redirects=False,
    )
    return r


def test_the_upload_page_sends_an_sbom_to_any_system_by_name(world: World) -> None:
    """The fleet-wide upload page: a new name creates the system (as the API's upload does), the
    system's page then shows the snapshot; other organizations never see it."""
    client = world.client
    sign_in(client, world.keys["acme-uploader"])
    overview = client.get("/dashboard/")
    assert 'data-link="upload"' in overview.text
    page = client.get("/dashboard/upload")
    assert page.status_code == 200
    assert 'data-form="fleet-upload"' in page.text
    r = fleet_upload(client, csrf(page.text), sbom(3, version="7.0"), system="batch-new", release="r1")
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/dashboard/systems/batch-new\?uploaded=\d+&outcome=created", location), location
    assert 'data-field="upload_notice"' in client.get(location).text
    assert snapshot_count(world, "batch-new") == 1
    # An existing system gets a second snapshot the same way.
    before = snapshot_count(world)
    assert fleet_upload(client, csrf(page.text), sbom(3, version="7.1"), system="shop").status_code == 303
    assert snapshot_count(world) == before + 1
    globex = world.client.get("/api/v1/systems", headers=world.auth("globex-admin")).json()
    assert "batch-new" not in {s["name"] for s in globex}


def test_the_upload_page_refuses_with_the_reason_and_stores_nothing(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-admin"])
    token = csrf(client.get("/dashboard/upload").text)
    bad = fleet_upload(client, token, b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}', system="batch-bad")
    assert bad.status_code == 400
    assert 'data-field="upload_error"' in bad.text
    assert 'value="batch-bad"' in bad.text  # the form is refilled
    nameless = fleet_upload(client, token, sbom(2, version="8.0"), system="  ")
    assert nameless.status_code == 400
    assert "system" in nameless.text
    systems = client.get("/api/v1/systems", headers=world.auth("acme-admin")).json()
    assert "batch-bad" not in {s["name"] for s in systems}
    assert fleet_upload(client, "forged", sbom(2, version="8.1"), system="batch-x").status_code == 403
    client.cookies.clear()
    sign_in(client, world.keys["acme-reader"])
    page = client.get("/dashboard/upload")
    assert 'data-form="fleet-upload"' not in page.text
    assert 'data-link="upload"' not in page.text
    refused = fleet_upload(client, csrf(page.text), sbom(2, version="8.2"), system="batch-x")
    assert refused.status_code == 403
    assert "uploader role" in refused.text


def links(html: str) -> dict[str, str]:
    found = re.findall(r'<a href="([^"]+)" data-download="([^"]+)"', html)
    return {name: href.replace("&amp;", "&") for href, name in found}


def test_every_export_downloads_with_the_session_as_the_api_answers_it(world: World) -> None:
    exploited_shop(world)
    set_manufacturer(world.db, "acme", True)
    client = world.client
    sign_in(client, world.keys["acme-reader"])
    page = client.get("/dashboard/downloads", params={"as_of": AS_OF})
    assert page.status_code == 200
    found = links(page.text)
    assert set(found) == {f.command_name + f.extension for f in FORMATS}
    for name, href in found.items():
        assert "as_of=2026-05-01T00%3A00%3A00Z" in href, href
        mine = client.get(href)
        assert mine.status_code == 200, (name, mine.text[:300])
        assert mine.headers["content-disposition"].startswith("attachment; filename=")
        command = href.split("?")[0].rsplit("/", 1)[1]
        query = href.split("?", 1)[1]
        if command == "nis2-evidence":  # the API names the period's end `to`
            query = query.replace("as_of=", "to=")
        api = client.get(f"/api/v1/exports/{command}?{query}", headers=world.auth("acme-reader"))
        assert api.status_code == 200, (name, api.text[:300])
        assert mine.headers["x-content-sha256"] == api.headers["x-content-sha256"], name
        assert mine.content == api.content, name


def test_a_vex_download_of_one_system_follows_the_system_filter(world: World) -> None:
    exploited_shop(world)
    client = world.client
    sign_in(client, world.keys["acme-reader"])
    found = links(client.get("/dashboard/downloads", params={"system": "shop", "as_of": AS_OF}).text)
    assert "system=shop" in found["openvex.openvex.json"]
    assert "system=" not in found["report-pdf.pdf"]
    r = client.get(found["openvex.openvex.json"])
    assert r.status_code == 200, r.text
    assert "shop" in r.headers["content-disposition"]
    # Another organization's system: the error page, not found.
    other = client.get("/dashboard/downloads/openvex", params={"system": "mill"})
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("text/html")


def test_refused_downloads_are_error_pages(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-reader"])
    r = client.get("/dashboard/downloads/cra-register")  # acme is no manufacturer
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "manufacturer" in r.text
    r = client.get("/dashboard/downloads/cra-register", params={"format": "xlsx"})
    assert r.status_code == 400
    assert "xlsx" in r.text
    assert client.get("/dashboard/downloads/nope").status_code == 404
    r = client.get("/dashboard/downloads/nis2-evidence", params={"from": "last week"})
    assert r.status_code == 422
    assert "from: not an RFC 3339 date-time" in r.text


def test_bad_query_parameters_are_readable_pages_not_json(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-reader"])
    for path, params, named in (
        ("/dashboard/", {"as_of": "yesterday"}, "as_of"),
        ("/dashboard/plan", {"as_of": "soon"}, "as_of"),
        ("/dashboard/systems/shop", {"as_of": "2024-13-01"}, "as_of"),
        ("/dashboard/systems/shop", {"uploaded": "x"}, "uploaded"),
    ):
        r = client.get(path, params=params)
        assert r.status_code == 422, (path, r.text[:200])
        assert r.headers["content-type"].startswith("text/html"), path
        shown = re.search(r'data-field="error">([^<]*)<', r.text)
        assert shown is not None
        assert shown.group(1).startswith(f"{named}: "), shown.group(1)
        assert "acme" in r.text  # the page keeps the signed-in header
    missing = client.get("/dashboard/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    # The API's answers stay problem documents.
    api = client.get("/api/v1/exposures", params={"as_of": "yesterday"}, headers=world.auth("acme-reader"))
    assert api.status_code == 422
    assert api.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/nope").headers["content-type"] == "application/problem+json"


def test_dashboard_answers_say_their_server_time(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-reader"])
    timing = client.get("/dashboard/").headers["server-timing"]
    assert re.fullmatch(r"app;dur=\d+\.\d", timing), timing
    assert "server-timing" not in client.get("/api/v1/systems", headers=world.auth("acme-reader")).headers


def test_links_carry_the_moment_shown(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-reader"])
    page = client.get("/dashboard/systems/shop", params={"as_of": AS_OF})
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="(/dashboard[^"]*)"', page.text)]
    inner = [h for h in hrefs if not h.startswith("/dashboard/static")]
    assert inner
    assert all("as_of=2026-05-01T00%3A00%3A00Z" in h for h in inner), inner


def test_the_evidence_pack_form_downloads_the_chosen_period(world: World) -> None:
    client = world.client
    sign_in(client, world.keys["acme-reader"])
    page = client.get("/dashboard/downloads", params={"as_of": AS_OF}).text
    assert 'name="from" type="date" value="2026-01-31"' in page
    assert 'name="to" type="date" value="2026-05-01"' in page
    period = {"from": "2026-02-01", "to": "2026-05-01"}
    mine = client.get("/dashboard/downloads/nis2-evidence", params=period)
    assert mine.status_code == 200
    assert mine.headers["content-type"] == "application/zip"
    api = client.get("/api/v1/exports/nis2-evidence", params=period, headers=world.auth("acme-reader"))
    assert mine.content == api.content
