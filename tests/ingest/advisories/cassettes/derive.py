"""Derive the small OSV API cassettes in this folder from the real recordings in ``../shared/data``.

The cassettes let the paging and hydration tests run without ``../shared``. They use the go-vcr v2 layout
of osv-scanner's recordings (``interactions[].request{method,url,body}`` / ``response{code,body}``), so one
replay transport reads both. What each file holds and how it was made:

``osv_callanalysis.yaml``
    1. ``POST /v1/querybatch``: copied unchanged from osv-scanner's recording
       ``osv-api/osv-scanner-cassettes/scan_source__TestCommand_CallAnalysis.yaml`` (interaction 0: three Go
       package versions, 22 ids).
    2. ``GET /v1/vulns/GO-2021-0053`` and ``GET /v1/vulns/GO-2023-1558``: the records as published in
       golang/vulndb (``advisories/golang-go``), whose repository keeps ``modified`` as the placeholder
       ``0001-01-01T00:00:00Z``; it is replaced by the ``modified`` that osv.dev reported for the id in (1),
       which is what ``api.osv.dev`` serves.
    3. ``GET /v1/vulns/GO-2026-5061``: answered ``404`` with osv.dev's error body shape, to exercise a record
       that disappeared between the two calls (hand-made).

``osv_paging.yaml``
    The same three queries with the answer of (1) split into two pages: the first page returns the first
    8 ids of the third query with a ``next_page_token``; the second request re-sends only that query with
    ``page_token`` and gets the other ids. The split is ours (no paged answer was ever recorded); the ids
    and times are the recorded ones, so merging both pages must give back the recorded answer.

Regenerate with ``PATCHGAP_REGEN_GOLDEN=1 pytest tests/ingest/advisories/test_osv_api.py`` (the test
``test_local_cassettes_match_shared_data`` rewrites them), or run this file with the project's Python.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CALLANALYSIS = "osv-api/osv-scanner-cassettes/scan_source__TestCommand_CallAnalysis.yaml"
GO_RECORDS = "advisories/golang-go/data/osv"
HYDRATED_IDS = ("GO-2021-0053", "GO-2023-1558")
MISSING_ID = "GO-2026-5061"
PAGE_SPLIT = 8
PAGE_TOKEN = "derived-page-token-1"  # opaque to the client; osv.dev's real tokens are opaque strings too


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as ``|`` blocks, as go-vcr does, so the bodies stay readable."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_LiteralDumper.add_representer(str, _str_presenter)


def _body(obj: Any) -> str:
    return json.dumps(obj, indent=2) + "\n"


def _interaction(method: str, url: str, request_body: Any, code: int, response_body: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"method": method, "url": url}
    if request_body is not None:
        request["body"] = _body(request_body)
        request["headers"] = {"Content-Type": ["application/json"]}
    return {
        "request": request,
        "response": {
            "code": code,
            "body": _body(response_body),
            "headers": {"Content-Type": ["application/json"]},
        },
    }


def _dump(interactions: list[dict[str, Any]]) -> str:
    header = "# Derived from ../shared/data by derive.py in this folder; see its docstring. Do not edit.\n"
    text = yaml.dump(
        {"version": 2, "interactions": interactions}, Dumper=_LiteralDumper, sort_keys=False, width=1000
    )
    return header + text


def build(shared: Path) -> dict[str, str]:
    """File name → cassette text, derived from the shared data folder."""
    recorded = yaml.load((shared / CALLANALYSIS).read_text(), Loader=yaml.BaseLoader)["interactions"][0]
    url = recorded["request"]["url"]
    request = json.loads(recorded["request"]["body"])
    response = json.loads(recorded["response"]["body"])
    modified = {v["id"]: v["modified"] for r in response["results"] for v in r.get("vulns", [])}

    vulns_base = url.rsplit("/", 1)[0] + "/vulns/"
    hydration = [_interaction("POST", url, request, 200, response)]
    for vuln_id in HYDRATED_IDS:
        record = json.loads((shared / GO_RECORDS / f"{vuln_id}.json").read_text())
        record["modified"] = modified[vuln_id]
        hydration.append(_interaction("GET", vulns_base + vuln_id, None, 200, record))
    hydration.append(
        _interaction("GET", vulns_base + MISSING_ID, None, 404, {"code": 5, "message": "Bug not found."})
    )

    last = len(request["queries"]) - 1
    first_page = json.loads(json.dumps(response))
    rest = first_page["results"][last]["vulns"][PAGE_SPLIT:]
    first_page["results"][last]["vulns"] = first_page["results"][last]["vulns"][:PAGE_SPLIT]
    first_page["results"][last]["next_page_token"] = PAGE_TOKEN
    second_request = {"queries": [dict(request["queries"][last], page_token=PAGE_TOKEN)]}
    paging = [
        _interaction("POST", url, request, 200, first_page),
        _interaction("POST", url, second_request, 200, {"results": [{"vulns": rest}]}),
    ]
    return {"osv_callanalysis.yaml": _dump(hydration), "osv_paging.yaml": _dump(paging)}


def write(shared: Path, target: Path = HERE) -> None:
    for name, text in build(shared).items():
        (target / name).write_text(text)


if __name__ == "__main__":
    write(HERE.parents[3] / ".." / "shared" / "data")
