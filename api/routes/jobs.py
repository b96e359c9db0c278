"""Scheduled jobs (admin keys only): each job's configuration and state, and the recent runs.

Jobs belong to the installation (advisory syncs, deadline evaluation, deliveries), not to one
organization; their records hold no organization's data, so every organization's admin sees the same
listing. It is ``patchgap jobs list --json`` and ``patchgap jobs runs --json``
(``pipeline.jobs.runner.status_json`` / ``run_json``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, DatabaseDep
from api.errors import problem_responses
from pipeline.jobs.registry import Job
from pipeline.jobs.runner import job_statuses, recent_runs, run_json, status_json

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=problem_responses(401, 403))


class JobOut(BaseModel):
    name: str = Field(
        description="`osv`, `kev`, `epss`, `evaluate`, `deliver`, `csaf:<name>`, `akrites:<name>`."
    )
    kind: Literal["sync", "evaluate", "deliver"]
    description: str
    enabled: bool
    available: bool = Field(description="False while the code of the job's body is not installed.")
    unavailable_reason: str | None
    interval_seconds: int
    url: str | None = Field(description="What a sync fetches; null: the source's default.")
    next_due_at: datetime | None = Field(description="Null until the job was first claimed.")
    running_since: datetime | None
    running_by: str | None = Field(description="`host:pid` of the process running it now.")
    last_run_id: int | None
    last_outcome: Literal["ok", "failed", "skipped"] | None
    last_finished_at: datetime | None
    last_error: str | None
    consecutive_failures: int = Field(description="Failures since the last success: the backoff's exponent.")


class RunOut(BaseModel):
    id: int
    job: str
    started_at: datetime
    finished_at: datetime
    outcome: Literal["ok", "failed", "skipped"]
    counts: dict[str, int] = Field(description="What the run did, e.g. created, updated, entries, rematched.")
    error: str | None
    attempt: int = Field(description="1 + the failures before this run since the last success.")
    trigger: Literal["scheduled", "manual"]
    runner: str = Field(description="`host:pid` of the process that ran it.")


class JobsOut(BaseModel):
    jobs: list[JobOut]
    runs: list[RunOut] = Field(description="The newest runs first.")


def configured_jobs(request: Request) -> list[Job]:
    jobs: list[Job] = request.app.state.jobs
    return jobs


@router.get("", summary="Scheduled jobs and their recent runs")
async def list_jobs(
    principal: Admin,
    db: DatabaseDep,
    request: Request,
    job: Annotated[
        str | None, Query(max_length=120, description="Only the runs of this job (the jobs are all listed).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="How many runs.")] = 50,
) -> JobsOut:
    """Every job (enabled, interval, next due, last outcome and error) and the newest runs."""
    jobs = configured_jobs(request)
    statuses = await run_in_threadpool(job_statuses, db, jobs)
    runs = await run_in_threadpool(recent_runs, db, job, limit=limit)
    return JobsOut(
        jobs=[JobOut.model_validate(status_json(s)) for s in statuses],
        runs=[RunOut.model_validate(run_json(r)) for r in runs],
    )
