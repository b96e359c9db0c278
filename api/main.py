"""The FastAPI application factory: ``create_app(settings)``.

The app holds one database and, unless told otherwise, one upload worker thread (started and stopped
with the app's lifespan) that processes the durable upload queue. Several server processes on one
PostgreSQL database each run a worker; they share the queue safely (see ``pipeline.uploads``).

With ``run_jobs`` the app also runs the scheduled jobs (``pipeline.jobs.runner.Scheduler``, a thread
started and stopped with the lifespan like the upload worker); several processes on PostgreSQL run each
due job once. ``app_from_env`` runs them unless ``PATCHGAP_SERVE_JOBS=0`` (``patchgap serve --no-jobs``,
when ``patchgap worker`` processes run them instead).

``serving_app`` (``app_from_env``, then ``core.heap.settle``) is the factory ``patchgap serve`` hands to
uvicorn (``--factory``), so every worker process builds its own app from the environment the command
set. Such a process also reads its organizations' first pages once after start-up, in the background
(``pipeline.warmup``), unless ``PATCHGAP_SERVE_WARM_UP=0``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from importlib.metadata import version as package_version
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.deps import document_plain_parameters, plain_parameters
from api.errors import BodyTooLargeError
from api.routes import (
    advisories,
    analyses,
    dashboard,
    dashboard_notifications,
    dependency_track,
    dependency_track_gate,
    events,
    exports,
    health,
    keys,
    notifications,
    plan,
    reports,
    sla,
    snapshots,
    systems,
    uploads,
    vex,
)
from api.routes import components as component_routes
from api.routes import jobs as job_routes
from core.embargo import request_scope
from core.heap import settle
from core.settings import (
    SERVE_UPLOADS_ENV,
    SERVE_WARM_UP_ENV,
    JobSettings,
    Settings,
    keep_warm_seconds,
    load_job_settings,
)
from pipeline.database import Database
from pipeline.jobs.registry import Job, build_jobs
from pipeline.jobs.runner import ContextValues, Scheduler
from pipeline.uploads import UploadWorker
from pipeline.warmup import WarmUp

DESCRIPTION = """\
patchgap REST API: upload SBOMs of deployed systems, read exposures and time-to-deploy.

