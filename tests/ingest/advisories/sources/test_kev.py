"""CISA KEV catalog parsing and fetching (ingest/advisories/sources/kev.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.advisories import KevEntry
from core.errors import AdvisoryError
from ingest.advisories.fetch import ServiceResponseError
from ingest.advisories.interface import Claim, FetchRequest, Validators
from ingest.advisories.sources.kev import KEV_URL, SOURCE, fetch_kev, parse_kev, read_kev_file
from tests.ingest.advisories.feed_server import FEEDS, Server, conditional, needs_shared


def catalog(*entries: dict[str, Any], count: int | None = None) -> bytes:
    return json.dumps(
        {
            "title": "CISA Catalog of Known Exploited Vulnerabilities",
            "catalogVersion": "2025.08.25",
            "dateReleased": "2025-08-25T17:04:19.9796Z",
            "count": len(entries) if count is None else count,
            "vulnerabilities": list(entries),
        }
    ).encode()


def entry(**overrides: Any) -> dict[str, Any]:
    base = {
        "cveID": "CVE-2022-46169",
        "vendorProject": "Cacti",
        "product": "Cacti",
        "vulnerabilityName": "Cacti Command Injection Vulnerability",
        "dateAdded": "2023-02-16",
        "dueDate": "2023-03-09",
        "knownRansomwareCampaignUse": "Known",
    }
    base.update(overrides)
    return base


def test_entry_fields_and_catalog_metadata() -> None:
    parsed = parse_kev(
        catalog(entry(), entry(cveID="CVE-2021-44228", knownRansomwareCampaignUse="Unknown")),
        origin="kev.json",
    )
    assert (parsed.catalog_version, parsed.date_released) == ("2025.08.25", "2025-08-25T17:04:19.9796Z")
    assert parsed.entries[0] == KevEntry(
        "CVE-2022-46169",
        "2023-02-16",
        "2023-03-09",
        True,
        "Cacti",
        "Cacti",
        "Cacti Command Injection Vulnerability",
    )
    assert parsed.entries[1].known_ransomware is False


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"cveID": "GHSA-x"}, r"vulnerabilities\[0\]: cveID 'GHSA-x' is not a CVE id"),
        ({"dateAdded": "16/02/2023"}, r"vulnerabilities\[0\] \(CVE-2022-46169\): dateAdded '16/02/2023'"),
        ({"knownRansomwareCampaignUse": "Yes"}, "knownRansomwareCampaignUse must be 'Known' or 'Unknown'"),
        ({"cveID": None}, "'cveID' is missing"),
    ],
)
def test_bad_entry_fails_with_file_entry_and_field(bad: dict[str, Any], fragment: str) -> None:
    with pytest.raises(AdvisoryError, match=r"^kev\.json: .*" + fragment):
        parse_kev(catalog(entry(**bad)), origin="kev.json")


def test_truncated_or_non_json_catalogs_fail() -> None:
    with pytest.raises(AdvisoryError, match="'count' says 5 but 1 entries"):
        parse_kev(catalog(entry(), count=5), origin="kev.json")
    with pytest.raises(AdvisoryError, match=r"^kev\.json: not valid JSON"):
        parse_kev(b"{", origin="kev.json")
    with pytest.raises(AdvisoryError, match="'catalogVersion' is missing"):
        parse_kev(b"{}", origin="kev.json")


def test_real_catalog(shared_data: Path) -> None:
    path = shared_data / "feeds/kev/known_exploited_vulnerabilities.json"
    parsed = read_kev_file(path)
    raw = json.loads(path.read_text())
    assert parsed.catalog_version == raw["catalogVersion"]
    assert len(parsed.entries) == raw["count"]
    assert sum(e.known_ransomware for e in parsed.entries) == sum(
        v["knownRansomwareCampaignUse"] == "Known" for v in raw["vulnerabilities"]
    )
    by_cve = {e.cve_id: e for e in parsed.entries}
    assert by_cve["CVE-2022-46169"].date_added == "2023-02-16"


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryError, match="cannot be read"):
        read_kev_file(tmp_path / "kev.json")


# --- over HTTP: KEV_URL through MockTransport -------------------------------------------------------


def test_kev_real_catalog_then_not_modified() -> None:
    body = needs_shared(FEEDS / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
    server = Server({KEV_URL: conditional(body, '"kev-2025.08.25"')})
    http = server.http()

    first = fetch_kev(http)
    assert first.changed
    assert first.content == body
    catalog = parse_kev(first.content, origin=KEV_URL)  # what the pipeline does with the download
    assert (catalog.catalog_version, len(catalog.entries)) == ("2025.08.25", 1404)
    assert first.validators.etag == '"kev-2025.08.25"'

    second = fetch_kev(http, previous=first.validators)
    assert not second.changed
    assert second.content == b""
    assert server.requests[1].headers["If-None-Match"] == '"kev-2025.08.25"'
    assert server.requests[0].headers["User-Agent"].startswith("patchgap/")
    assert second.validators == first.validators


TINY_KEV = json.dumps(
    {
        "catalogVersion": "2025.08.25",
        "dateReleased": "2025-08-25T17:04:19.9796Z",
        "count": 1,
        "vulnerabilities": [{"cveID": "CVE-2022-46169", "dateAdded": "2023-02-16", "dueDate": "2023-03-09"}],
    }
).encode()


def test_kev_unchanged_body_without_validators_is_not_new() -> None:
    # A server (or proxy) that ignores conditional headers: the stored SHA-256 still says "nothing new".
    server = Server({KEV_URL: lambda r: httpx.Response(200, content=TINY_KEV)})
    first = fetch_kev(server.http())
    second = fetch_kev(server.http(), previous=first.validators)
    assert first.changed
    assert not second.changed
    assert "If-None-Match" not in server.requests[1].headers


def test_kev_sends_if_modified_since() -> None:
    stamp = "Mon, 25 Aug 2025 17:04:19 GMT"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return httpx.Response(304)
        return httpx.Response(200, content=TINY_KEV, headers={"Last-Modified": stamp})

    server = Server({KEV_URL: handler})
    first = fetch_kev(server.http())
    second = fetch_kev(server.http(), previous=first.validators)
    assert (first.changed, second.changed) == (True, False)
    assert second.validators.last_modified == stamp


def test_kev_that_is_not_json_or_not_a_catalog() -> None:
    html = Server({KEV_URL: lambda r: httpx.Response(200, text="<html>Access Denied</html>")})
    with pytest.raises(ServiceResponseError, match=rf"^{KEV_URL}: response is not valid JSON"):
        fetch_kev(html.http())
    other = Server({KEV_URL: lambda r: httpx.Response(200, json={"title": "x"})})
    with pytest.raises(ServiceResponseError, match="not a KEV catalog"):
        fetch_kev(other.http())


# --- the registered source -----------------------------------------------------------------------------


def test_source_reads_a_whole_catalog_and_fetches_conditionally(tmp_path: Path) -> None:
    table = SOURCE.read_table(TINY_KEV, origin="kev.json")
    assert (table.version, table.date, table.count) == ("2025.08.25", "2025-08-25T17:04:19.9796Z", 1)
    assert SOURCE.claim(json.loads(TINY_KEV)) is Claim.FORMAT
    with pytest.raises(AdvisoryError, match="kev is a feed file, not advisory records"):
        SOURCE.open(tmp_path)

    server = Server({KEV_URL: conditional(TINY_KEV, '"v1"')})
    first = SOURCE.fetch(server.http(), FetchRequest(url=KEV_URL))
    assert (first.changed, first.content, first.records, first.note) == (True, TINY_KEV, (), None)
    assert first.validators is not None
    again = SOURCE.fetch(server.http(), FetchRequest(url=KEV_URL, validators=first.validators))
    assert (again.changed, again.content) == (False, b"")
    assert again.validators == Validators('"v1"', None, first.validators.sha256)
