"""``patchgap jobs list|runs|run`` and ``patchgap worker --once`` through typer's CliRunner, on SQLite and
PostgreSQL; the sync jobs fetch through ``cli.jobs.make_http_client``, replaced by a client over an
``httpx.MockTransport`` serving a KEV catalog in CISA's format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

import cli.jobs
from cli.main import app
from ingest.advisories.http import HttpClient, RetryPolicy
from tests.pipeline.test_jobs import KEV_URL, kev_catalog

DISABLED = {f"PATCHGAP_JOB_{n}_ENABLED": "0" for n in ("OSV", "EPSS", "EVALUATE", "DELIVER", "ENRICH")}


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        app, [str(a) for a in args], env={"PATCHGAP_JOB_KEV_URL": KEV_URL, **(env or {})}
    )


@pytest.fixture
def kev_served(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[httpx.Request]]:
    def install(status: int) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if status != 200:
                return httpx.Response(status, text="unavailable")
            return httpx.Response(200, json=kev_catalog("CVE-2024-0001", "CVE-2024-0002"))

        monkeypatch.setattr(
            cli.jobs,
            "make_http_client",
            lambda: HttpClient(transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1)),
        )
        return seen

    return install


def test_run_records_the_run_and_list_and_runs_show_it(
    db_url: str, kev_served: Callable[[int], list[httpx.Request]]
) -> None:
    seen = kev_served(200)
    ran = run("--db", db_url, "jobs", "run", "kev")
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.startswith("job kev: run 1 ok in ")
    assert "(changed 1, entries 2, rematched 0, systems_rebuilt 0, lists_recomputed 0)" in ran.stdout
    assert len(seen) == 1
    listed = run("--db", db_url, "jobs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    jobs = {j["name"]: j for j in json.loads(listed.stdout)}
    assert list(jobs)[:5] == ["osv", "kev", "epss", "evaluate", "deliver"]
    assert jobs["kev"]["last_outcome"] == "ok"
    assert jobs["kev"]["last_run_id"] == 1
    assert jobs["kev"]["interval_seconds"] == 86400
    assert jobs["kev"]["url"] == KEV_URL
    assert jobs["osv"]["next_due_at"] is None  # never claimed yet
    table = run("--db", db_url, "jobs", "list")
    assert table.exit_code == 0, table.output
    (kev_line,) = [line for line in table.stdout.splitlines() if line.split()[:1] == ["kev"]]
    assert kev_line.split()[1:3] == ["yes", "1d"]
    assert " ok " in kev_line
    runs = run("--db", db_url, "jobs", "runs", "kev", "--json")
    assert runs.exit_code == 0, runs.output
    (recorded,) = json.loads(runs.stdout)
    assert (recorded["outcome"], recorded["trigger"], recorded["counts"]["entries"]) == ("ok", "manual", 2)


def test_a_failing_run_exits_2_with_its_error_and_is_listed(
    db_url: str, kev_served: Callable[[int], list[httpx.Request]]
) -> None:
    kev_served(503)
    failed = run("--db", db_url, "jobs", "run", "kev")
    assert failed.exit_code == 2
    assert f"error: job kev: {KEV_URL}: " in failed.stderr
    assert "HTTP 503" in failed.stderr
    listed = json.loads(run("--db", db_url, "jobs", "list", "--json").stdout)
    (kev,) = [j for j in listed if j["name"] == "kev"]
    assert kev["last_outcome"] == "failed"
    assert kev["consecutive_failures"] == 1
    assert "HTTP 503" in kev["last_error"]
    table = run("--db", db_url, "jobs", "runs")
    assert "failed" in table.stdout


def test_unknown_jobs_and_bad_settings_are_one_line_errors(db_url: str) -> None:
    unknown = run("--db", db_url, "jobs", "run", "nvd")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: job: 'nvd' is not one of osv, kev, epss, evaluate, deliver")
    bad = run("--db", db_url, "jobs", "list", env={"PATCHGAP_JOB_KEV_INTERVAL": "daily"})
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: PATCHGAP_JOB_KEV_INTERVAL: 'daily' is not a duration")
    typo = run("--db", db_url, "worker", "--once", env={"PATCHGAP_JOB_KEVV_ENABLED": "0"})
    assert typo.exit_code == 2
    assert typo.stderr.startswith("error: PATCHGAP_JOB_KEVV_*: names no job")


def test_worker_once_runs_what_is_due_then_nothing(
    db_url: str, kev_served: Callable[[int], list[httpx.Request]]
) -> None:
    seen = kev_served(200)
    first = run("--db", db_url, "worker", "--once", env=DISABLED)
    assert first.exit_code == 0, first.output
    assert "ran 1 due jobs" in first.stderr
    assert first.stdout.startswith("job kev: run 1 ok (changed 1, entries 2")
    second = run("--db", db_url, "worker", "--once", env=DISABLED)
    assert second.exit_code == 0, second.output
    assert "processed 0 queued uploads; ran 0 due jobs" in second.stderr
    assert len(seen) == 1