Every route acts within the organization of the API key (`X-Api-Key` or `Authorization: Bearer`):
another organization's ids answer 404. Roles: `reader` reads, `uploader` also uploads and creates
systems, `admin` also changes attributes, triage decisions (analyses, VEX), SLA policies and keys.
Errors are RFC 9457 `application/problem+json` documents. `PUT/POST /api/v1/bom` accept
Dependency-Track clients unchanged.
"""

TAGS = [
    {"name": "systems", "description": "Deployed systems and their attributes."},
    {"name": "uploads", "description": "SBOM upload (synchronous) and queued upload state."},
    {"name": "snapshots", "description": "Stored SBOM snapshots and their components."},
    {"name": "reports", "description": "Exposures and time to deploy: the CLI's report JSON."},
    {"name": "advisories", "description": "Advisories by any id or alias (global data)."},
    {
        "name": "exports",
        "description": "Auditor exports: VEX documents, CRA register, NIS2 evidence, CISO report.",
    },
    {
        "name": "analyses",
        "description": "Triage: analysis records (state, justification, comment, expiry) and their history.",
    },
    {"name": "vex", "description": "VEX statements of the organization: a view of its analysis records."},
    {"name": "sla", "description": "The organization's SLA policy."},
    {
        "name": "dependency-track",
        "description": "Dependency-Track-compatible upload and polling, and the reads of a DT CI gate.",
    },
    {"name": "keys", "description": "API keys of the organization (admin)."},
    {"name": "notifications", "description": "Notification rules and their deliveries (admin)."},
    {"name": "jobs", "description": "Scheduled jobs of the installation and their runs (admin)."},
]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before they are read to the end.

    The routes check the SBOM itself against the exact limit; this outer bound also covers the
    Base64 (4/3) and multipart envelopes, so a body is never buffered far beyond what could be valid.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await errors.problem(413, str(BodyTooLargeError(self.limit).detail))(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLargeError(self.limit)
            return message

        await self.app(scope, limited, send)


class EmbargoView:
    """Give every request its own embargo view (``core.embargo``): public until the request's key or
    dashboard session is found to be entitled, and never shared with another request. ``clock`` is the
    moment the embargo is judged at (None: the wall clock; tests step it)."""

    def __init__(self, app: ASGIApp, clock: Callable[[], datetime] | None = None) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with request_scope(self.clock() if self.clock is not None else None):
            await self.app(scope, receive, send)


def envelope_limit(max_sbom_bytes: int) -> int:
    """The largest request body accepted at all: a Base64-encoded SBOM at the limit, plus 1 MiB."""
    return (max_sbom_bytes * 4) // 3 + 4 + 1024 * 1024


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    start_worker: bool = True,
    worker_poll_interval: float = 2.0,
    jobs: list[Job] | None = None,
    run_jobs: bool = False,
    job_values: ContextValues | None = None,
    scheduler_poll_interval: float = 15.0,
    embargo_clock: Callable[[], datetime] | None = None,
    warm_up: bool = False,
    keep_warm: float | None = None,
) -> FastAPI:
    """Build the application for ``settings`` (the database must be migrated: ``patchgap db upgrade``).

    ``warm_up``: read every organization's first pages in the background once started (``pipeline.warmup``),
    and with ``keep_warm`` (seconds) keep them warm: again at that interval, after the jobs run here
    changed facts, and soon after another process changed them (``None``: once).

    ``jobs`` are the scheduled jobs ``GET /api/v1/jobs`` lists (default: as configured by no settings);
    ``run_jobs`` runs them in this process, with ``job_values`` (HTTP client, SLA warning days).
    ``embargo_clock``: the moment Akrites embargoes are judged at (default: the wall clock).
    """
    own_db = db is None
    app_db = db if db is not None else Database.open(settings.database_url)
    app_jobs = jobs if jobs is not None else build_jobs(JobSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if start_worker:
            worker = UploadWorker(
                app_db, max_bytes=settings.max_sbom_bytes, poll_interval=worker_poll_interval
            )
            worker.start()
        app.state.worker = worker
        warming = WarmUp(app_db, every=keep_warm) if warm_up else None
        if warming is not None:
            warming.start()
        app.state.warm_up = warming
        scheduler = None
        if run_jobs:
            scheduler = Scheduler(
                app_db,
                app_jobs,
                job_values or ContextValues(),
                poll_interval=scheduler_poll_interval,
                after_jobs=warming.poke if warming is not None else None,
            )
            scheduler.start()
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            if warming is not None:
                warming.stop()
            if scheduler is not None:
                scheduler.stop()
            app.state.scheduler = None
            if worker is not None:
                worker.stop()
            app.state.worker = None
            if own_db:
                app_db.dispose()

    # /docs (Swagger UI) loads its script and style from the installed fastapi-offline package, served
    # under /static-offline-docs, never from a CDN: it works on an air-gapped network. ReDoc is off: its
    # page fetches a logo from its vendor's CDN whatever it is told, and one viewer is enough.
    app = FastAPIOffline(
        redoc_url=None,
        title="patchgap",
        version=package_version("patchgap"),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        dependencies=[Depends(plain_parameters)],
    )
    app.state.settings = settings
    app.state.db = app_db
    app.state.worker = None
    app.state.scheduler = None
    app.state.warm_up = None
    app.state.jobs = app_jobs
    errors.install(app)
    for module in (
        systems,
        uploads,
        snapshots,
        reports,
        plan,
        advisories,
        exports,
        analyses,
        vex,
        sla,
        dependency_track,
        dependency_track_gate,
        keys,
        notifications,
        dashboard_notifications,
        job_routes,
        events,
        component_routes,
        health,
    ):
        app.include_router(module.router)
    dashboard.install(app)
    app.add_middleware(BodyLimit, limit=envelope_limit(settings.max_sbom_bytes))
    app.add_middleware(EmbargoView, clock=embargo_clock)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.document_errors(document_plain_parameters(build_openapi()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_env(*, warm_up: bool = False, keep_warm: float | None = None) -> FastAPI:
    """The app for ``uvicorn --factory``: settings from the environment (``PATCHGAP_DATABASE_URL`` …,
    ``PATCHGAP_CONFIG`` and ``PATCHGAP_JOB_*`` for the jobs, which run unless ``PATCHGAP_SERVE_JOBS=0``;
    queued uploads are processed here unless ``PATCHGAP_SERVE_UPLOADS=0``); ``warm_up`` and
    ``keep_warm`` as :func:`create_app`'s."""
    from pipeline.advisories.sync import http_client
    from pipeline.notifications import DeliverySettings

    settings = Settings.from_env()
    job_settings = load_job_settings()
    values = ContextValues(
        http_client=http_client,
        due_within_days=job_settings.due_within_days,
        delivery=DeliverySettings.from_settings(settings.notifications),
        registry_urls=job_settings.registry_urls,
    )
    return create_app(
        settings,
        start_worker=os.environ.get(SERVE_UPLOADS_ENV, "1") != "0",
        jobs=build_jobs(job_settings),
        run_jobs=job_settings.serve_jobs,
        job_values=values,
        warm_up=warm_up,
        keep_warm=keep_warm,
    )


def serving_app() -> FastAPI:
    """:func:`app_from_env` for a process that serves it until it stops (the factory ``patchgap
    serve`` hands to uvicorn): the collector is settled for a long-running process once the app is
    built (``core.heap.settle``), and the organizations' first pages are read once started unless
    ``PATCHGAP_SERVE_WARM_UP=0``, then kept warm (``PATCHGAP_SERVE_KEEP_WARM``: 30 s; ``0``: once only)."""
    app = app_from_env(
        warm_up=os.environ.get(SERVE_WARM_UP_ENV, "1") != "0", keep_warm=keep_warm_seconds(os.environ)
    )
    settle()
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()
