"""Report benchmark: 1,000 systems × 52 weekly snapshots × 300 components, both reports timed.

Run from the project root:  .venv/bin/python -m bench.report  [--postgres URL] [--systems 1000]
                            [--keep PATH|SCHEMA]

``--keep`` keeps the built fleet (exposures rebuilt) for later runs instead of a throw-away database: a
SQLite file path, or with ``--postgres`` a schema name of that database. A later run with the same
``--keep`` finds the fleet there and reuses it (migrating it to the current schema and skipping the
build and the first rebuild); the incremental phases, which change the fleet, are then left out. The
10,000-system fleets kept on this machine:

  .venv/bin/python -m bench.report --systems 10000 --keep /work/bench-data/fleet10k.sqlite
  .venv/bin/python -m bench.report --systems 10000 --keep bench10k \
      --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Other benches open them directly: ``sqlite:////work/bench-data/fleet10k.sqlite``, or the PostgreSQL URL
with ``?options=-csearch_path%3Dbench10k``; organization ``bench``. Reusing a kept fleet migrates it to
this code's schema (a copy keeps the original for code at an older revision: ``cp`` the SQLite file;
``pg_dump -n bench10k | sed 's/bench10k/COPY/g' | psql`` the schema).

The fleet is written straight into the store tables with set-based inserts (no SBOM parsing: the ingest
benchmark measures that): 50 application templates of 300 npm-like packages each (60 of them from a
pool of 200 packages that advisories affect), each template released 8 times a year with upgrades;
every system deploys one template's releases with its own lag of 0–8 weeks, 10 % of systems roll back
for a week once, and 5 % stop sending SBOMs half-way (stale). Weekly snapshots point to content-addressed
component sets, so the 52,000 snapshots share ~400 sets. Advisories: one per vulnerable package
(affected below version 5), a second one for every fourth package (below version 3), 5 % in KEV,
EPSS for every tenth CVE; their match results are written directly.

Timed:
  rebuild   ``pipeline.exposures.rebuild_exposures`` for all systems (after ingest/matching; not a target)
  exposures ``pipeline.exposures.exposures_report(org, "all")`` — target ≤ 2 s at 1,000 systems
  deploy    ``pipeline.exposures.deploy_time_json(org)`` — target ≤ 2 s
  plan      ``pipeline.plan.plan_json(org)`` (the remediation plan) — target ≤ 1 s at 1,000 systems
The two whole reports built in memory are issue 5's targets at 1,000 systems; at 10,000 (issue 16)
readers get the paged lists, the streamed export and the overview, timed below.
Each report is timed warm (stored exposures current: one digest check) as the median of 3 runs, plus
its pure part (``reports``, from inputs already read) alone. ``deploy`` is also timed cold (the first
summary of the organization in this process reads every stored row) and against the per-exposure
reference (``deploy_time_reference``), whose document it must equal; then 91 days back (a look back:
the stored rows cut at that moment), warm, and against the reference there.

Lists (issue 16), after the reports:
  list      ``pipeline.lists.exposures.exposure_page``: the first page (100 rows) of the open exposures
            by SLA due date, and a filtered sort (KEV, by EPSS descending); the first call after the
            fleet is built computes the stored list (``refresh_list``) and is shown apart; then the
            median of 3 warm calls, and the check alone (``ensure_exposures`` + ``refresh_list``)
  export    ``iter_exposures`` of every open exposure (what ``GET /api/v1/exposures/export`` and the
            CLI's JSON stream): time to the first row, total time, and the peak of Python memory
            (``tracemalloc``) in each stretch of 50,000 rows of a second export, run under the
            collector's settings of a serving process (``core.heap.settle``): flat when the export
            streams, growing with the rows when something keeps them
  overview  ``pipeline.overview.overview`` (median of 3)
  lookback  91 days back: the report inputs (stored rows cut there) once, against computing every
            interval from the snapshots (``report_inputs(recompute=True)``; the exposures must be
            equal); then the first page of the exposures and of the plan, and the overview (median of 3)

Incremental phases (after the reports; ``--skip`` leaves phases out, e.g. ``--skip exposures,plan``):
  snapshot  one new snapshot of one system (through ``pipeline.ingest``): the next report's check
            and the rebuild of that system (``ensure_exposures``), then the rebuild alone
            (``rebuild_exposures`` of that system) — target ≤ 50 ms — and the next deploy-time summary
  advisory  one new advisory for one package (imported, its package re-matched): how many systems
            the next report rebuilds, and how long that takes
  triage    one decision (``set_analysis``): how many systems it rebuilds, and its time
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core.heap import settle
from ingest.advisories.sources.osv import parse_osv_record
from pipeline.advisories.importing import import_advisories
from pipeline.exposures.build import ensure_exposures, rebuild_exposures
from pipeline.exposures.reports import (
    deploy_time_json,
    deploy_time_reference,
    exposures_from_inputs,
    exposures_report,
    report_inputs,
)
from pipeline.ingest import ingest_sbom
from pipeline.lists.exposures import ExposureQuery, exposure_page, iter_exposures, refresh_list
from pipeline.lists.plan import PlanPage, PlanQuery, plan_page
from pipeline.match import match_new, rematch_keys
from pipeline.overview import overview
from pipeline.plan import plan_json
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from store.db import Database, make_engine
from store.migrate import upgrade
from store.queries import exposures as exposure_queries
from store.schema import metadata

T = TypeVar("T")
START = datetime(2024, 1, 1, 3, 0, tzinfo=UTC)
WEEKS = 52
TEMPLATES = 50
RELEASES = 8
COMPONENTS = 300
VULNERABLE_PER_TEMPLATE = 60
VULNERABLE_POOL = 200
CLEAN_POOL = 3000
VERSIONS = 12  # versions 1.0.0 … 1.0.11 of every package
ORG = "bench"


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def table(name: str) -> sa.Table:
    return metadata.tables[name]


def insert(conn: sa.Connection, name: str, rows: list[dict[str, Any]], batch: int = 20_000) -> None:
    for i in range(0, len(rows), batch):
        conn.execute(sa.insert(table(name)), rows[i : i + batch])


def build_fleet(db: Database, systems: int, seed: int = 7) -> dict[str, int]:
    """Write the fleet described in the module docstring; returns row counts."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    packages = [f"vuln-{i}" for i in range(VULNERABLE_POOL)] + [f"lib-{i}" for i in range(CLEAN_POOL)]
    pv_rows: list[dict[str, Any]] = []
    pv_id: dict[tuple[str, int], int] = {}
    for name in packages:
        for v in range(VERSIONS):
            pv_id[(name, v)] = len(pv_rows) + 1
            purl = f"pkg:npm/{name}@1.0.{v}"
            pv_rows.append(
                {
                    "id": len(pv_rows) + 1,
                    "ecosystem": "npm",
                    "name": name,
                    "version": f"1.0.{v}",
                    "purl": purl,
                }
            )
    # Templates: package → version per release.
    templates: list[list[dict[str, int]]] = []
    for _ in range(TEMPLATES):
        chosen = rng.sample(packages[:VULNERABLE_POOL], VULNERABLE_PER_TEMPLATE) + rng.sample(
            packages[VULNERABLE_POOL:], COMPONENTS - VULNERABLE_PER_TEMPLATE
        )
        current = {p: rng.randrange(0, 6) for p in chosen}
        releases = [dict(current)]
        for _ in range(RELEASES - 1):
            for p in rng.sample(chosen, COMPONENTS // 5):
                current[p] = min(VERSIONS - 1, current[p] + rng.randrange(1, 4))
            releases.append(dict(current))
        templates.append(releases)
    set_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    set_id: dict[tuple[int, int], int] = {}
    for t, releases in enumerate(templates):
        for r, content in enumerate(releases):
            sid = len(set_rows) + 1
            set_id[(t, r)] = sid
            digest = hashlib.sha256(f"{t}/{r}".encode()).hexdigest()
            set_rows.append(
                {"id": sid, "digest": digest, "package_count": COMPONENTS, "not_assessable_count": 0}
            )
            member_rows.extend(
                {"set_id": sid, "package_version_id": pv_id[(p, v)]} for p, v in content.items()
            )
    release_week = [round(r * WEEKS / RELEASES) for r in range(RELEASES)]
    system_rows, snapshot_rows = [], []
    raw = zlib.compress(b"{}")
    for s in range(systems):
        template = s % TEMPLATES
        lag = rng.randrange(0, 9)
        rollback = rng.randrange(10, WEEKS) if rng.random() < 0.1 else None
        last_week = WEEKS // 2 if rng.random() < 0.05 else WEEKS
        system_rows.append(
            {
                "id": s + 1,
                "org_id": 1,
                "name": f"system-{s:04d}",
                "environment": "prod" if s % 4 else "staging",
                "internet_exposed": s % 3 == 0,
                "criticality": "medium",
                "cadence_days": 7,
                "created_at": now,
            }
        )
        for w in range(last_week):
            release = max(r for r in range(RELEASES) if release_week[r] + lag <= w or r == 0)
            if rollback is not None and w == rollback and release > 0:
                release -= 1
            observed = START + timedelta(days=7 * w)
            snapshot_rows.append(
                {
                    "system_id": s + 1,
                    "observed_at": observed,
                    "received_at": observed,
                    "format": "CycloneDX",
                    "spec_version": "1.5",
                    "sha256": hashlib.sha256(f"{s}/{w}".encode()).hexdigest(),
                    "raw": raw,
                    "raw_size": 2,
                    "compression": "zlib",
                    "quality": [],
                    "component_set_id": set_id[(template, release)],
                    "component_count": COMPONENTS,
                    "not_assessable_count": 0,
                }
            )
    advisory_rows: list[dict[str, Any]] = []
    affected_rows: list[dict[str, Any]] = []
    match_rows: list[dict[str, Any]] = []
    kev_rows: list[dict[str, Any]] = []
    epss_rows: list[dict[str, Any]] = []
    for i in range(VULNERABLE_POOL):
        for k, bound in enumerate((5, 3) if i % 4 == 0 else (5,)):
            aid = len(advisory_rows) + 1
            cve = f"CVE-2023-{10000 + aid}"
            published = START - timedelta(days=rng.randrange(-200, 400))
            score = round(rng.uniform(3.0, 9.8), 1)
            advisory_rows.append(
                {
                    "id": aid,
                    "source": "osv",
                    "advisory_id": f"GHSA-bench-{i}-{k}",
                    "modified": published.isoformat(),
                    "modified_at": published,
                    "published_at": published,
                    "summary": "",
                    "ecosystem": "npm",
                    "aliases": [cve],
                    "related": [],
                    "group_key": cve,
                    "severity": [],
                    "severity_score": score,
                    "severity_rating": None,
                    "exploited": False,
                    "origin": "bench",
                    "raw": raw,
                    "imported_at": now,
                }
            )
            fixed = f"1.0.{bound}"
            affected_rows.append(
                {
                    "id": aid,
                    "advisory_pk": aid,
                    "position": 0,
                    "ecosystem": "npm",
                    "name": f"vuln-{i}",
                    "eco_key": "npm",
                    "name_key": f"vuln-{i}",
                    "data": {
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
                    },
                }
            )
            match_rows.extend(
                {
                    "package_version_id": pv_id[(f"vuln-{i}", v)],
                    "affected_id": aid,
                    "status": "affected",
                    "range_index": 0,
                    "introduced": "0",
                    "boundary_kind": "fixed",
                    "boundary_value": fixed,
                    "fixed_versions": [fixed],
                    "details": {},
                }
                for v in range(bound)
            )
            if aid % 20 == 0:
                kev_rows.append({"cve_id": cve, "date_added": published, "known_ransomware": False})
            if aid % 10 == 0:
                epss_rows.append({"cve_id": cve, "epss": rng.random() / 2, "percentile": rng.random()})
    kev_defaults = {"due_date": None, "vendor": "", "product": "", "name": "", "catalog_version": ""}
    with db.begin() as conn:
        insert(conn, "organization", [{"id": 1, "name": ORG, "created_at": now}])
        insert(conn, "system", system_rows)
        insert(conn, "package_version", pv_rows)
        insert(conn, "component_set", set_rows)
        insert(conn, "component_set_member", member_rows)
        insert(conn, "snapshot", snapshot_rows)
        insert(conn, "advisory", advisory_rows)
        insert(conn, "affected_package", affected_rows)
        insert(conn, "match_result", match_rows)
        # Every package version counts as matched, so that a later ``match_new`` matches new ones only.
        insert(
            conn, "package_match_state", [{"package_version_id": r["id"], "matched_at": now} for r in pv_rows]
        )
        insert(conn, "kev_entry", [{**kev_defaults, **r} for r in kev_rows])
        insert(conn, "epss_score", [{**r, "score_date": "", "model_version": ""} for r in epss_rows])
        if db.dialect == "postgresql":
            # Explicit ids leave the sequences behind; later inserts (exposures) use their own tables.
            for name in (
                "organization",
                "system",
                "package_version",
                "component_set",
                "snapshot",
                "advisory",
                "affected_package",
            ):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                )
            # This schema's tables only: a bare ANALYZE takes every schema's, and two fleets built at
            # once (tests in parallel, each in its own schema) deadlock on each other's locks.
            conn.exec_driver_sql("ANALYZE " + ", ".join(f'"{name}"' for name in sorted(metadata.tables)))
        else:
            conn.exec_driver_sql("ANALYZE")
    return {
        "systems": len(system_rows),
        "snapshots": len(snapshot_rows),
        "component sets": len(set_rows),
        "set members": len(member_rows),
        "package versions": len(pv_rows),
        "advisories": len(advisory_rows),
        "match results": len(match_rows),
    }


