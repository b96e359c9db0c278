"""KEV, EPSS, Akrites and CSAF over HTTP, served by ``httpx.MockTransport``.

KEV and EPSS bodies come from the real samples in ``../shared/data/feeds`` where present (those tests skip
without it); the small inline bodies cover the same paths without it. Every handler fails the test on a URL
it does not serve, so the tests also pin which requests each sync makes.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.advisories import Advisory
from core.errors import AdvisoryError
from ingest.advisories.feeds_http import (
    EPSS_URL,
    KEV_URL,
    AkritesHttpFeed,
    CsafProvider,
    fetch_epss,
    fetch_feed,
    fetch_kev,
)
from ingest.advisories.http import HttpClient, RetryPolicy, ServiceResponseError
from ingest.advisories.sources.epss import parse_epss
from ingest.advisories.sources.kev import parse_kev

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / ".." / "shared" / "data"
FEEDS = SHARED / "feeds"
CSAF_EXAMPLES = SHARED / "schemas" / "csaf" / "examples"

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches httpx's real transport: all traffic must go through MockTransport."""

    def refuse(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        pytest.fail(f"real network used for {request.method} {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)


class Server:
    """Routes by exact URL; records every request; fails the test on an unknown URL."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        handler = self.routes.get(str(request.url))
        if handler is None:
            pytest.fail(f"unexpected request: {request.method} {request.url}")
        return handler(request)

    def http(self) -> HttpClient:
        return HttpClient(transport=httpx.MockTransport(self), retry=RetryPolicy(attempts=1))

    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


def conditional(body: bytes, etag: str, headers: dict[str, str] | None = None) -> Handler:
    """Serves ``body`` with an ETag and answers 304 when the client already has it."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=body, headers={"ETag": etag, **(headers or {})})

    return handler


def _shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: real samples live in ../shared/data")
    return path


# --- KEV ---------------------------------------------------------------------------------------------


def test_kev_real_catalog_then_not_modified() -> None:
    body = _shared(FEEDS / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
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


# --- EPSS --------------------------------------------------------------------------------------------

DATED = "https://epss.empiricalsecurity.com/epss_scores-2026-09-29.csv.gz"
TINY_EPSS = (
    b"#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z\n"
    b"cve,epss,percentile\n"
    b"CVE-2022-46169,0.94,0.99\n"
)


def _epss_server(plain: bytes) -> Server:
    """The real layout: ``-current`` redirects to the dated file, served as application/gzip."""
    return Server(
        {
            EPSS_URL: lambda r: httpx.Response(302, headers={"Location": DATED}),
            DATED: conditional(
                gzip.compress(plain), '"epss-2026-09-29"', {"Content-Type": "application/gzip"}
            ),
        }
    )


def test_epss_real_excerpt_gzipped_behind_a_redirect() -> None:
    plain = _shared(FEEDS / "epss" / "epss_scores-excerpt-head.csv").read_bytes()
    server = _epss_server(plain)

    download = fetch_epss(server.http())

    assert server.urls() == [EPSS_URL, DATED]
    assert download.changed
    assert download.content == plain
    feed = parse_epss(download.content, origin=download.url)
    assert (feed.model_version, len(feed.scores)) == ("v2026.06.15", 49)


def test_epss_second_sync_is_not_modified() -> None:
    server = _epss_server(TINY_EPSS)
    first = fetch_epss(server.http())
    second = fetch_epss(server.http(), previous=first.validators)
    assert first.content == TINY_EPSS
    assert not second.changed
    assert server.requests[-1].headers["If-None-Match"] == '"epss-2026-09-29"'


def test_epss_with_content_encoding_is_decoded_once() -> None:
    body = gzip.compress(TINY_EPSS)
    server = Server(
        {EPSS_URL: lambda r: httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})}
    )
    assert fetch_epss(server.http()).content == TINY_EPSS


def test_epss_corrupt_gzip_bomb_and_error_page() -> None:
    corrupt = Server({EPSS_URL: lambda r: httpx.Response(200, content=b"\x1f\x8b" + b"\x00" * 30)})
    with pytest.raises(ServiceResponseError, match=rf"^{EPSS_URL}: not a valid gzip file"):
        fetch_epss(corrupt.http())

    bomb = Server({EPSS_URL: lambda r: httpx.Response(200, content=gzip.compress(b"0" * 10_000))})
    with pytest.raises(ServiceResponseError, match="unpacks to more than the limit of 1000 bytes"):
        fetch_feed(bomb.http(), EPSS_URL, max_unpacked_bytes=1000)

    page = Server({EPSS_URL: lambda r: httpx.Response(200, text="<!doctype html><title>Moved</title>")})
    with pytest.raises(ServiceResponseError, match="does not look like an EPSS CSV"):
        fetch_epss(page.http())


# --- Akrites -------------------------------------------------------------------------------------------

AKRITES_BASE = "https://feeds.example.org/akrites"
INDEX_URL = f"{AKRITES_BASE}/index.json"


def akrites_record(record_id: str, modified: str) -> dict[str, Any]:
    """A made-up Akrites sample record (OSV with database_specific.akrites), as the feed would publish."""
    return {
        "schema_version": "1.6.0",
        "id": record_id,
        "modified": modified,
        "published": "2025-02-01T00:00:00Z",
        "summary": "Sample record for tests",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "sample-lib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}],
            }
        ],
        "database_specific": {
            "akrites": {"case_id": "C-1", "fix_released_at": "2025-02-03T00:00:00Z", "exploited": False}
        },
    }


