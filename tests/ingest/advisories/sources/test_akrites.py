"""The Akrites feed (ingest/advisories/sources/akrites.py) and its bundled demo samples."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from core.advisories import Advisory
from core.errors import AdvisoryError
from ingest.advisories.interface import Skipped
from ingest.advisories.sources.akrites import AkritesSource, parse_akrites_record, read_case

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