def kept_url(postgres: str | None, keep: str) -> sa.URL:
    """The URL of a kept fleet: the SQLite file ``keep``, or schema ``keep`` of database ``postgres``."""
    if postgres is None:
        return make_url(f"sqlite:///{keep}")
    return make_url(postgres).update_query_dict({"options": f"-csearch_path={keep}"})


@contextmanager
def kept_database(postgres: str | None, keep: str) -> Iterator[tuple[Database, bool]]:
    """The kept fleet database (created if missing) and whether it already holds the fleet."""
    if postgres is not None:
        if not keep.isidentifier():
            raise SystemExit(f"--keep: {keep!r} is not a schema name")
        admin = make_engine(postgres)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{keep}"')
        admin.dispose()
    db = Database.open(kept_url(postgres, keep))
    try:
        upgrade(db.engine)
        with db.engine.connect() as conn:
            org = table("organization")
            present = conn.execute(sa.select(org.c.id).where(org.c.name == ORG)).first() is not None
        yield db, present
    finally:
        db.dispose()


@contextmanager
def database(postgres: str | None) -> Iterator[Database]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database.open(f"sqlite:///{tmp}/bench.db")
            upgrade(db.engine)
            yield db
            db.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database.open(url)
    try:
        upgrade(db.engine)
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def median_time(fn: Callable[[], object], repeat: int = 3) -> float:
    return statistics.median(timed(fn)[1] for _ in range(repeat))