def _index(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"format": "akrites-index/1", "records": entries}).encode()


def _json(obj: Any) -> Handler:
    return lambda r: httpx.Response(200, json=obj)


def _bytes(body: bytes) -> Handler:
    return lambda r: httpx.Response(200, content=body)


def test_akrites_fetches_only_new_and_changed_records() -> None:
    entries = [
        {"id": "AKRITES-2025-0001", "modified": "2025-03-01T00:00:00Z"},  # we hold this version
        {"id": "AKRITES-2025-0002", "modified": "2025-03-05T00:00:00Z"},  # ours is older
        {"id": "AKRITES-2025-0003", "modified": "2025-03-06T00:00:00Z"},  # new to us
        {"id": "AKRITES-2025-0004", "modified": "2025-03-06T00:00:00Z"},  # listed, but 404
        {"id": "AKRITES-2025-0005", "modified": "2025-03-06T00:00:00Z"},  # serves another id
        {"id": "../../etc/passwd", "modified": "2025-03-06T00:00:00Z"},  # must never become a URL
        {"id": "AKRITES-2025-0006"},
    ]
    server = Server(
        {
            INDEX_URL: conditional(_index(entries), '"idx-1"'),
            f"{AKRITES_BASE}/AKRITES-2025-0002.json": _json(
                akrites_record("AKRITES-2025-0002", "2025-03-05T00:00:00Z")
            ),
            f"{AKRITES_BASE}/AKRITES-2025-0003.json": _json(
                akrites_record("AKRITES-2025-0003", "2025-03-06T00:00:00Z")
            ),
            f"{AKRITES_BASE}/AKRITES-2025-0004.json": lambda r: httpx.Response(404),
            f"{AKRITES_BASE}/AKRITES-2025-0005.json": _json(
                akrites_record("AKRITES-2025-0099", "2025-03-06T00:00:00Z")
            ),
        }
    )
    feed = AkritesHttpFeed(server.http(), INDEX_URL, concurrency=2)
    known = {
        "AKRITES-2025-0001": "2025-03-01T00:00:00Z",
        "AKRITES-2025-0002": "2025-03-01T00:00:00Z",
        "AKRITES-2024-0042": "2024-12-01T00:00:00Z",
    }

    sync = feed.sync(known)

    assert sorted(server.urls()[1:]) == [f"{AKRITES_BASE}/AKRITES-2025-000{n}.json" for n in (2, 3, 4, 5)]
    assert [a.id for a in sync.advisories] == ["AKRITES-2025-0002", "AKRITES-2025-0003"]
    assert all(a.source == "akrites" for a in sync.advisories)
    # The default parser is the Akrites one: the fix release time becomes the fix-available time.
    assert [a.fix_available_at for a in sync.advisories] == ["2025-02-03T00:00:00Z"] * 2
    assert sync.unchanged == 1
    assert sync.not_listed == ["AKRITES-2024-0042"]
    reasons = {(s.id, s.reason) for s in sync.skipped}
    assert reasons == {
        ("../../etc/passwd", "index entry id is not a plain record id"),
        (None, "index entry 6 lacks a string id or modified"),
        ("AKRITES-2025-0004", "listed in the index but not found (HTTP 404)"),
        ("AKRITES-2025-0005", "record id 'AKRITES-2025-0099' differs from the index"),
    }

    # Next sync: the index has not changed, so nothing else is requested.
    again = feed.sync(known, previous=sync.index.validators)
    assert not again.index.changed
    assert again.advisories == []
    assert server.urls()[-1] == INDEX_URL
    assert server.requests[-1].headers["If-None-Match"] == '"idx-1"'


