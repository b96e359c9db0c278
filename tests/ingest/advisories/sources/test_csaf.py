"""CSAF 2.0 mapping (ingest/advisories/sources/csaf.py) on every shared example, pinned in a golden file.

``golden/csaf_examples.json`` holds, per example document (the OASIS examples and Red Hat's real CSAF
files from the OSV converter's test data): each advisory's id, aliases, dates, fix date, exploited flag,
scores, affected packages (purl, versions, range events, platform) and unmapped products, and the VEX
statements counted by status and justification. Regenerate after an intended change with::

    PATCHGAP_REGEN_GOLDEN=1 .venv/bin/pytest tests/ingest/advisories/sources/test_csaf.py
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core.advisories import Advisory, Event
from core.errors import AdvisoryError
from ingest.advisories.interface import Claim, FetchRequest, Skipped
from ingest.advisories.sources.csaf import (
    SOURCE,
    CsafSource,
    flatten_products,
    parse_csaf,
    vex_statements,
)
from tests.ingest.advisories.feed_server import Server, serve_json

GOLDEN = Path(__file__).parent / "golden" / "csaf_examples.json"
EXAMPLE_DIRS = ("schemas/csaf/examples", "schemas/osv/examples/redhat-csaf-to-osv/CSAF")


def examples(shared: Path) -> list[Path]:
    return [p for d in EXAMPLE_DIRS for p in sorted((shared / d).glob("*.json"))]


def summarize(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    advisories = parse_csaf(doc, origin=path.name)
    statements = vex_statements(doc, origin=path.name)
    return {
        "advisories": [
            {
                "id": a.id,
                "aliases": list(a.aliases),
                "published": a.published,
                "modified": a.modified,
                "fix_available_at": a.fix_available_at,
                "exploited": a.exploited,
                "severity": [[s.type, s.vector, s.score] for s in a.severity],
                "affected_count": len(a.affected),
                "affected_first": [
                    {
                        "purl": p.purl,
                        "name": p.name,
                        "versions": list(p.versions),
                        "ranges": [[[e.kind, e.value] for e in r.events] for r in p.ranges],
                        "database_specific": p.database_specific,
                    }
                    for p in a.affected[:3]
                ],
                "unmapped_products": (a.database_specific or {})["csaf"]["unmapped_products"],
            }
            for a in advisories
        ],
        "vex": {
            "count": len(statements),
            "by_status": dict(sorted(Counter(s.status for s in statements).items())),
            "justifications": dict(sorted(Counter(str(s.justification) for s in statements).items())),
            "with_purl": sum(s.purl is not None for s in statements),
        },
    }


def test_every_example_maps_as_pinned(shared_data: Path) -> None:
    paths = examples(shared_data)
    assert len(paths) >= 5
    actual = {p.name: summarize(p) for p in paths}
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert actual == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_bsi_advisory_fix_date_score_and_unmapped_cpe_products(shared_data: Path) -> None:
    doc = json.loads((shared_data / "schemas/csaf/examples/bsi-2022-0001.json").read_text())
    (advisory,) = parse_csaf(doc, origin="bsi")
    assert advisory.id == "BSI-2022-0001/CVE-2022-27193"
    assert advisory.aliases == ("CVE-2022-27193",)
    assert advisory.fix_available_at == "2022-03-14T13:10:55.000+01:00"
    assert advisory.fix_available_source == "csaf"
    assert [(s.type, s.score) for s in advisory.severity] == [("CVSS_V3", 6.1)]
    # CPE-only products cannot be matched: none becomes an affected package, all are listed.
    assert advisory.affected == ()
    unmapped = (advisory.database_specific or {})["csaf"]["unmapped_products"]
    assert {u["status"] for u in unmapped} == {"first_fixed", "fixed", "known_affected"}
    assert all(u["cpe"].startswith("cpe:/a:csaf-tools") for u in unmapped)


def test_vex_not_affected_with_justification(shared_data: Path) -> None:
    doc = json.loads((shared_data / "schemas/csaf/examples/sec-vex-2022-0001.json").read_text())
    statements = vex_statements(doc, origin="sec-vex")
    assert {(s.vulnerability_id, s.status, s.justification) for s in statements} == {
        ("CVE-2021-44228", "not_affected", "component_not_present"),
        ("CVE-2021-45046", "not_affected", "component_not_present"),
        ("CVE-2021-45105", "not_affected", "component_not_present"),
    }


def synthetic(**vuln: Any) -> dict[str, Any]:
    """A minimal valid CSAF document with purl products, for mapping rules the examples lack."""
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "publisher": {"category": "vendor", "name": "Example", "namespace": "https://example.com"},
            "title": "Example advisory",
            "tracking": {
                "id": "EX-2024-1",
                "current_release_date": "2024-02-01T00:00:00Z",
                "initial_release_date": "2024-01-01T00:00:00Z",
                "revision_history": [{"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "x"}],
                "status": "final",
                "version": "1",
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Example",
                    "branches": [
                        {
                            "category": "product_version",
                            "name": "2.14.1",
                            "product": {
                                "name": "log4j-core 2.14.1",
                                "product_id": "P1",
                                "product_identification_helper": {
                                    "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
                                },
                            },
                        },
                        {
                            "category": "product_version",
                            "name": "2.17.1",
                            "product": {
                                "name": "log4j-core 2.17.1",
                                "product_id": "P2",
                                "product_identification_helper": {
                                    "purl": "pkg:maven/org.apache.logging.log4j/log4j-core"
                                },
                            },
                        },
                    ],
                }
            ],
            "product_groups": [{"group_id": "G1", "product_ids": ["P1", "P2"]}],
        },
        "vulnerabilities": [{"cve": "CVE-2021-44228", **vuln}],
    }


def test_purl_products_become_versions_and_a_fixed_range() -> None:
    doc = synthetic(
        product_status={"known_affected": ["P1"], "fixed": ["P2"]},
        remediations=[
            {"category": "vendor_fix", "date": "2021-12-28T00:00:00Z", "details": "u", "product_ids": ["P1"]},
            {"category": "vendor_fix", "date": "2021-12-10T00:00:00Z", "details": "u", "group_ids": ["G1"]},
        ],
        threats=[{"category": "exploit_status", "details": "Exploited in the wild."}],
    )
    (advisory,) = parse_csaf(doc, origin="ex")
    (package,) = advisory.affected
    assert package.purl == "pkg:maven/org.apache.logging.log4j/log4j-core"
    assert package.versions == ("2.14.1",)
    # P2's purl has no version: the product_version branch supplies it.
    assert package.ranges[0].events == (Event("introduced", "0"), Event("fixed", "2.17.1"))
    assert advisory.fix_available_at == "2021-12-10T00:00:00Z"
    assert advisory.exploited is True


def test_denied_exploitation_is_not_exploited() -> None:
    doc = synthetic(
        product_status={"known_affected": ["P1"]},
        threats=[{"category": "exploit_status", "details": "No known exploitation."}],
    )
    assert parse_csaf(doc, origin="ex")[0].exploited is False


def test_several_fixed_versions_invent_no_range() -> None:
    doc = synthetic(product_status={"fixed": ["P1", "P2"]})
    (package,) = parse_csaf(doc, origin="ex")[0].affected
    assert package.ranges == ()
    assert package.database_specific == {"csaf_fixed_versions": ["2.14.1", "2.17.1"]}


def test_relationships_take_the_component_purl_and_the_platform() -> None:
    doc = synthetic(product_status={"fixed": ["P1-on-OS"]})
    tree = doc["product_tree"]
    tree["full_product_names"] = [
        {
            "name": "Example OS 9",
            "product_id": "OS9",
            "product_identification_helper": {"cpe": "cpe:/o:ex:os:9"},
        }
    ]
    tree["relationships"] = [
        {
            "category": "default_component_of",
            "full_product_name": {"name": "log4j on OS 9", "product_id": "P1-on-OS"},
            "product_reference": "P1",
            "relates_to_product_reference": "OS9",
        }
    ]
    products = flatten_products(tree)
    assert products["P1-on-OS"].purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert products["P1-on-OS"].platform == "cpe:/o:ex:os:9"
    (package,) = parse_csaf(doc, origin="ex")[0].affected
    assert package.database_specific == {"csaf_platform": "cpe:/o:ex:os:9"}


def test_invalid_document_names_the_file_and_the_field() -> None:
    doc = synthetic(product_status={"fixed": ["P1"]})
    bad = copy.deepcopy(doc)
    del bad["document"]["tracking"]["id"]
    expected = r"^ex\.json: does not follow the CSAF 2\.0 schema at document/tracking"
    with pytest.raises(AdvisoryError, match=expected):
        parse_csaf(bad, origin="ex.json")
    bad_score = copy.deepcopy(doc)
    bad_score["vulnerabilities"][0]["scores"] = [{"products": ["P1"], "cvss_v3": {"version": "3.1"}}]
    with pytest.raises(AdvisoryError, match=r"CSAF 2\.0 schema at vulnerabilities/0/scores/0/cvss_v3"):
        parse_csaf(bad_score, origin="ex.json")


def test_source_over_a_directory_skips_bad_documents(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps(synthetic(product_status={"fixed": ["P1"]})))
    (tmp_path / "bad.json").write_text(json.dumps({"document": {"tracking": {"id": "BAD-1"}}}))
    (tmp_path / "broken.json").write_text("{")
    results = list(CsafSource(tmp_path).records())
    assert [type(r).__name__ for r in results] == ["Skipped", "Skipped", "Advisory"]
    assert isinstance(results[0], Skipped)
    assert results[0].id == "BAD-1"
    assert isinstance(results[2], Advisory)
    assert results[2].source == "csaf"


# --- the registered source -----------------------------------------------------------------------------


def test_registered_source_opens_paths_and_fetches_from_a_provider(tmp_path: Path) -> None:
    good = synthetic(product_status={"fixed": ["P1"]})
    (tmp_path / "good.json").write_text(json.dumps(good))
    assert [r.id for r in SOURCE.open(tmp_path) if isinstance(r, Advisory)] == ["EX-2024-1/CVE-2021-44228"]
    assert SOURCE.count(tmp_path) is None
    assert SOURCE.claim(good) is Claim.FORMAT
    assert SOURCE.claim({"document": {}}) is Claim.NONE

    provider = "https://csaf.example.com/.well-known/csaf"
    meta_url, feed_url = f"{provider}/provider-metadata.json", f"{provider}/white/feed.json"
    entries = [("good", "2024-02-01T00:00:00Z"), ("bad", "2024-03-01T00:00:00Z")]
    server = Server(
        {
            meta_url: serve_json(
                {
                    "metadata_version": "2.0",
                    "distributions": [{"rolie": {"feeds": [{"tlp_label": "WHITE", "url": feed_url}]}}],
                }
            ),
            feed_url: serve_json(
                {
                    "feed": {
                        "entry": [{"updated": u, "content": {"src": f"{name}.json"}} for name, u in entries]
                    }
                }
            ),
            f"{provider}/white/good.json": serve_json(good),
            f"{provider}/white/bad.json": serve_json({"document": {"tracking": {"id": "BAD-1"}}}),
        }
    )

    fetched = SOURCE.fetch(server.http(), FetchRequest(url=meta_url, cursor="2024-01-01T00:00:00Z"))

    assert fetched.changed
    assert fetched.cursor == "2024-03-01T00:00:00Z"
    assert fetched.note == "2 listed, 2 fetched (new or changed)"
    advisories = [r for r in fetched.records if isinstance(r, Advisory)]
    (skipped,) = [r for r in fetched.records if isinstance(r, Skipped)]
    assert [a.id for a in advisories] == ["EX-2024-1/CVE-2021-44228"]
    assert skipped.source_ref == f"{provider}/white/bad.json"
    assert skipped.reason.startswith("does not follow the CSAF 2.0 schema")
