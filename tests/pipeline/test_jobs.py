"""Scheduled jobs (pipeline.jobs) on SQLite and PostgreSQL: the registry, a due job run and recorded,
a failure recorded with backoff and its sync.failed event, the lease that keeps a second claimer off.

The sync jobs run their real code against ``httpx.MockTransport`` answers in each service's documented
format (the CISA KEV catalog JSON, the EPSS CSV, the OSV API's querybatch and vulns routes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta

import httpx
import pytest

from core.events import SYNC_FAILED
from core.settings import Feed, JobSettings, SettingsError, load_job_settings
from core.time import utcnow
from ingest.advisories.http import HttpClient, RetryPolicy
from pipeline.ingest import ingest_sbom
from pipeline.jobs.registry import JobSpec, build_jobs, find_job
from pipeline.jobs.runner import ContextValues, JobContext, backoff, changed_facts, run_due, run_job
from store.db import Database
from store.queries.jobs import claim_scheduled_job, ensure_schedules, job_runs, job_schedules
from store.queries.notifications import list_events
from store.queries.organizations import get_or_create_organization

KEV_URL = "https://feeds.example/kev.json"
EPSS_URL = "https://feeds.example/epss.csv"

Handler = Callable[[httpx.Request], httpx.Response]


def kev_catalog(*cves: str) -> dict[str, object]:
    """A catalog in CISA's published format (known_exploited_vulnerabilities.json)."""
    return {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2026.12.04",
        "dateReleased": "2026-12-04T12:00:00.000Z",
        "count": len(cves),
        "vulnerabilities": [
            {
                "cveID": cve,
                "vendorProject": "Example",
                "product": "Example",
                "vulnerabilityName": "Example flaw",
                "dateAdded": "2026-12-01",
                "shortDescription": "An example.",
                "requiredAction": "Apply updates.",
                "dueDate": "2026-12-22",
                "knownRansomwareCampaignUse": "Unknown",
                "notes": "",
            }
            for cve in cves
        ],
    }


class Served:
    def __init__(self, routes: Mapping[str, Handler]) -> None:
        self.routes = dict(routes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get(str(request.url))
        return handler(request) if handler else httpx.Response(404, text="no route")

    def values(self) -> ContextValues:
        return ContextValues(
            http_client=lambda: HttpClient(transport=httpx.MockTransport(self), retry=RetryPolicy(attempts=1))
        )


def settings_for(**env: str) -> JobSettings:
    base = {"PATCHGAP_JOB_KEV_URL": KEV_URL, "PATCHGAP_JOB_EPSS_URL": EPSS_URL}
    return load_job_settings(base | env)


def installation_events(db: Database) -> list[dict[str, object]]:
    with db.write() as session:
        org = get_or_create_organization(session, "acme")
        assert org.id is not None
        return [e.payload | {"kind": e.kind} for e in list_events(session, org.id) if e.org_id is None]


# --- registry -------------------------------------------------------------------------------------


def test_the_registry_has_the_fixed_jobs_with_their_defaults_and_one_per_configured_feed() -> None:
    settings = JobSettings(
        csaf_providers=(Feed("redhat", "https://csaf.example/provider-metadata.json"),),
        akrites_indexes=(Feed("main", "https://akrites.example/index.json"),),
    )
    jobs = {j.name: j for j in build_jobs(settings)}
    assert list(jobs) == [
        "osv",
        "kev",
        "epss",
        "evaluate",
        "deliver",
        "enrich",
        "csaf:redhat",
        "akrites:main",
    ]
    assert {n: j.interval for n, j in jobs.items()} == {
        "osv": 6 * 3600,
        "kev": 86400,
        "epss": 86400,
        "evaluate": 3600,
        "deliver": 60,
        "enrich": 86400,
        "csaf:redhat": 86400,
        "akrites:main": 86400,
    }
    assert jobs["csaf:redhat"].url == "https://csaf.example/provider-metadata.json"
    assert jobs["osv"].url is None  # the source's default: the OSV API
    assert all(j.enabled for j in jobs.values())
    # The bodies other use-cases own are bound when their functions exist, else listed as unavailable.
    for name, module in (("evaluate", "pipeline.events"), ("deliver", "pipeline.notifications")):
        assert (jobs[name].body is None) == (jobs[name].unavailable is not None)
        if jobs[name].body is None:
            assert module in (jobs[name].unavailable or "")


def test_settings_disable_and_retime_jobs_and_a_setting_naming_no_job_is_refused() -> None:
    jobs = build_jobs(load_job_settings({"PATCHGAP_JOB_OSV_ENABLED": "0", "PATCHGAP_JOB_KEV_INTERVAL": "6h"}))
    assert not find_job(jobs, "osv").runnable
    assert find_job(jobs, "kev").interval == 21600
    with pytest.raises(SettingsError, match=r"^PATCHGAP_JOB_KEVV_\*: names no job \(jobs: osv, kev"):
        build_jobs(load_job_settings({"PATCHGAP_JOB_KEVV_ENABLED": "0"}))
    with pytest.raises(SettingsError, match=r"^jobs\.evaluate\.url: job evaluate fetches nothing"):
        build_jobs(load_job_settings({"PATCHGAP_JOB_EVALUATE_URL": "https://x.example"}))
    with pytest.raises(Exception, match="'nope' is not one of osv, kev"):
        find_job(jobs, "nope")


def test_backoff_doubles_from_a_minute_up_to_the_interval() -> None:
    assert [backoff(a, 3600) for a in (1, 2, 3, 7, 8, 50)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=60),
        timedelta(minutes=60),
        timedelta(minutes=60),
    ]


