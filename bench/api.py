"""API benchmark: SBOM upload throughput with 4 concurrent clients, and report latency, over real HTTP.

Run from the project root:  .venv/bin/python -m bench.api  [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
                            [--uploads 40] [--clients 4] [--components 200]

For SQLite (a fresh file) and, with ``--postgres``, PostgreSQL (a fresh schema of its own, dropped at
the end), it starts ``uvicorn api.main:serving_app`` as a separate process (one worker, with its
upload worker thread) on a free 127.0.0.1 port, loads the demo fleet into organization ``demo``, and:

1. native upload: ``--clients`` threads each POST ``--uploads / --clients`` distinct 200-component
   CycloneDX SBOMs to ``/api/v1/systems/{name}/sboms`` (synchronous ingest + matching);
2. Dependency-Track upload: the same number of new SBOMs through ``PUT /api/v1/bom`` (queued), then
   polling ``/api/v1/event/token/{token}`` until every one is processed;
3. report latency: ``GET /api/v1/reports/deploy-time`` and ``GET /api/v1/exposures`` of the demo
   organization, 10 requests each, one at a time.

Only loopback traffic; every loop is bounded in count and time (the script gives up after 300 s per
phase). Prints a table of throughput and latency percentiles per database.

``--scale`` (PostgreSQL only) measures the deployment of README "Scaling" instead: ``--servers`` API
processes (``patchgap serve --no-jobs --no-uploads``, distinct ports, the clients going round robin)
and 1, 2, 3 … ``patchgap worker`` processes (``--workers 1,2,3``) on one fresh schema per run; 8
clients (``--clients``) queue SBOMs of 200 and 2,000 components (``--sizes``) through ``PUT
/api/v1/bom`` to 8 systems, each upload a new snapshot in which one component in ten changed version
(a deploy, not a new fleet). Measured per run: processed uploads/s (first queued → last finished),
the latency of the PUT, and queued → processed per upload (``upload_job.created_at`` →
``finished_at``, p50 / p99). At the end every accepted upload must be exactly one snapshot: each
token's job done with result ``created`` and a snapshot id of its own, and the organization's
snapshot count equal to the uploads accepted (the bench fails otherwise). Scheduled jobs are off.

  .venv/bin/python -m bench.api --scale --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from pipeline.api_keys import create_key
from pipeline.demo import load_demo
from store.db import Database, make_engine
from store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
PHASE_LIMIT_S = 300.0
ECOSYSTEMS = ("pypi", "npm", "maven", "golang", "cargo")


def generated_sbom(n: int, seed: int) -> bytes:
    """A CycloneDX 1.5 JSON SBOM of ``n`` components, distinct per ``seed`` (versions vary)."""
    components = []
    for i in range(n):
        eco = ECOSYSTEMS[i % len(ECOSYSTEMS)]
        name = f"lib{i}"
        version = f"1.{i % 7}.{seed}"
        purl = (
            f"pkg:maven/org.example/{name}@{version}"
            if eco == "maven"
            else f"pkg:golang/example.com/{name}@v{version}"
            if eco == "golang"
            else f"pkg:{eco}/{name}@{version}"
        )
        components.append(
            {"type": "library", "bom-ref": f"c{i}", "name": name, "version": version, "purl": purl}
        )
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": f"2024-07-{1 + seed % 28:02d}T00:00:00Z",
            "component": {"type": "application", "name": "bench"},
        },
        "components": components,
    }
    return json.dumps(document).encode()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def database(kind: str, postgres: str | None) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    assert postgres is not None
    schema = f"bench_api_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def server(url: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PATCHGAP_DATABASE_URL": url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:serving_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def run_clients(clients: int, work: list[list[Any]], task: Any) -> tuple[float, list[float]]:
    """Run ``task(item)`` for each client's items in ``clients`` threads; wall time and latencies."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(items: list[Any]) -> None:
        for item in items:
            started = time.perf_counter()
            task(item)
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(work[i],)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(PHASE_LIMIT_S)
    return time.perf_counter() - started, latencies


