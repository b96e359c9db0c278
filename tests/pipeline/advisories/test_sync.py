"""One sync for every source (pipeline/advisories/sync.py), on SQLite and PostgreSQL, served by MockTransport.

The CLI tests run each source's sync end to end; these pin what the generic sync keeps between two runs:
the validators and cursor each source's fetch returns, under the source's feed key.
"""

from __future__ import annotations

import json

import pytest

from core.errors import AdvisoryError
from pipeline.advisories.sync import sync_source
from store.db import Database
from store.queries import advisories as q
from tests.ingest.advisories.feed_server import Server, conditional, serve_json
from tests.ingest.advisories.sources.test_csaf import synthetic

KEV_URL = "https://feeds.example/kev.json"
KEV = json.dumps(
    {
        "catalogVersion": "2025.08.25",
        "dateReleased": "2025-08-25T17:04:19.9796Z",
        "count": 1,
        "vulnerabilities": [{"cveID": "CVE-2022-46169", "dateAdded": "2023-02-16", "dueDate": "2023-03-09"}],
    }
).encode()


def feed_state(db: Database, name: str) -> q.FeedStateRow | None:
    with db.connect() as conn:
        return q.get_feed_state(conn, name)


def test_a_table_source_replaces_its_table_then_a_304_keeps_it_and_its_state(db: Database) -> None:
    server = Server({KEV_URL: conditional(KEV, '"v1"')})

    first = sync_source(db, "kev", server.http(), url=KEV_URL)
    assert (first.changed, first.note, first.result) == (True, None, None)
    assert first.table is not None
    assert (first.table.changed, first.table.entries, first.table.version) == (True, 1, "2025.08.25")
    state = feed_state(db, "kev")
    assert state is not None
    assert (state.etag, state.version) == ('"v1"', "2025.08.25")

    again = sync_source(db, "kev", server.http(), url=KEV_URL)
    assert server.requests[-1].headers["If-None-Match"] == '"v1"'
    assert again.changed is False
    assert again.table is not None
    assert (again.table.changed, again.table.entries, again.table.version) == (False, 1, "2025.08.25")
    kept = feed_state(db, "kev")
    assert kept is not None
    assert (kept.etag, kept.sha256, kept.version) == (state.etag, state.sha256, state.version)
    assert kept.fetched_at >= state.fetched_at


def test_a_record_source_keeps_its_cursor_and_asks_only_for_what_is_newer(db: Database) -> None:
    provider = "https://csaf.example.com/.well-known/csaf"
    meta_url, feed_url = f"{provider}/provider-metadata.json", f"{provider}/feed.json"
    document = synthetic(product_status={"fixed": ["P1"]})
    server = Server(
        {
            meta_url: serve_json(
                {
                    "metadata_version": "2.0",
                    "distributions": [{"rolie": {"feeds": [{"tlp_label": "WHITE", "url": feed_url}]}}],
                }
            ),
            feed_url: serve_json(
                {"feed": {"entry": [{"updated": "2024-02-01T00:00:00Z", "content": {"src": "ex.json"}}]}}
            ),
            f"{provider}/ex.json": serve_json(document),
        }
    )

    first = sync_source(db, "csaf", server.http(), url=meta_url)
    assert first.note == "1 listed, 1 fetched (new or changed)"
    assert first.result is not None
    assert first.result.created == 1
    state = feed_state(db, f"csaf:{meta_url}")
    assert state is not None
    assert (state.cursor, state.etag) == ("2024-02-01T00:00:00Z", None)

    again = sync_source(db, "csaf", server.http(), url=meta_url)
    assert again.note == "1 listed, 0 fetched (new or changed)"
    assert f"{provider}/ex.json" not in server.urls()[3:]
    assert again.result is not None
    assert again.result.changes == 0


def test_an_unchanged_index_imports_nothing_and_keeps_its_validators(db: Database) -> None:
    base = "https://akrites.example/feed"
    index = json.dumps({"format": "akrites-index/1", "records": []}).encode()
    server = Server({f"{base}/index.json": conditional(index, '"idx"')})
    first = sync_source(db, "akrites", server.http(), url=f"{base}/index.json")
    assert (first.changed, first.note) == (True, "0 listed, 0 fetched (new or changed)")
    again = sync_source(db, "akrites", server.http(), url=f"{base}/index.json")
    assert (again.changed, again.result) == (False, None)
    state = feed_state(db, f"akrites:{base}/index.json")
    assert state is not None
    assert state.etag == '"idx"'


def test_a_source_without_a_default_url_needs_one(db: Database) -> None:
    http = Server({}).http()  # fails the test on any request
    with pytest.raises(AdvisoryError, match=r"^sync akrites: a URL is required \(the index URL\)"):
        sync_source(db, "akrites", http)
