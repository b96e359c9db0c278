"""CLI start-up benchmark: wall time of the installed ``patchgap`` console script, one fresh process per run.

Run from the project root:  .venv/bin/python -m bench.cli  [--runs 7] [--only help,small,first,large]
                            [--patchgap PATH] [--data ../shared/data] [--phases]

What a user waits for is the whole process: interpreter start, imports, the database's schema check,
the work. So each run is a new process (``subprocess.run`` of the console script beside this Python,
stdout and stderr captured), timed from spawn to exit; the table gives median, min and max of --runs.
Every run's exit status and output are checked, so a failing command is never timed as a fast one.
Each row also gives the median user + system CPU time of the process: on this shared machine other jobs
stretch wall times, CPU time much less, so it tells a change from a busy minute.

Scenarios (issue 11, acceptance 5 sets the targets in brackets):

  help    ``patchgap --help``.
  small   ``patchgap ingest`` of a 5-component CycloneDX JSON SBOM [≤ 0.6 s]: the realistic call of a CI
          job on every deploy. The SQLite file already holds the schema and the system's earlier
          snapshots; each run ingests new bytes (other versions, so new package versions to match) as a
          new snapshot of the same system. The schema check each call makes is included.
  first   the same 5-component ingest into an empty SQLite file (a first ``patchgap ingest`` in a new
          directory: creating and migrating the schema is included). Reported apart from ``small``.
  large   ``patchgap ingest`` of the 10,000-component SBOM of ``bench/ingest.py`` [≤ 1.0 s] into a
          SQLite file that holds the PyPI advisories of ``<data>/advisories/pypa-pypi`` (2,654 records,
          imported once with ``patchgap advisories import``; that import is timed once and reported, not
          part of the figure). Each run copies that file first (not timed) and ingests the SBOM as the
          first snapshot of a new system: parse, store and match, as one process. Skipped with a
          message when the shared data is absent.

--phases then says where the time of ``small`` and ``large`` goes: fresh processes of the console
script's Python make the calls ``patchgap ingest`` makes (imports layer by layer, opening the database,
``pipeline.ingest.ingest_sboms``, ``pipeline.match.match_new``) with a clock between them; the medians
of wall and CPU time per step are printed. ``bench/ingest.py`` splits ``ingest_sboms`` further.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and ``bench/cli.py`` would shadow ``cli``.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

from bench.ingest import generate_bom  # noqa: E402 - after the sys.path fix above

SCENARIOS = ("help", "small", "first", "large")
# The steps of `patchgap ingest`, timed (see --phases). argv: database URL, SBOM file, system name.
PHASES = """
import gc, json, sys, time
marks = [("", time.perf_counter(), time.process_time())]
def mark(label):
    marks.append((label, time.perf_counter(), time.process_time()))
import typer, rich.console
mark("import typer, rich")
import cli.main, cli.ingest_command
mark("import cli.main, cli.ingest_command")
import sqlalchemy
mark("import sqlalchemy")
import sqlmodel
mark("import sqlmodel (pydantic)")
import pipeline.database
mark("import pipeline.database (store.db)")
import pipeline.ingest
mark("import pipeline.ingest (store tables and queries, SBOM readers, matcher)")
import pipeline.match
mark("import pipeline.match (match queries, advisory tables, suggestions)")
from pipeline.database import open_database
from pipeline.ingest import SbomUpload, ingest_sboms
from pipeline.match import match_new
url, path, system = sys.argv[1:4]
with open(path, "rb") as handle:
    data = handle.read()