def median_cpu(fn: Callable[[], object], repeat: int = 3) -> float:
    """This process's CPU seconds (median): what a run costs, whatever else shares the machine."""

    def once() -> float:
        start = time.process_time()
        fn()
        return time.process_time() - start

    return statistics.median(once() for _ in range(repeat))


def _whole(target: str, systems: int) -> str:
    """The target of a whole report built in memory: issue 5's, at 1,000 systems. A larger fleet's
    readers get the paged lists, the streamed export and the overview (issue 16), timed below."""
    if systems <= 1000:
        return f"target {target}"
    return f"(whole report in memory; target {target} at 1,000 systems, paged and streamed at this size)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", metavar="URL", help="benchmark PostgreSQL (a fresh schema, dropped after)"
    )
    parser.add_argument("--systems", type=int, default=1000)
    parser.add_argument(
        "--keep",
        metavar="PATH|SCHEMA",
        help="keep the fleet in this SQLite file (or PostgreSQL schema with --postgres) and reuse it "
        "when it is already there; leaves the incremental phases out",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated phases to leave out: exposures, reference, plan, list, export, overview, "
        "lookback, snapshot, advisory, triage",
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    where = "PostgreSQL" if args.postgres else "SQLite"
    as_of = START + timedelta(days=7 * WEEKS)
    with ExitStack() as stack:
        if args.keep:
            db, present = stack.enter_context(kept_database(args.postgres, args.keep))
            skip |= {"snapshot", "advisory", "triage"}
        else:
            db, present = stack.enter_context(database(args.postgres)), False
        if present:
            with db.engine.connect() as conn:
                systems = conn.execute(sa.select(sa.func.count()).select_from(table("system"))).scalar_one()
            if systems != args.systems:
                raise SystemExit(f"--keep {args.keep}: holds {systems:,} systems, not {args.systems:,}")
            print(f"{where}: reusing the fleet kept in {args.keep} ({systems:,} systems)")
            _, seconds = timed(lambda: ensure_exposures(db, ORG))
            print(f"check     {seconds:6.2f} s  (stored exposures brought current)")
        else:
            counts, seconds = timed(lambda: build_fleet(db, args.systems))
            print(
                f"{where}: fleet written in {seconds:.1f} s: "
                + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            )
            ids = list(range(1, args.systems + 1))
            rows, seconds = timed(
                lambda: sum(rebuild_exposures(db, ids[i : i + 100]) for i in range(0, len(ids), 100))
            )
            print(f"rebuild   {seconds:6.2f} s  ({rows:,} exposure rows for {len(ids):,} systems)")
        if "exposures" not in skip:
            inputs, seconds = timed(lambda: report_inputs(db, ORG, as_of))
            exposures = exposures_from_inputs(inputs, "all")
            print(f"inputs    {seconds:6.2f} s  (digest check, stored rows, advisory facts)")
            gc.disable()  # as the report functions do (pipeline.exposures._no_cyclic_gc)
            print(f"  pure exposures  {median_time(lambda: exposures_from_inputs(inputs, 'all')):6.2f} s")
            gc.enable()
            t_exp = median_time(lambda: exposures_report(db, ORG, "all", as_of))
            whole = _whole("≤ 2 s", args.systems)
            print(f"exposures {t_exp:6.2f} s  ({len(exposures):,} exposures)  {whole}")
        deploy = lambda: json.dumps(deploy_time_json(db, ORG, as_of))  # noqa: E731
        _, t_cold = timed(deploy)
        t_dep = median_time(deploy)
        cpu_dep = median_cpu(deploy)
        summary = deploy_time_json(db, ORG, as_of)
        print(
            f"deploy    {t_dep:6.2f} s  warm ({cpu_dep:.2f} s CPU), {t_cold:.2f} s cold "
            f"(median time-to-deploy "
            f"{summary['time_to_deploy']['km_median_days']} d, "
            f"{summary['open']:,} open, {len(summary['stale_systems'])} stale systems)  target ≤ 2 s"
        )
        if "reference" not in skip:
            reference, t_ref = timed(lambda: deploy_time_reference(db, ORG, as_of))
            same = {"organization": ORG, **reference.to_json()} == summary
            print(f"  reference {t_ref:6.2f} s  (per exposure; documents equal: {same})")
        # A quarter back: before the newest snapshot, so the stored rows are cut at that moment.
        back = as_of - timedelta(days=91)
        looked_back = lambda: json.dumps(deploy_time_json(db, ORG, back))  # noqa: E731
        print(f"  91 days back {median_time(looked_back):6.2f} s  warm (stored rows cut there)  target ≤ 2 s")
        if "reference" not in skip:
            reference, t_ref = timed(lambda: deploy_time_reference(db, ORG, back))
            same = {"organization": ORG, **reference.to_json()} == deploy_time_json(db, ORG, back)
            print(f"    reference {t_ref:6.2f} s  (per exposure; documents equal: {same})")
        if "plan" not in skip:
            document = plan_json(db, ORG, as_of=as_of)
            t_plan = median_time(lambda: plan_json(db, ORG, as_of=as_of))
            print(
                f"plan      {t_plan:6.2f} s  ({document['total_actions']:,} actions, "
                f"{document['total_unfixable']:,} unfixable versions)  {_whole('≤ 1 s', args.systems)}"
            )
        if "list" not in skip:
            bench_list(db)
        if "export" not in skip:
            bench_export(db)
        if "overview" not in skip:
            t_over = median_time(lambda: overview(db, ORG, as_of))
            print(f"overview  {t_over:6.2f} s  target ≤ 1 s")
        if "lookback" not in skip:
            bench_look_back(db, back, reference="reference" not in skip)
        if "snapshot" not in skip:
            incremental_snapshot(db, as_of)
        if "advisory" not in skip:
            incremental_advisory(db, args.systems)
        if "triage" not in skip:
            incremental_triage(db, args.systems)


def bench_list(db: Database) -> None:
    """First pages of the exposures list (see the module docstring)."""
    _, t_first = timed(lambda: refresh_list(db, ORG))
    print(f"list      {t_first:6.2f} s  first computation of the stored list (once per fleet)")
    check = lambda: (ensure_exposures(db, ORG), refresh_list(db, ORG))  # noqa: E731
    print(
        f"  check   {median_time(check):6.3f} s  ({median_cpu(check):.3f} s CPU) ensure_exposures + "
        "refresh_list, nothing changed"
    )
    for label, query in (
        ("by due", ExposureQuery()),
        ("KEV by EPSS desc", ExposureQuery(kev=True, sort="epss", descending=True)),
    ):
        page = exposure_page(db, ORG, query)
        t_page = median_time(lambda q=query: exposure_page(db, ORG, q))  # type: ignore[misc]
        cpu_page = median_cpu(lambda q=query: exposure_page(db, ORG, q))  # type: ignore[misc]
        t_nocount = median_time(lambda q=query: exposure_page(db, ORG, q, count=False))  # type: ignore[misc]
        cursor = page.next_cursor
        t_next = median_time(lambda q=query, c=cursor: exposure_page(db, ORG, q, cursor=c))  # type: ignore[misc]
        print(
            f"  page    {t_page:6.3f} s  ({cpu_page:.3f} s CPU) first page {label} ({len(page.items)} rows"
            + ("" if page.total is None else f" of {page.total:,}")
            + "; "
            f"{t_nocount:.3f} s without the count, {t_next:.3f} s the second page)  target ≤ 0.3 s"
        )


def bench_look_back(db: Database, back: datetime, *, reference: bool) -> None:
    """The lists, the plan and the overview at an earlier moment: the stored rows cut there
    (``report_inputs``), against computing every interval from the snapshots up to it."""
    inputs, t_cut = timed(lambda: report_inputs(db, ORG, back))
    print(f"look back {t_cut:6.2f} s  report inputs 91 days back (stored rows cut there)")
    if reference:
        recomputed, t_ref = timed(lambda: report_inputs(db, ORG, back, recompute=True))
        same = all(
            exposures_from_inputs(inputs, status) == exposures_from_inputs(recomputed, status)
            for status in ("all", "excluded")
        )
        print(f"  reference {t_ref:6.2f} s  (every interval from the snapshots; exposures equal: {same})")
    first_page = lambda: exposure_page(db, ORG, ExposureQuery(as_of=back), limit=100)  # noqa: E731
    print(f"  {'exposures, first page':30} {median_time(first_page):6.2f} s")
    # The overview and the plan then are computed once per state of the inputs and kept in the process
    # (``pipeline.overview``, ``pipeline.lists.plan``): the first call, then the same moment again.
    _, t_over = timed(lambda: overview(db, ORG, back))
    print(f"  {'overview, first time':30} {t_over:6.2f} s  (computes the plan then too)")
    print(f"  {'overview, again':30} {median_time(lambda: overview(db, ORG, back)):6.2f} s")

    def plan_first() -> PlanPage:
        return plan_page(db, ORG, PlanQuery(as_of=back), limit=50)

    cursor = plan_first().next_cursor

    def plan_next() -> PlanPage:
        return plan_page(db, ORG, PlanQuery(as_of=back), limit=50, cursor=cursor)

    print(f"  {'plan, first page':30} {median_time(plan_first):6.2f} s  (the overview's plan)")
    print(f"  {'plan, second page':30} {median_time(plan_next):6.2f} s")
    other = back - timedelta(days=7)
    _, t_cold = timed(lambda: plan_page(db, ORG, PlanQuery(as_of=other), limit=50))
    print(f"  {'plan 98 days back, first time':30} {t_cold:6.2f} s  (no overview there before)")


#: Rows per stretch of the export whose peak memory is printed (the peak is reset after each).
EXPORT_STRETCH = 50_000


def bench_export(db: Database) -> None:
    """The whole open list streamed: first row, total, peak Python memory."""
    rows = iter_exposures(db, ORG, ExposureQuery())
    start, cpu = time.perf_counter(), time.process_time()
    next(rows)
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    count = 1 + sum(1 for _ in rows)
    total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
    # Memory as a serving process streams it (``core.heap.settle``: what is alive frozen, the young
    # generation collected every 20,000 allocations). In this process's default settings the cycles
    # each page leaves (its statements and session) wait for a full collection, which a heap of a
    # 10,000-system organization's kept data puts off for the whole export: the peak then measured
    # garbage that a collection frees, growing with the rows (26 MiB at 10,000 systems; 2 MiB alive
    # after a collection at any point of it, fourteenth pass).
    thresholds = gc.get_threshold()
    settle()
    peaks: list[int] = []
    tracemalloc.start()
    try:
        for n, _ in enumerate(iter_exposures(db, ORG, ExposureQuery()), start=1):
            if n % EXPORT_STRETCH == 0 or n == count:
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.reset_peak()
    finally:
        tracemalloc.stop()
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    mib = [p / 2**20 for p in peaks]
    print(
        f"export    {first:6.3f} s  ({first_cpu:.3f} s CPU) to the first row, {total:.1f} s "
        f"({total_cpu:.1f} s CPU) for all {count:,} rows; peak Python memory per {EXPORT_STRETCH:,} "
        f"rows {min(mib):.1f}–{max(mib):.1f} MiB over {len(mib)} stretches (tracemalloc, as "
        f"`patchgap serve` runs: core.heap.settle)  target first byte ≤ 0.5 s"
    )


def _cyclonedx(components: list[tuple[str, str]], timestamp: datetime) -> bytes:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {"timestamp": timestamp.isoformat().replace("+00:00", "Z")},
            "components": [
                {"type": "library", "name": n, "version": v, "purl": f"pkg:npm/{n}@{v}"}
                for n, v in components
            ],
        }
    ).encode()


