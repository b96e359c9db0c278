"""Registry enrichment on both databases: a real advisory (ws, GHSA-3h5v-q93c-6h6q) and a fleet that
ran an affected ws, the npm registry answering in its documented packument format through
``httpx.MockTransport``. The fix clock moves to the registry's release, stored rows and both report
paths follow, answers are cached (found: never asked again; not found: after 30 days; failures: not
at all), and the scheduled job does the same."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from core.errors import InputError, ServiceError
from core.settings import JobSettings, SettingsError
from ingest.advisories.http import HttpClient, RetryPolicy
from pipeline.advisories.enrich import enrich
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.exposures.reports import deploy_time, deploy_time_json, deploy_time_reference, exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.jobs.registry import build_jobs, find_job
from pipeline.jobs.runner import ContextValues, run_job
from pipeline.match import match_new
from store.db import Database
from store.tables.advisories import RegistryRelease
from tests.conftest import cyclonedx_json

OSV = Path(__file__).resolve().parents[3] / "sbom_samples" / "advisories" / "demo" / "osv"
WS = "GHSA-3h5v-q93c-6h6q"  # ws: fixed 5.2.4, 6.2.3, 7.5.10, 8.17.1; published 2024-06-17T19:09:10Z
PACKUMENT = {
    "_id": "ws",
    "name": "ws",
    "time": {
        "created": "2011-11-08T17:24:38.040Z",
        "modified": "2024-06-16T21:30:00.000Z",
        "6.2.3": "2024-06-16T21:29:41.512Z",
        "7.5.10": "2024-06-16T21:26:32.095Z",
        "8.17.0": "2024-05-03T16:20:21.174Z",
        "8.17.1": "2024-06-16T21:21:41.231Z",
    },
    "versions": {},
}
RELEASED = datetime(2024, 6, 16, 21, 21, 41, 231000, tzinfo=UTC)
NOW = datetime(2024, 8, 1, tzinfo=UTC)


def _fleet(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    folder.mkdir()
    shutil.copy(OSV / f"{WS}.json", folder)
    import_advisories(db, open_path(folder, "osv"), source="osv", origin="test")
    for when, version in (("2024-06-01T00:00:00Z", "8.17.0"), ("2024-07-01T00:00:00Z", "8.17.1")):
        data = cyclonedx_json([("ws", version, f"pkg:npm/ws@{version}")], timestamp=when)
        ingest_sbom(db, org="acme", system="web", data=data, source=when, max_bytes=10**7, environment="prod")
        match_new(db)


def _npm(seen: list[str], answer: Callable[[httpx.Request], httpx.Response] | None = None) -> HttpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if answer is not None:
            return answer(request)
        if request.url.path.rsplit("/", 1)[-1] == "ws":
            return httpx.Response(200, json=PACKUMENT)
        return httpx.Response(404, json={"error": "Not found"})

    return HttpClient(
        transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=2), sleep=lambda _: None
    )


def _stored(db: Database) -> dict[str, tuple[bool, datetime | None]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(RegistryRelease.__table__)).mappings().all()  # type: ignore[attr-defined]
    return {r["version"]: (r["found"], r["released_at"]) for r in rows}


def test_enrich_moves_the_fix_clock_and_every_figure(db: Database, tmp_path: Path) -> None:
    _fleet(db, tmp_path)
    (before,) = exposures_report(db, "acme", "all")
    assert (before["fix_available_source"], before["fix_available_at"]) == (
        "published",
        "2024-06-17T19:09:10Z",
    )

    seen: list[str] = []
    with _npm(seen) as http:
        result = enrich(db, http, now=NOW)
    # One packument answers for the four fixed versions of the deployed package.
    assert seen == ["https://registry.npmjs.org/ws"]
    assert (result.asked, result.fetched, result.not_found, result.failed, result.cached) == (4, 3, 1, 0, 0)
    assert result.systems_rebuilt == 1
    assert "4 looked up — 3 fetched, 1 not found, 0 failed" in result.summary()
    assert _stored(db) == {
        "5.2.4": (False, None),
        "6.2.3": (True, datetime(2024, 6, 16, 21, 29, 41, 512000, tzinfo=UTC)),
        "7.5.10": (True, datetime(2024, 6, 16, 21, 26, 32, 95000, tzinfo=UTC)),
        "8.17.1": (True, RELEASED),
    }

    (row,) = exposures_report(db, "acme", "all")
    assert row["fix_available_source"] == "registry"
    assert row["fix_available_at"] == "2024-06-16T21:21:41Z"
    assert row["fix_available_approximated"] is False
    # first_seen 06-01 → fix 06-16 21:21:41 → upgraded at 07-01.
    assert row["days_waiting_for_fix"] == 15.89
    assert row["days_waiting_for_deployment"] == 14.11
    assert row["last_resort_maintainer"] is False

    document = deploy_time_json(db, "acme")
    assert document["fix_clocks"] == {
        "exact": 1,
        "approximated": 0,
        "by_source": {"csaf": 0, "akrites": 0, "registry": 1, "published": 0, "unknown": 0},
    }
    # Disclosure = the advisory's publication (no better date): the fix shipped the day before.
    assert document["upstream"] == {"median_days": 0.0, "p90_days": 0.0, "groups": 1}
    assert document["exposure_days"]["waiting_for_fix"] == 15.89
    assert document["exposure_days"]["upstream_share"] == 0.5297
    assert deploy_time(db, "acme", NOW).to_json() == deploy_time_reference(db, "acme", NOW).to_json()

    # Found answers are never asked again; the not-found one after 30 days only.
    with _npm(seen := [], lambda r: pytest.fail(f"asked again: {r.url}")) as http:
        again = enrich(db, http, now=NOW + timedelta(days=29))
    assert (again.asked, again.cached) == (0, 4)
    with _npm(seen := []) as http:
        later = enrich(db, http, now=NOW + timedelta(days=31))
    assert (later.asked, later.not_found, later.systems_rebuilt) == (1, 1, 0)
    assert seen == ["https://registry.npmjs.org/ws"]


def test_failures_store_nothing_and_are_asked_again(db: Database, tmp_path: Path) -> None:
    _fleet(db, tmp_path)
    seen: list[str] = []
    with (
        _npm(seen, lambda r: httpx.Response(503, text="busy")) as http,
        pytest.raises(ServiceError) as caught,
    ):
        enrich(db, http, now=NOW)
    assert "https://registry.npmjs.org/ws: HTTP 503" in str(caught.value)
    assert len(seen) == 2  # retried
    assert _stored(db) == {}
    with _npm(seen := []) as http:
        assert enrich(db, http, now=NOW).asked == 4


def test_bad_settings_and_ecosystems_are_refused(db: Database) -> None:
    with _npm([]) as http:
        with pytest.raises(SettingsError, match="PATCHGAP_REGISTRY_NPMM_URL: names no package registry"):
            enrich(db, http, urls={"npmm": "https://x.example"})
        with pytest.raises(InputError, match="--ecosystem: 'Hackage' has no registry"):
            enrich(db, http, ecosystems=["Hackage"])
        assert enrich(db, http, ecosystems=["crates.io", "npm"]).asked == 0


def test_the_scheduled_job_asks_the_configured_mirror(db: Database, tmp_path: Path) -> None:
    _fleet(db, tmp_path)
    seen: list[str] = []
    values = ContextValues(
        http_client=lambda: _npm(seen), registry_urls={"npm": "https://npm.mirror.example/api/npm/"}
    )
    job = find_job(build_jobs(JobSettings()), "enrich")
    outcome = run_job(db, job, values, force=True)
    assert outcome is not None
    assert outcome.outcome == "ok", outcome.error
    assert outcome.counts == {"asked": 4, "fetched": 3, "not_found": 1, "failed": 0, "systems_rebuilt": 1}
    assert seen == ["https://npm.mirror.example/api/npm/ws"]
    (row,) = exposures_report(db, "acme", "all")
    assert row["fix_available_source"] == "registry"
