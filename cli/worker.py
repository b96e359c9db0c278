"""``patchgap worker [--once] [--poll SECONDS]``: run the scheduled jobs and the queued uploads, no HTTP.

A worker runs what ``patchgap serve`` runs in the background, without serving: the upload queue
(``pipeline.uploads.UploadWorker``) and the scheduled jobs (``pipeline.jobs.runner.Scheduler``), until
SIGTERM or SIGINT, when it finishes the job and upload at hand and exits. With PostgreSQL, run API
processes with ``patchgap serve --no-jobs`` and as many workers as the work needs: each due job runs
once among them, each upload is taken by one.

``--once`` processes the queued uploads and runs the jobs that are due, then exits (for cron, and tests).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from cli.common import database, display_url, reports_errors, settings


@reports_errors
def worker(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Process queued uploads and run the due jobs, then exit.")
    ] = False,
    poll: Annotated[
        float,
        typer.Option("--poll", min=0.5, max=3600, help="Seconds between looks for due jobs and new uploads."),
    ] = 15.0,
) -> None:
    """Run scheduled jobs and queued uploads without serving HTTP, until SIGTERM."""
    from cli.jobs import configured
    from core.heap import settle
    from pipeline.jobs.runner import Scheduler
    from pipeline.uploads import UploadWorker, run_pending

    config = settings(ctx)
    jobs, values = configured(config)
    with database(ctx, upgrade=True) as db:
        scheduler = Scheduler(db, jobs, values, poll_interval=poll)
        if once:
            uploads = run_pending(db, max_bytes=config.max_sbom_bytes)
            ran = scheduler.run_once()
            typer.echo(f"processed {uploads} queued uploads; ran {len(ran)} due jobs", err=True)
            for r in ran:
                counts = ", ".join(f"{k} {v}" for k, v in r.counts.items())
                detail = f": {r.error}" if r.error else (f" ({counts})" if counts else "")
                typer.echo(f"job {r.job}: run {r.run_id} {r.outcome}{detail}")
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        # A worker hears of no new upload (the API process that queued it does): it looks every 2 s.
        uploads_worker = UploadWorker(db, max_bytes=config.max_sbom_bytes, poll_interval=min(poll, 2.0))
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the runs
        names = ", ".join(j.name for j in jobs if j.runnable) or "none"
        typer.echo(
            f"patchgap worker on {display_url(config.database_url)}: uploads, and jobs {names}", err=True
        )
        settle()  # a worker lives long: see core.heap
        uploads_worker.start()
        scheduler.start()
        try:
            stop.wait()
        finally:
            typer.echo("patchgap worker: stopping after the work at hand", err=True)
            scheduler.stop()
            uploads_worker.stop()


def register(app: typer.Typer) -> None:
    """Add ``patchgap worker``."""
    app.command("worker")(worker)