db = open_database(url, upgrade=True)
mark("open the database, check the schema")
ingest_sboms(db, [SbomUpload(data, path)], org="bench", system=system, max_bytes=50_000_000)
mark("ingest_sboms: read, classify, store")
match_new(db)
mark("match_new")
db.dispose()
mark("close the database")
print(json.dumps(marks))
gc.freeze()  # as cli.main.main does
"""
TARGETS = {"small": 0.6, "large": 1.0}
PYPI_ADVISORIES = Path("advisories") / "pypa-pypi" / "vulns"


@dataclass(frozen=True)
class Sample:
    """One process: wall time from spawn to exit, its user + system CPU time, its stdout."""

    wall: float
    cpu: float
    stdout: str


@dataclass(frozen=True)
class Timing:
    label: str
    command: str
    samples: list[Sample]

    def row(self) -> str:
        walls = [s.wall for s in self.samples]
        med, low, high = statistics.median(walls), min(walls), max(walls)
        cpu = statistics.median(s.cpu for s in self.samples)
        target = TARGETS.get(self.label)
        verdict = (
            "" if target is None else f"  target ≤ {target:.1f} s: {'met' if med <= target else 'NOT met'}"
        )
        return (
            f"  {self.label:<7} median {med:6.3f} s   min {low:6.3f} s   max {high:6.3f} s   "
            f"(cpu {cpu:5.3f} s; {len(walls)} runs){verdict}"
        )


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The bench names its database with --db on every call; a URL in the environment must not leak in.
    env.pop("PATCHGAP_DATABASE_URL", None)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: Sequence[str], *, expect: str | None = None) -> Sample:
    """Run one fresh process and time it. Fails loudly on a non-zero exit or missing expected text."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_environment(), check=False)
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    if expect is not None and expect not in done.stdout + done.stderr:
        raise SystemExit(f"{' '.join(command)}: expected {expect!r} in its output, got:\n{done.stdout}")
    return Sample(seconds, cpu, done.stdout)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def bench_help(patchgap: str, runs: int) -> Timing:
    command = [patchgap, "--help"]
    return Timing("help", "patchgap --help", [run(command, expect="Usage") for _ in range(runs)])


def bench_small(patchgap: str, runs: int, tmp: Path) -> Timing:
    db = tmp / "small.db"
    boms = [tmp / f"small-{i}.cdx.json" for i in range(runs + 1)]
    for i, path in enumerate(boms):
        path.write_bytes(generate_bom(5, seed=1000 + i))
    base = [patchgap, "--db", sqlite_url(db), "ingest", "--org", "bench", "--system", "ci-app"]
    # The system's first snapshot (creates and migrates the database and the organization) is setup,
    # not timed; the timed calls are the CI's, into the existing organization.
    run([*base, "--create-org", str(boms[0])], expect="created snapshot")
    samples = [run([*base, str(path)], expect="created snapshot") for path in boms[1:]]
    return Timing(
        "small", "patchgap --db sqlite:///<db> ingest --org bench --system ci-app <5-component SBOM>", samples
    )


def bench_first(patchgap: str, runs: int, tmp: Path) -> Timing:
    bom = tmp / "first.cdx.json"
    bom.write_bytes(generate_bom(5, seed=999))
    samples = []
    for i in range(runs):
        db = tmp / f"first-{i}.db"
        command = [patchgap, "--db", sqlite_url(db), "ingest", "--org", "bench", "--create-org"]
        command += ["--system", "app", str(bom)]
        samples.append(run(command, expect="created snapshot"))
    return Timing(
        "first",
        "patchgap --db sqlite:///<new file> ingest --org bench --create-org --system app <5-component SBOM>",
        samples,
    )


def bench_large(patchgap: str, runs: int, tmp: Path, data: Path) -> Timing | None:
    advisories = data / PYPI_ADVISORIES
    if not advisories.is_dir():
        print(f"\nlarge: skipped, {advisories.resolve()} not found (pass --data)")
        return None
    template = tmp / "advisories.db"
    imported = run(
        [patchgap, "--db", sqlite_url(template), "advisories", "import", "--json", str(advisories)]
    )
    created = json.loads(imported.stdout).get("created", "?")
    print(f"\nsetup: imported {created} PyPI advisories from {advisories.resolve()}", end="")
    print(f" in {imported.wall:.2f} s (not timed below)")
    bom = tmp / "large.cdx.json"
    bom.write_bytes(generate_bom(10_000))
    samples = []
    for i in range(runs):
        db = tmp / f"large-{i}.db"
        shutil.copyfile(template, db)
        command = [
            patchgap,
            "--db",
            sqlite_url(db),
            "ingest",
            "--org",
            "bench",
            "--create-org",
            "--system",
            "fleet-app",
            str(bom),
        ]
        samples.append(run(command, expect="matched 10000 new package versions"))
        db.unlink()
    return Timing(
        "large",
        "patchgap --db sqlite:///<copy holding the PyPI advisories> ingest --org bench --create-org "
        "--system fleet-app "
        "<10,000-component SBOM>",
        samples,
    )