# --- running --------------------------------------------------------------------------------------


def test_a_due_job_runs_once_is_recorded_and_is_not_due_again(db: Database) -> None:
    served = Served(
        {KEV_URL: lambda r: httpx.Response(200, json=kev_catalog("CVE-2024-0001", "CVE-2024-0002"))}
    )
    kev = find_job(build_jobs(settings_for()), "kev")
    outcome = run_job(db, kev, served.values(), runner="test:1")
    assert outcome is not None
    assert outcome.outcome == "ok", outcome.error
    assert outcome.counts == {
        "changed": 1,
        "entries": 2,
        "rematched": 0,
        "systems_rebuilt": 0,
        "lists_recomputed": 0,
    }
    assert outcome.attempt == 1
    assert outcome.next_due_at == outcome.started_at + timedelta(days=1)
    # Not due again until tomorrow: the scheduler's next pass leaves it.
    assert run_job(db, kev, served.values(), runner="test:2") is None
    assert [str(r.url) for r in served.requests] == [KEV_URL]
    with db.read() as session:
        (run,) = job_runs(session, "kev")
        schedule = job_schedules(session)["kev"]
    assert (run.outcome, run.counts["entries"], run.attempt, run.trigger, run.runner) == (
        "ok",
        2,
        1,
        "scheduled",
        "test:1",
    )
    assert schedule.last_run_id == run.id
    assert schedule.last_outcome == "ok"
    assert schedule.lease_until is None
    assert schedule.running_by is None
    assert schedule.next_due_at == outcome.next_due_at
    # A manual run (patchgap jobs run) runs it anyway; the catalog is the same, so nothing changed.
    again = run_job(db, kev, served.values(), runner="test:3", force=True)
    assert again is not None
    assert (again.outcome, again.counts["changed"]) == ("ok", 0)
    # Only the first changed the facts a serving process then reads again (Scheduler.after_jobs).
    assert changed_facts([outcome])
    assert not changed_facts([again])


def test_a_failing_sync_is_recorded_retried_with_backoff_and_raises_sync_failed_once_per_run(
    db: Database,
) -> None:
    state = {"up": False}

    def epss(request: httpx.Request) -> httpx.Response:
        if not state["up"]:
            return httpx.Response(200, text="<html>maintenance</html>")
        return httpx.Response(
            200,
            text="#model_version:v2025.03.14,score_date:2026-12-04T00:00:00Z\ncve,epss,percentile\n"
            "CVE-2024-0001,0.5,0.9\n",
        )

    served = Served({EPSS_URL: epss})
    jobs = build_jobs(settings_for())
    epss_job = find_job(jobs, "epss")
    first = run_job(db, epss_job, served.values())
    assert first is not None
    assert first.outcome == "failed"
    assert first.error is not None
    assert first.error.startswith(f"{EPSS_URL}: does not look like an EPSS CSV")
    assert first.next_due_at == first.finished_at + timedelta(minutes=1)
    second = run_job(db, epss_job, served.values(), force=True)
    assert second is not None
    assert (second.outcome, second.attempt) == ("failed", 2)
    assert second.next_due_at == second.finished_at + timedelta(minutes=2)
    events = installation_events(db)
    assert [e["kind"] for e in events] == [SYNC_FAILED, SYNC_FAILED]
    assert events[0]["job"] == {"name": "epss", "run_id": first.run_id, "error": first.error, "attempts": 1}
    assert events[1]["job"]["attempts"] == 2  # type: ignore[index]
    assert events[0]["organization"] is None
    assert str(events[0]["summary"]).startswith("Scheduled sync epss failed (attempt 1): ")
    state["up"] = True
    third = run_job(db, epss_job, served.values(), force=True)
    assert third is not None
    assert (third.outcome, third.attempt, third.counts["entries"]) == ("ok", 3, 1)
    with db.read() as session:
        schedule = job_schedules(session)["epss"]
        runs = job_runs(session, "epss")
    assert schedule.consecutive_failures == 0
    assert [r.outcome for r in runs] == ["ok", "failed", "failed"]
    assert len(installation_events(db)) == 2  # a success writes no event