def newest_content(db: Database, system_id: int, at: datetime | None = None) -> list[tuple[str, str]]:
    """(name, version) of every component of the system's newest snapshot (up to ``at``)."""
    pv, member, snapshot = table("package_version"), table("component_set_member"), table("snapshot")
    stmt = sa.select(snapshot.c.component_set_id).where(snapshot.c.system_id == system_id)
    if at is not None:
        stmt = stmt.where(snapshot.c.observed_at <= at)
    with db.engine.connect() as conn:
        latest = conn.execute(stmt.order_by(snapshot.c.observed_at.desc()).limit(1)).scalar_one()
        return [
            (r[0], r[1])
            for r in conn.execute(
                sa.select(pv.c.name, pv.c.version)
                .select_from(member.join(pv, pv.c.id == member.c.package_version_id))
                .where(member.c.set_id == latest)
            )
        ]


def incremental_snapshot(db: Database, as_of: datetime) -> None:
    """One new snapshot of system 3 (its latest content with one vulnerable package upgraded)."""
    content = newest_content(db, 3)
    vulnerable = sorted(i for i, (n, _) in enumerate(content) if n.startswith("vuln-"))[0]
    content[vulnerable] = (content[vulnerable][0], f"1.0.{VERSIONS - 1}")
    moment = as_of + timedelta(days=1)
    data = _cyclonedx(content, moment)
    ingest_sbom(db, org=ORG, system="system-0002", data=data, source="bench", max_bytes=len(data))
    match_new(db)
    rebuilt, seconds = timed(lambda: ensure_exposures(db, ORG))
    print(f"snapshot  {seconds:6.3f} s  check + rebuild ({rebuilt} system rebuilt) after one new snapshot")
    t_one = median_time(lambda: rebuild_exposures(db, [3]))
    cpu_one = median_cpu(lambda: rebuild_exposures(db, [3]))
    print(
        f"  rebuild {t_one * 1000:6.1f} ms  ({cpu_one * 1000:.1f} ms CPU) that system alone  target ≤ 50 ms"
    )
    later = as_of + timedelta(days=2)
    _, t_after = timed(lambda: json.dumps(deploy_time_json(db, ORG, later)))
    print(f"  deploy  {t_after:6.2f} s  the next deploy-time summary (re-reads that system's rows)")