def bench(kind: str, postgres: str | None, uploads: int, clients: int, components: int) -> dict[str, Any]:
    with database(kind, postgres) as url:
        db = Database.open(url)
        upgrade(db.engine)
        load_demo(
            db,
            "demo",
            ROOT / "sbom_samples" / "demo-fleet",
            ROOT / "sbom_samples" / "advisories" / "demo",
        )
        uploader = create_key(db, org="bench", role="admin").token
        reader = create_key(db, org="demo", role="reader").token
        db.dispose()
        per_client = uploads // clients
        with server(url) as base:
            up = httpx.Client(base_url=base, headers={"X-Api-Key": uploader}, timeout=120)
            for c in range(clients):
                up.post("/api/v1/systems", json={"name": f"native-{c}"}).raise_for_status()
            native_work = [
                [(c, generated_sbom(components, c * 1000 + i)) for i in range(per_client)]
                for c in range(clients)
            ]

            def native(item: tuple[int, bytes]) -> None:
                r = up.post(f"/api/v1/systems/native-{item[0]}/sboms", content=item[1])
                assert r.status_code == 201, r.text

            native_s, native_lat = run_clients(clients, native_work, native)

            dt_work = [
                [(c, generated_sbom(components, 500_000 + c * 1000 + i)) for i in range(per_client)]
                for c in range(clients)
            ]
            tokens: list[str] = []

            def dt_put(item: tuple[int, bytes]) -> None:
                body = {
                    "projectName": f"dt-{item[0]}",
                    "projectVersion": "1",
                    "autoCreate": True,
                    "bom": base64.b64encode(item[1]).decode(),
                }
                r = up.put("/api/v1/bom", json=body)
                assert r.status_code == 200, r.text
                tokens.append(r.json()["token"])

            started = time.perf_counter()
            enqueue_s, enqueue_lat = run_clients(clients, dt_work, dt_put)
            pending = set(tokens)
            deadline = time.perf_counter() + PHASE_LIMIT_S
            while pending and time.perf_counter() < deadline:
                pending = {t for t in pending if up.get(f"/api/v1/event/token/{t}").json()["processing"]}
                if pending:
                    time.sleep(0.05)
            dt_total_s = time.perf_counter() - started
            failed = [t for t in tokens if up.get(f"/api/v1/uploads/{t}").json()["status"] != "done"]

            rd = httpx.Client(base_url=base, headers={"X-Api-Key": reader}, timeout=120)
            report_lat: dict[str, list[float]] = {}
            for name, path in (
                ("deploy-time", "/api/v1/reports/deploy-time"),
                ("exposures", "/api/v1/exposures"),
            ):
                rd.get(path).raise_for_status()  # warm-up (first report may rebuild exposures)
                report_lat[name] = []
                for _ in range(10):
                    t0 = time.perf_counter()
                    rd.get(path).raise_for_status()
                    report_lat[name].append(time.perf_counter() - t0)
            up.close()
            rd.close()
    return {
        "database": kind,
        "uploads": per_client * clients,
        "native_per_s": per_client * clients / native_s,
        "native_p50_ms": 1000 * statistics.median(native_lat),
        "native_p95_ms": 1000 * pct(native_lat, 0.95),
        "dt_enqueue_p50_ms": 1000 * statistics.median(enqueue_lat),
        "dt_enqueue_per_s": per_client * clients / enqueue_s,
        "dt_processed_per_s": per_client * clients / dt_total_s,
        "dt_unfinished_or_failed": len(pending) + len(failed),
        "report_p50_ms": {k: 1000 * statistics.median(v) for k, v in report_lat.items()},
        "report_p95_ms": {k: 1000 * pct(v, 0.95) for k, v in report_lat.items()},
    }


# --- several API processes and workers (--scale) --------------------------------------------------

# The scheduled jobs would fetch advisories from the internet: off in the bench.
NO_JOBS = {f"PATCHGAP_JOB_{name}_ENABLED": "0" for name in ("OSV", "KEV", "EPSS", "EVALUATE", "DELIVER")}


