"""The web server (issue 6): ``patchgap serve [--host --port --workers --no-jobs --no-uploads]``.

Brings the database to the current schema, then runs uvicorn with ``api.main:serving_app`` as the
app factory: each worker process builds its own app (db, upload worker thread, scheduled jobs) from the
environment this command sets, so ``--db`` reaches every worker. The job settings (``PATCHGAP_CONFIG``,
``PATCHGAP_JOB_*``) are checked before the server starts; ``--no-jobs`` leaves the jobs, and
``--no-uploads`` the queued uploads, to ``patchgap worker`` processes.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.common import database, display_url, reports_errors, settings


@reports_errors
def serve(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Server processes (PostgreSQL for more than one).")
    ] = 1,
    no_jobs: Annotated[
        bool,
        typer.Option("--no-jobs", help="Run no scheduled jobs here (`patchgap worker` processes run them)."),
    ] = False,
    no_uploads: Annotated[
        bool,
        typer.Option(
            "--no-uploads", help="Process no queued uploads here (`patchgap worker` processes take them)."
        ),
    ] = False,
) -> None:
    """Serve the REST API and the dashboard (http://HOST:PORT/dashboard/)."""
    import uvicorn

    from core.settings import (
        DATABASE_URL_ENV,
        MAX_SBOM_BYTES_ENV,
        SERVE_JOBS_ENV,
        SERVE_UPLOADS_ENV,
        load_job_settings,
    )
    from pipeline.jobs.registry import build_jobs

    config = settings(ctx)
    if no_jobs:
        os.environ[SERVE_JOBS_ENV] = "0"
    if no_uploads:
        os.environ[SERVE_UPLOADS_ENV] = "0"
    job_settings = load_job_settings()
    jobs = build_jobs(job_settings)  # a bad job setting stops here, before the server starts
    with database(ctx, upgrade=True):
        pass
    os.environ[DATABASE_URL_ENV] = config.database_url
    os.environ[MAX_SBOM_BYTES_ENV] = str(config.max_sbom_bytes)
    typer.echo(
        f"patchgap serving {display_url(config.database_url)} on http://{host}:{port}/dashboard/ "
        f"(API docs: http://{host}:{port}/docs); "
        + (
            "scheduled jobs left to workers"
            if not job_settings.serve_jobs
            else f"scheduled jobs: {', '.join(j.name for j in jobs if j.runnable) or 'none'}"
        ),
        err=True,
    )
    uvicorn.run("api.main:serving_app", factory=True, host=host, port=port, workers=workers)


def register(app: typer.Typer) -> None:
    """Add ``patchgap serve``."""
    app.command("serve")(serve)
