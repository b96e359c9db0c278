"""``GET /api/v1/jobs``: the scheduled jobs and their runs, for admin keys only (SQLite and PostgreSQL);
and an app that runs the jobs itself (``run_jobs``) runs them in its lifespan."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import JobSettings, Settings, load_job_settings
from ingest.advisories.http import HttpClient, RetryPolicy
from pipeline.database import Database
from pipeline.jobs.registry import build_jobs, find_job
from pipeline.jobs.runner import ContextValues, run_job
from tests.api.conftest import World
from tests.cli.test_worker_processes import wait_for
from tests.pipeline.test_jobs import KEV_URL, kev_catalog


def kev_values() -> ContextValues:
    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) != KEV_URL:
            return httpx.Response(404)
        return httpx.Response(200, json=kev_catalog("CVE-2024-0001"))

    return ContextValues(
        http_client=lambda: HttpClient(transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1))
    )


def test_admins_see_the_jobs_and_runs_others_are_refused(world: World) -> None:
    kev = find_job(build_jobs(load_job_settings({"PATCHGAP_JOB_KEV_URL": KEV_URL})), "kev")
    outcome = run_job(world.db, kev, kev_values(), force=True)
    assert outcome is not None
    assert outcome.outcome == "ok"
    r = world.client.get("/api/v1/jobs", headers=world.auth("acme-admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    jobs = {j["name"]: j for j in body["jobs"]}
    assert list(jobs) == ["osv", "kev", "epss", "evaluate", "deliver", "enrich"]
    assert jobs["kev"]["last_outcome"] == "ok"
    assert jobs["kev"]["last_run_id"] == outcome.run_id
    assert jobs["osv"]["interval_seconds"] == 6 * 3600
    (run,) = body["runs"]
    assert (run["job"], run["outcome"], run["trigger"], run["counts"]["entries"]) == (
        "kev",
        "ok",
        "manual",
        1,
    )
    # Another organization's admin sees the same installation jobs; filtered runs; a limit.
    other = world.client.get("/api/v1/jobs", params={"job": "osv"}, headers=world.auth("globex-admin"))
    assert other.status_code == 200
    assert other.json()["runs"] == []
    assert (
        world.client.get("/api/v1/jobs", params={"limit": 0}, headers=world.auth("acme-admin")).status_code
        == 422
    )
    for key in ("acme-reader", "acme-uploader"):
        refused = world.client.get("/api/v1/jobs", headers=world.auth(key))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "admin role" in refused.json()["detail"]
    assert world.client.get("/api/v1/jobs").status_code == 401


def test_an_app_that_runs_jobs_runs_the_due_ones_and_stops_with_its_lifespan(db: Database) -> None:
    jobs = build_jobs(
        load_job_settings(
            {"PATCHGAP_JOB_KEV_URL": KEV_URL}
            | {f"PATCHGAP_JOB_{n}_ENABLED": "0" for n in ("OSV", "EPSS", "EVALUATE", "DELIVER")}
        )
    )
    app = create_app(
        Settings(database_url="unused://"),
        db=db,
        start_worker=False,
        jobs=jobs,
        run_jobs=True,
        job_values=kev_values(),
        scheduler_poll_interval=0.2,
    )
    with TestClient(app):
        assert app.state.scheduler is not None
        assert wait_for(lambda: run_outcomes(db) == ["ok"], 60), run_outcomes(db)
    assert app.state.scheduler is None
    # Without run_jobs (tests, `patchgap serve --no-jobs`) no scheduler runs.
    quiet = create_app(
        Settings(database_url="unused://"), db=db, start_worker=False, jobs=build_jobs(JobSettings())
    )
    with TestClient(quiet):
        assert quiet.state.scheduler is None


def run_outcomes(db: Database) -> list[str]:
    from pipeline.jobs.runner import recent_runs

    return [r.outcome for r in recent_runs(db, "kev")]