def deploy_sbom(n: int, system: int, deploy: int) -> bytes:
    """An SBOM of ``n`` components of one system after ``deploy`` deploys: one component in ten moved
    to a version of this deploy (new package versions to match), the rest as before."""
    components = []
    for i in range(n):
        eco = ECOSYSTEMS[i % len(ECOSYSTEMS)]
        name = f"lib{i}"
        version = f"1.{i % 7}.{deploy if i % 10 == deploy % 10 else 0}"
        purl = (
            f"pkg:maven/org.example/{name}@{version}"
            if eco == "maven"
            else f"pkg:golang/example.com/{name}@v{version}"
            if eco == "golang"
            else f"pkg:{eco}/{name}@{version}"
        )
        components.append(
            {"type": "library", "bom-ref": f"c{i}", "name": name, "version": version, "purl": purl}
        )
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": f"2024-07-01T{deploy // 60 % 24:02d}:{deploy % 60:02d}:{system % 60:02d}Z",
            "component": {"type": "application", "name": f"svc-{system}"},
        },
        "components": components,
    }
    return json.dumps(document).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes ``pids`` have used so far (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / ticks


@contextmanager
def deployment(url: str, servers: int, workers: int) -> Iterator[tuple[list[str], list[int], list[int]]]:
    """``servers`` API processes and ``workers`` worker processes on ``url``: the servers' base URLs,
    the API processes' pids and the workers' pids."""
    env = {**os.environ, **NO_JOBS}
    cli = [str(Path(sys.executable).parent / "patchgap"), "--db", url]
    ports = [free_port() for _ in range(servers)]
    procs = [
        subprocess.Popen(
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(p), "--no-jobs", "--no-uploads"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,  # uvicorn's access log: one line per upload
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    procs += [
        subprocess.Popen(
            [*cli, "worker", "--poll", "0.5"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for base in bases:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError(f"server at {base} did not start")
        yield bases, [p.pid for p in procs[:servers]], [p.pid for p in procs[servers:]]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)


def _jobs(db: Database, tokens: list[str]) -> list[Any]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT token, status, result, snapshot_id, created_at, finished_at FROM upload_job"
        ).all()
    wanted = set(tokens)
    return [r for r in rows if r[0] in wanted]


def scale_run(
    postgres: str, *, size: int, workers: int, servers: int, clients: int, uploads: int
) -> dict[str, Any]:
    """One run of the --scale bench (module docstring) on a fresh schema."""
    with database("postgresql", postgres) as schema_url:
        # Named, so that pg_stat_activity tells the bench's sessions apart (wait events, locks).
        named = make_url(schema_url).update_query_dict({"application_name": "patchgap-bench-scale"})
        url = named.render_as_string(hide_password=False)
        db = Database.open(url)
        upgrade(db.engine)
        key = create_key(db, org="bench", role="uploader").token
        per_client = uploads // clients
        bodies = [
            [
                json.dumps(
                    {
                        "projectName": f"svc-{c}",
                        "autoCreate": True,
                        "bom": base64.b64encode(deploy_sbom(size, c, d)).decode(),
                    }
                ).encode()
                for d in range(per_client + 1)
            ]
            for c in range(clients)
        ]
        with deployment(url, servers, workers) as (bases, api_pids, worker_pids):
            http = [
                httpx.Client(
                    base_url=b,
                    headers={"X-Api-Key": key, "Content-Type": "application/json"},
                    timeout=120,
                )
                for b in bases
            ]
            tokens: list[str] = []
            lock = threading.Lock()
            turn = iter(range(10**9))

            def put(body: bytes) -> None:
                with lock:
                    client = http[next(turn) % len(http)]  # round robin over the API processes
                r = client.put("/api/v1/bom", content=body)
                assert r.status_code == 200, r.text
                with lock:
                    tokens.append(r.json()["token"])

            def settle(wanted: list[str]) -> list[Any]:
                deadline = time.perf_counter() + PHASE_LIMIT_S
                while time.perf_counter() < deadline:
                    rows = _jobs(db, wanted)
                    if len(rows) == len(wanted) and all(r[1] in ("done", "failed") for r in rows):
                        return rows
                    time.sleep(0.2)
                raise RuntimeError(f"uploads not processed within {PHASE_LIMIT_S:.0f} s")

            # Warm-up: each system's first snapshot (and every process's first request) is not timed.
            run_clients(clients, [[b[0]] for b in bodies], put)
            settle(list(tokens))
            warm = len(tokens)
            api_cpu, worker_cpu = cpu_seconds(api_pids), cpu_seconds(worker_pids)
            _, put_lat = run_clients(clients, [b[1:] for b in bodies], put)
            timed = tokens[warm:]
            rows = settle(timed)
            api_cpu, worker_cpu = cpu_seconds(api_pids) - api_cpu, cpu_seconds(worker_pids) - worker_cpu
            for h in http:
                h.close()
        # Nothing lost, nothing twice: every accepted upload is exactly one snapshot.
        every = _jobs(db, tokens)
        with db.engine.connect() as conn:
            snapshots = conn.exec_driver_sql("SELECT count(*) FROM snapshot").scalar_one()
            distinct = conn.exec_driver_sql("SELECT count(DISTINCT id) FROM snapshot").scalar_one()
        db.dispose()
    ids = [r[3] for r in every]
    exact = (
        len(every) == len(tokens)
        and all(r[1] == "done" and r[2] == "created" for r in every)
        and None not in ids
        and len(set(ids)) == len(tokens) == snapshots == distinct
    )
    if not exact:
        raise AssertionError(
            f"{len(tokens)} uploads accepted, {len(every)} jobs, {snapshots} snapshots: {every}"
        )
    span = (max(r[5] for r in rows) - min(r[4] for r in rows)).total_seconds()
    waits = [(r[5] - r[4]).total_seconds() for r in rows]
    return {
        "size": size,
        "workers": workers,
        "servers": servers,
        "uploads": len(rows),
        "per_s": len(rows) / span,
        "put_p50_ms": 1000 * statistics.median(put_lat),
        "put_p99_ms": 1000 * pct(put_lat, 0.99),
        "p50_s": statistics.median(waits),
        "p99_s": pct(waits, 0.99),
        "snapshots": snapshots,
        # CPU per upload in our processes (PostgreSQL's own not counted): what one more core buys.
        "api_cpu_ms": 1000 * api_cpu / len(rows),
        "worker_cpu_ms": 1000 * worker_cpu / len(rows),
    }


def scale(args: argparse.Namespace) -> None:
    if not args.postgres:
        raise SystemExit("--scale needs --postgres (several processes share one database)")
    sizes = [int(s) for s in args.sizes.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]
    print(
        f"{args.clients} clients, {args.servers} API processes (serve --no-jobs --no-uploads), "
        f"PUT /api/v1/bom; load before: {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(
        "| components | workers | uploads | uploads/s | PUT p50 / p99 | queued→processed p50 / p99 "
        "| CPU per upload: API / workers | load |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
    for size in sizes:
        for w in worker_counts:
            n = args.uploads if size <= 500 else max(args.clients * 2, args.uploads // 4)
            r = scale_run(
                args.postgres, size=size, workers=w, servers=args.servers, clients=args.clients, uploads=n
            )
            print(
                f"| {size:,} | {w} | {r['uploads']} | {r['per_s']:.1f} "
                f"| {r['put_p50_ms']:.0f} / {r['put_p99_ms']:.0f} ms "
                f"| {r['p50_s']:.2f} / {r['p99_s']:.2f} s "
                f"| {r['api_cpu_ms']:.0f} / {r['worker_cpu_ms']:.0f} ms | {os.getloadavg()[0]:.1f} |",
                flush=True,
            )
    print("every accepted upload is exactly one snapshot (checked per run)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="PostgreSQL URL (a fresh schema is created and dropped)")
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--scale", action="store_true", help="several API processes and workers")
    parser.add_argument("--servers", type=int, default=2, help="--scale: API processes")
    parser.add_argument("--workers", default="1,2,3", help="--scale: worker process counts to compare")
    parser.add_argument("--sizes", default="200,2000", help="--scale: SBOM sizes (components)")
    args = parser.parse_args()
    if args.scale:
        if args.clients == 4:
            args.clients = 8
        if args.uploads == 40:
            args.uploads = 96
        scale(args)
        return
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    results = [bench(k, args.postgres, min(args.uploads, 400), args.clients, args.components) for k in kinds]
    print(
        f"{args.components}-component CycloneDX SBOMs, {args.clients} concurrent clients, "
        "uvicorn 1 worker on 127.0.0.1"
    )
    print(
        "| database | uploads | native uploads/s | native p50 / p95 | DT PUT p50 | DT queued→processed/s "
        "| deploy-time p50 / p95 | exposures p50 / p95 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['database']} | {r['uploads']} | {r['native_per_s']:.1f} "
            f"| {r['native_p50_ms']:.0f} / {r['native_p95_ms']:.0f} ms "
            f"| {r['dt_enqueue_p50_ms']:.0f} ms | {r['dt_processed_per_s']:.1f} "
            f"| {r['report_p50_ms']['deploy-time']:.0f} / {r['report_p95_ms']['deploy-time']:.0f} ms "
            f"| {r['report_p50_ms']['exposures']:.0f} / {r['report_p95_ms']['exposures']:.0f} ms |"
        )
        if r["dt_unfinished_or_failed"]:
            print(f"  warning: {r['dt_unfinished_or_failed']} DT uploads unfinished or failed")


if __name__ == "__main__":
    main()
