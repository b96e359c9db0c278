"""Dashboard benchmark: the server time of every dashboard page on a generated fleet (default 1,000
systems), as the page's own ``Server-Timing`` header says it.

Run from the project root:  .venv/bin/python -m bench.dashboard  [--systems 1000] [--keep PATH]
                            .venv/bin/python -m bench.dashboard --recorded FILE

The fleet is the report benchmark's (``bench.report.build_fleet``: weekly snapshots for a year, 5 % of
systems stale, rollbacks, KEV and EPSS), with an owner on every tenth system; its stored exposures are
built before anything is timed. Then the app runs in this process (FastAPI's test client, no network),
a reader key signs in, and every page is requested ``--repeat`` times: the first request of each page
(``first``: caches of the process not yet filled for it) and the median of the others (``warm``) are
printed, in milliseconds of server time. The target is 1,000 ms per page.

``--recorded FILE`` prints instead what the Chromium test of the dashboard recorded
(``server-times.json`` in its artifacts folder, see ``tests/api/test_browser_fleet.py``).
``--keep PATH`` keeps the SQLite file and reuses it on later runs (building takes about a minute).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from bench.report import ORG, build_fleet
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.exposures.build import ensure_exposures
from pipeline.systems import update_system
from store.db import Database

AS_OF = "2024-12-31T00:00:00Z"  # the fleet's year is 2024
OWNERS = ("team-shop@example.org", "team-data@example.org", "ops@example.org")
TARGET_MS = 1000.0

# (name, path, query): every page a team works from, with the lists' filters and sorts.
PAGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("overview", "/dashboard/", {"as_of": AS_OF}),
    ("overview, 90 days", "/dashboard/", {"as_of": AS_OF, "period": "90"}),
    ("fix first", "/dashboard/plan", {"as_of": AS_OF}),
    ("exposures", "/dashboard/exposures", {"as_of": AS_OF}),
    ("exposures, filtered", "/dashboard/exposures", {"as_of": AS_OF, "environment": "staging", "kev": "yes"}),
    ("exposures, by CVSS", "/dashboard/exposures", {"as_of": AS_OF, "sort": "cvss", "order": "desc"}),
    ("systems", "/dashboard/systems", {"as_of": AS_OF}),
    ("systems, stale", "/dashboard/systems", {"as_of": AS_OF, "stale": "yes"}),
    ("systems, most exposed", "/dashboard/systems", {"sort": "open_exposures", "order": "desc"}),
    ("component search", "/dashboard/components", {"q": "vuln-1"}),
    ("component search, range", "/dashboard/components", {"q": "pkg:npm/vuln-1", "version": "<1.0.3"}),
    ("system", "/dashboard/systems/system-0001", {"as_of": AS_OF}),
    ("downloads", "/dashboard/downloads", {"as_of": AS_OF}),
    ("bad parameter", "/dashboard/exposures", {"sort": "colour"}),
)


def make_fleet(db: Database, systems: int) -> None:
    """The report benchmark's fleet, owners on every tenth system, exposures built."""
    build_fleet(db, systems)
    for i in range(0, systems, 10):
        update_system(db, ORG, f"system-{i:04d}", {"owner": OWNERS[(i // 10) % len(OWNERS)]})
    ensure_exposures(db, ORG)


@contextmanager
def fleet_database(systems: int, keep: Path | None) -> Iterator[Database]:
    path = keep or Path(f"/tmp/patchgap-bench-dashboard-{systems}.db")
    fresh = keep is None or not path.exists()
    if fresh and path.exists():
        path.unlink()
    db = Database.open(f"sqlite:///{path}")
    try:
        db.upgrade()  # a kept fleet of an older schema is migrated to this code's
        if fresh:
            started = time.perf_counter()
            make_fleet(db, systems)
            print(f"fleet of {systems} systems built in {time.perf_counter() - started:.1f} s")
        yield db
    finally:
        db.dispose()
        if keep is None:
            path.unlink(missing_ok=True)


def server_ms(headers: Any) -> float:
    found = re.search(r"dur=([0-9.]+)", headers.get("server-timing", ""))
    if found is None:
        raise RuntimeError("no Server-Timing header on a dashboard answer")
    return float(found.group(1))


def measure(db: Database, repeat: int) -> list[dict[str, Any]]:
    key = create_key(db, org=ORG, role="reader", name="bench").token
    app = create_app(Settings(database_url="unused://"), db=db, start_worker=False)
    out = []
    with TestClient(app) as client:
        form = client.get("/dashboard/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        client.post("/dashboard/login", data={"api_key": key, "csrf_token": token.group(1)})
        for name, path, params in PAGES:
            times = []
            status = 0
            for _ in range(repeat):
                r = client.get(path, params=params)
                status = r.status_code
                times.append(server_ms(r.headers))
            out.append(
                {
                    "page": name,
                    "url": path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""),
                    "status": status,
                    "first_ms": times[0],
                    "warm_ms": statistics.median(times[1:]) if len(times) > 1 else times[0],
                }
            )
    return out


def show_recorded(rows: list[dict[str, Any]]) -> None:
    """What a browser test recorded: one visit per row."""
    width = max(len(r["page"]) for r in rows)
    print(f"{'page (browser visit)':<{width}}  status  server ms  (target {TARGET_MS:.0f} ms)")
    for r in rows:
        over = "  over" if r["server_ms"] > TARGET_MS else ""
        print(f"{r['page']:<{width}}  {r['status']:>6}  {r['server_ms']:>9.1f}{over}")


def show(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["page"]) for r in rows)
    print(f"{'page':<{width}}  status  first ms   warm ms  (target {TARGET_MS:.0f} ms)")
    for r in rows:
        over = "  over" if r["warm_ms"] > TARGET_MS else ""
        print(f"{r['page']:<{width}}  {r['status']:>6}  {r['first_ms']:>8.1f}  {r['warm_ms']:>8.1f}{over}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="SQLite file to keep the fleet in and reuse")
    parser.add_argument("--recorded", type=Path, help="print the times a browser test recorded")
    args = parser.parse_args()
    if args.recorded is not None:
        show_recorded(json.loads(args.recorded.read_text()))
        return
    with fleet_database(args.systems, args.keep) as db:
        show(measure(db, args.repeat))


if __name__ == "__main__":
    main()
