"""CISA KEV catalog parsing (ingest/advisories/sources/kev.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.advisories import KevEntry
from core.errors import AdvisoryError
from ingest.advisories.sources.kev import parse_kev, read_kev_file


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
