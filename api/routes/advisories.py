"""Advisories: one vulnerability by any id or alias, with its alias group, KEV/EPSS facts and packages;
and the advisory sources patchgap reads.

Advisories are global data (imported from public sources), so every organization's reader sees the same
document; it holds nothing of any organization. The document is ``patchgap advisories show ID --json``
(``pipeline.advisories.show.advisory_json``). The list of sources comes from the registry
(``patchgap advisories sources --json``, ``pipeline.advisories.sources.sources_json``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from pipeline.advisories.show import advisory_json, show_advisory
from pipeline.advisories.sources import source_catalog, sources_json
from pipeline.database import Database

router = APIRouter(prefix="/api/v1/advisories", tags=["advisories"], responses=problem_responses(401, 404))

_EXAMPLE: dict[str, Any] = {
    "query": "GHSA-g4mx-q9vg-27p4",
    "groups": [
        {"group": "CVE-2023-45803", "ids": ["CVE-2023-45803", "GHSA-g4mx-q9vg-27p4", "PYSEC-2023-212"]}
    ],
    "kev": [],
    "epss": [
        {
            "cve": "CVE-2023-45803",
            "epss": 0.00096,
            "percentile": 0.41,
            "score_date": "2024-09-01",
            "model_version": "v2023.03.01",
        }
    ],
    "advisories": [
        {
            "source": "osv",
            "id": "PYSEC-2023-212",
            "group": "CVE-2023-45803",
            "aliases": ["CVE-2023-45803", "GHSA-g4mx-q9vg-27p4"],
            "related": [],
            "summary": "",
            "details": "urllib3 is a user-friendly HTTP client library for Python. …",
            "published": "2023-10-17T20:15:00Z",
            "modified": "2023-10-25T18:28:34.811764Z",
            "withdrawn": None,
            "severity": [],
            "severity_score": None,
            "severity_rating": None,
            "exploited": False,
            "fix_available_at": None,
            "fix_available_source": None,
            "affected": [
                {
                    "ecosystem": "PyPI",
                    "name": "urllib3",
                    "purl": "pkg:pypi/urllib3",
                    "package_key": ["PyPI", "urllib3"],
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": "1.26.18"}],
                        }
                    ],
                    "versions": [],
                }
            ],
        }
    ],
}


_SOURCES_EXAMPLE: list[dict[str, Any]] = [
    {
        "name": "osv",
        "yields": "records",
        "fetchable": True,
        "default_url": "https://api.osv.dev",
        "url_help": "API base URL",
        "url_required": False,
    },
    {
        "name": "kev",
        "yields": "table",
        "fetchable": True,
        "default_url": "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        "url_help": "feed URL (default: CISA)",
        "url_required": False,
    },
]


@router.get(
    "/sources",
    summary="List the advisory sources",
    responses={200: {"content": {"application/json": {"example": _SOURCES_EXAMPLE}}}},
)
async def sources(principal: Reader) -> list[dict[str, Any]]:
    """Every registered advisory source, in registry order: whether it yields advisory records (merged by
    id) or a whole table of facts per CVE (KEV, EPSS), and whether and from where
    ``patchgap advisories sync`` fetches it. Declared before ``/{id}``, which would otherwise take it."""
    del principal  # any organization's reader: sources belong to no organization
    return sources_json(source_catalog())


def _document(db: Database, identifier: str) -> dict[str, Any]:
    return advisory_json(show_advisory(db, identifier))


@router.get(
    "/{id}",
    summary="Show an advisory",
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
async def show(principal: Reader, db: DatabaseDep, id: str) -> dict[str, Any]:
    """The alias groups ``id`` names (a record id, an alias or a group key): every record with severity,
    exploitation flag, fix date and affected packages, and the KEV/EPSS facts of the group's CVEs."""
    del principal  # any organization's reader: advisories belong to no organization
    return await run_in_threadpool(_document, db, id)
