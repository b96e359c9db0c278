"""The app starts the warm-up of its organizations' first pages (``pipeline.warmup``) with its lifespan
when asked to (``create_app(warm_up=True)``, what ``serving_app`` asks unless
``PATCHGAP_SERVE_WARM_UP=0``), and not otherwise; with ``keep_warm`` it reads them again and again,
and right after the jobs it runs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.main import create_app
from bench.report import build_fleet
from core.settings import Settings, load_job_settings
from pipeline.jobs.registry import build_jobs
from store.db import Database
from tests.api.test_jobs_api import kev_values
from tests.pipeline.test_jobs import KEV_URL


def test_the_app_warms_up_when_asked(db: Database) -> None:
    build_fleet(db, 4)
    settings = Settings(database_url="unused://")
    app = create_app(settings, db=db, start_worker=False, warm_up=True)
    with TestClient(app):
        app.state.warm_up.join(60)
        assert app.state.warm_up.took is not None
        assert list(app.state.warm_up.took) == ["bench"]
    keeping = create_app(settings, db=db, start_worker=False, warm_up=True, keep_warm=0.01)
    with TestClient(keeping):
        assert keeping.state.warm_up.wait_rounds(3, 60)  # read again, and again
    once = create_app(settings, db=db, start_worker=False, warm_up=True)
    with TestClient(once):
        once.state.warm_up.join(60)
        assert once.state.warm_up.rounds == 1
    plain = create_app(settings, db=db, start_worker=False)
    with TestClient(plain):
        assert plain.state.warm_up is None


def test_the_pages_are_read_again_right_after_the_jobs_ran(db: Database) -> None:
    """A serving process that runs the jobs reads its pages again right after a pass that ran some (a
    sync may have changed many systems' rows), not only at the keep-warm interval."""
    build_fleet(db, 4)
    settings = Settings(database_url="unused://")
    jobs = build_jobs(
        load_job_settings(
            {"PATCHGAP_JOB_KEV_URL": KEV_URL}
            | {f"PATCHGAP_JOB_{n}_ENABLED": "0" for n in ("OSV", "EPSS", "EVALUATE", "DELIVER")}
        )
    )
    app = create_app(
        settings,
        db=db,
        start_worker=False,
        warm_up=True,
        keep_warm=3600,
        jobs=jobs,
        run_jobs=True,
        job_values=kev_values(),
        scheduler_poll_interval=0.2,
    )
    with TestClient(app):
        assert app.state.warm_up.wait_rounds(2, 60)  # the KEV sync ran: read again at once
    # Without jobs run here, the next pass waits for the interval.
    quiet = create_app(settings, db=db, start_worker=False, warm_up=True, keep_warm=3600)
    with TestClient(quiet):
        assert quiet.state.warm_up.wait_rounds(1, 60)
        assert not quiet.state.warm_up.wait_rounds(2, 1.0)