def incremental_advisory(db: Database, systems: int) -> None:
    """One new advisory for vuln-11 (below 1.0.7), imported and its package re-matched."""
    record = {
        "schema_version": "1.6.0",
        "id": "GHSA-bench-new",
        "modified": "2024-06-01T00:00:00Z",
        "published": "2024-05-01T00:00:00Z",
        "aliases": ["CVE-2024-99999"],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "vuln-11"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.7"}]}],
            }
        ],
    }
    imported = import_advisories(db, [parse_osv_record(record, source="osv", origin="bench")], source="osv")
    rematch_keys(db, imported.changed_keys)
    rebuilt, seconds = timed(lambda: ensure_exposures(db, ORG))
    print(
        f"advisory  {seconds:6.2f} s  check + rebuild: {rebuilt:,} of {systems:,} systems (vuln-11 runners)"
    )


def incremental_triage(db: Database, systems: int) -> None:
    """A not_affected decision about vuln-13's advisory (CVE-2023-10018)."""
    with db.read() as session:
        before = exposure_queries.stored_digests(session, list(range(1, systems + 1)))
    request = AnalysisRequest(
        "CVE-2023-10018", "pkg:npm/vuln-13", "not_affected", justification="code_not_reachable"
    )
    _, seconds = timed(lambda: set_analysis(db, ORG, request, Actor("bench", "admin", "cli")))
    with db.read() as session:
        after = exposure_queries.stored_digests(session, list(range(1, systems + 1)))
    changed = sum(1 for sid, d in after.items() if before.get(sid) != d)
    print(f"triage    {seconds:6.2f} s  one decision: {changed:,} of {systems:,} systems rebuilt")


if __name__ == "__main__":
    main()