def test_the_scheduler_pass_runs_every_due_job_whatever_the_others_do(db: Database) -> None:
    def broken(context: JobContext, url: str | None) -> Mapping[str, int]:
        raise RuntimeError("a bug in a job body")

    served = Served(
        {
            KEV_URL: lambda r: httpx.Response(200, json=kev_catalog("CVE-2024-0001")),
            EPSS_URL: lambda r: httpx.Response(503, text="down"),
        }
    )
    extra = [JobSpec("broken", "evaluate", "a test job", 60, broken)]
    jobs = build_jobs(settings_for(PATCHGAP_JOB_OSV_ENABLED="0"), extra=extra)
    done = {o.job: o for o in run_due(db, jobs, served.values())}
    assert done["broken"].outcome == "failed"
    assert done["broken"].error == "RuntimeError: a bug in a job body"
    assert done["epss"].outcome == "failed"
    assert done["kev"].outcome == "ok"
    assert "osv" not in done  # disabled
    for name in ("evaluate", "deliver"):
        job = find_job(jobs, name)
        assert (name in done) == (job.body is not None)
    # Only a failed sync is a sync.failed event; a failing non-sync job is recorded, not announced.
    assert [e["job"]["name"] for e in installation_events(db)] == ["epss"]  # type: ignore[index]
    assert run_due(db, jobs, served.values()) == []  # nothing is due any more


def test_an_unavailable_job_is_never_scheduled_and_a_manual_run_is_recorded_skipped(db: Database) -> None:
    absent = JobSpec(
        "absent", "deliver", "a job whose body is not installed", 60, None, "pipeline.x is not installed"
    )
    jobs = build_jobs(JobSettings(), extra=[absent])
    job = find_job(jobs, "absent")
    assert not job.runnable
    assert run_due(db, [job], ContextValues()) == []
    outcome = run_job(db, job, ContextValues(), force=True)
    assert outcome is not None
    assert (outcome.outcome, outcome.error) == ("skipped", "unavailable: pipeline.x is not installed")


def test_a_claimed_job_is_not_claimed_again_until_its_lease_expires(db: Database) -> None:
    now = utcnow()
    with db.write() as session:
        ensure_schedules(session, ["kev"], now)
        ensure_schedules(session, ["kev"], now + timedelta(days=5))  # a second process: no change
        first = claim_scheduled_job(
            session, "kev", now, lease_until=now + timedelta(minutes=15), runner="a:1", force=False
        )
    assert first == 1
    with db.write() as session:
        assert job_schedules(session)["kev"].next_due_at == now
        assert job_schedules(session)["kev"].running_by == "a:1"
        assert claim_scheduled_job(session, "kev", now, lease_until=now, runner="b:2", force=True) is None
        later = now + timedelta(minutes=16)  # the first claimer died: its lease expired
        assert claim_scheduled_job(session, "kev", later, lease_until=later, runner="b:2", force=False) == 1
    served = Served({KEV_URL: lambda r: httpx.Response(200, json=kev_catalog("CVE-2024-0001"))})
    kev = find_job(build_jobs(settings_for()), "kev")
    assert run_job(db, kev, served.values(), force=True) is None  # b:2 holds it now
    assert served.requests == []


def test_an_osv_sync_rematches_and_rebuilds_the_affected_systems(
    db: Database, cyclonedx: Callable[..., bytes]
) -> None:
    ingest_sbom(
        db,
        org="acme",
        system="shop",
        data=cyclonedx([("jinja2", "3.1.3", "pkg:pypi/jinja2@3.1.3")]),
        source="bom.json",
        max_bytes=1_000_000,
    )
    base = "https://osv.example"
    vuln = {
        "id": "GHSA-h75v-3vvj-5mfj",
        "modified": "2024-05-06T00:00:00Z",
        "published": "2024-05-06T00:00:00Z",
        "aliases": ["CVE-2024-34064"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "jinja2"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4"}]}],
            }
        ],
    }

    def querybatch(request: httpx.Request) -> httpx.Response:
        queries = json.loads(request.content)["queries"]
        assert queries == [{"package": {"ecosystem": "PyPI", "name": "jinja2"}, "version": "3.1.3"}]
        return httpx.Response(
            200, json={"results": [{"vulns": [{"id": vuln["id"], "modified": vuln["modified"]}]}]}
        )

    served = Served(
        {
            f"{base}/v1/querybatch": querybatch,
            f"{base}/v1/vulns/{vuln['id']}": lambda r: httpx.Response(200, json=vuln),
        }
    )
    osv = find_job(build_jobs(load_job_settings({"PATCHGAP_JOB_OSV_URL": base})), "osv")
    outcome = run_job(db, osv, served.values())
    assert outcome is not None
    assert outcome.outcome == "ok", outcome.error
    assert outcome.counts["created"] == 1
    assert outcome.counts["rematched"] == 1
    assert outcome.counts["systems_rebuilt"] == 1
