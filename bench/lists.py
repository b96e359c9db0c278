"""Inventory lists benchmark: the first page of the systems list and of the component search, warm.

Run from the project root:

  .venv/bin/python -m bench.lists --systems 1000 [--postgres URL]      # builds a fresh fleet
  .venv/bin/python -m bench.lists --db URL [--db URL …]                # an existing fleet (org ``bench``)

The fleet is the report benchmark's (``bench.report.build_fleet``: N systems × 52 weekly snapshots,
exposures rebuilt); ``--systems`` builds one in a temporary SQLite file and, with ``--postgres``, in a
temporary schema of that database (both dropped at the end). ``--db`` measures a fleet kept elsewhere,
migrated to this code's schema first — so give it a *copy* of a fleet another branch keeps (the
10,000-system fleets of ``bench.report --keep`` are copied with ``sqlite3 … ".backup"`` and
``pg_dump -n bench10k | sed s/bench10k/SCHEMA/ | psql``, then ``VACUUM ANALYZE`` as autovacuum would).

Timed (median and slowest wall time of ``--repeat`` runs after one warm-up, and the median CPU time of
the benchmark process), each one call of the pipeline function the API route calls:

- systems: ``system_page`` (100 rows) by name; the second page by name; by last SBOM descending; by
  open exposures descending; by owner; stale only; staging environment with a name prefix.
- components: ``component_page`` (100 rows) for a package name (``vuln-1``, on about a quarter of the
  systems), the same with a version range sorted by system, a purl of a clean package; and
  ``component_summary`` for the name.
- plan: ``plan_page`` (50 actions, as ``GET /api/v1/plan``), its second page (by the cursor), the
  first page of the staging environment and of one system, the dashboard's page (each action listing at
  most 25 systems), and ``top_actions(5)`` (the overview's); the JSON size of the first page is printed.

``--only plan`` (or ``systems``, ``components``) measures those phases alone; ``--refresh`` first times
``rebuild_list`` (every system's list rows and plan items computed again from the stored exposures).

Target (issue 16): each first page ≤ 0.3 s at 10,000 systems on both databases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from bench.report import ORG, build_fleet
from pipeline.exposures.build import ensure_exposures
from pipeline.lists.components import ComponentQuery, component_page, component_summary
from pipeline.lists.exposures import rebuild_list, refresh_list
from pipeline.lists.plan import PlanQuery, plan_page, top_actions
from pipeline.lists.systems import SystemQuery, system_page
from store.db import Database, make_engine
from store.migrate import upgrade


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median and slowest wall time, and median CPU time of this process (on SQLite all the work; on
    PostgreSQL the client's share only): the machine is shared, so wall time alone says little."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(times), max(times), statistics.median(cpu)


def plan_phases(db: Database) -> list[tuple[str, Callable[[], object]]]:
    first = plan_page(db, ORG, PlanQuery(), limit=50)
    print(
        f"plan: {first.total_actions:,} actions, {first.total_unfixable:,} unfixable; first page "
        f"{len(json.dumps(first.actions)):,} bytes of actions JSON "
        f"({sum(len(a['systems']) for a in first.actions):,} systems listed), "
        f"{len(json.dumps(first.unfixable)):,} bytes of unfixable JSON",
        flush=True,
    )
    one = first.actions[0]["systems"][0]["system"] if first.actions else "system-00001"
    return [
        ("plan: first page (50)", lambda: plan_page(db, ORG, PlanQuery(), limit=50)),
        (
            "plan: second page (50)",
            lambda: plan_page(db, ORG, PlanQuery(), limit=50, cursor=first.next_cursor),
        ),
        ("plan: staging, first page", lambda: plan_page(db, ORG, PlanQuery(environment="staging"), limit=50)),
        ("plan: one system, first page", lambda: plan_page(db, ORG, PlanQuery(system=one), limit=50)),
        (
            "plan: dashboard page (25 systems each)",
            lambda: plan_page(db, ORG, PlanQuery(), limit=50, systems_shown=25),
        ),
        ("plan: top_actions(5)", lambda: top_actions(db, ORG, None, 5)),
    ]


def phases(db: Database) -> list[tuple[str, Callable[[], object]]]:
    first = system_page(db, ORG)
    return [
        ("systems: by name", lambda: system_page(db, ORG)),
        ("systems: page 2 by name", lambda: system_page(db, ORG, cursor=first.next_cursor)),
        (
            "systems: by last SBOM, descending",
            lambda: system_page(db, ORG, SystemQuery(sort="last_sbom", descending=True)),
        ),
        (
            "systems: by open exposures, descending",
            lambda: system_page(db, ORG, SystemQuery(sort="open_exposures", descending=True)),
        ),
        ("systems: by owner", lambda: system_page(db, ORG, SystemQuery(sort="owner"))),
        ("systems: stale only", lambda: system_page(db, ORG, SystemQuery(stale=True))),
        (
            "systems: staging, name prefix",
            lambda: system_page(db, ORG, SystemQuery(environment="staging", name_prefix="system-1")),
        ),
        ("components: vuln-1", lambda: component_page(db, ORG, ComponentQuery.of("vuln-1"))),
        (
            "components: vuln-1 <1.0.3, by system",
            lambda: component_page(db, ORG, ComponentQuery.of("vuln-1", version="<1.0.3", sort="system")),
        ),
        ("components: pkg:npm/lib-7", lambda: component_page(db, ORG, ComponentQuery.of("pkg:npm/lib-7"))),
        ("components: summary of vuln-1", lambda: component_summary(db, ORG, ComponentQuery.of("vuln-1"))),
    ]


@contextmanager
def built(kind: str, systems: int, postgres: str | None) -> Iterator[str]:
    """A fresh fleet of ``systems`` systems with its exposures rebuilt; its URL."""
    with tempfile.TemporaryDirectory() as folder:
        if kind == "sqlite":
            url = f"sqlite:///{folder}/lists.db"
            schema = None
        else:
            assert postgres is not None
            schema = f"bench_lists_{uuid.uuid4().hex[:10]}"
            with make_engine(postgres).begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            url = (
                make_url(postgres)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        try:
            db = Database.open(url)
            upgrade(db.engine)
            started = time.perf_counter()
            build_fleet(db, systems)
            ensure_exposures(db, ORG)
            print(
                f"{kind}: {systems:,}-system fleet built in {time.perf_counter() - started:.0f} s", flush=True
            )
            db.dispose()
            yield url
        finally:
            if schema is not None and postgres is not None:
                with make_engine(postgres).begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


def measure(url: str, repeat: int, only: str | None = None, refresh: bool = False) -> None:
    db = Database(make_engine(url))
    upgrade(db.engine)
    ensure_exposures(db, ORG)
    if refresh:
        started, started_cpu = time.perf_counter(), time.process_time()
        systems = rebuild_list(db, ORG)
        print(
            f"rebuild_list: {systems:,} systems in {time.perf_counter() - started:.1f} s "
            f"(CPU {time.process_time() - started_cpu:.1f} s)",
            flush=True,
        )
    else:
        refresh_list(db, ORG)
    page = system_page(db, ORG)
    print(f"{make_url(url).get_backend_name()}: {page.total:,} systems; load {os.getloadavg()[0]:.1f}")
    chosen = [
        (name, fn)
        for name, fn in (plan_phases(db) if only in (None, "plan") else []) + phases(db)
        if only is None or name.startswith(only)
    ]
    print("| phase | median | slowest | CPU (this process) |")
    print("| --- | ---: | ---: | ---: |")
    for name, fn in chosen:
        median, slowest, cpu = timed(fn, repeat)
        print(
            f"| {name} | {1000 * median:.0f} ms | {1000 * slowest:.0f} ms | {1000 * cpu:.0f} ms |", flush=True
        )
    print(f"load after: {os.getloadavg()[0]:.1f}")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", action="append", default=[], help="URL of an existing fleet (org bench)")
    parser.add_argument("--systems", type=int, help="build a fresh fleet of this many systems")
    parser.add_argument("--postgres", help="with --systems: also on PostgreSQL (a temporary schema)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["systems", "components", "plan"], help="only these phases")
    parser.add_argument("--refresh", action="store_true", help="first time rebuild_list")
    args = parser.parse_args()
    for url in args.db:
        measure(url, args.repeat, args.only, args.refresh)
    if args.systems:
        for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
            with built(kind, args.systems, args.postgres) as url:
                measure(url, args.repeat, args.only, args.refresh)


if __name__ == "__main__":
    main()