def test_akrites_record_refused_by_the_parser_is_skipped() -> None:
    def strict(obj: dict[str, Any], origin: str) -> Advisory:
        raise AdvisoryError(origin, "fails the OSV schema")

    server = Server(
        {
            INDEX_URL: _json(
                {
                    "format": "akrites-index/1",
                    "records": [{"id": "AKRITES-1", "modified": "2025-01-01T00:00:00Z"}],
                }
            ),
            f"{AKRITES_BASE}/AKRITES-1.json": _json({"id": "AKRITES-1"}),
        }
    )
    sync = AkritesHttpFeed(server.http(), INDEX_URL, parse=strict).sync({})
    assert [(s.source_ref, s.reason) for s in sync.skipped] == [
        (f"{AKRITES_BASE}/AKRITES-1.json", "fails the OSV schema")
    ]


def test_akrites_index_of_another_format_is_refused() -> None:
    server = Server({INDEX_URL: _json({"records": []})})
    with pytest.raises(AdvisoryError, match=rf"^{INDEX_URL}: not an Akrites index: format is None"):
        AkritesHttpFeed(server.http(), INDEX_URL).sync({})


def test_akrites_records_can_live_under_another_base_url() -> None:
    feed = AkritesHttpFeed(
        HttpClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))),
        INDEX_URL,
        base_url="https://cdn.example.org/osv/",
    )
    assert feed.record_url("AKRITES-2025-0001") == "https://cdn.example.org/osv/AKRITES-2025-0001.json"


# --- CSAF ----------------------------------------------------------------------------------------------

PROVIDER = "https://csaf.example.com/.well-known/csaf"
METADATA_URL = f"{PROVIDER}/provider-metadata.json"
WHITE_FEED = f"{PROVIDER}/white/example-csaf-feed-tlp-white.json"
AMBER_FEED = f"{PROVIDER}/amber/example-csaf-feed-tlp-amber.json"
DIRECTORY = f"{PROVIDER}/v2"


def csaf_document(tracking_id: str) -> dict[str, Any]:
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": f"Sample {tracking_id}",
            "publisher": {"category": "vendor", "name": "Example", "namespace": "https://example.com"},
            "tracking": {"id": tracking_id, "status": "final", "version": "1"},
        }
    }


def provider_metadata(version: str = "2.0") -> dict[str, Any]:
    return {
        "canonical_url": METADATA_URL,
        "metadata_version": version,
        "role": "csaf_trusted_provider",
        "distributions": [
            {
                "rolie": {
                    "feeds": [
                        {"summary": "public", "tlp_label": "WHITE", "url": WHITE_FEED},
                        {"summary": "partners", "tlp_label": "AMBER", "url": AMBER_FEED},
                    ]
                }
            },
            {"directory_url": DIRECTORY},
        ],
    }


def rolie_feed(entries: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "feed": {
            "id": "example-csaf-feed-tlp-white",
            "title": "Example CSAF feed (TLP:WHITE)",
            "link": [{"rel": "self", "href": WHITE_FEED}],
            "updated": "2025-06-01T00:00:00Z",
            "entry": [
                {
                    "id": name,
                    "title": name,
                    "link": [{"rel": "self", "href": f"{PROVIDER}/white/{name}.json"}],
                    "updated": updated,
                    "content": {"type": "application/json", "src": f"{PROVIDER}/white/{name}.json"},
                    "format": {
                        "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json",
                        "version": "2.0",
                    },
                }
                for name, updated in entries
            ],
        }
    }


CHANGES_CSV = (
    '"2025/esa-2025-003.json","2025-05-20T08:00:00+02:00"\n'
    '"2024/esa-2024-017.json","2024-11-02T10:00:00Z"\n'
    '"../../private/secret.json","2025-05-21T00:00:00Z"\n'
    '"broken line"\n'
)


def _csaf_server(documents: dict[str, dict[str, Any] | bytes]) -> Server:
    routes: dict[str, Handler] = {
        METADATA_URL: _json(provider_metadata()),
        WHITE_FEED: _json(
            rolie_feed([("esa-2025-001", "2025-04-01T12:00:00Z"), ("esa-2023-009", "2023-01-10T00:00:00Z")])
        ),
        f"{DIRECTORY}/changes.csv": lambda r: httpx.Response(200, text=CHANGES_CSV),
    }
    for url, doc in documents.items():
        routes[url] = _bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    return Server(routes)


