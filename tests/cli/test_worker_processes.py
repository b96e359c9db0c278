"""Two ``patchgap worker --once`` processes on one database run a due job once (SQLite and PostgreSQL).

The ``kev`` job fetches from a real HTTP server this test starts on 127.0.0.1, which counts the requests
and holds every answer until the test releases it. So the process that claimed the job is still running
it (holding its lease) while the other one looks for due jobs: that one must find nothing due and exit
without a request. Without the claim both would ask the server and neither could exit before the release.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.database import Database
from store.queries.jobs import job_runs
from tests.cli.test_cli_jobs import DISABLED
from tests.pipeline.test_jobs import kev_catalog

PATCHGAP = Path(sys.executable).parent / "patchgap"


class Feed:
    def __init__(self) -> None:
        self.requests = 0
        self.release = threading.Event()
        self.body = json.dumps(kev_catalog("CVE-2024-0001")).encode()


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            state.release.wait(120)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/kev.json"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def wait_for(condition: object, limit: float) -> bool:
    """Poll ``condition`` (a callable) until it holds or ``limit`` seconds passed (not a timing check)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_two_worker_processes_run_a_due_job_once(db_url: str, feed: tuple[Feed, str]) -> None:
    state, url = feed
    env = {**os.environ, **DISABLED, "PATCHGAP_JOB_KEV_URL": url, "PATCHGAP_DATABASE_URL": db_url}
    command = [str(PATCHGAP), "worker", "--once"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        assert wait_for(lambda: state.requests >= 1, 90), "no worker fetched the KEV catalog"
        # The claimer waits on the server; the other finds the job leased and exits on its own.
        wait_for(lambda: any(w.poll() is not None for w in workers), 60)
        state.release.set()
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        state.release.set()
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert state.requests == 1
    summaries = sorted(err.strip().splitlines()[-1] for _, err in outputs)
    assert summaries == [
        "processed 0 queued uploads; ran 0 due jobs",
        "processed 0 queued uploads; ran 1 due jobs",
    ], outputs
    db = Database.open(db_url)
    try:
        with db.read() as session:
            runs = job_runs(session, "kev")
    finally:
        db.dispose()
    assert [(r.outcome, r.counts.get("entries")) for r in runs] == [("ok", 1)]