def phases(python: str, runs: int, label: str, prepare: Callable[[int], tuple[Path, Path]]) -> None:
    """Print the median wall and CPU time of each step of `patchgap ingest` (``PHASES``)."""
    steps: dict[str, list[tuple[float, float]]] = {}
    for i in range(runs):
        db, bom = prepare(i)
        sample = run([python, "-c", PHASES, sqlite_url(db), str(bom), f"phases-{i}"])
        marks = json.loads(sample.stdout.strip().splitlines()[-1])
        for (_, wall0, cpu0), (name, wall1, cpu1) in itertools.pairwise(marks):
            steps.setdefault(name, []).append((wall1 - wall0, cpu1 - cpu0))
        inside_wall, inside_cpu = marks[-1][1] - marks[0][1], marks[-1][2] - marks[0][2]
        steps.setdefault("interpreter start and exit", []).append(
            (sample.wall - inside_wall, sample.cpu - inside_cpu)
        )
        steps.setdefault("the whole process", []).append((sample.wall, sample.cpu))
    print(f"\n{label}: where the time goes (median of {runs} processes)".ljust(76), "wall ms    cpu ms")
    for name, values in steps.items():
        wall = statistics.median(v[0] for v in values) * 1000
        cpu = statistics.median(v[1] for v in values) * 1000
        print(f"  {name:<72} {wall:8.0f}  {cpu:8.0f}")


def print_phases(patchgap: str, runs: int, tmp: Path) -> None:
    """``phases`` of the small and large ingests, on the databases their scenarios left in ``tmp``."""
    python = str(Path(patchgap).with_name("python"))
    small_db, template = tmp / "small.db", tmp / "advisories.db"

    def small_case(i: int) -> tuple[Path, Path]:
        bom = tmp / f"phases-small-{i}.cdx.json"
        bom.write_bytes(generate_bom(5, seed=2000 + i))
        return small_db, bom

    def large_case(i: int) -> tuple[Path, Path]:
        db = tmp / f"phases-large-{i}.db"
        shutil.copyfile(template, db)
        return db, tmp / "large.cdx.json"

    if small_db.exists():
        phases(python, runs, "small", small_case)
    if template.exists():
        phases(python, runs, "large", large_case)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per scenario (default 7)")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--patchgap", help="the console script to run (default: the one beside this Python)")
    parser.add_argument(
        "--data", type=Path, default=ROOT / ".." / "shared" / "data", help="shared data folder"
    )
    parser.add_argument(
        "--phases", action="store_true", help="also time the steps of the small and large ingests"
    )
    args = parser.parse_args()

    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    patchgap = args.patchgap or str(Path(sys.executable).with_name("patchgap"))
    if not Path(patchgap).is_file():
        found = shutil.which("patchgap")
        if found is None:
            raise SystemExit(f"no patchgap console script at {patchgap} or on PATH (pip install -e .)")
        patchgap = found

    print(f"patchgap: {patchgap}; {args.runs} fresh processes per scenario; {os.cpu_count()} CPUs")
    results: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="patchgap-bench-cli-") as name:
        tmp = Path(name)
        if "help" in wanted:
            results.append(bench_help(patchgap, args.runs))
        if "small" in wanted:
            results.append(bench_small(patchgap, args.runs, tmp))
        if "first" in wanted:
            results.append(bench_first(patchgap, args.runs, tmp))
        if "large" in wanted and (large := bench_large(patchgap, args.runs, tmp, args.data)) is not None:
            results.append(large)

        print("\nwall time per process (spawn to exit):")
        for timing in results:
            print(timing.row())
            print(f"          {timing.command}")

        if args.phases:
            print_phases(patchgap, args.runs, tmp)


if __name__ == "__main__":
    main()