def test_csaf_discovery_fetches_only_documents_newer_than_since() -> None:
    new_rolie = f"{PROVIDER}/white/esa-2025-001.json"
    new_dir = f"{DIRECTORY}/2025/esa-2025-003.json"
    server = _csaf_server({new_rolie: csaf_document("ESA-2025-001"), new_dir: csaf_document("ESA-2025-003")})
    provider = CsafProvider(server.http(), METADATA_URL, concurrency=2)

    sync = provider.sync(since="2025-01-01T00:00:00Z")

    assert AMBER_FEED not in server.urls()  # restricted feed: not even asked for
    fetched = sorted(u for u in server.urls() if u.endswith(".json") and u not in (METADATA_URL, WHITE_FEED))
    assert fetched == [new_dir, new_rolie]
    assert sorted(d.document["document"]["tracking"]["id"] for d in sync.documents) == [
        "ESA-2025-001",
        "ESA-2025-003",
    ]
    assert sync.listed == 4
    # Compared as instants (08:00+02:00 is 06:00Z); the refused traversal entry's later stamp does not count.
    assert sync.newest == "2025-05-20T08:00:00+02:00"
    assert {s.reason for s in sync.skipped} == {
        "line 3: path '../../private/secret.json' leaves the directory",
        'line 4: expected "path","timestamp"',
    }


def test_csaf_first_sync_fetches_everything_and_skips_bad_documents() -> None:
    docs: dict[str, dict[str, Any] | bytes] = {
        f"{PROVIDER}/white/esa-2025-001.json": csaf_document("ESA-2025-001"),
        f"{PROVIDER}/white/esa-2023-009.json": b"<html>not json</html>",
        f"{DIRECTORY}/2025/esa-2025-003.json": {"not": "csaf"},
        f"{DIRECTORY}/2024/esa-2024-017.json": csaf_document("ESA-2024-017"),
    }
    sync = CsafProvider(_csaf_server(docs).http(), METADATA_URL).sync(since=None)
    assert sorted(d.ref.url for d in sync.documents) == [
        f"{DIRECTORY}/2024/esa-2024-017.json",
        f"{PROVIDER}/white/esa-2025-001.json",
    ]
    by_url = {s.source_ref: s.reason for s in sync.skipped}
    assert by_url[f"{PROVIDER}/white/esa-2023-009.json"] == "not valid JSON"
    assert by_url[f"{DIRECTORY}/2025/esa-2025-003.json"] == "not a CSAF document (no 'document' object)"


def test_csaf_real_examples_through_a_rolie_feed() -> None:
    examples = sorted(_shared(CSAF_EXAMPLES).glob("*.json"))
    assert len(examples) == 5
    entries = [(p.stem, "2025-01-01T00:00:00Z") for p in examples]
    routes: dict[str, Handler] = {
        METADATA_URL: _json(
            {
                "metadata_version": "2.0",
                "distributions": [{"rolie": {"feeds": [{"tlp_label": "WHITE", "url": WHITE_FEED}]}}],
            }
        ),
        WHITE_FEED: _json(rolie_feed(entries)),
    }
    for path in examples:
        routes[f"{PROVIDER}/white/{path.stem}.json"] = _bytes(path.read_bytes())

    sync = CsafProvider(Server(routes).http(), METADATA_URL).sync()

    assert sync.skipped == []
    ids = sorted(d.document["document"]["tracking"]["id"] for d in sync.documents)
    expected = sorted(json.loads(p.read_text())["document"]["tracking"]["id"] for p in examples)
    assert ids == expected
    assert "BSI-2022-0001" in ids


def test_csaf_refuses_unknown_metadata_version_and_plain_http() -> None:
    server = Server({METADATA_URL: _json(provider_metadata(version="1.0"))})
    with pytest.raises(AdvisoryError, match=rf"^{METADATA_URL}: unsupported metadata_version '1.0'"):
        CsafProvider(server.http(), METADATA_URL).sync()

    plain = dict(
        provider_metadata(), distributions=[{"rolie": {"feeds": [{"tlp_label": "WHITE", "url": WHITE_FEED}]}}]
    )
    feed = rolie_feed([])
    feed["feed"]["entry"] = [
        {"id": "x", "updated": "2025-01-01T00:00:00Z", "content": {"src": "http://csaf.example.com/x.json"}}
    ]
    server = Server({METADATA_URL: _json(plain), WHITE_FEED: _json(feed)})
    sync = CsafProvider(server.http(), METADATA_URL).sync()
    assert sync.documents == []
    assert [(s.source_ref, s.reason) for s in sync.skipped] == [
        ("http://csaf.example.com/x.json", "not an https URL (CSAF requires TLS)")
    ]
