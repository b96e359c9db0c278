"""The job registry: every job the service can run, with its default interval and body.

A job is a :class:`JobSpec`: a name, a kind (``sync``: an advisory source; ``evaluate``; ``deliver``),
a default interval and a body. The fixed jobs are listed in :data:`FIXED_JOBS`; the configured CSAF
providers and Akrites indexes add ``csaf:<name>`` and ``akrites:<name>``. The bodies that other
use-cases own are named by module and function and imported when the registry is built: while one is
missing the job is listed as unavailable (with the reason) and never run.

:func:`build_jobs` applies the settings (interval, enabled, URL per job) and refuses a setting that
names no job, so a misspelt ``PATCHGAP_JOB_KEVV_ENABLED=0`` is an error, not a job left running.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.errors import InputError
from core.settings import JobSettings, SettingsError
from pipeline.jobs import bodies

if TYPE_CHECKING:
    from pipeline.jobs.runner import JobContext

HOUR = 3600
DAY = 24 * HOUR

#: A job's body: what it does with the context of this run and its URL; returns the counts to record.
JobBody = Callable[["JobContext", "str | None"], Mapping[str, int]]
Kind = Literal["sync", "evaluate", "deliver"]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A registered job before settings: ``body`` None means unavailable, ``unavailable`` says why."""

    name: str
    kind: Kind
    description: str
    default_interval: int
    body: JobBody | None
    unavailable: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A job as configured: its interval, whether it runs, and the URL its body fetches (None: default)."""

    name: str
    kind: Kind
    description: str
    interval: int
    enabled: bool
    url: str | None
    body: JobBody | None
    unavailable: str | None

    @property
    def runnable(self) -> bool:
        return self.enabled and self.body is not None


def _elsewhere(module: str, function: str, adapter: str) -> tuple[JobBody | None, str | None]:
    """The adapter of ``pipeline.jobs.bodies`` named ``adapter`` when ``module.function`` exists."""
    try:
        found: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None, f"{module} is not installed"
        raise
    if not callable(getattr(found, function, None)):
        return None, f"{module} has no {function}"
    body: JobBody = getattr(bodies, adapter)
    return body, None


def fixed_jobs() -> list[JobSpec]:
    """The jobs every installation has, in listing order."""
    evaluate, evaluate_missing = _elsewhere("pipeline.events", "evaluate_deadlines", "evaluate_body")
    deliver, deliver_missing = _elsewhere("pipeline.notifications", "deliver_due", "deliver_body")
    return [
        JobSpec(
            "osv",
            "sync",
            "OSV API: the advisories of every stored package version",
            6 * HOUR,
            bodies.sync_body("osv"),
        ),
        JobSpec("kev", "sync", "CISA Known Exploited Vulnerabilities catalog", DAY, bodies.sync_body("kev")),
        JobSpec("epss", "sync", "FIRST EPSS scores", DAY, bodies.sync_body("epss")),
        JobSpec(
            "evaluate",
            "evaluate",
            "SLA deadlines due soon or breached, stale systems (events)",
            HOUR,
            evaluate,
            evaluate_missing,
        ),
        JobSpec(
            "deliver",
            "deliver",
            "Notification deliveries: webhooks, Slack, e-mail, digests",
            60,
            deliver,
            deliver_missing,
        ),
        JobSpec(
            "enrich",
            "sync",
            "Package registry release times of the fixed versions advisories name",
            DAY,
            bodies.enrich_body,
        ),
    ]


def build_jobs(settings: JobSettings, extra: list[JobSpec] | None = None) -> list[Job]:
    """Every job as ``settings`` configure it: the fixed ones, one per configured CSAF provider and
    Akrites index, then ``extra`` (jobs a test registers); a setting naming no job is a SettingsError."""
    specs = fixed_jobs()
    specs += [
        JobSpec(f"csaf:{f.name}", "sync", f"CSAF provider {f.name}", DAY, bodies.sync_body("csaf"), url=f.url)
        for f in settings.csaf_providers
    ]
    specs += [
        JobSpec(
            f"akrites:{f.name}",
            "sync",
            f"Akrites index {f.name}",
            DAY,
            bodies.sync_body("akrites"),
            url=f.url,
        )
        for f in settings.akrites_indexes
    ]
    specs += extra or []
    names = [s.name for s in specs]
    unknown = settings.unknown_jobs(names)
    if unknown:
        raise SettingsError(unknown[0], f"names no job (jobs: {', '.join(names)})")
    jobs: list[Job] = []
    for spec in specs:
        override = settings.override(spec.name)
        if override.url is not None and spec.kind != "sync":
            raise SettingsError(f"jobs.{spec.name}.url", f"job {spec.name} fetches nothing; it takes no URL")
        jobs.append(
            Job(
                name=spec.name,
                kind=spec.kind,
                description=spec.description,
                interval=override.interval if override.interval is not None else spec.default_interval,
                enabled=override.enabled if override.enabled is not None else True,
                url=override.url if override.url is not None else spec.url,
                body=spec.body,
                unavailable=spec.unavailable,
            )
        )
    return jobs


def find_job(jobs: list[Job], name: str) -> Job:
    """The job called ``name``; an InputError listing the jobs when there is none."""
    for job in jobs:
        if job.name == name:
            return job
    raise InputError("job", f"{name!r} is not one of {', '.join(j.name for j in jobs)}")
