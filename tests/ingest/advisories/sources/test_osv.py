"""OSV record validation and normalization, and the OSV source (ingest/advisories/sources/osv.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.advisories import Advisory, AffectedRange, Event
from core.errors import AdvisoryError
from ingest.advisories.interface import Claim, FetchRequest, Skipped
from ingest.advisories.sources.osv import SOURCE, parse_osv_record, schema_problem
from tests.ingest.advisories.feed_server import Server, serve_json

SCHEMA_COPY = Path(__file__).resolve().parents[4] / "ingest" / "advisories" / "schemas" / "osv.schema.json"


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "GHSA-aaaa-bbbb-cccc",
        "modified": "2024-01-02T03:04:05.123456Z",
        "published": "2023-12-01T00:00:00Z",
        "aliases": ["CVE-2023-1234"],
        "related": ["CVE-2023-9999"],
        "summary": "s",
        "details": "d",
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "zlib", "purl": "pkg:deb/debian/zlib"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "0"},
                            {"fixed": "1:1.2.13"},
                            {"introduced": "2"},
                            {"limit": "3"},
                        ],
                    },
                    {
                        "type": "GIT",
                        "repo": "https://x/y",
                        "events": [{"introduced": "0"}, {"fixed": "a" * 40}],
                    },
                ],
                "versions": ["1.2.11", "1.2.12"],
                "ecosystem_specific": {"urgency": "high"},
                "database_specific": {"source": "x"},
            }
        ],
        "database_specific": {"severity": "MODERATE"},
    }
    base.update(overrides)
    return base


def test_normalizes_every_field_and_keeps_strings_and_raw_exactly() -> None:
    raw = record()
    advisory = parse_osv_record(raw, origin="r.json")
    assert advisory.id == "GHSA-aaaa-bbbb-cccc"
    assert advisory.source == "osv"
    assert advisory.modified == "2024-01-02T03:04:05.123456Z"
    assert advisory.published == "2023-12-01T00:00:00Z"
    assert advisory.withdrawn is None
    assert advisory.aliases == ("CVE-2023-1234",)
    assert advisory.related == ("CVE-2023-9999",)
    (affected,) = advisory.affected
    assert (affected.ecosystem, affected.name, affected.purl) == ("Debian:12", "zlib", "pkg:deb/debian/zlib")
    assert affected.ranges[0] == AffectedRange(
        "ECOSYSTEM",
        (Event("introduced", "0"), Event("fixed", "1:1.2.13"), Event("introduced", "2"), Event("limit", "3")),
    )
    assert affected.ranges[1].repo == "https://x/y"
    assert affected.versions == ("1.2.11", "1.2.12")
    assert affected.ecosystem_specific == {"urgency": "high"}
    assert affected.database_specific == {"source": "x"}
    assert advisory.database_specific == {"severity": "MODERATE"}
    assert advisory.raw is raw
    # GitHub's rating-only severity is kept as a fallback statement.
    assert [(s.type, s.rating) for s in advisory.severity] == [("GHSA", "medium")]


def test_invalid_record_raises_with_the_origin_first() -> None:
    bad = record()
    del bad["modified"]
    with pytest.raises(AdvisoryError) as caught:
        parse_osv_record(bad, origin="feed/x.json")
    assert str(caught.value).startswith("feed/x.json: does not follow the OSV schema")
    assert "modified" in caught.value.problem


def test_non_object_is_rejected() -> None:
    with pytest.raises(AdvisoryError, match="must be a JSON object"):
        parse_osv_record(["not", "a", "record"], origin="x")


def test_short_git_hash_fails_the_schema_and_names_the_event() -> None:
    bad = record()
    bad["affected"][0]["ranges"][1]["events"][1] = {"fixed": "cb35df940a"}
    problem = schema_problem(bad)
    assert problem is not None
    assert "affected/0/ranges/1/events/1" in problem


def test_record_without_any_package_is_rejected_unless_withdrawn() -> None:
    bare = record(affected=[{"ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "0"}]}]}])
    with pytest.raises(AdvisoryError, match="no affected package"):
        parse_osv_record(bare, origin="psf.json")
    withdrawn = parse_osv_record({**bare, "withdrawn": "2024-02-01T00:00:00Z"}, origin="psf.json")
    assert withdrawn.withdrawn == "2024-02-01T00:00:00Z"


def test_unknown_id_prefix_is_admitted_only_when_asked() -> None:
    ours = record(id="AKRITES-2026-0001")
    assert schema_problem(ours) is not None
    assert schema_problem(ours, extra_id_prefixes=("AKRITES",)) is None
    advisory = parse_osv_record(ours, source="akrites", origin="a", extra_id_prefixes=("AKRITES",))
    assert advisory.source == "akrites"


def test_per_package_severity_is_folded_into_the_advisory() -> None:
    raw = record()
    del raw["database_specific"]
    raw["affected"][0]["severity"] = [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
    ]
    advisory = parse_osv_record(raw, origin="r")
    assert [(s.type, s.score, s.rating) for s in advisory.severity] == [("CVSS_V3", 9.8, "critical")]


def test_invalid_cvss_keeps_the_record_and_says_why(shared_data: Path) -> None:
    # Dependency-Track's fixture: an empty entry, a truncated v3 vector and valid v3/v2/v4 vectors. It
    # lacks `modified` and its empty entry fails the schema (so the corpus skips it); with those two
    # repaired, the record is kept and the truncated vector's error is stated.
    path = shared_data / "advisories/peer-fixtures/dependency-track-osv/osv-vulnerability-invalid-cvss.json"
    raw = json.loads(path.read_text())
    assert raw["severity"][0] == {}
    del raw["severity"][0]
    raw["modified"] = "2024-01-01T00:00:00Z"
    raw["affected"] = [{"package": {"ecosystem": "Maven", "name": "g:a"}, "versions": ["1"]}]
    advisory = parse_osv_record(raw, origin=str(path))
    summary = [(s.type, s.score, s.error is not None) for s in advisory.severity]
    assert summary == [
        ("CVSS_V3", None, True),
        ("CVSS_V3", 7.2, False),
        ("CVSS_V2", 2.6, False),
        ("CVSS_V4", 8.8, False),
    ]


def test_real_go_record(shared_data: Path) -> None:
    path = next((shared_data / "advisories/golang-go").rglob("GO-2022-0470.json"), None)
    if path is None:
        pytest.skip("GO-2022-0470 not in this copy of the data")
    advisory = parse_osv_record(json.loads(path.read_text()), origin=str(path))
    assert advisory.id == "GO-2022-0470"
    assert all(a.ecosystem == "Go" for a in advisory.affected)
    assert all(r.type == "SEMVER" for a in advisory.affected for r in a.ranges)


def test_shipped_schema_is_the_published_one(shared_data: Path) -> None:
    published = json.loads((shared_data / "schemas/osv/schema.json").read_text())
    assert json.loads(SCHEMA_COPY.read_text()) == published


def test_parsing_does_not_mutate_the_input() -> None:
    raw = record()
    before = copy.deepcopy(raw)
    parse_osv_record(raw, origin="r")
    assert raw == before


# --- the registered source -----------------------------------------------------------------------------


def test_source_opens_a_tree_a_single_file_and_counts_files(tmp_path: Path) -> None:
    (tmp_path / "tree" / "PyPI").mkdir(parents=True)
    (tmp_path / "tree" / "PyPI" / "a.json").write_text(json.dumps(record()))
    (tmp_path / "tree" / "PyPI" / "b.json").write_text("{")
    (tmp_path / "tree" / "README.md").write_text("not a record")
    items = list(SOURCE.open(tmp_path / "tree"))
    assert [type(i) for i in items] == [Advisory, Skipped]
    assert isinstance(items[0], Advisory)
    assert items[0].source == "osv"
    assert SOURCE.count(tmp_path / "tree") == 2
    single = tmp_path / "tree" / "PyPI" / "a.json"
    assert [a.id for a in SOURCE.open(single) if isinstance(a, Advisory)] == ["GHSA-aaaa-bbbb-cccc"]
    assert SOURCE.count(single) == 1
    with pytest.raises(AdvisoryError, match=r"neither a directory, a \.zip export nor"):
        SOURCE.open(tmp_path / "tree" / "README.md")
    assert SOURCE.claim(record()) is Claim.SHAPE
    assert SOURCE.claim([record()]) is Claim.NONE


def test_source_fetch_asks_about_package_versions_and_hydrates_what_is_new() -> None:
    base = "https://osv.example"
    held, new = record(id="GHSA-held-0000-0000"), record()
    answer = {"vulns": [{"id": r["id"], "modified": r["modified"]} for r in (held, new)]}
    server = Server(
        {
            f"{base}/v1/querybatch": serve_json({"results": [answer]}),
            f"{base}/v1/vulns/{new['id']}": serve_json(new),
        }
    )
    request = FetchRequest(
        url=base, known={held["id"]: held["modified"]}, packages=[("Debian:12", "zlib", "1:1.2.11")]
    )

    fetched = SOURCE.fetch(server.http(), request)

    assert json.loads(server.requests[0].content) == {
        "queries": [{"package": {"ecosystem": "Debian:12", "name": "zlib"}, "version": "1:1.2.11"}]
    }
    assert fetched.changed
    assert [r.id for r in fetched.records if isinstance(r, Advisory)] == [new["id"]]
    assert (
        fetched.note == "asked about 1 package versions, 2 advisories name them, 1 fetched (new or changed)"
    )
    assert (fetched.validators, fetched.cursor) == (None, None)
    assert httpx.URL(server.urls()[-1]).path == f"/v1/vulns/{new['id']}"
