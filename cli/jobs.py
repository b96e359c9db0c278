"""``patchgap jobs list|runs|run``: the scheduled jobs, their run history, and running one now.

- ``list [--json]``: every job with whether it is enabled, its interval, when it is next due, and its
  last run's outcome, time and error (``GET /api/v1/jobs`` gives the same).
- ``runs [NAME] [--limit N] [--json]``: the newest runs, of one job or of all.
- ``run NAME [--json]``: run the job now in this process (due or not, enabled or not), record the run,
  and exit 0, or 2 with its error when it failed; a job another process is running now is refused.

The jobs and their settings come from ``PATCHGAP_CONFIG`` and ``PATCHGAP_JOB_*`` (``core.settings``), as
in ``patchgap serve`` and ``patchgap worker``. HTTP clients come from :func:`make_http_client`, which
tests replace to inject an ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, fail, reports_errors, settings, when

if TYPE_CHECKING:
    from core.settings import Settings
    from pipeline.advisories.sync import HttpClient
    from pipeline.jobs.registry import Job
    from pipeline.jobs.runner import ContextValues

app = typer.Typer(help="Scheduled jobs: list them, their runs, run one now.", no_args_is_help=True)


def make_http_client() -> HttpClient:
    """The HTTP client the sync jobs fetch through (tests replace this function)."""
    from pipeline.advisories.sync import http_client

    return http_client()


def configured(config: Settings) -> tuple[list[Job], ContextValues]:
    """The jobs as the settings configure them, and the values each run's context is built from (the
    ``deliver`` job's SMTP server and retry settings come from ``config.notifications``)."""
    from core.settings import load_job_settings
    from pipeline.jobs.registry import build_jobs
    from pipeline.jobs.runner import ContextValues
    from pipeline.notifications import DeliverySettings

    job_settings = load_job_settings()
    # Looked up now, so that a make_http_client a test replaced is the one used.
    values = ContextValues(
        http_client=make_http_client,
        due_within_days=job_settings.due_within_days,
        delivery=DeliverySettings.from_settings(config.notifications),
        registry_urls=job_settings.registry_urls,
    )
    return build_jobs(job_settings), values


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@app.command("list")
@reports_errors
def list_(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the document GET /api/v1/jobs lists.")
    ] = False,
) -> None:
    """Every job: enabled, interval, next due, last run (outcome, time, error)."""
    from pipeline.jobs.runner import job_statuses, status_json

    jobs, _ = configured(settings(ctx))
    with database(ctx, upgrade=True) as db:
        statuses = job_statuses(db, jobs)
    if as_json:
        typer.echo(json.dumps([status_json(s) for s in statuses], indent=2))
        return
    table = Table("job", "enabled", "every", "next due", "last run", "outcome", "error", box=box.SIMPLE)
    for s in statuses:
        row = s.schedule
        enabled = "yes" if s.job.enabled else "no"
        if s.job.body is None:
            enabled = f"unavailable ({s.job.unavailable})"
        outcome = row.last_outcome or "-" if row else "-"
        if row is not None and row.running_by:
            outcome = f"running on {row.running_by}"
        table.add_row(
            s.job.name,
            enabled,
            _duration(s.job.interval),
            ("now" if row is None else when(row.next_due_at)) if s.job.runnable else "-",
            when(row.last_finished_at) if row else "-",
            outcome,
            (row.last_error or "") if row else "",
        )
    console.print(table)


@app.command("runs")
@reports_errors
def runs(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(metavar="[NAME]", help="Only this job's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="How many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
) -> None:
    """The newest runs, newest first: start, duration, outcome, counts, error, attempt, runner."""
    from pipeline.jobs.registry import find_job
    from pipeline.jobs.runner import recent_runs, run_json

    if name is not None:
        find_job(configured(settings(ctx))[0], name)
    with database(ctx, upgrade=True) as db:
        found = recent_runs(db, name, limit=limit)
    if as_json:
        typer.echo(json.dumps([run_json(r) for r in found], indent=2))
        return
    table = Table("id", "job", "started", "seconds", "outcome", "attempt", "counts", "error", box=box.SIMPLE)
    for r in found:
        counts = ", ".join(f"{k} {v}" for k, v in r.counts.items())
        seconds = f"{(r.finished_at - r.started_at).total_seconds():.1f}"
        table.add_row(
            str(r.id), r.job, when(r.started_at), seconds, r.outcome, str(r.attempt), counts, r.error or ""
        )
    console.print(table)


@app.command("run")
@reports_errors
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The job (see `patchgap jobs list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the recorded run as JSON.")] = False,
) -> None:
    """Run one job now and record the run; exit 2 with its error when it failed."""
    from pipeline.jobs.registry import find_job
    from pipeline.jobs.runner import recent_runs, run_job, run_json

    jobs, values = configured(settings(ctx))
    job = find_job(jobs, name)
    with database(ctx, upgrade=True) as db:
        outcome = run_job(db, job, values, force=True)
        if outcome is None:
            raise fail(f"job {name}: another process is running it now (see `patchgap jobs list`)")
        (recorded,) = [r for r in recent_runs(db, name, limit=5) if r.id == outcome.run_id]
    if as_json:
        typer.echo(json.dumps(run_json(recorded), indent=2))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in outcome.counts.items()) or "no counts"
        seconds = (outcome.finished_at - outcome.started_at).total_seconds()
        typer.echo(f"job {name}: run {outcome.run_id} {outcome.outcome} in {seconds:.1f} s ({counts})")
    if outcome.outcome == "failed":
        raise fail(f"job {name}: {outcome.error}")
    if outcome.outcome == "skipped":
        raise fail(f"job {name}: {outcome.error}")
