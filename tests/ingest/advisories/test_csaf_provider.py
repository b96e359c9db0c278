"""CSAF 2.0 provider discovery (ingest/advisories/csaf_provider.py), served by ``httpx.MockTransport``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from core.errors import AdvisoryError
from ingest.advisories.csaf_provider import CsafProvider
from tests.ingest.advisories.feed_server import (
    CSAF_EXAMPLES,
    Handler,
    Server,
    needs_shared,
    serve_bytes,
    serve_json,
)

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
        METADATA_URL: serve_json(provider_metadata()),
        WHITE_FEED: serve_json(
            rolie_feed([("esa-2025-001", "2025-04-01T12:00:00Z"), ("esa-2023-009", "2023-01-10T00:00:00Z")])
        ),
        f"{DIRECTORY}/changes.csv": lambda r: httpx.Response(200, text=CHANGES_CSV),
    }
    for url, doc in documents.items():
        routes[url] = serve_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
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
    examples = sorted(needs_shared(CSAF_EXAMPLES).glob("*.json"))
    assert len(examples) == 5
    entries = [(p.stem, "2025-01-01T00:00:00Z") for p in examples]
    routes: dict[str, Handler] = {
        METADATA_URL: serve_json(
            {
                "metadata_version": "2.0",
                "distributions": [{"rolie": {"feeds": [{"tlp_label": "WHITE", "url": WHITE_FEED}]}}],
            }
        ),
        WHITE_FEED: serve_json(rolie_feed(entries)),
    }
    for path in examples:
        routes[f"{PROVIDER}/white/{path.stem}.json"] = serve_bytes(path.read_bytes())

    sync = CsafProvider(Server(routes).http(), METADATA_URL).sync()

    assert sync.skipped == []
    ids = sorted(d.document["document"]["tracking"]["id"] for d in sync.documents)
    expected = sorted(json.loads(p.read_text())["document"]["tracking"]["id"] for p in examples)
    assert ids == expected
    assert "BSI-2022-0001" in ids


def test_csaf_refuses_unknown_metadata_version_and_plain_http() -> None:
    server = Server({METADATA_URL: serve_json(provider_metadata(version="1.0"))})
    with pytest.raises(AdvisoryError, match=rf"^{METADATA_URL}: unsupported metadata_version '1.0'"):
        CsafProvider(server.http(), METADATA_URL).sync()

    plain = dict(
        provider_metadata(), distributions=[{"rolie": {"feeds": [{"tlp_label": "WHITE", "url": WHITE_FEED}]}}]
    )
    feed = rolie_feed([])
    feed["feed"]["entry"] = [
        {"id": "x", "updated": "2025-01-01T00:00:00Z", "content": {"src": "http://csaf.example.com/x.json"}}
    ]
    server = Server({METADATA_URL: serve_json(plain), WHITE_FEED: serve_json(feed)})
    sync = CsafProvider(server.http(), METADATA_URL).sync()
    assert sync.documents == []
    assert [(s.source_ref, s.reason) for s in sync.skipped] == [
        ("http://csaf.example.com/x.json", "not an https URL (CSAF requires TLS)")
    ]
