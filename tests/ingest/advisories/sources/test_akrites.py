"""The Akrites feed (ingest/advisories/sources/akrites.py): records, its HTTP index, the bundled samples."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.advisories import Advisory
from core.errors import AdvisoryError
from ingest.advisories.http import HttpClient
from ingest.advisories.interface import Claim, FetchRequest, Skipped
from ingest.advisories.sources.akrites import (
    SOURCE,
    AkritesHttpFeed,
    AkritesSource,
    parse_akrites_record,
    read_case,
)
from tests.ingest.advisories.feed_server import Server, conditional, serve_json

SAMPLES = Path(__file__).resolve().parents[4] / "sbom_samples" / "advisories" / "akrites"


def record(**akrites: Any) -> dict[str, Any]:
    return {
        "id": "AKRITES-2026-0001",
        "modified": "2026-01-20T15:30:00Z",
        "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]}],
        "database_specific": {"akrites": akrites},
    }


def test_fix_release_and_exploitation_become_advisory_facts() -> None:
    advisory = parse_akrites_record(
        record(case_id="AK-1", fix_released_at="2026-01-20T15:30:00Z", exploited=True), "a.json"
    )
    assert advisory.source == "akrites"
    assert advisory.fix_available_at == "2026-01-20T15:30:00Z"
    assert advisory.fix_available_source == "akrites"
    assert advisory.exploited is True


def test_record_without_the_block_or_without_a_fix_is_plain() -> None:
    plain = record()
    del plain["database_specific"]
    advisory = parse_akrites_record(plain, "a.json")
    assert (advisory.fix_available_at, advisory.fix_available_source) == (None, None)
    assert advisory.exploited is False
    no_fix = parse_akrites_record(record(exploited=True), "a.json")
    assert (no_fix.fix_available_at, no_fix.fix_available_source, no_fix.exploited) == (None, None, True)


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ({"exploited": "yes"}, "exploited must be true or false"),
        ({"last_resort_maintainer": 1}, "last_resort_maintainer must be true or false"),
        ({"fix_released_at": "next week"}, "fix_released_at: not an RFC 3339"),
        ({"disclosed_at": 20260101}, "disclosed_at must be an RFC 3339 string"),
        ({"case_id": 7}, "case_id must be a string"),
    ],
)
def test_wrongly_typed_facts_reject_the_record(block: dict[str, Any], fragment: str) -> None:
    with pytest.raises(AdvisoryError, match=fragment):
        parse_akrites_record(record(**block), "a.json")
    with pytest.raises(AdvisoryError, match="must be an object"):
        read_case({"akrites": ["x"]}, origin="a.json")


def test_bundled_samples_are_marked_and_map_as_documented() -> None:
    results = list(AkritesSource(SAMPLES).records())
    assert all(isinstance(r, Advisory) for r in results)
    advisories = {r.id: r for r in results if isinstance(r, Advisory)}
    facts = {
        i: (a.affected[0].ecosystem, a.affected[0].name, a.fix_available_at, a.exploited)
        for i, a in advisories.items()
    }
    assert facts == {
        "AKRITES-SAMPLE-2026-0001": ("npm", "sanitize-html", "2026-01-20T15:30:00Z", False),
        "AKRITES-SAMPLE-2026-0002": ("npm", "marsdb", None, True),
        "AKRITES-SAMPLE-2026-0003": ("Go", "github.com/go-resty/resty/v2", "2026-03-09T17:45:00Z", False),
        "AKRITES-SAMPLE-2026-0004": ("Packagist", "guzzlehttp/psr7", "2026-04-09T08:00:00Z", True),
    }
    for advisory in advisories.values():
        assert advisory.summary.startswith("[SAMPLE]")
        assert "SAMPLE written for the patchgap demo" in advisory.details


def test_zip_bytes_feed_and_bad_records_are_skipped_not_fatal() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(SAMPLES.glob("*.json")):
            zf.writestr(path.name, path.read_bytes())
        zf.writestr("AKRITES-BAD.json", json.dumps(record(exploited="maybe")))
    results = list(AkritesSource(buffer.getvalue(), label="feed.zip").records())
    assert sum(isinstance(r, Advisory) for r in results) == 4
    (skipped,) = [r for r in results if isinstance(r, Skipped)]
    assert skipped.id == "AKRITES-2026-0001"
    assert skipped.source_ref == "feed.zip!AKRITES-BAD.json"
    assert "exploited" in skipped.reason


# --- over HTTP: an Akrites index through MockTransport ----------------------------------------------


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
            f"{AKRITES_BASE}/AKRITES-2025-0002.json": serve_json(
                akrites_record("AKRITES-2025-0002", "2025-03-05T00:00:00Z")
            ),
            f"{AKRITES_BASE}/AKRITES-2025-0003.json": serve_json(
                akrites_record("AKRITES-2025-0003", "2025-03-06T00:00:00Z")
            ),
            f"{AKRITES_BASE}/AKRITES-2025-0004.json": lambda r: httpx.Response(404),
            f"{AKRITES_BASE}/AKRITES-2025-0005.json": serve_json(
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
            INDEX_URL: serve_json(
                {
                    "format": "akrites-index/1",
                    "records": [{"id": "AKRITES-1", "modified": "2025-01-01T00:00:00Z"}],
                }
            ),
            f"{AKRITES_BASE}/AKRITES-1.json": serve_json({"id": "AKRITES-1"}),
        }
    )
    sync = AkritesHttpFeed(server.http(), INDEX_URL, parse=strict).sync({})
    assert [(s.source_ref, s.reason) for s in sync.skipped] == [
        (f"{AKRITES_BASE}/AKRITES-1.json", "fails the OSV schema")
    ]


def test_akrites_record_with_a_nul_is_skipped_not_fatal() -> None:
    """Issue 12, item 5: one record holding a NUL is skipped with the reason; the sync goes on."""
    server = Server(
        {
            INDEX_URL: serve_json(
                {
                    "format": "akrites-index/1",
                    "records": [
                        {"id": "AKRITES-1", "modified": "2025-01-01T00:00:00Z"},
                        {"id": "AKRITES-2", "modified": "2025-01-01T00:00:00Z"},
                    ],
                }
            ),
            f"{AKRITES_BASE}/AKRITES-1.json": serve_json(record() | {"id": "AKRITES-1", "details": "a\x00b"}),
            f"{AKRITES_BASE}/AKRITES-2.json": serve_json(record() | {"id": "AKRITES-2"}),
        }
    )
    sync = AkritesHttpFeed(server.http(), INDEX_URL).sync({})
    assert [a.id for a in sync.advisories] == ["AKRITES-2"]
    assert [(s.source_ref, s.reason) for s in sync.skipped] == [
        (f"{AKRITES_BASE}/AKRITES-1.json", "details contains a NUL character (\\u0000)")
    ]


def test_akrites_index_of_another_format_is_refused() -> None:
    server = Server({INDEX_URL: serve_json({"records": []})})
    with pytest.raises(AdvisoryError, match=rf"^{INDEX_URL}: not an Akrites index: format is None"):
        AkritesHttpFeed(server.http(), INDEX_URL).sync({})


def test_akrites_records_can_live_under_another_base_url() -> None:
    feed = AkritesHttpFeed(
        HttpClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))),
        INDEX_URL,
        base_url="https://cdn.example.org/osv/",
    )
    assert feed.record_url("AKRITES-2025-0001") == "https://cdn.example.org/osv/AKRITES-2025-0001.json"


# --- the registered source -----------------------------------------------------------------------------


def test_source_opens_the_samples_and_claims_marked_records() -> None:
    records = list(SOURCE.open(SAMPLES))
    assert len(records) == SOURCE.count(SAMPLES) == 4
    assert all(isinstance(r, Advisory) and r.source == "akrites" for r in records)
    assert SOURCE.claim(record()) is Claim.MARK
    assert SOURCE.claim({"id": "AKRITES-2026-0001"}) is Claim.MARK
    assert SOURCE.claim({"id": "GHSA-aaaa-bbbb-cccc"}) is Claim.NONE
    assert SOURCE.absorbs == ("osv",)


def test_source_fetch_keeps_the_index_validators_and_says_what_it_listed() -> None:
    entries = [{"id": "AKRITES-2025-0003", "modified": "2025-03-06T00:00:00Z"}]
    server = Server(
        {
            INDEX_URL: conditional(_index(entries), '"idx-1"'),
            f"{AKRITES_BASE}/AKRITES-2025-0003.json": serve_json(
                akrites_record("AKRITES-2025-0003", "2025-03-06T00:00:00Z")
            ),
        }
    )
    first = SOURCE.fetch(server.http(), FetchRequest(url=INDEX_URL))
    assert first.changed
    assert [r.id for r in first.records if isinstance(r, Advisory)] == ["AKRITES-2025-0003"]
    assert first.note == "1 listed, 1 fetched (new or changed)"
    assert first.validators is not None
    assert first.validators.etag == '"idx-1"'

    known = {"AKRITES-2025-0003": "2025-03-06T00:00:00Z", "AKRITES-2024-0042": "2024-12-01T00:00:00Z"}
    again = SOURCE.fetch(server.http(), FetchRequest(url=INDEX_URL, validators=first.validators, known=known))
    assert not again.changed
    assert again.records == ()
    assert again.note == "2 listed, 0 fetched (new or changed)"
    assert again.validators == first.validators
